// Package packaging holds what installs cardd as a system service on
// Debian: the hardened systemd unit (cardd.service), the udev rules for the
// USB printers (99-cardd.rules), sysusers.d and tmpfiles.d entries, the
// station's default configuration (cardd.toml), the maintainer scripts, and
// the nfpm configuration that build.sh turns into a .deb. It has no Go
// code; its test builds the package and checks it with test-deb.sh.
package packaging
