package base45

import (
	"bytes"
	"errors"
	"testing"
)

// Examples from RFC 9285 section 4.
func TestRFCExamples(t *testing.T) {
	tests := []struct{ in, out string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\x00", "00"},
		{"\xff\xff", "FGW"},
	}
	for _, tt := range tests {
		t.Run(tt.out, func(t *testing.T) {
			if got := Encode([]byte(tt.in)); got != tt.out {
				t.Fatalf("Encode(%q) = %q, want %q", tt.in, got, tt.out)
			}
			got, err := Decode(tt.out)
			if err != nil || string(got) != tt.in {
				t.Fatalf("Decode(%q) = %q, %v; want %q", tt.out, got, err, tt.in)
			}
			if n := EncodedLen(len(tt.in)); n != len(tt.out) {
				t.Fatalf("EncodedLen(%d) = %d, want %d", len(tt.in), n, len(tt.out))
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{"A", "GGW", "ABCD", "abc", "ZZ", "BB8\n", "GGW0"} {
		if _, err := Decode(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) err = %v, want ErrInvalid", in, err)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello!!"))
	f.Add([]byte{0xff, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %x: %x, %v", b, got, err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("%69 VD92EX0")
	f.Add("GGW")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		if Encode(b) != s {
			t.Fatalf("Decode(%q) = %x re-encodes as %q", s, b, Encode(b))
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	src := bytes.Repeat([]byte{0x5a, 0xa5, 0x13}, 100)
	b.ReportAllocs()
	for b.Loop() {
		Encode(src)
	}
}
