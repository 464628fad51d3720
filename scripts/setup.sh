#!/bin/sh
# Installs Bulwark's build and test dependencies from Debian's packages and
# creates the system users and spool tree. Idempotent; run as root.
set -eu

PACKAGES="build-essential meson ninja-build pkg-config
libssl-dev openssl libevent-dev libbsd-dev libdb5.3-dev db5.3-util
libunbound-dev libcrypt-dev libmilter-dev libcmocka-dev
python3 python3-pytest swaks procps iproute2 dovecot-imapd
passwd util-linux mount"

SPOOL=${BULWARK_SPOOL:-/var/spool/bulwark}

need_install() {
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || return 0
	done
	return 1
}

if need_install; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $PACKAGES
fi

add_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group "$1"
}
add_user _bulwark
add_user _bulwarkq
add_user _bulwarkl
# sendmail(1) is set-group-id to this group to write the maildrop only
getent group _bulwarkdrop >/dev/null 2>&1 ||
    groupadd --system _bulwarkdrop

# The spool belongs to qmgr; the empty chroots belong to root and are
# unwritable, so a compromised daemon cannot plant files in its own jail.
install -d -o root -g root -m 0755 "$SPOOL"
# queue/ lets _bulwarkdrop through to maildrop/ (1730: create, no list);
# the master sets the same at every start (master/spool.c).
install -d -o _bulwarkq -g _bulwarkdrop -m 0710 "$SPOOL/queue"
install -d -o _bulwarkq -g _bulwarkdrop -m 1730 "$SPOOL/queue/maildrop"
install -d -o root -g root -m 0555 "$SPOOL/empty"
install -d -o root -g root -m 0755 /etc/bulwark
