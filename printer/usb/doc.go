// Package usb is cardd's USB transport: it finds card printers on the USB
// bus and carries a driver's bytes to one of them through libusb (via
// github.com/google/gousb). It is the only package of the project that needs
// cgo.
//
// List enumerates printer-class interfaces (class 7, IPP-over-USB 7/1/4
// excluded) of Evolis (0x0F49) and Magicard (0x0C1F) devices, plus extra
// vendor IDs from the configuration, and reads each one's strings and
// IEEE-1284 device ID. Open selects one device by vendor, product and serial
// number (so identical printers can be told apart), detaches the kernel
// driver, claims the interface with retries while it is busy, and returns a
// *Transport implementing printer.Transport over the interface's bulk
// endpoints: writes go out in 64 KiB chunks each with its own timeout, reads
// wait for the printer's reply until the context or the read timeout ends.
//
// Errors from libusb are mapped to the printer sentinels (ErrNoDevice,
// ErrBusy, ErrTimeout, ErrStall); errors.Is works on every error returned.
//
// Reconnection: when a transfer fails because the device disappeared, the
// failing call returns an error matching printer.ErrNoDevice (the driver
// must treat a card in flight as having an unknown outcome) and the
// Transport releases the device. The next Write or Read transparently looks
// for the same device again (same vendor, product and serial) and reopens
// it; until the device is back those calls fail fast with ErrNoDevice.
// Reopen does the same on demand. Each (re)open uses a fresh libusb context,
// so a device that came back is found even where no udev daemon reports
// hot-plug events.
//
// Resources are released in the reverse order of acquisition: interface,
// configuration, device, libusb context.
package usb
