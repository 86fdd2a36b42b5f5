#!/bin/sh
# cardd postinstall: create the system user and group, the spool, give the
# configuration to group cardd, load the udev rules and register the unit.
set -e

if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ -z "$1" ]; then
	# The user (systemd-sysusers reads /usr/lib/sysusers.d/cardd.conf;
	# without systemd, the same by hand).
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers cardd.conf
	fi
	if ! getent group cardd >/dev/null; then
		groupadd --system cardd
	fi
	if ! getent passwd cardd >/dev/null; then
		useradd --system --gid cardd --home-dir /var/lib/cardd --no-create-home \
			--shell /usr/sbin/nologin --comment "cardd card-printing station daemon" cardd
	fi

	# Directories (tmpfiles.d/cardd.conf describes the spool).
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create cardd.conf || true
	fi
	install -d -o cardd -g cardd -m 0750 /var/spool/cardd /var/lib/cardd
	install -d -o cardd -g cardd -m 0770 /var/spool/cardd/incoming

	# The configuration is readable by the daemon, not by everyone.
	chgrp cardd /etc/cardd/cardd.toml
	chmod 0640 /etc/cardd/cardd.toml

	# Printers plugged in before the rules existed get the group now.
	if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
		udevadm control --reload-rules || true
		udevadm trigger --subsystem-match=usb --attr-match=idVendor=0f49 || true
		udevadm trigger --subsystem-match=usb --attr-match=idVendor=0c1f || true
	fi

	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
		# Enabled, not started: the station needs its id, printer and key
		# first ("cardd doctor" lists what is missing).
		systemctl enable cardd.service || true
	fi
fi
exit 0
