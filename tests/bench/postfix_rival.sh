#!/bin/sh
# postfix_rival.sh start|stop PORT DIR: a private Postfix instance on
# 127.0.0.1:PORT for the benchmark, with its own config and queue under
# DIR, Maildir delivery, the same trust (127.0.0.0/8) as Bulwark's test
# configuration. Needs Debian's postfix package (installed on demand).
set -eu
cmd=$1 port=${2:-2626} dir=${3:-/tmp/bulwark-bench-postfix}

if [ "$cmd" = stop ]; then
	postfix -c "$dir/conf" stop 2>/dev/null || true
	exit 0
fi
if ! command -v postfix >/dev/null; then
	echo "postfix null configuration" | debconf-set-selections 2>/dev/null || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null
	postfix stop 2>/dev/null || true
fi
postfix -c "$dir/conf" stop 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir/conf" "$dir/spool" "$dir/data"
chown postfix:postfix "$dir/data"
cat > "$dir/conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
myhostname = rival.example.test
mydomain = example.test
mydestination = example.test, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
home_mailbox = Maildir/
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = /dev/stdout
smtputf8_enable = yes
CONF
sed -e "s/^smtp      inet.*/$port      inet  n       -       n       -       -       smtpd/" \
    -e 's/^\([a-z]*[[:space:]]\+\(unix\|unix-dgram\|fifo\|pass\)[[:space:]]\+[-ny][[:space:]]\+[-ny][[:space:]]\+\)y/\1n/' \
    /etc/postfix/master.cf > "$dir/conf/master.cf"
postfix -c "$dir/conf" set-permissions create-missing >/dev/null 2>&1 || true
# in the foreground, logging to stdout: this needs no syslog daemon
setsid postfix -c "$dir/conf" start-fg > "$dir/maillog" 2>&1 < /dev/null &
i=0
while ! grep -q "daemon started" "$dir/maillog" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/maillog"; exit 1; }
	sleep 0.1
done
