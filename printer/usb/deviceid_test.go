package usb

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestParseDeviceID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want DeviceID
	}{
		{
			name: "evolis primacy",
			in:   "MFG:Evolis;CMD:EPL;MDL:Primacy;CLS:PRINTER;DES:Evolis Primacy;",
			want: DeviceID{Manufacturer: "Evolis", Model: "Primacy", Commands: "EPL", Class: "PRINTER", Description: "Evolis Primacy"},
		},
		{
			name: "long keys, blanks, no final semicolon",
			in:   " MANUFACTURER : Magicard ; MODEL:Rio Pro ;COMMAND SET: MCL,PJL;CLASS:PRINTER",
			want: DeviceID{Manufacturer: "Magicard", Model: "Rio Pro", Commands: "MCL,PJL", Class: "PRINTER"},
		},
		{
			name: "lower-case keys, serial, first key wins",
			in:   "mfg:A;mdl:B;MFG:C;SN:1234;junk;:novalue;",
			want: DeviceID{Manufacturer: "A", Model: "B", Serial: "1234"},
		},
		{name: "empty", in: "", want: DeviceID{}},
		{name: "value with colon", in: "MDL:X:Y;", want: DeviceID{Model: "X:Y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ParseDeviceID(tc.in)
			got.Fields = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseDeviceID(%q) =\n %+v, want\n %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestDeviceIDLanguages(t *testing.T) {
	t.Parallel()
	got := ParseDeviceID("CMD: MCL , PJL,,;").Languages()
	if strings.Join(got, "|") != "MCL|PJL" {
		t.Errorf("Languages = %q, want [MCL PJL]", got)
	}
}

func reply(id string, littleEndian bool, pad int) []byte {
	b := make([]byte, 2+len(id)+pad)
	if littleEndian {
		binary.LittleEndian.PutUint16(b, uint16(2+len(id)))
	} else {
		binary.BigEndian.PutUint16(b, uint16(2+len(id)))
	}
	copy(b[2:], id)
	return b
}

func TestDecodeDeviceIDReply(t *testing.T) {
	t.Parallel()
	const id = "MFG:Evolis;MDL:Primacy;CMD:EPL;"
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr bool
	}{
		{name: "big endian", in: reply(id, false, 0), want: id},
		{name: "big endian with trailing junk", in: reply(id, false, 40), want: id},
		{name: "byte-swapped length", in: reply(id, true, 0), want: id},
		{name: "nul padded inside length", in: reply(id+"\x00\x00", false, 0), want: id},
		{name: "length only", in: []byte{0, 2}, want: ""},
		{name: "too short", in: []byte{0}, wantErr: true},
		{name: "length too long both ways", in: []byte{0x7f, 0x7e, 'a'}, wantErr: true},
		{name: "length below 2", in: []byte{0, 1, 0}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeDeviceIDReply(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzDeviceID(f *testing.F) {
	f.Add(reply("MFG:Evolis;MDL:Primacy;CMD:EPL;", false, 3))
	f.Add(reply("MANUFACTURER:Magicard;MODEL:Enduro;", true, 0))
	f.Add([]byte{0, 0, ';', ':'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeDeviceIDReply(b)
		if err != nil {
			return
		}
		if len(s)+2 > len(b) {
			t.Fatalf("decoded %d bytes from a %d-byte reply", len(s), len(b))
		}
		d := ParseDeviceID(s)
		for k := range d.Fields {
			if k != strings.ToUpper(strings.TrimSpace(k)) || k == "" {
				t.Fatalf("key %q not normalised", k)
			}
		}
		if d.Manufacturer != "" && d.Manufacturer != d.Fields["MFG"] && d.Manufacturer != d.Fields["MANUFACTURER"] {
			t.Fatalf("manufacturer %q not from fields", d.Manufacturer)
		}
		// Parsing is stable: re-serialising the fields parses to the same.
		var sb strings.Builder
		for k, v := range d.Fields {
			if strings.ContainsAny(v, ";") || strings.ContainsAny(k, ":;") {
				return
			}
			sb.WriteString(k + ":" + v + ";")
		}
		d2 := ParseDeviceID(sb.String())
		if len(d2.Fields) != len(d.Fields) {
			t.Fatalf("round trip: %d fields, want %d", len(d2.Fields), len(d.Fields))
		}
	})
}
