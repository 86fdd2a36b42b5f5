#!/usr/bin/env bash
# demo.sh — the README's first command: show cardd's main job on its
# embedded defaults. For now it renders the shipped sample cards (every
# template with its sample job and synthetic portrait) to PNG files, panel
# by panel, in out/samples (or the directory given as the first argument).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

scripts/setup.sh
out="${1:-out/samples}"
go run ./cmd/cardd render --samples --out "$out"
