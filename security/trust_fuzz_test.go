package security

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseTrustList(f *testing.F) {
	k := testKey(f, AlgEd25519)
	e, err := NewTrustEntry(testIssuer, k.Public(), t0, t0.AddDate(1, 0, 0))
	if err != nil {
		f.Fatal(err)
	}
	b, err := MarshalTrustList([]TrustEntry{e})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"issuer":"x","kid":"00","public_key":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, err := ParseTrustList(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever parses re-marshals and parses to the same entries.
		out, err := MarshalTrustList(tl.Entries())
		if err != nil {
			t.Fatal(err)
		}
		tl2, err := ParseTrustList(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(tl2.Entries()) != len(tl.Entries()) {
			t.Fatal("entries lost in a round trip")
		}
	})
}

func FuzzParseDenyList(f *testing.F) {
	b, _ := NewDenyList(t0, []string{"CARD-01-0000001-X", "B"}).Marshal()
	f.Add(b)
	f.Add([]byte(`{"serials":[]}`))
	f.Add([]byte(`{"serials":[""]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDenyList(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, s := range d.Serials {
			if !d.Contains(s) {
				t.Fatalf("listed serial %q not contained", s)
			}
		}
		out, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := ParseDenyList(bytes.NewReader(out))
		if err != nil || strings.Join(d2.Serials, "\n") != strings.Join(d.Serials, "\n") || !d2.Generated.Equal(d.Generated.UTC()) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
