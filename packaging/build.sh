#!/bin/sh
# packaging/build.sh [OUTDIR]: builds the cardd binary and its Debian
# package into OUTDIR (default: packaging/dist) and prints
# the package's path on the last line.
#
# nfpm runs as a Go program at a pinned version (go run …@v2.45.2), so it
# stays out of the main module's go.mod. cgo is on: package printer/usb
# uses libusb (Debian: libusb-1.0-0-dev to build, libusb-1.0-0 to run).
#
# Environment: CARDD_VERSION (default from git), CARDD_ARCH (default the
# Go architecture, which matches Debian's for amd64 and arm64).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/packaging/dist"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

arch=${CARDD_ARCH:-$(go env GOARCH)}
if [ -z "${CARDD_VERSION:-}" ]; then
	if rev=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null); then
		when=$(git -C "$root" log -1 --format=%cd --date=format:%Y%m%d%H%M%S HEAD)
		CARDD_VERSION="0.0~git$when.$rev"
	else
		CARDD_VERSION="0.0~dev"
	fi
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
echo "build.sh: building cardd $CARDD_VERSION for $arch" >&2
(cd "$root" && CGO_ENABLED=1 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags="-s -w" -o "$stage/cardd" ./cmd/cardd)

pkg="$out/cardd_${CARDD_VERSION}_${arch}.deb"
rm -f "$pkg"
# The face and pupil cascades come from the pigo module go.mod requires
# (downloaded into the module cache when missing), never from this
# repository.
pigo=$(cd "$root" && go mod download github.com/esimov/pigo && go list -m -f '{{.Dir}}' github.com/esimov/pigo)
# nfpm expands the environment in version and arch but not in contents, so
# the binary's and the cascades' paths are written into a copy of the
# configuration.
sed -e "s#\${CARDD_BINARY}#$stage/cardd#" -e "s#\${CARDD_PIGO}#$pigo#" "$root/packaging/nfpm.yaml" >"$stage/nfpm.yaml"
(cd "$root" && CARDD_VERSION="$CARDD_VERSION" CARDD_ARCH="$arch" \
	go run "$NFPM" package --config "$stage/nfpm.yaml" --packager deb --target "$pkg" >&2)
echo "$pkg"
