#!/usr/bin/env bash
# demo.sh — the README's first command: the whole product on its embedded
# defaults. "cardd demo" starts the station daemon on a temporary spool with an
# in-process emulated printer, commits sample jobs with synthetic portraits
# (and one with a corrupt photo), lets the daemon print them, and prints a
# summary. The printed cards land as PNG files in out/demo/PRINTER/ (or the
# directory given as the first argument); further arguments go to
# "cardd demo" (for example --jobs 20 or --mode permanent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

scripts/setup.sh
out="${1:-out/demo}"
shift || true
go run ./cmd/cardd demo --out "$out" "$@"
