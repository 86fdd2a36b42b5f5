#!/bin/sh
# cardd postremove: reload systemd and udev. On purge, the spool and the
# configuration go too; /var/lib/cardd (keys, audit log, serial counter)
# and the user are kept, because they are the station's issuance records.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
	udevadm control --reload-rules || true
fi
if [ "$1" = "purge" ]; then
	rm -rf /var/spool/cardd /etc/cardd
fi
exit 0
