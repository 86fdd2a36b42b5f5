#!/bin/sh
# Rebuilds the verifier page's assets (web/dist) from the sources in web/src
# and the exact dependencies of package-lock.json. The built files are
# committed, so "go build" never needs npm; run this after changing
# web/src, package.json or the lock file, then commit web/dist.
#
#   web/build.sh           rebuild web/dist
#   web/build.sh --check   rebuild into a scratch copy and fail if web/dist differs
set -eu
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "build.sh: npm is needed (Debian: apt-get install -y npm)" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp -r build.mjs package.json package-lock.json src "$tmp"/
	(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error && node build.mjs)
	for f in verifier.js verifier.css manifest.json; do
		cmp "$tmp/dist/$f" "dist/$f" || { echo "build.sh: web/dist/$f is stale; run web/build.sh and commit web/dist" >&2; exit 1; }
	done
	echo "build.sh: web/dist is up to date"
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
node build.mjs
