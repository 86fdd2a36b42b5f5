package security

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/veraison/go-cose"

	"github.com/cardd/cardd/internal/textsafe"
)

// TrustEntry is one issuer key a verifier accepts.
type TrustEntry struct {
	// Issuer is the iss URI the key signs for.
	Issuer string `json:"issuer"`
	// KID is the key ID, 16 hex digits; it must match the key.
	KID string `json:"kid"`
	// PublicKey is the PEM "PUBLIC KEY" block.
	PublicKey string `json:"public_key"`
	// NotBefore and NotAfter bound the issue times (iat) of the
	// credentials the key is trusted for; zero means unbounded.
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
}

// trustedKey is a TrustEntry parsed and ready to verify with.
type trustedKey struct {
	entry    TrustEntry
	kid      KeyID
	alg      Alg
	verifier cose.Verifier
}

// TrustList is the set of issuer keys a verifier accepts, indexed by key
// ID. Several keys may share a key ID; each is tried.
type TrustList struct {
	keys map[KeyID][]trustedKey
}

// trustFile is the JSON shape of a trust list file.
type trustFile struct {
	Keys []TrustEntry `json:"keys"`
}

// maxListFile bounds trust and deny list files.
const maxListFile = 16 << 20

// NewTrustEntry builds an entry for pub.
func NewTrustEntry(issuer string, pub crypto.PublicKey, notBefore, notAfter time.Time) (TrustEntry, error) {
	kid, err := KeyIDOf(pub)
	if err != nil {
		return TrustEntry{}, err
	}
	p, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		return TrustEntry{}, err
	}
	return TrustEntry{Issuer: issuer, KID: kid.String(), PublicKey: string(p), NotBefore: notBefore, NotAfter: notAfter}, nil
}

// NewTrustList builds a trust list from entries, checking each.
func NewTrustList(entries ...TrustEntry) (*TrustList, error) {
	t := &TrustList{keys: map[KeyID][]trustedKey{}}
	for i, e := range entries {
		if err := t.add(e); err != nil {
			return nil, listError{fmt.Errorf("trust list entry %d (issuer %q, kid %s): %w", i, e.Issuer, e.KID, err)}
		}
	}
	return t, nil
}

// listError is a problem with a trust or deny list file, whose text may
// quote what the file holds (an issuer, a kid, an unknown field's name, a
// time): people read it (cardd verify, doctor, a station's log), so its
// Error escapes control, bidi and invisible characters (internal/textsafe)
// and a list cannot forge or hide lines of what is shown. Unwrap gives the
// error as it was.
type listError struct{ err error }

func (e listError) Error() string { return textsafe.Escape(e.err.Error()) }
func (e listError) Unwrap() error { return e.err }

func (t *TrustList) add(e TrustEntry) error {
	if e.Issuer == "" {
		return errors.New("issuer is empty")
	}
	pub, err := ParsePublicKeyPEM([]byte(e.PublicKey))
	if err != nil {
		return err
	}
	kid, err := KeyIDOf(pub)
	if err != nil {
		return err
	}
	if e.KID != kid.String() {
		return fmt.Errorf("kid does not match the public key (key's kid is %s)", kid)
	}
	if !e.NotBefore.IsZero() && !e.NotAfter.IsZero() && !e.NotAfter.After(e.NotBefore) {
		return errors.New("not_after is not after not_before")
	}
	alg, err := AlgOf(pub)
	if err != nil {
		return err
	}
	calg, err := alg.cose()
	if err != nil {
		return err
	}
	v, err := cose.NewVerifier(calg, pub)
	if err != nil {
		return err
	}
	t.keys[kid] = append(t.keys[kid], trustedKey{entry: e, kid: kid, alg: alg, verifier: v})
	return nil
}

// Entries returns the list's entries.
func (t *TrustList) Entries() []TrustEntry {
	var out []TrustEntry
	for _, ks := range t.keys {
		for _, k := range ks {
			out = append(out, k.entry)
		}
	}
	slices.SortFunc(out, func(a, b TrustEntry) int {
		if a.Issuer != b.Issuer {
			return cmpStr(a.Issuer, b.Issuer)
		}
		return cmpStr(a.KID, b.KID)
	})
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParseTrustList parses a JSON trust list:
//
//	{"keys": [{"issuer": "https://id.example.org", "kid": "0123456789abcdef",
//	  "public_key": "-----BEGIN PUBLIC KEY-----\n…", "not_before": "2026-01-01T00:00:00Z",
//	  "not_after": "2031-01-01T00:00:00Z"}]}
//
// Unknown fields are errors.
func ParseTrustList(r io.Reader) (*TrustList, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxListFile))
	dec.DisallowUnknownFields()
	var f trustFile
	if err := dec.Decode(&f); err != nil {
		return nil, listError{fmt.Errorf("trust list: %w", err)}
	}
	return NewTrustList(f.Keys...)
}

// LoadTrustList reads a trust list file.
func LoadTrustList(path string) (*TrustList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust list: %w", err)
	}
	defer f.Close()
	t, err := ParseTrustList(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// MarshalTrustList returns the JSON file form of entries.
func MarshalTrustList(entries []TrustEntry) ([]byte, error) {
	b, err := json.MarshalIndent(trustFile{Keys: entries}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DenyList is the set of card serials that must no longer be accepted
// (voided, spoiled or replaced cards). The zero value is empty; a nil
// *DenyList denies nothing.
type DenyList struct {
	// Generated is when the list was written.
	Generated time.Time `json:"generated,omitzero"`
	// Serials are the denied serials, sorted.
	Serials []string `json:"serials"`

	set map[string]struct{}
}

// NewDenyList returns a deny list of serials (deduplicated and sorted).
func NewDenyList(generated time.Time, serials []string) *DenyList {
	d := &DenyList{Generated: generated, Serials: slices.Clone(serials)}
	slices.Sort(d.Serials)
	d.Serials = slices.Compact(d.Serials)
	d.index()
	return d
}

func (d *DenyList) index() {
	d.set = make(map[string]struct{}, len(d.Serials))
	for _, s := range d.Serials {
		d.set[s] = struct{}{}
	}
}

// Contains reports whether serial is denied.
func (d *DenyList) Contains(serial string) bool {
	if d == nil {
		return false
	}
	if d.set == nil { // built by hand, not by NewDenyList
		return slices.Contains(d.Serials, serial)
	}
	_, ok := d.set[serial]
	return ok
}

// ParseDenyList parses the JSON deny list written by MarshalDenyList
// ("cardd audit export"): {"generated": "…", "serials": ["…", …]}.
func ParseDenyList(r io.Reader) (*DenyList, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxListFile))
	dec.DisallowUnknownFields()
	var d DenyList
	if err := dec.Decode(&d); err != nil {
		return nil, listError{fmt.Errorf("deny list: %w", err)}
	}
	for i, s := range d.Serials {
		if s == "" {
			return nil, fmt.Errorf("deny list: serial %d is empty", i)
		}
	}
	return NewDenyList(d.Generated, d.Serials), nil
}

// LoadDenyList reads a deny list file.
func LoadDenyList(path string) (*DenyList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deny list: %w", err)
	}
	d, err := ParseDenyList(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Marshal returns the JSON file form of the deny list.
func (d *DenyList) Marshal() ([]byte, error) {
	out := struct {
		Generated time.Time `json:"generated,omitzero"`
		Serials   []string  `json:"serials"`
	}{d.Generated.UTC(), d.Serials}
	if out.Serials == nil {
		out.Serials = []string{}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
