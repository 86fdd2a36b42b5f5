// Package usbredir is a virtual USB card printer: the device side (what the
// usbredir project calls "usb-host") of the usbredir protocol, in pure Go.
//
// QEMU's usb-redir device forwards every transfer of one guest USB device
// over a socket; the program at the other end is the device. Device answers
// the hello and capability exchange (announcing 64-bit packet IDs, 32-bit
// bulk lengths and endpoint max packet sizes, which QEMU's xHCI requires),
// describes its single printer-class interface and its endpoints, connects,
// serves all control transfers itself (device, configuration and string
// descriptors, GET_STATUS, the printer-class GET_DEVICE_ID and
// GET_PORT_STATUS), answers set/get configuration and alternate setting,
// tolerates resets (the firmware enumerates the device before the guest
// kernel does), and carries the bulk pipes to a Brain: bulk OUT as one byte
// stream whatever the packet sizes, bulk IN held until the brain has a
// reply, cancelled requests answered as cancelled.
//
// The device can be unplugged and plugged back on command (Unplug, Replug),
// after a given number of bulk OUT bytes (Config.UnplugAfterOut), or when
// the brain reports printer.ErrNoDevice.
//
// All integers on the wire are little-endian. Packet layouts follow the
// usbredir protocol description; this is an independent implementation.
package usbredir
