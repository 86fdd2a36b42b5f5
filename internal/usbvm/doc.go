// Package usbvm runs cardd's real USB path on machines without USB: it
// boots a small Linux guest under QEMU (software emulation, xHCI host
// controller) and attaches virtual card printers to it through usbredir, so
// that gousb, libusb, usbfs and the guest kernel's USB stack all run for
// real against devices whose behaviour the host decides.
//
// The pieces:
//
//   - PrepareKernel downloads the Debian kernel package that
//     linux-image-amd64 depends on (apt-get download), unpacks it with
//     dpkg-deb, extracts the uncompressed vmlinux from the XZ bzImage and
//     the USB host modules (usb-common, usbcore, xhci-hcd, xhci-pci, with
//     their dependencies read from each module's depends= entry).
//   - BuildInitramfs writes a newc cpio + gzip initramfs with static
//     busybox, the modules, the payload binaries and the shared libraries
//     ldd lists for them, and an /init that mounts devtmpfs, proc, sysfs and
//     tmpfs, loads the modules, runs the payload and powers off.
//   - VM.Run starts qemu-system-x86_64 with one usb-redir device per virtual
//     printer socket, reads the serial console and returns it; ParseTestLog
//     extracts the guest's go test results.
//   - VirtualPrinter joins a printer emulator (printer/emulator) to a
//     usbredir device (internal/usbredir): the emulator's disconnect fault
//     unplugs the USB device, which comes back after a delay.
//
// Everything downloaded or built is cached under .cache/usbvm in the
// repository (ignored by git): the kernel .deb, the unpacked kernel and
// modules keyed by package name, initramfs images keyed by a hash of their
// contents.
//
// TestUSBEndToEnd (a normal go test) builds the printer/usb tests with the
// usbvm build tag, boots one guest with six virtual printers and asserts
// on the guest's results and on what the emulators received. Where QEMU,
// apt or the kernel download is unavailable it skips, saying why — unless
// the CI environment variable is set, where it fails instead.
package usbvm
