#!/usr/bin/env bash
# setup.sh — install what building and testing cardd needs on a Debian
# machine, and only what is missing. Quiet and fast when everything is there.
#
#   scripts/setup.sh             libusb headers, pkg-config and gcc (gousb's cgo)
#   scripts/setup.sh --usb-vm    also QEMU, static busybox and cpio (USB VM tests)
#   scripts/setup.sh --browser   also Chromium (browser tests)
#   scripts/setup.sh --printers  also cupsd and Gutenprint (the Magicard stream
#                                check and the CUPS/IPP driver's tests)
#   scripts/setup.sh --all       everything
#
# Package lists are fetched (apt-get update) when something is missing or
# when there are none yet: the portrait tests fetch python3-skimage's real
# photographs with apt-get download, which needs them.
#
# Installing needs root (or sudo). Go itself is expected at /usr/local/go or
# on PATH; Debian's Go is too old for this module, so it is not installed here.
set -euo pipefail

usb_vm=0
browser=0
printers=0
for arg in "$@"; do
	case "$arg" in
	--usb-vm) usb_vm=1 ;;
	--browser) browser=1 ;;
	--printers) printers=1 ;;
	--all) usb_vm=1 browser=1 printers=1 ;;
	-h | --help)
		sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
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
if ((printers)); then
	wanted+=(cups-daemon cups-client printer-driver-gutenprint)
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${wanted[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

# no_lists says whether apt has no package lists yet (a fresh container).
no_lists() {
	! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

sudo=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -qq -o DPkg::Lock::Timeout=300)

if ((${#missing[@]})) || no_lists; then
	if [[ $(id -u) -ne 0 && ${#sudo[@]} -eq 0 ]]; then
		echo "setup.sh: missing ${missing[*]:-apt package lists}; run as root to install them" >&2
		exit 1
	fi
	"${apt[@]}" update </dev/null >/dev/null
fi

if ((${#missing[@]})); then
	echo "setup.sh: installing ${missing[*]}" >&2
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
