package security

import (
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// CardType tells a temporary card from a permanent one. It is signed.
type CardType string

// Card types.
const (
	CardTemporary CardType = "temporary"
	CardPermanent CardType = "permanent"
)

// Gender is Claim 169 attribute 9.
type Gender int

// Claim 169 gender values; GenderUnset omits the attribute.
const (
	GenderUnset  Gender = 0
	GenderMale   Gender = 1
	GenderFemale Gender = 2
	GenderOther  Gender = 3
)

// String returns the gender's name.
func (g Gender) String() string {
	switch g {
	case GenderMale:
		return "male"
	case GenderFemale:
		return "female"
	case GenderOther:
		return "other"
	case GenderUnset:
		return ""
	}
	return fmt.Sprintf("gender(%d)", int(g))
}

// Claim 169 image sub-formats for the face (attribute 62).
const (
	FacePNG  = 0
	FaceJPEG = 1
	FaceWEBP = 4
)

// Face is a small signed face image (Claim 169 attribute 62, one biometric
// entry with data format 0 "image").
type Face struct {
	// Data is the encoded image.
	Data []byte
	// SubFormat is the image sub-format (FacePNG, FaceJPEG, FaceWEBP …).
	SubFormat int
}

// Credential is what the card's QR code signs: the CWT claims and the
// holder's Claim 169 attributes. Dates are whole seconds (CWT NumericDate).
type Credential struct {
	// Issuer is the CWT iss claim (1), a full URI such as
	// "https://id.example.org".
	Issuer string
	// IssuedAt (iat, 6), NotBefore (nbf, 5) and Expires (exp, 4). A zero
	// NotBefore or Expires is omitted.
	IssuedAt, NotBefore, Expires time.Time

	// ID is Claim 169 attribute 1: the card serial.
	ID string
	// FullName is attribute 4.
	FullName string
	// DateOfBirth is attribute 8, YYYYMMDD.
	DateOfBirth string
	// Gender is attribute 9.
	Gender Gender
	// Nationality is attribute 13 (ISO 3166 alpha-2 or alpha-3).
	Nationality string
	// LegalStatus is attribute 22.
	LegalStatus string
	// CountryOfIssuance is attribute 23.
	CountryOfIssuance string
	// CardType is carried in attribute 99 (ClaimCardType), an unassigned
	// Claim 169 key used within our own ecosystem.
	CardType CardType
	// Face is attribute 62, optional.
	Face *Face
}

// Claim numbers.
const (
	// ClaimIdentity is the CWT claim that carries the identity attributes.
	ClaimIdentity = 169
	// ClaimCardType is the key inside claim 169 that carries the card type
	// ("temporary" or "permanent"). Claim 169 v1.2 leaves 75..99
	// unassigned "for any other data" and allows them in closed ecosystems;
	// we use the last one, 99, so that a future assignment is unlikely to
	// collide. Other Claim 169 verifiers ignore it.
	ClaimCardType = 99
)

// Size limits on credentials, as signed and as accepted by the verifier.
const (
	// MaxTextField is the longest text attribute accepted, in bytes.
	MaxTextField = 256
	// MaxFace is the largest face thumbnail accepted, in bytes.
	MaxFace = 2048
)

// Validate checks a credential before it is signed.
func (c *Credential) Validate() error {
	if c.Issuer == "" {
		return errors.New("credential: issuer is empty")
	}
	if c.ID == "" {
		return errors.New("credential: id (card serial) is empty")
	}
	if c.IssuedAt.IsZero() {
		return errors.New("credential: issued-at is zero")
	}
	if !c.Expires.IsZero() && !c.Expires.After(c.IssuedAt) {
		return fmt.Errorf("credential %s: expiry %s is not after issue %s", c.ID, c.Expires.UTC().Format(time.RFC3339), c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && !c.Expires.IsZero() && !c.Expires.After(c.NotBefore) {
		return fmt.Errorf("credential %s: expiry is not after not-before", c.ID)
	}
	if c.DateOfBirth != "" {
		if _, err := time.Parse("20060102", c.DateOfBirth); err != nil {
			return fmt.Errorf("credential %s: date of birth %q is not YYYYMMDD", c.ID, c.DateOfBirth)
		}
	}
	if c.Gender < GenderUnset || c.Gender > GenderOther {
		return fmt.Errorf("credential %s: gender %d out of range", c.ID, int(c.Gender))
	}
	switch c.CardType {
	case "", CardTemporary, CardPermanent:
	default:
		return fmt.Errorf("credential %s: card type %q (want temporary or permanent)", c.ID, string(c.CardType))
	}
	for _, f := range []struct{ name, v string }{
		{"issuer", c.Issuer}, {"id", c.ID}, {"full name", c.FullName}, {"nationality", c.Nationality},
		{"legal status", c.LegalStatus}, {"country of issuance", c.CountryOfIssuance},
	} {
		if len(f.v) > MaxTextField {
			return fmt.Errorf("credential %s: %s is %d bytes (max %d)", c.ID, f.name, len(f.v), MaxTextField)
		}
	}
	if c.Face != nil && (len(c.Face.Data) == 0 || len(c.Face.Data) > MaxFace) {
		return fmt.Errorf("credential %s: face thumbnail is %d bytes (want 1..%d)", c.ID, len(c.Face.Data), MaxFace)
	}
	return nil
}

// Fields returns the holder's signed fields as label/value pairs in a fixed
// order, for display. Empty fields are left out.
func (c *Credential) Fields() []Field {
	var out []Field
	add := func(label, v string) {
		if v != "" {
			out = append(out, Field{label, v})
		}
	}
	add("id", c.ID)
	add("full_name", c.FullName)
	add("date_of_birth", c.DateOfBirth)
	add("gender", c.Gender.String())
	add("nationality", c.Nationality)
	add("legal_status", c.LegalStatus)
	add("country_of_issuance", c.CountryOfIssuance)
	add("card_type", string(c.CardType))
	if c.Face != nil {
		add("face", fmt.Sprintf("%d bytes, sub-format %d", len(c.Face.Data), c.Face.SubFormat))
	}
	return out
}

// Field is one labelled holder field.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// The CBOR shapes. Keys are integers (keyasint); unknown keys from other
// issuers are ignored on decoding.

type cwtClaims struct {
	Iss      string       `cbor:"1,keyasint,omitempty"`
	Exp      int64        `cbor:"4,keyasint,omitempty"`
	Nbf      int64        `cbor:"5,keyasint,omitempty"`
	Iat      int64        `cbor:"6,keyasint,omitempty"`
	Identity *identityMap `cbor:"169,keyasint,omitempty"`
}

type identityMap struct {
	ID                string      `cbor:"1,keyasint,omitempty"`
	FullName          string      `cbor:"4,keyasint,omitempty"`
	DateOfBirth       string      `cbor:"8,keyasint,omitempty"`
	Gender            int64       `cbor:"9,keyasint,omitempty"`
	Nationality       string      `cbor:"13,keyasint,omitempty"`
	LegalStatus       string      `cbor:"22,keyasint,omitempty"`
	CountryOfIssuance string      `cbor:"23,keyasint,omitempty"`
	Face              []biometric `cbor:"62,keyasint,omitempty"`
	CardType          string      `cbor:"99,keyasint,omitempty"`
}

type biometric struct {
	Data      []byte `cbor:"0,keyasint"`
	Format    int64  `cbor:"1,keyasint"`
	SubFormat int64  `cbor:"2,keyasint"`
	Issuer    string `cbor:"3,keyasint,omitempty"`
}

// Codec settings. Both modes are built once and never changed.
var (
	cborEnc = mustEnc(cbor.CoreDetEncOptions())
	cborDec = mustDec(cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  8,
		MaxArrayElements: 64,
		MaxMapPairs:      64,
		TagsMd:           cbor.TagsForbidden,
	})
)

func mustEnc(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDec(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// marshalClaims returns the deterministic CBOR of the credential's CWT
// claims.
func (c *Credential) marshalClaims() ([]byte, error) {
	id := &identityMap{
		ID: c.ID, FullName: c.FullName, DateOfBirth: c.DateOfBirth, Gender: int64(c.Gender),
		Nationality: c.Nationality, LegalStatus: c.LegalStatus, CountryOfIssuance: c.CountryOfIssuance,
		CardType: string(c.CardType),
	}
	if c.Face != nil {
		id.Face = []biometric{{Data: c.Face.Data, Format: 0, SubFormat: int64(c.Face.SubFormat)}}
	}
	return cborEnc.Marshal(cwtClaims{
		Iss: c.Issuer, Exp: unixOrZero(c.Expires), Nbf: unixOrZero(c.NotBefore), Iat: unixOrZero(c.IssuedAt),
		Identity: id,
	})
}

// The decoding shapes are lenient where other Claim 169 issuers differ
// from what we write: claim 169 as a map or as a byte string holding the
// map (the MOSIP specification's example), gender as an integer or a digit
// string, the face as an array of biometric entries or a single entry.

type cwtClaimsIn struct {
	Iss      string          `cbor:"1,keyasint"`
	Exp      int64           `cbor:"4,keyasint"`
	Nbf      int64           `cbor:"5,keyasint"`
	Iat      int64           `cbor:"6,keyasint"`
	Identity cbor.RawMessage `cbor:"169,keyasint"`
}

type identityIn struct {
	ID                string          `cbor:"1,keyasint"`
	FullName          string          `cbor:"4,keyasint"`
	DateOfBirth       string          `cbor:"8,keyasint"`
	Gender            cbor.RawMessage `cbor:"9,keyasint"`
	Nationality       string          `cbor:"13,keyasint"`
	LegalStatus       string          `cbor:"22,keyasint"`
	CountryOfIssuance string          `cbor:"23,keyasint"`
	Face              cbor.RawMessage `cbor:"62,keyasint"`
	CardType          string          `cbor:"99,keyasint"`
}

// decodeIdentity decodes claim 169: a map, or a byte string holding one.
func decodeIdentity(raw cbor.RawMessage) (*identityIn, error) {
	if len(raw) == 0 {
		return nil, errors.New("CWT claims: no claim 169")
	}
	if raw[0]>>5 == 2 { // byte string
		var inner []byte
		if err := cborDec.Unmarshal(raw, &inner); err != nil {
			return nil, fmt.Errorf("claim 169: %w", err)
		}
		raw = inner
	}
	var id identityIn
	if err := cborDec.Unmarshal(raw, &id); err != nil {
		return nil, fmt.Errorf("claim 169: %w", err)
	}
	return &id, nil
}

// decodeGender accepts 1, 2, 3 as integers or digit strings.
func decodeGender(raw cbor.RawMessage) (Gender, error) {
	if len(raw) == 0 {
		return GenderUnset, nil
	}
	var n int64
	if err := cborDec.Unmarshal(raw, &n); err == nil {
		if n < 0 || n > int64(GenderOther) {
			return 0, fmt.Errorf("claim 169: gender %d", n)
		}
		return Gender(n), nil
	}
	var s string
	if err := cborDec.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("claim 169: gender: %w", err)
	}
	switch s {
	case "":
		return GenderUnset, nil
	case "1", "2", "3":
		return Gender(s[0] - '0'), nil
	}
	return 0, fmt.Errorf("claim 169: gender %q", s)
}

// decodeFace accepts an array of biometric entries or one entry and
// returns the first image.
func decodeFace(raw cbor.RawMessage) (*Face, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var list []biometric
	if raw[0]>>5 == 5 { // a single map
		var b biometric
		if err := cborDec.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("claim 169: face: %w", err)
		}
		list = []biometric{b}
	} else if err := cborDec.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("claim 169: face: %w", err)
	}
	for _, b := range list {
		if b.Format == 0 && len(b.Data) > 0 {
			return &Face{Data: b.Data, SubFormat: int(b.SubFormat)}, nil
		}
	}
	return nil, nil
}

// unmarshalClaims decodes a CWT claims set into a credential.
func unmarshalClaims(b []byte) (Credential, error) {
	var w cwtClaimsIn
	if err := cborDec.Unmarshal(b, &w); err != nil {
		return Credential{}, fmt.Errorf("CWT claims: %w", err)
	}
	id, err := decodeIdentity(w.Identity)
	if err != nil {
		return Credential{}, err
	}
	g, err := decodeGender(id.Gender)
	if err != nil {
		return Credential{}, err
	}
	face, err := decodeFace(id.Face)
	if err != nil {
		return Credential{}, err
	}
	c := Credential{
		Issuer: w.Iss, IssuedAt: timeOrZero(w.Iat), NotBefore: timeOrZero(w.Nbf), Expires: timeOrZero(w.Exp),
		ID: id.ID, FullName: id.FullName, DateOfBirth: id.DateOfBirth, Gender: g,
		Nationality: id.Nationality, LegalStatus: id.LegalStatus, CountryOfIssuance: id.CountryOfIssuance,
		CardType: CardType(id.CardType), Face: face,
	}
	for _, f := range []string{c.Issuer, c.ID, c.FullName, c.DateOfBirth, c.Nationality, c.LegalStatus, c.CountryOfIssuance, string(c.CardType)} {
		if len(f) > MaxTextField {
			return Credential{}, fmt.Errorf("claim 169: text attribute of %d bytes (max %d)", len(f), MaxTextField)
		}
	}
	if c.Face != nil && len(c.Face.Data) > MaxFace {
		return Credential{}, fmt.Errorf("claim 169: face of %d bytes (max %d)", len(c.Face.Data), MaxFace)
	}
	return c, nil
}
