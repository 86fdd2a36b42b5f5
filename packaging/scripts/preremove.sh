#!/bin/sh
# cardd preremove: stop and disable the service before its files go.
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl disable --now cardd.service || true
fi
exit 0
