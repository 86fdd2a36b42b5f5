package security

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/cardd/cardd/security/base45"
	"github.com/veraison/go-cose"
)

// Verdict is the outcome of verifying a card's QR text.
type Verdict string

// Verdicts. Only VerdictValid means the card may be accepted.
const (
	VerdictValid        Verdict = "valid"
	VerdictExpired      Verdict = "expired"
	VerdictNotYetValid  Verdict = "not-yet-valid"
	VerdictRevoked      Verdict = "revoked"
	VerdictUnknownKey   Verdict = "unknown-key"
	VerdictBadSignature Verdict = "bad-signature"
	VerdictMalformed    Verdict = "malformed"
)

// Result is what verifying a QR text found.
type Result struct {
	// Verdict is the outcome.
	Verdict Verdict `json:"verdict"`
	// Reason explains a verdict other than valid in a few words.
	Reason string `json:"reason,omitempty"`
	// Credential holds the decoded claims. It is filled once the payload
	// could be decoded, whatever the verdict, so a caller can show what the
	// card claims; only trust it when Verdict is VerdictValid.
	Credential *Credential `json:"-"`
	// Fields are the holder's fields from Credential, for display.
	Fields []Field `json:"fields,omitempty"`
	// Kid is the key ID from the COSE header, hex.
	Kid string `json:"kid,omitempty"`
	// Issuer is the iss claim.
	Issuer string `json:"issuer,omitempty"`
	// Alg is the algorithm of the key that verified the signature.
	Alg Alg `json:"alg,omitempty"`
	// IssuedAt, NotBefore and Expires are the CWT times (zero when
	// absent).
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	NotBefore time.Time `json:"not_before,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
}

// Valid reports whether the verdict is VerdictValid.
func (r Result) Valid() bool { return r.Verdict == VerdictValid }

// Verifier checks card QR texts against a trust list and a deny list. It is
// safe for concurrent use.
type Verifier struct {
	trust *TrustList
	deny  *DenyList
	now   func() time.Time
}

// Limits on what the verifier will decode.
const (
	// MaxQRText is the longest QR text accepted (a version 40 QR holds
	// 4296 alphanumeric characters).
	MaxQRText = 4296
	// MaxDecompressed bounds the inflated COSE_Sign1.
	MaxDecompressed = 16 << 10
)

// NewVerifier returns a verifier. deny may be nil. now is the clock used for
// nbf and exp; nil means time.Now.
func NewVerifier(trust *TrustList, deny *DenyList, now func() time.Time) *Verifier {
	if trust == nil {
		trust = &TrustList{}
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{trust: trust, deny: deny, now: now}
}

func malformed(format string, args ...any) Result {
	return Result{Verdict: VerdictMalformed, Reason: fmt.Sprintf(format, args...)}
}

// Verify decodes and checks a QR text: Base45, zlib or Brotli (with a size limit),
// COSE_Sign1, signature by a trusted key, CWT claims, deny list, then nbf
// and exp. It never panics on any input.
func (v *Verifier) Verify(text string) Result {
	if len(text) > MaxQRText {
		return malformed("text is %d characters (max %d)", len(text), MaxQRText)
	}
	z, err := base45.Decode(text)
	if err != nil {
		return malformed("%v", err)
	}
	raw, err := inflate(z)
	if err != nil {
		return malformed("%v", err)
	}
	return v.VerifyCOSE(raw)
}

// inflate decompresses the QR payload, zlib or Brotli, to at most
// MaxDecompressed bytes.
//
// Claim 169 lets issuers compress with zlib or Brotli and has verifiers
// tell them apart by the zlib header: CM 8 (deflate) in the low nibble of
// the first byte and a 16-bit header that is a multiple of 31. Brotli has
// no magic number, so anything else is read as a Brotli stream; a stream
// that is neither fails as Brotli. Both readers go through the same size
// limit, so neither can be made to inflate without bound.
func inflate(z []byte) ([]byte, error) {
	if isZlib(z) {
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
		defer zr.Close()
		return readLimited("zlib", zr)
	}
	return readLimited("brotli", brotli.NewReader(bytes.NewReader(z)))
}

// isZlib reports whether z starts with a zlib header (RFC 1950).
func isZlib(z []byte) bool {
	return len(z) >= 2 && z[0]&0x0f == 8 && z[0]>>4 <= 7 && (uint16(z[0])<<8|uint16(z[1]))%31 == 0
}

func readLimited(name string, r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(raw) > MaxDecompressed {
		return nil, fmt.Errorf("%s: inflates beyond %d bytes", name, MaxDecompressed)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: empty payload", name)
	}
	return raw, nil
}

// VerifyCOSE checks a COSE_Sign1, tagged, untagged or inside the CWT tag
// (the QR payload after Base45 and decompression).
func (v *Verifier) VerifyCOSE(raw []byte) (res Result) {
	defer func() {
		// The COSE and CBOR libraries are fuzzed upstream; this is a last
		// line of defence so that no card can crash a verifier.
		if p := recover(); p != nil {
			res = malformed("decoder panic: %v", p)
		}
	}()
	msg, err := decodeSign1(raw)
	if err != nil {
		return malformed("COSE_Sign1: %v", err)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		return malformed("COSE algorithm: %v", err)
	}
	kid, haveKid := keyIDFromHeaders(msg.Headers)
	res.Kid = hex.EncodeToString(kid)
	cred, cerr := unmarshalClaims(msg.Payload)
	if cerr == nil {
		res.setCredential(&cred)
	}
	// Our key IDs are 8 bytes; a credential from another Claim 169 issuer
	// may carry its own kind of kid, or none (the specification leaves key
	// discovery out of scope): then every trusted key is tried.
	var candidates []trustedKey
	ours := haveKid && len(kid) == KeyIDLen
	if ours {
		candidates = v.trust.keys[KeyID(kid)]
	}
	if len(candidates) == 0 {
		ours = false
		for _, ks := range v.trust.keys {
			candidates = append(candidates, ks...)
		}
	}
	var key *trustedKey
	for i := range candidates {
		k := &candidates[i]
		calg, _ := k.alg.cose()
		if calg != alg {
			continue
		}
		if msg.Verify(nil, k.verifier) == nil {
			key = k
			break
		}
	}
	if key == nil && !ours {
		res.Verdict, res.Reason = VerdictUnknownKey, fmt.Sprintf("no trusted key with kid %s verifies the signature", res.Kid)
		if !haveKid {
			res.Reason = "no kid in the COSE headers and no trusted key verifies the signature"
		}
		return res
	}
	if key == nil {
		res.Verdict, res.Reason = VerdictBadSignature, fmt.Sprintf("signature does not verify with the trusted key(s) of kid %s", res.Kid)
		return res
	}
	res.Alg = key.alg
	if cerr != nil {
		res.Verdict, res.Reason = VerdictMalformed, cerr.Error()
		return res
	}
	if cred.Issuer != key.entry.Issuer {
		res.Verdict, res.Reason = VerdictUnknownKey, fmt.Sprintf("key %s is trusted for issuer %q, credential names %q", kid, key.entry.Issuer, cred.Issuer)
		return res
	}
	if cred.IssuedAt.IsZero() {
		res.Verdict, res.Reason = VerdictMalformed, "no iat claim"
		return res
	}
	if cred.ID == "" {
		res.Verdict, res.Reason = VerdictMalformed, "no id (claim 169 attribute 1)"
		return res
	}
	if (!key.entry.NotBefore.IsZero() && cred.IssuedAt.Before(key.entry.NotBefore)) ||
		(!key.entry.NotAfter.IsZero() && cred.IssuedAt.After(key.entry.NotAfter)) {
		res.Verdict, res.Reason = VerdictUnknownKey, fmt.Sprintf("key %s was not trusted at the issue time %s", kid, cred.IssuedAt.Format(time.RFC3339))
		return res
	}
	if v.deny.Contains(cred.ID) {
		res.Verdict, res.Reason = VerdictRevoked, fmt.Sprintf("serial %s is on the deny list", cred.ID)
		return res
	}
	now := v.now()
	if !cred.NotBefore.IsZero() && now.Before(cred.NotBefore) {
		res.Verdict, res.Reason = VerdictNotYetValid, "valid from "+cred.NotBefore.Format(time.RFC3339)
		return res
	}
	if !cred.Expires.IsZero() && !now.Before(cred.Expires) {
		res.Verdict, res.Reason = VerdictExpired, "expired "+cred.Expires.Format(time.RFC3339)
		return res
	}
	res.Verdict = VerdictValid
	return res
}

func (r *Result) setCredential(c *Credential) {
	r.Credential = c
	r.Fields = c.Fields()
	r.Issuer = c.Issuer
	r.IssuedAt, r.NotBefore, r.Expires = c.IssuedAt, c.NotBefore, c.Expires
}

// keyIDFromHeaders finds the kid in the protected header, else the
// unprotected one.
func keyIDFromHeaders(h cose.Headers) ([]byte, bool) {
	for _, m := range []map[any]any{h.Protected, h.Unprotected} {
		if b, ok := m[cose.HeaderLabelKeyID].([]byte); ok && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// CBOR tag numbers around a COSE_Sign1.
const (
	tagCWT   = 61
	tagSign1 = 18
)

// decodeSign1 decodes a COSE_Sign1 in each form Claim 169 issuers use:
// tagged (18), wrapped in the CWT tag as well (61(18(…)), the form of the
// specification's example), and untagged (a bare four-element array, which
// the reference implementation's decoder accepts too). The signature does
// not cover the tags, so the form changes nothing about what is verified.
func decodeSign1(raw []byte) (*cose.Sign1Message, error) {
	// Tag 61 is encoded 0xd8 0x3d, tag 18 is 0xd2, an array of four 0x84.
	if len(raw) > 2 && raw[0] == 0xd8 && raw[1] == tagCWT {
		raw = raw[2:]
		if len(raw) == 0 || raw[0] != 0xc0|tagSign1 {
			return nil, errors.New("CWT tag 61 must hold a tagged COSE_Sign1 (tag 18)")
		}
	}
	var msg cose.Sign1Message
	if len(raw) > 0 && raw[0] == 0x84 {
		var u cose.UntaggedSign1Message
		if err := u.UnmarshalCBOR(raw); err != nil {
			return nil, err
		}
		msg = cose.Sign1Message(u)
		return &msg, nil
	}
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return nil, err
	}
	return &msg, nil
}
