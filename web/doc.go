// Package web holds the officer's offline verifier page: the sources of its
// script (web/src, bundled with esbuild through web/build.sh from the exact
// npm dependencies of web/package-lock.json), the built bundle embedded in
// the binary (web/dist), and the Go code that writes the page as one
// self-contained HTML file with a trust list and a deny list inside, or
// serves it over HTTP.
//
// The page reads a card's QR code from the camera, an image file or text,
// and verifies it in the browser as package security's Verifier does:
// Base45, zlib or Brotli, COSE_Sign1 (tagged or not), an Ed25519 or ES256 signature checked with
// WebCrypto against the embedded trust list, the deny list, then the
// validity dates. Its Content-Security-Policy forbids every network
// request, so the page works offline once loaded and cannot leak what it
// reads.
package web
