package usbredir

import (
	"encoding/binary"
	"unicode/utf16"
)

// Identity is what the virtual printer tells the host about itself.
type Identity struct {
	// VID and PID are the USB vendor and product IDs.
	VID, PID uint16
	// BCDDevice is the device release number (bcdDevice).
	BCDDevice uint16
	// Manufacturer, Product and Serial are the string descriptors.
	Manufacturer, Product, Serial string
	// DeviceID is the IEEE-1284 device ID returned for GET_DEVICE_ID.
	DeviceID string
	// InEP and OutEP are the bulk endpoint addresses (IN has bit 7 set).
	InEP, OutEP uint8
	// MaxPacket is the bulk endpoints' wMaxPacketSize (512 at high speed).
	MaxPacket uint16
}

// EvolisPrimacy returns the identity of an Evolis Primacy with the given
// serial number: vendor 0x0F49, bulk IN 0x81, OUT 0x02. Evolis publishes no
// PID table for the Primacy; 0x0A00 is the one usb.ids records for the
// family (Zenius).
func EvolisPrimacy(serial string) Identity {
	return Identity{
		VID: 0x0F49, PID: 0x0A00, BCDDevice: 0x0100,
		Manufacturer: "Evolis", Product: "Evolis Primacy", Serial: serial,
		DeviceID: "MFG:Evolis;MDL:Primacy;CMD:EPL;CLS:PRINTER;DES:Evolis Primacy;",
		InEP:     0x81, OutEP: 0x02, MaxPacket: 512,
	}
}

// MagicardRioPro returns the identity of a Magicard Rio Pro with the given
// serial number: vendor 0x0C1F, bulk IN 0x82, OUT 0x01 (status replies come
// back on IN endpoint 2 on this family).
func MagicardRioPro(serial string) Identity {
	return Identity{
		VID: 0x0C1F, PID: 0x1800, BCDDevice: 0x0100,
		Manufacturer: "Magicard", Product: "Rio Pro", Serial: serial,
		DeviceID: "MFG:Magicard;MDL:Rio Pro;CMD:MCL;CLS:PRINTER;DES:Magicard Rio Pro;",
		InEP:     0x82, OutEP: 0x01, MaxPacket: 512,
	}
}

// String descriptor indexes.
const (
	strManufacturer = 1
	strProduct      = 2
	strSerial       = 3
)

// deviceDescriptor builds the 18-byte device descriptor.
func (id Identity) deviceDescriptor() []byte {
	b := []byte{18, 1}
	b = binary.LittleEndian.AppendUint16(b, 0x0200) // USB 2.0
	b = append(b, 0, 0, 0, 64)                      // class in interface, EP0 64 bytes
	b = binary.LittleEndian.AppendUint16(b, id.VID)
	b = binary.LittleEndian.AppendUint16(b, id.PID)
	b = binary.LittleEndian.AppendUint16(b, id.BCDDevice)
	return append(b, strManufacturer, strProduct, strSerial, 1)
}

// configDescriptor builds configuration 1: one printer-class interface
// (7/1/2, bidirectional) with a bulk IN and a bulk OUT endpoint.
func (id Identity) configDescriptor() []byte {
	const total = 9 + 9 + 7 + 7
	b := []byte{9, 2}
	b = binary.LittleEndian.AppendUint16(b, total)
	b = append(b, 1, 1, 0, 0xC0, 1) // 1 interface, value 1, no string, self-powered, 2 mA
	b = append(b, 9, 4, 0, 0, 2, 7, 1, 2, 0)
	for _, ep := range []uint8{id.InEP, id.OutEP} {
		b = append(b, 7, 5, ep, 2)
		b = binary.LittleEndian.AppendUint16(b, id.MaxPacket)
		b = append(b, 0)
	}
	return b
}

// stringDescriptor returns string descriptor i (0 is the language list).
func (id Identity) stringDescriptor(i uint8) ([]byte, bool) {
	var s string
	switch i {
	case 0:
		return []byte{4, 3, 0x09, 0x04}, true // US English
	case strManufacturer:
		s = id.Manufacturer
	case strProduct:
		s = id.Product
	case strSerial:
		s = id.Serial
	default:
		return nil, false
	}
	u := utf16.Encode([]rune(s))
	if len(u) > 126 {
		u = u[:126]
	}
	b := []byte{byte(2 + 2*len(u)), 3}
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b, true
}

// deviceIDReply is the GET_DEVICE_ID reply: a big-endian length that counts
// its own two bytes, then the ID text.
func (id Identity) deviceIDReply() []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(2+len(id.DeviceID)))
	return append(b, id.DeviceID...)
}

// interfaceInfo describes the device's single interface.
func (id Identity) interfaceInfo() InterfaceInfo {
	ii := InterfaceInfo{Count: 1}
	ii.Number[0], ii.Class[0], ii.Sub[0], ii.Protocol[0] = 0, 7, 1, 2
	return ii
}

// epInfo describes the control and bulk endpoints.
func (id Identity) epInfo() EPInfo {
	var e EPInfo
	for i := range e.Type {
		e.Type[i] = EPTypeInvalid
	}
	e.Type[EPIndex(0x00)], e.MaxPacketSize[EPIndex(0x00)] = EPTypeControl, 64
	e.Type[EPIndex(0x80)], e.MaxPacketSize[EPIndex(0x80)] = EPTypeControl, 64
	for _, ep := range []uint8{id.InEP, id.OutEP} {
		e.Type[EPIndex(ep)] = EPTypeBulk
		e.MaxPacketSize[EPIndex(ep)] = id.MaxPacket
	}
	return e
}
