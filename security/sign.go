package security

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/cardd/cardd/security/base45"
	"github.com/veraison/go-cose"
)

// Signer signs card credentials with one issuer key. It is safe for
// concurrent use.
type Signer struct {
	key    crypto.Signer
	alg    Alg
	kid    KeyID
	signer cose.Signer
	// headers are the same for every credential of this signer; Sign
	// copies the protected map, never changes it.
	headers cose.Headers
	// zlibs reuses compressors: a best-compression zlib writer allocates
	// about 800 KB of state.
	zlibs sync.Pool
}

// NewSigner returns a Signer for key (Ed25519 or ECDSA P-256).
func NewSigner(key crypto.Signer) (*Signer, error) {
	alg, err := AlgOf(key.Public())
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	calg, err := alg.cose()
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	cs, err := cose.NewSigner(calg, key)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	kid, err := KeyIDOf(key.Public())
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &Signer{
		key: key, alg: alg, kid: kid, signer: cs,
		headers: cose.Headers{Protected: cose.ProtectedHeader{
			cose.HeaderLabelAlgorithm: calg,
			cose.HeaderLabelKeyID:     kid[:],
		}},
	}, nil
}

// KeyID returns the signer's key ID.
func (s *Signer) KeyID() KeyID { return s.kid }

// Alg returns the signer's algorithm.
func (s *Signer) Alg() Alg { return s.alg }

// Public returns the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs c and returns the QR text: the tagged COSE_Sign1 over the CWT
// claims, zlib-compressed, Base45-encoded. The key ID and algorithm are in
// the protected header.
func (s *Signer) Sign(c Credential) (string, error) {
	raw, err := s.SignCOSE(c)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, ok := s.zlibs.Get().(*zlib.Writer)
	if ok {
		zw.Reset(&buf)
	} else if zw, err = zlib.NewWriterLevel(&buf, zlib.BestCompression); err != nil {
		return "", fmt.Errorf("sign credential %s: %w", c.ID, err)
	}
	defer s.zlibs.Put(zw)
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("sign credential %s: compress: %w", c.ID, err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("sign credential %s: compress: %w", c.ID, err)
	}
	return base45.Encode(buf.Bytes()), nil
}

// SignCOSE signs c and returns the tagged COSE_Sign1 bytes (tag 18, the
// form the Claim 169 reference implementation writes and every verifier
// reads; see the package documentation), before compression and Base45.
func (s *Signer) SignCOSE(c Credential) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	payload, err := c.marshalClaims()
	if err != nil {
		return nil, fmt.Errorf("sign credential %s: encode claims: %w", c.ID, err)
	}
	prot := make(cose.ProtectedHeader, len(s.headers.Protected))
	for k, v := range s.headers.Protected {
		prot[k] = v
	}
	msg := &cose.Sign1Message{Headers: cose.Headers{Protected: prot}, Payload: payload}
	if err := msg.Sign(rand.Reader, nil, s.signer); err != nil {
		return nil, fmt.Errorf("sign credential %s: %w", c.ID, err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("sign credential %s: encode COSE_Sign1: %w", c.ID, err)
	}
	return raw, nil
}

// PayloadHash returns the hex SHA-256 of the QR text, the value the audit
// log records instead of the personal data it carries.
func PayloadHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}
