package usbredir

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestPacketRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		longIDs bool
		typ     uint32
		id      uint64
		body    []byte
		wire    []byte
	}{
		{name: "hello short ids", typ: TypeHello, id: 0, body: []byte{1, 2},
			wire: []byte{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2}},
		{name: "bulk long ids", longIDs: true, typ: TypeBulkPacket, id: 0x0102030405060708, body: []byte{9},
			wire: []byte{101, 0, 0, 0, 1, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, 9}},
		{name: "empty body", longIDs: true, typ: TypeDeviceDisconnect, id: 7,
			wire: []byte{2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := AppendPacket(nil, tc.longIDs, tc.typ, tc.id, tc.body)
			if !bytes.Equal(got, tc.wire) {
				t.Fatalf("AppendPacket = % x, want % x", got, tc.wire)
			}
			p, rest, err := ParsePacket(append(got, 0xEE), tc.longIDs)
			if err != nil || p.Type != tc.typ || p.ID != tc.id || !bytes.Equal(p.Body, tc.body) || !bytes.Equal(rest, []byte{0xEE}) {
				t.Fatalf("ParsePacket = %+v rest % x err %v", p, rest, err)
			}
			p2, err := ReadPacket(bytes.NewReader(got), tc.longIDs)
			if err != nil || !reflect.DeepEqual(p2.Header, p.Header) || !bytes.Equal(p2.Body, tc.body) {
				t.Fatalf("ReadPacket = %+v, %v", p2, err)
			}
		})
	}
}

func TestReadPacketErrors(t *testing.T) {
	t.Parallel()
	huge := AppendPacket(nil, false, TypeBulkPacket, 1)
	huge[4], huge[5], huge[6], huge[7] = 0xff, 0xff, 0xff, 0x7f
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short header", []byte{1, 2, 3}, io.ErrUnexpectedEOF},
		{"truncated body", AppendPacket(nil, false, TypeHello, 0, make([]byte, 10))[:15], io.ErrUnexpectedEOF},
		{"absurd length", huge, ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := ReadPacket(bytes.NewReader(tc.in), false); !errors.Is(err, tc.want) {
				t.Errorf("ReadPacket err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	h := Hello{Version: "qemu usb-redir guest 8.2", Caps: 0x7f}
	if got, err := ParseHello(h.Marshal()); err != nil || got != h {
		t.Errorf("hello round trip = %+v, %v", got, err)
	}
	if len(h.Marshal()) != 68 {
		t.Errorf("hello body %d bytes, want 68", len(h.Marshal()))
	}
	c := ControlHeader{Endpoint: 0x80, Request: 6, RequestType: 0x80, Value: 0x0100, Index: 0, Length: 18}
	wire := []byte{0x80, 6, 0x80, 0, 0x00, 0x01, 0, 0, 18, 0}
	if !bytes.Equal(c.Marshal(), wire) {
		t.Errorf("control header % x, want % x", c.Marshal(), wire)
	}
	if got, data, err := ParseControl(append(wire, 'x')); err != nil || got != c || string(data) != "x" {
		t.Errorf("ParseControl = %+v %q %v", got, data, err)
	}
	for _, long := range []bool{false, true} {
		b := BulkHeader{Endpoint: 0x02, Length: 0x1_0003, StreamID: 5}
		want := b
		if !long {
			want.Length &= 0xffff
		}
		got, _, err := ParseBulk(b.Marshal(long), long)
		if err != nil || got != want {
			t.Errorf("bulk long=%v round trip = %+v, want %+v (%v)", long, got, want, err)
		}
	}
	e := EvolisPrimacy("X").epInfo()
	for _, mps := range []bool{false, true} {
		got, err := ParseEPInfo(e.Marshal(mps), mps)
		want := e
		if !mps {
			want.MaxPacketSize = [32]uint16{}
		}
		if err != nil || got != want {
			t.Errorf("ep info mps=%v round trip differs (%v)", mps, err)
		}
	}
	if EPIndex(0x81) != 17 || EPIndex(0x02) != 2 || EPIndex(0x80) != 16 {
		t.Errorf("EPIndex wrong: %d %d %d", EPIndex(0x81), EPIndex(0x02), EPIndex(0x80))
	}
	ii := EvolisPrimacy("X").interfaceInfo()
	if got, err := ParseInterfaceInfo(ii.Marshal()); err != nil || got != ii {
		t.Errorf("interface info round trip: %v", err)
	}
	dc := DeviceConnect{Speed: SpeedHigh, VendorID: 0x0f49, ProductID: 0x0a00, DeviceVersionBCD: 0x0100}
	if got, err := ParseDeviceConnect(dc.Marshal(true)); err != nil || got != dc {
		t.Errorf("device connect round trip = %+v %v", got, err)
	}
}

// FuzzParsePacket feeds arbitrary bytes to the packet parser and the
// type-specific header parsers: they must not panic, must never claim more
// bytes than given, and what they accept must re-encode to the same bytes.
func FuzzParsePacket(f *testing.F) {
	f.Add(AppendPacket(nil, true, TypeControlPacket, 1, ControlHeader{Endpoint: 0x80, Request: 6, RequestType: 0x80, Value: 0x100, Length: 18}.Marshal()), true)
	f.Add(AppendPacket(nil, true, TypeBulkPacket, 2, BulkHeader{Endpoint: 2, Length: 3}.Marshal(true), []byte("abc")), true)
	f.Add(AppendPacket(nil, false, TypeHello, 0, Hello{Version: "x", Caps: 0xff}.Marshal()), false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, longIDs bool) {
		p, rest, err := ParsePacket(b, longIDs)
		if err != nil {
			if _, rerr := ReadPacket(bytes.NewReader(b), longIDs); rerr == nil {
				t.Fatalf("ParsePacket failed (%v) where ReadPacket succeeded", err)
			}
			return
		}
		consumed := len(b) - len(rest)
		if !bytes.Equal(AppendPacket(nil, longIDs, p.Type, p.ID, p.Body), b[:consumed]) {
			t.Fatalf("re-encoded packet differs")
		}
		switch p.Type {
		case TypeHello:
			if h, err := ParseHello(p.Body); err == nil && len(h.Version) >= helloVersionLen {
				t.Fatalf("version of %d bytes", len(h.Version))
			}
		case TypeControlPacket:
			if h, data, err := ParseControl(p.Body); err == nil {
				if !bytes.Equal(append(h.Marshal(), data...), p.Body) {
					t.Fatalf("control re-encode differs")
				}
			}
		case TypeBulkPacket:
			if h, data, err := ParseBulk(p.Body, longIDs); err == nil {
				if !bytes.Equal(append(h.Marshal(longIDs), data...), p.Body) {
					t.Fatalf("bulk re-encode differs")
				}
			}
		case TypeEPInfo:
			if e, err := ParseEPInfo(p.Body, longIDs); err == nil {
				n := len(e.Marshal(longIDs))
				if !bytes.Equal(e.Marshal(longIDs), p.Body[:n]) {
					t.Fatalf("ep info re-encode differs")
				}
			}
		}
	})
}
