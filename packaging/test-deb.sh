#!/bin/sh
# packaging/test-deb.sh: builds the Debian package and checks it without
# installing it on this machine:
#   - dpkg-deb --info / --contents: metadata and the exact file list;
#   - dpkg -x into a throwaway root: file modes, the binary runs, the
#     packaged configuration passes "cardd config check", the maintainer
#     scripts pass "sh -n";
#   - systemd-analyze verify on the unit (skipped with a message where
#     systemd-analyze is missing);
#   - udevadm verify on the rules where this udevadm has it.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check NAME COMMAND...: runs COMMAND quietly
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; echo "$out" | sed 's/^/     /'; fi
}

if ! "$here/build.sh" "$work/out" >"$work/build.out"; then
	echo "FAIL build the package"
	echo "0 passed, 1 failed"
	exit 1
fi
pkg=$(tail -n 1 "$work/build.out")
ok "build $(basename "$pkg")"

check "dpkg-deb --info" dpkg-deb --info "$pkg"
info=$(dpkg-deb --field "$pkg" Package Depends Section)
case "$info" in *"Package: cardd"*"libusb-1.0-0"*) ok "control fields";; *) bad "control fields: $info";; esac

# The exact list of files (directories left out), against the expected one.
dpkg-deb --contents "$pkg" | awk '$1 !~ /^d/ {print $6}' | sed 's#^\./#/#' | sort >"$work/files"
sort >"$work/want" <<'LIST'
/etc/cardd/cardd.toml
/etc/cardd/templates/emblem.png
/etc/cardd/templates/permanent.toml
/etc/cardd/templates/temporary.toml
/usr/bin/cardd
/usr/lib/systemd/system/cardd.service
/usr/lib/sysusers.d/cardd.conf
/usr/lib/tmpfiles.d/cardd.conf
/usr/lib/udev/rules.d/99-cardd.rules
/usr/share/cardd/cascades/LICENSE
/usr/share/cardd/cascades/facefinder
/usr/share/cardd/cascades/puploc
/usr/share/doc/cardd/README.Debian
/usr/share/doc/cardd/examples/jobs/permanent.toml
/usr/share/doc/cardd/examples/jobs/temporary.toml
LIST
if diff -u "$work/want" "$work/files" >"$work/diff"; then ok "file list (dpkg --contents)"; else bad "file list (dpkg --contents)"; sed 's/^/     /' "$work/diff"; fi

# Modes as the package records them.
dpkg-deb --contents "$pkg" | awk '{print $1, $6}' >"$work/modes"
for want in "-rwxr-xr-x ./usr/bin/cardd" "-rw-r----- ./etc/cardd/cardd.toml" "-rw-r--r-- ./usr/lib/systemd/system/cardd.service" "-rw-r--r-- ./usr/lib/udev/rules.d/99-cardd.rules"; do
	if grep -qxF -e "$want" "$work/modes"; then ok "mode $want"; else bad "mode $want: $(grep -F -e "${want#* }" "$work/modes")"; fi
done

# conffiles: configuration survives upgrades.
dpkg-deb -e "$pkg" "$work/control"
for f in /etc/cardd/cardd.toml /etc/cardd/templates/temporary.toml; do
	if grep -qxF "$f" "$work/control/conffiles"; then ok "conffile $f"; else bad "conffile $f"; fi
done
for s in postinst prerm postrm; do
	if [ -x "$work/control/$s" ]; then check "sh -n $s" sh -n "$work/control/$s"; else bad "maintainer script $s missing"; fi
done
grep -q "useradd --system" "$work/control/postinst" && ok "postinst creates the user" || bad "postinst creates the user"

# Unpack into a throwaway root and use what is there.
root="$work/root"
check "dpkg -x" dpkg -x "$pkg" "$root"
check "packaged cardd runs" "$root/usr/bin/cardd" version
check "packaged config passes config check" "$root/usr/bin/cardd" config check "$root/etc/cardd/cardd.toml"
# The packaged cascades load: a photo check runs (an unreadable file fails
# as a file, not for want of face detection).
out=$("$root/usr/bin/cardd" photo check --cascades "$root/usr/share/cardd/cascades" /dev/null 2>&1)
case "$out" in *"face detection unavailable"*|"") bad "packaged face cascades load: $out";; *) ok "packaged face cascades load";; esac

# The unit as installed. systemd-analyze verify checks ExecStart's binary
# exists, so point it at the unpacked one in a copy.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$work/units"
	sed "s#/usr/bin/cardd#$root/usr/bin/cardd#g" "$root/usr/lib/systemd/system/cardd.service" >"$work/units/cardd.service"
	# verify exits 0 on most unit file problems and only prints them, so
	# its output is read too: any diagnostic naming the unit file or saying
	# "ignoring" fails (a missing D-Bus on a container is fine).
	if out=$(systemd-analyze verify "$work/units/cardd.service" 2>&1) &&
		! echo "$out" | grep -q -e 'cardd\.service:' -e 'ignoring' -e 'Unknown' -e 'masked' -e 'not found' -e 'not executable'; then
		ok "systemd-analyze verify cardd.service"
	else
		bad "systemd-analyze verify cardd.service"
		echo "$out" | sed 's/^/     /'
	fi
else
	echo "skip systemd-analyze verify: systemd-analyze is not installed"
fi
if command -v udevadm >/dev/null 2>&1 && udevadm verify --help >/dev/null 2>&1; then
	check "udevadm verify 99-cardd.rules" udevadm verify "$root/usr/lib/udev/rules.d/99-cardd.rules"
else
	echo "skip udevadm verify: this udevadm has no verify command"
fi
for vid in 0f49 0c1f; do
	grep -q "ATTR{idVendor}==\"$vid\", MODE=\"0660\", GROUP=\"cardd\"" "$root/usr/lib/udev/rules.d/99-cardd.rules" && ok "udev rule for vendor $vid" || bad "udev rule for vendor $vid"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
