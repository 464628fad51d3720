#!/bin/sh
# Sets up Bulwark and runs it in the foreground on the sample
# configuration: loopback ports 2525 (smtp), 5870 (submission) and 4650
# (submissions), a self-signed certificate made on first start, Maildir
# delivery for the system's users at example.org and localhost.
set -eu
cd "$(dirname "$0")/.."

./scripts/setup.sh
[ -d build ] || meson setup build
meson compile -C build

CONF=/etc/bulwark/bulwark.conf
[ -f "$CONF" ] || install -m 0644 etc/bulwark.conf "$CONF"
if [ ! -f /etc/bulwark/key.pem ]; then
	echo "making a self-signed certificate for $(hostname -f 2>/dev/null || hostname)"
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$(hostname)" \
	    -keyout /etc/bulwark/key.pem -out /etc/bulwark/cert.pem 2>/dev/null
	chmod 600 /etc/bulwark/key.pem
fi
build/bulwark -n -f "$CONF"
exec build/bulwark -d -f "$CONF"
