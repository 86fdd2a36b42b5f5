#!/usr/bin/env bash
# setup.sh — install what building and testing cardd needs on a Debian
# machine, and only what is missing. Quiet and fast when everything is there.
#
#   scripts/setup.sh             libusb headers, pkg-config and gcc (gousb's cgo)
#   scripts/setup.sh --usb-vm    also QEMU, static busybox and cpio (USB VM tests)
#   scripts/setup.sh --browser   also Chromium (browser tests)
#   scripts/setup.sh --all       everything
#
# Installing needs root (or sudo). Go itself is expected at /usr/local/go or
# on PATH; Debian's Go is too old for this module, so it is not installed here.
set -euo pipefail

usb_vm=0
browser=0
for arg in "$@"; do
	case "$arg" in
	--usb-vm) usb_vm=1 ;;
	--browser) browser=1 ;;
	--all) usb_vm=1 browser=1 ;;
	-h | --help)
		sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "setup.sh: unknown option $arg (try --help)" >&2
		exit 2
		;;
	esac
done

# The Debian packages wanted.
wanted=(libusb-1.0-0-dev pkg-config gcc)
if ((usb_vm)); then
	wanted+=(qemu-system-x86 busybox-static cpio)
fi
if ((browser)); then
	wanted+=(chromium)
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${wanted[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null; then
			sudo=(sudo)
		else
			echo "setup.sh: missing ${missing[*]}; run as root to install them" >&2
			exit 1
		fi
	fi
	echo "setup.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt=("${sudo[@]}" apt-get -qq -o DPkg::Lock::Timeout=300)
	"${apt[@]}" update </dev/null >/dev/null
	"${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >/dev/null
	for pkg in "${missing[@]}"; do
		if ! installed "$pkg"; then
			echo "setup.sh: $pkg did not install" >&2
			exit 1
		fi
	done
fi

if ! command -v go >/dev/null && [[ ! -x /usr/local/go/bin/go ]]; then
	echo "setup.sh: no Go toolchain found (expected go on PATH or /usr/local/go/bin/go)" >&2
	exit 1
fi
