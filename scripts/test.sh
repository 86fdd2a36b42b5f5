#!/usr/bin/env bash
# test.sh — cardd's whole test suite, as CI runs it (.ci/run calls this).
#
# Installs what is missing (scripts/setup.sh), then: go vet, a gofmt check,
# go test with the race detector on the packages that run goroutines, go
# test on the rest, and the README's first command (scripts/demo.sh) into a
# scratch directory. Prints a summary; exits non-zero if any step failed.
#
# Environment: TEST_TIMEOUT (go test -timeout, default 20m).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

# Options for setup.sh: QEMU, busybox and cpio for the USB end-to-end tests
# (internal/usbvm), Chromium for the verifier page's browser tests (web),
# cupsd and Gutenprint for the Magicard stream check and the IPP driver.
setup_opts=(--browser --usb-vm --printers)

# Packages tested with the race detector (they run goroutines); the rest
# are tested without it, which is several times faster. internal/usbvm boots
# a QEMU guest under software emulation: the race detector only slows its
# host side without covering the guest, so it runs in the plain set.
race_patterns=(./spool/... ./station/... ./network/... ./printer/... ./cmd/... ./security/... ./internal/usbredir/...)
# Packages under those patterns that start no goroutine, neither in their
# code nor in their tests: the race detector has nothing to check there
# (security/qrcode's differential test runs boombuler's encoder, whose
# goroutines are not ours, ten times slower under it).
plain_only=(./security/qrcode ./security/audit ./security/base45 ./security/ghost ./security/guilloche ./security/microtext ./printer/logtransport ./printer/replay)

timeout="${TEST_TIMEOUT:-20m}"
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

summary=()
failed=0
checks_passed=0 # setup, vet, gofmt and demo steps
checks_failed=0

# children_cpu sets cpu_now to the CPU time (user + system, whole seconds)
# used so far by this shell's finished children and their descendants:
# unlike the wall time, it does not grow when other work shares the
# machine. (No command substitution here: that would time a subshell.)
children_cpu() {
	local user sys t sec total=0
	times >"$log_dir/times"
	{
		read -r _
		read -r user sys
	} <"$log_dir/times"
	for t in "$user" "$sys"; do # e.g. 1m2.345s
		sec="${t#*m}"
		total=$((total + ${t%%m*} * 60 + 10#${sec%%.*}))
	done
	cpu_now=$total
}

# step NAME COMMAND... runs one step, timing it (wall and CPU) and
# recording its result.
step() {
	local name="$1"
	shift
	local start=$SECONDS cpu0 result=PASS
	children_cpu
	cpu0=$cpu_now
	echo "=== $name"
	"$@" || result=FAIL
	children_cpu
	summary+=("$result  $name ($((SECONDS - start))s, CPU $((cpu_now - cpu0))s)")
	if [[ $result == PASS ]]; then
		[[ $name == "go test"* ]] || checks_passed=$((checks_passed + 1))
	else
		failed=1
		[[ $name == "go test"* ]] || checks_failed=$((checks_failed + 1))
	fi
}

gofmt_check() {
	local files list
	list="$(git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')"
	[[ -n "$list" ]] || return 0
	# shellcheck disable=SC2086 # one word per file
	files="$(gofmt -l $list </dev/null)"
	if [[ -n "$files" ]]; then
		echo "gofmt: these files need formatting (gofmt -w):"
		echo "$files"
		return 1
	fi
}

# go_test LOG ARGS... runs go test, keeping its output for the package count.
go_test() {
	local log="$1"
	shift
	go test "$@" 2>&1 | tee "$log_dir/$log"
	return "${PIPESTATUS[0]}"
}

step "setup" scripts/setup.sh "${setup_opts[@]}"
step "go vet" go vet ./...
step "gofmt" gofmt_check

all_pkgs="$(go list -e ./... 2>/dev/null | sort)"
race_pkgs="$(comm -23 <(go list -e "${race_patterns[@]}" 2>/dev/null | sort) <(go list -e "${plain_only[@]}" 2>/dev/null | sort))"
plain_pkgs="$(comm -23 <(echo "$all_pkgs") <(echo "$race_pkgs") | grep -v '^$' || true)"

if [[ -n "$race_pkgs" ]]; then
	# shellcheck disable=SC2086 # one word per package
	step "go test -race (goroutine packages)" go_test race.log -race -count=1 -timeout "$timeout" $race_pkgs
fi
if [[ -n "$plain_pkgs" ]]; then
	# shellcheck disable=SC2086
	step "go test (other packages)" go_test plain.log -count=1 -timeout "$timeout" $plain_pkgs
fi

# The README's first command must keep working: run it into a scratch
# directory.
step "demo (the README's first command)" scripts/demo.sh "$log_dir/demo"

pkg_pass=$(cat "$log_dir"/*.log 2>/dev/null | grep -c '^ok ' || true)
pkg_fail=$(cat "$log_dir"/*.log 2>/dev/null | grep -c $'^FAIL\t' || true)

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
if ((failed)); then
	echo "test.sh: FAILED"
else
	echo "test.sh: all steps passed"
fi
# The closing line counts test packages plus the setup, vet, gofmt and demo checks.
echo "suite: $((pkg_pass + checks_passed)) passed, $((pkg_fail + checks_failed)) failed"
exit "$failed"
