package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/veraison/go-cose"
)

// Alg names a signature algorithm for card credentials.
type Alg string

// The supported algorithms.
const (
	// AlgEd25519 is EdDSA over Ed25519 (COSE alg -8), the default.
	AlgEd25519 Alg = "ed25519"
	// AlgES256 is ECDSA over P-256 with SHA-256 (COSE alg -7).
	AlgES256 Alg = "es256"
)

// ErrKeyPermissions is returned when a private key file can be read by
// group or others.
var ErrKeyPermissions = errors.New("private key file is readable by group or others")

// KeyIDLen is the length of a key ID in bytes.
const KeyIDLen = 8

// KeyID is the key identifier carried in the COSE header: the first 8 bytes
// of the SHA-256 of the public key's SubjectPublicKeyInfo DER (the EU DCC
// convention, applied to the raw key instead of a certificate).
type KeyID [KeyIDLen]byte

// String returns the key ID in lower-case hex.
func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// ParseKeyID parses a 16-digit hex key ID.
func ParseKeyID(s string) (KeyID, error) {
	var k KeyID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != KeyIDLen {
		return k, fmt.Errorf("key id %q: want %d hex digits", s, 2*KeyIDLen)
	}
	copy(k[:], b)
	return k, nil
}

// KeyIDOf returns the key ID of pub.
func KeyIDOf(pub crypto.PublicKey) (KeyID, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return KeyID{}, fmt.Errorf("key id: %w", err)
	}
	sum := sha256.Sum256(der)
	var k KeyID
	copy(k[:], sum[:KeyIDLen])
	return k, nil
}

// AlgOf returns the algorithm a key is used with.
func AlgOf(pub crypto.PublicKey) (Alg, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return AlgEd25519, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return AlgES256, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s (want P-256)", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("unsupported public key type %T (want Ed25519 or ECDSA P-256)", pub)
}

func (a Alg) cose() (cose.Algorithm, error) {
	switch a {
	case AlgEd25519:
		return cose.AlgorithmEdDSA, nil
	case AlgES256:
		return cose.AlgorithmES256, nil
	}
	return 0, fmt.Errorf("unsupported algorithm %q (want ed25519 or es256)", string(a))
}

// ParseAlg parses an algorithm name as given on a command line.
func ParseAlg(s string) (Alg, error) {
	a := Alg(s)
	if _, err := a.cose(); err != nil {
		return "", err
	}
	return a, nil
}

// GenerateKey returns a new private key for alg.
func GenerateKey(alg Alg) (crypto.Signer, error) {
	switch alg {
	case AlgEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("generate key: unsupported algorithm %q", string(alg))
}

// MarshalPrivateKeyPEM returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKeyPEM returns pub as a SubjectPublicKeyInfo "PUBLIC KEY"
// PEM block.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses a PKCS#8 PEM private key of a supported
// algorithm.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PKCS#8 \"PRIVATE KEY\" PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	if _, err := AlgOf(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// ParsePublicKeyPEM parses a "PUBLIC KEY" PEM block of a supported
// algorithm.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("no \"PUBLIC KEY\" PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	if _, err := AlgOf(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// LoadPrivateKey reads a PKCS#8 PEM private key from path. It refuses a
// file that group or others can read (ErrKeyPermissions), like ssh does.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("private key %s (mode %04o): %w; chmod 600 it", path, st.Mode().Perm(), ErrKeyPermissions)
	}
	if st.Size() > 64<<10 {
		return nil, fmt.Errorf("private key %s: file too large", path)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKey reads a PEM public key from path.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// Key file names written by WriteKeyPair.
const (
	PrivateKeyFile = "issuer.key"
	PublicKeyFile  = "issuer.pub"
)

// WriteKeyPair writes key to dir as PrivateKeyFile (mode 0600) and
// PublicKeyFile (mode 0644). It refuses to overwrite an existing key.
func WriteKeyPair(dir string, key crypto.Signer) (KeyID, error) {
	privPEM, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return KeyID{}, err
	}
	pubPEM, err := MarshalPublicKeyPEM(key.Public())
	if err != nil {
		return KeyID{}, err
	}
	kid, err := KeyIDOf(key.Public())
	if err != nil {
		return KeyID{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return KeyID{}, fmt.Errorf("key dir: %w", err)
	}
	privPath := filepath.Join(dir, PrivateKeyFile)
	f, err := os.OpenFile(privPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return KeyID{}, fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(privPEM); err != nil {
		f.Close()
		return KeyID{}, fmt.Errorf("write private key %s: %w", privPath, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return KeyID{}, fmt.Errorf("write private key %s: %w", privPath, err)
	}
	if err := f.Close(); err != nil {
		return KeyID{}, fmt.Errorf("write private key %s: %w", privPath, err)
	}
	pubPath := filepath.Join(dir, PublicKeyFile)
	if err := writeFileMode(pubPath, pubPEM, 0o644); err != nil {
		return KeyID{}, fmt.Errorf("write public key: %w", err)
	}
	return kid, nil
}
