#!/usr/bin/env bash
# test.sh — cardd's whole test suite, as CI runs it (.ci/run calls this).
#
# Installs what is missing (scripts/setup.sh), then: go vet, a gofmt check,
# go test with the race detector on the packages that run goroutines, go
# test on the rest, the portable (purego) path of packages with assembly,
# and the README's first command (scripts/demo.sh) into a
# scratch directory. Prints a summary; exits non-zero if any step failed.
#
# Environment: TEST_TIMEOUT (go test -timeout, default 20m); TEST_SERIAL=1
# runs the two go test steps one after the other instead of together.
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
bg_pid=""
# kill_tree PID ends a process and its descendants (a background step left
# running when the suite is interrupted).
kill_tree() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		kill_tree "$c"
	done
	kill "$1" 2>/dev/null
}
trap '[[ -z $bg_pid ]] || kill_tree "$bg_pid"; rm -rf "$log_dir"' EXIT
trap 'exit 130' INT TERM

summary=()
failed=0
checks_passed=0 # setup, vet, gofmt and demo steps
checks_failed=0

# record NAME RESULT SECONDS TIMES adds a step's line to the summary: its
# wall time and its CPU time (user + system of the step's processes, from
# the output of bash's times in TIMES; unlike the wall time it does not
# grow when other work shares the machine).
record() {
	local name="$1" result="$2" wall="$3" user sys t sec cpu=0
	{
		read -r _
		read -r user sys
	} <"$4"
	for t in "$user" "$sys"; do # e.g. 1m2.345s
		sec="${t#*m}"
		cpu=$((cpu + ${t%%m*} * 60 + 10#${sec%%.*}))
	done
	summary+=("$result  $name (${wall}s, CPU ${cpu}s)")
	if [[ $result == PASS ]]; then
		[[ $name == "go test"* ]] || checks_passed=$((checks_passed + 1))
	else
		failed=1
		[[ $name == "go test"* ]] || checks_failed=$((checks_failed + 1))
	fi
}

# step NAME COMMAND... runs one step and records its result. The command
# runs in a subshell, whose own children are the step's processes.
step() {
	local name="$1" start=$SECONDS result=PASS
	shift
	echo "=== $name"
	(
		"$@"
		rc=$?
		times >"$log_dir/step.times"
		exit "$rc"
	) || result=FAIL
	record "$name" "$result" $((SECONDS - start)) "$log_dir/step.times"
}

# step_start NAME LOG COMMAND... starts a step in the background, its
# output into LOG; step_wait waits for it, prints LOG and records it.
step_start() {
	bg_name="$1" bg_log="$2"
	shift 2
	echo "=== $bg_name: started in the background; its output follows when it ends"
	(
		start=$SECONDS
		"$@" >"$bg_log" 2>&1
		rc=$?
		times >"$log_dir/bg.times"
		echo $((SECONDS - start)) >"$log_dir/bg.wall"
		exit "$rc"
	) &
	bg_pid=$!
}

step_wait() {
	local result=PASS
	wait "$bg_pid" || result=FAIL
	bg_pid=""
	echo "=== $bg_name"
	cat "$bg_log"
	record "$bg_name" "$result" "$(cat "$log_dir/bg.wall")" "$log_dir/bg.times"
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

# The two go test steps run at the same time (TEST_SERIAL=1: one after the
# other): the race set's longest packages spend much of their time waiting
# for emulated printers, processes and a browser, and the other packages'
# CPU fills those waits.
plain_name="go test (other packages)"
if [[ -n "$plain_pkgs" && "${TEST_SERIAL:-}" != 1 ]]; then
	# shellcheck disable=SC2086 # one word per package
	step_start "$plain_name" "$log_dir/plain.log" go test -count=1 -timeout "$timeout" $plain_pkgs
fi
if [[ -n "$race_pkgs" ]]; then
	# shellcheck disable=SC2086
	step "go test -race (goroutine packages)" go_test race.log -race -count=1 -timeout "$timeout" $race_pkgs
fi
if [[ -n "$plain_pkgs" ]]; then
	if [[ "${TEST_SERIAL:-}" != 1 ]]; then
		step_wait
	else
		# shellcheck disable=SC2086
		step "$plain_name" go_test plain.log -count=1 -timeout "$timeout" $plain_pkgs
	fi
fi

# Packages with assembly (amd64) keep a portable Go path for other
# architectures, selected by the purego build tag: test that path too.
asm_pkgs="$(git ls-files '*_amd64.s' 2>/dev/null | xargs -r -n1 dirname | sort -u | sed 's|^|./|')"
if [[ -n "$asm_pkgs" ]]; then
	# shellcheck disable=SC2086 # one word per package
	step "go test -tags purego (the portable path of packages with assembly)" go_test purego.log -tags purego -count=1 -timeout "$timeout" $asm_pkgs
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
