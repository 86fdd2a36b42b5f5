package security

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFiles(t *testing.T) {
	for _, alg := range []Alg{AlgEd25519, AlgES256} {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			k := testKey(t, alg)
			kid, err := WriteKeyPair(dir, k)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := WriteKeyPair(dir, k); err == nil {
				t.Fatal("WriteKeyPair overwrote an existing key")
			}
			priv := filepath.Join(dir, PrivateKeyFile)
			st, err := os.Stat(priv)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %04o, want 0600", st.Mode().Perm())
			}
			loaded, err := LoadPrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := LoadPublicKey(filepath.Join(dir, PublicKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []any{loaded.Public(), pub} {
				got, err := KeyIDOf(p)
				if err != nil || got != kid {
					t.Fatalf("kid %s, %v; want %s", got, err, kid)
				}
			}
			if a, _ := AlgOf(pub); a != alg {
				t.Fatalf("alg %s, want %s", a, alg)
			}
			for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
				if err := os.Chmod(priv, mode); err != nil {
					t.Fatal(err)
				}
				if _, err := LoadPrivateKey(priv); !errors.Is(err, ErrKeyPermissions) {
					t.Fatalf("mode %04o: err %v, want ErrKeyPermissions", mode, err)
				}
			}
		})
	}
}

func TestKeyIDParse(t *testing.T) {
	k := testKey(t, AlgEd25519)
	kid, err := KeyIDOf(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeyID(kid.String())
	if err != nil || got != kid {
		t.Fatalf("ParseKeyID(%s) = %s, %v", kid, got, err)
	}
	for _, bad := range []string{"", "00", "zz00000000000000", kid.String() + "00"} {
		if _, err := ParseKeyID(bad); err == nil {
			t.Errorf("ParseKeyID(%q) accepted", bad)
		}
	}
}
