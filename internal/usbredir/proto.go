package usbredir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types of the usbredir protocol (the numbering is the protocol's).
const (
	TypeHello               uint32 = 0
	TypeDeviceConnect       uint32 = 1
	TypeDeviceDisconnect    uint32 = 2
	TypeReset               uint32 = 3
	TypeInterfaceInfo       uint32 = 4
	TypeEPInfo              uint32 = 5
	TypeSetConfiguration    uint32 = 6
	TypeGetConfiguration    uint32 = 7
	TypeConfigurationStatus uint32 = 8
	TypeSetAltSetting       uint32 = 9
	TypeGetAltSetting       uint32 = 10
	TypeAltSettingStatus    uint32 = 11
	TypeStartInterruptRecv  uint32 = 15
	TypeStopInterruptRecv   uint32 = 16
	TypeInterruptRecvStatus uint32 = 17
	TypeCancelDataPacket    uint32 = 21
	TypeDeviceDisconnectAck uint32 = 24
	TypeControlPacket       uint32 = 100
	TypeBulkPacket          uint32 = 101
	TypeInterruptPacket     uint32 = 103
	TypeBufferedBulkPacket  uint32 = 104
)

// Transfer status codes.
const (
	StatusSuccess   uint8 = 0
	StatusCancelled uint8 = 1
	StatusInval     uint8 = 2
	StatusIOError   uint8 = 3
	StatusStall     uint8 = 4
	StatusTimeout   uint8 = 5
)

// Capability bits announced in hello packets.
const (
	CapBulkStreams          = 0
	CapConnectDeviceVersion = 1
	CapFilter               = 2
	CapDeviceDisconnectAck  = 3
	CapEPInfoMaxPacketSize  = 4
	Cap64BitIDs             = 5
	Cap32BitsBulkLength     = 6
	CapBulkReceiving        = 7
)

// Endpoint transfer types as ep_info carries them.
const (
	EPTypeControl   uint8 = 0
	EPTypeBulk      uint8 = 2
	EPTypeInterrupt uint8 = 3
	EPTypeInvalid   uint8 = 255
)

// Speeds as device_connect carries them.
const (
	SpeedLow  uint8 = 0
	SpeedFull uint8 = 1
	SpeedHigh uint8 = 2
)

// MaxPacketLength bounds the body of one packet this side accepts. It is far
// above a card (a duplex YMCKO Evolis job is under 4 MiB) and stops a
// corrupt length from allocating gigabytes.
const MaxPacketLength = 64 << 20

// ErrTooLong reports a packet whose declared length exceeds MaxPacketLength.
var ErrTooLong = errors.New("usbredir: packet too long")

// Header is the header every packet starts with. On the wire the ID is 32
// bits until both sides have announced Cap64BitIDs, 64 bits after.
type Header struct {
	Type   uint32
	Length uint32 // bytes after the header: type-specific header plus data
	ID     uint64
}

// Packet is one protocol packet: its header and the bytes after it.
type Packet struct {
	Header
	Body []byte
}

// headerSize returns the header length for the ID width.
func headerSize(longIDs bool) int {
	if longIDs {
		return 16
	}
	return 12
}

// ReadPacket reads one packet. longIDs selects the 64-bit ID header.
func ReadPacket(r io.Reader, longIDs bool) (Packet, error) {
	var hb [16]byte
	hs := headerSize(longIDs)
	if _, err := io.ReadFull(r, hb[:hs]); err != nil {
		return Packet{}, err
	}
	h := Header{Type: binary.LittleEndian.Uint32(hb[0:]), Length: binary.LittleEndian.Uint32(hb[4:])}
	if longIDs {
		h.ID = binary.LittleEndian.Uint64(hb[8:])
	} else {
		h.ID = uint64(binary.LittleEndian.Uint32(hb[8:]))
	}
	if h.Length > MaxPacketLength {
		return Packet{}, fmt.Errorf("%w: type %d declares %d bytes", ErrTooLong, h.Type, h.Length)
	}
	p := Packet{Header: h, Body: make([]byte, h.Length)}
	if _, err := io.ReadFull(r, p.Body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, fmt.Errorf("usbredir: body of packet type %d: %w", h.Type, err)
	}
	return p, nil
}

// ParsePacket parses one packet from the start of b and returns the bytes
// after it.
func ParsePacket(b []byte, longIDs bool) (Packet, []byte, error) {
	hs := headerSize(longIDs)
	if len(b) < hs {
		return Packet{}, b, io.ErrUnexpectedEOF
	}
	h := Header{Type: binary.LittleEndian.Uint32(b[0:]), Length: binary.LittleEndian.Uint32(b[4:])}
	if longIDs {
		h.ID = binary.LittleEndian.Uint64(b[8:])
	} else {
		h.ID = uint64(binary.LittleEndian.Uint32(b[8:]))
	}
	if h.Length > MaxPacketLength {
		return Packet{}, b, fmt.Errorf("%w: type %d declares %d bytes", ErrTooLong, h.Type, h.Length)
	}
	if uint64(len(b)-hs) < uint64(h.Length) {
		return Packet{}, b, io.ErrUnexpectedEOF
	}
	end := hs + int(h.Length)
	return Packet{Header: h, Body: b[hs:end:end]}, b[end:], nil
}

// AppendPacket appends the wire form of a packet with the given type, id
// and body to b; the length is taken from the body.
func AppendPacket(b []byte, longIDs bool, typ uint32, id uint64, body ...[]byte) []byte {
	n := 0
	for _, part := range body {
		n += len(part)
	}
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	if longIDs {
		b = binary.LittleEndian.AppendUint64(b, id)
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	for _, part := range body {
		b = append(b, part...)
	}
	return b
}

// Hello is the body of a hello packet.
type Hello struct {
	Version string // at most 63 bytes
	Caps    uint32 // capability bits
}

// helloVersionLen is the fixed size of the version field.
const helloVersionLen = 64

// ParseHello decodes a hello body.
func ParseHello(b []byte) (Hello, error) {
	if len(b) < helloVersionLen {
		return Hello{}, fmt.Errorf("usbredir: hello of %d bytes, want at least %d", len(b), helloVersionLen)
	}
	// The field is NUL-terminated; a peer that fills all 64 bytes gets
	// its last byte dropped, as a C reader would.
	v := b[:helloVersionLen-1]
	for i, c := range v {
		if c == 0 {
			v = v[:i]
			break
		}
	}
	h := Hello{Version: string(v)}
	if len(b) >= helloVersionLen+4 {
		h.Caps = binary.LittleEndian.Uint32(b[helloVersionLen:])
	}
	return h, nil
}

// Marshal encodes the hello body.
func (h Hello) Marshal() []byte {
	b := make([]byte, helloVersionLen, helloVersionLen+4)
	copy(b[:helloVersionLen-1], h.Version)
	return binary.LittleEndian.AppendUint32(b, h.Caps)
}

// Has reports whether capability bit c is set.
func (h Hello) Has(c int) bool { return h.Caps&(1<<c) != 0 }

// ControlHeader is the type-specific header of a control packet.
type ControlHeader struct {
	Endpoint    uint8
	Request     uint8
	RequestType uint8
	Status      uint8
	Value       uint16
	Index       uint16
	Length      uint16
}

// controlHeaderSize is the wire size of ControlHeader.
const controlHeaderSize = 10

// ParseControl splits a control packet body into its header and data.
func ParseControl(b []byte) (ControlHeader, []byte, error) {
	if len(b) < controlHeaderSize {
		return ControlHeader{}, nil, fmt.Errorf("usbredir: control packet of %d bytes, want at least %d", len(b), controlHeaderSize)
	}
	return ControlHeader{
		Endpoint: b[0], Request: b[1], RequestType: b[2], Status: b[3],
		Value:  binary.LittleEndian.Uint16(b[4:]),
		Index:  binary.LittleEndian.Uint16(b[6:]),
		Length: binary.LittleEndian.Uint16(b[8:]),
	}, b[controlHeaderSize:], nil
}

// Marshal encodes the control header.
func (c ControlHeader) Marshal() []byte {
	b := []byte{c.Endpoint, c.Request, c.RequestType, c.Status}
	b = binary.LittleEndian.AppendUint16(b, c.Value)
	b = binary.LittleEndian.AppendUint16(b, c.Index)
	return binary.LittleEndian.AppendUint16(b, c.Length)
}

// BulkHeader is the type-specific header of a bulk packet. Length is 32 bits
// when both sides have Cap32BitsBulkLength, 16 bits otherwise.
type BulkHeader struct {
	Endpoint uint8
	Status   uint8
	Length   uint32
	StreamID uint32
}

// bulkHeaderSize returns the wire size of BulkHeader.
func bulkHeaderSize(long bool) int {
	if long {
		return 10
	}
	return 8
}

// ParseBulk splits a bulk packet body into its header and data.
func ParseBulk(b []byte, longLength bool) (BulkHeader, []byte, error) {
	hs := bulkHeaderSize(longLength)
	if len(b) < hs {
		return BulkHeader{}, nil, fmt.Errorf("usbredir: bulk packet of %d bytes, want at least %d", len(b), hs)
	}
	h := BulkHeader{
		Endpoint: b[0], Status: b[1],
		Length:   uint32(binary.LittleEndian.Uint16(b[2:])),
		StreamID: binary.LittleEndian.Uint32(b[4:]),
	}
	if longLength {
		h.Length |= uint32(binary.LittleEndian.Uint16(b[8:])) << 16
	}
	return h, b[hs:], nil
}

// Marshal encodes the bulk header.
func (h BulkHeader) Marshal(longLength bool) []byte {
	b := []byte{h.Endpoint, h.Status}
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Length))
	b = binary.LittleEndian.AppendUint32(b, h.StreamID)
	if longLength {
		b = binary.LittleEndian.AppendUint16(b, uint16(h.Length>>16))
	}
	return b
}

// InterfaceInfo is the body of an interface_info packet.
type InterfaceInfo struct {
	Count                        uint32
	Number, Class, Sub, Protocol [32]uint8
}

// Marshal encodes the interface info.
func (ii InterfaceInfo) Marshal() []byte {
	b := binary.LittleEndian.AppendUint32(nil, ii.Count)
	b = append(b, ii.Number[:]...)
	b = append(b, ii.Class[:]...)
	b = append(b, ii.Sub[:]...)
	return append(b, ii.Protocol[:]...)
}

// ParseInterfaceInfo decodes an interface_info body.
func ParseInterfaceInfo(b []byte) (InterfaceInfo, error) {
	var ii InterfaceInfo
	if len(b) < 4+4*32 {
		return ii, fmt.Errorf("usbredir: interface info of %d bytes, want %d", len(b), 4+4*32)
	}
	ii.Count = binary.LittleEndian.Uint32(b)
	copy(ii.Number[:], b[4:])
	copy(ii.Class[:], b[36:])
	copy(ii.Sub[:], b[68:])
	copy(ii.Protocol[:], b[100:])
	return ii, nil
}

// EPInfo is the body of an ep_info packet, indexed by EPIndex.
type EPInfo struct {
	Type, Interval, Interface [32]uint8
	MaxPacketSize             [32]uint16
}

// EPIndex returns the ep_info slot of an endpoint address: OUT endpoints
// take slots 0–15, IN endpoints 16–31.
func EPIndex(addr uint8) int { return int((addr&0x80)>>3 | addr&0x0f) }

// Marshal encodes the ep info; withMPS adds the max-packet-size array
// (when both sides have CapEPInfoMaxPacketSize).
func (e EPInfo) Marshal(withMPS bool) []byte {
	b := append([]byte(nil), e.Type[:]...)
	b = append(b, e.Interval[:]...)
	b = append(b, e.Interface[:]...)
	if withMPS {
		for _, m := range e.MaxPacketSize {
			b = binary.LittleEndian.AppendUint16(b, m)
		}
	}
	return b
}

// ParseEPInfo decodes an ep_info body.
func ParseEPInfo(b []byte, withMPS bool) (EPInfo, error) {
	var e EPInfo
	want := 96
	if withMPS {
		want += 64
	}
	if len(b) < want {
		return e, fmt.Errorf("usbredir: ep info of %d bytes, want %d", len(b), want)
	}
	copy(e.Type[:], b)
	copy(e.Interval[:], b[32:])
	copy(e.Interface[:], b[64:])
	if withMPS {
		for i := range e.MaxPacketSize {
			e.MaxPacketSize[i] = binary.LittleEndian.Uint16(b[96+2*i:])
		}
	}
	return e, nil
}

// DeviceConnect is the body of a device_connect packet.
type DeviceConnect struct {
	Speed                     uint8
	Class, SubClass, Protocol uint8
	VendorID, ProductID       uint16
	DeviceVersionBCD          uint16 // sent only with CapConnectDeviceVersion
}

// Marshal encodes the device_connect body.
func (d DeviceConnect) Marshal(withVersion bool) []byte {
	b := []byte{d.Speed, d.Class, d.SubClass, d.Protocol}
	b = binary.LittleEndian.AppendUint16(b, d.VendorID)
	b = binary.LittleEndian.AppendUint16(b, d.ProductID)
	if withVersion {
		b = binary.LittleEndian.AppendUint16(b, d.DeviceVersionBCD)
	}
	return b
}

// ParseDeviceConnect decodes a device_connect body.
func ParseDeviceConnect(b []byte) (DeviceConnect, error) {
	if len(b) < 8 {
		return DeviceConnect{}, fmt.Errorf("usbredir: device connect of %d bytes, want at least 8", len(b))
	}
	d := DeviceConnect{Speed: b[0], Class: b[1], SubClass: b[2], Protocol: b[3],
		VendorID: binary.LittleEndian.Uint16(b[4:]), ProductID: binary.LittleEndian.Uint16(b[6:])}
	if len(b) >= 10 {
		d.DeviceVersionBCD = binary.LittleEndian.Uint16(b[8:])
	}
	return d, nil
}
