#!/usr/bin/env bash
# demo.sh — the README's first command: the whole product on its embedded
# defaults. It builds the cardd binary into bin/cardd (the README's later
# commands call it; put bin/ on PATH), then runs "cardd demo": the station
# daemon on a temporary spool with an in-process emulated printer, sample jobs
# with synthetic portraits (and one with a corrupt photo) committed to the
# spool, the daemon printing them, and a summary. The printed cards land as
# PNG files in out/demo/PRINTER/ (or the directory given as the first
# argument); further arguments go to "cardd demo" (for example --jobs 20 or
# --mode permanent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

scripts/setup.sh
out="${1:-out/demo}"
shift || true
go build -o bin/cardd ./cmd/cardd
echo "demo.sh: built $PWD/bin/cardd (export PATH=\"$PWD/bin:\$PATH\" to call it as cardd)"
# The photo gate checks every demo portrait with pigo's face and pupil
# cascades: an installed station has them in /usr/share/cardd/cascades, a
# checkout in the Go module cache.
cascades=()
if pigo="$(go list -m -f '{{.Dir}}' github.com/esimov/pigo 2>/dev/null)" && [[ -f "$pigo/cascade/facefinder" ]]; then
	cascades=(--cascades "$pigo/cascade")
fi
bin/cardd demo --out "$out" "${cascades[@]}" "$@"
