package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/security"
)

// genKeys runs "cardd keys generate" and returns the key directory and kid.
func genKeys(t *testing.T, alg string) (dir, kid string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	code, out, errOut := runCardd(t, "keys", "generate", "--out", dir, "--alg", alg)
	if code != exitOK {
		t.Fatalf("keys generate: exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if k, ok := strings.CutPrefix(line, "kid "); ok {
			kid = k
		}
	}
	if len(kid) != 16 {
		t.Fatalf("no kid in output %q", out)
	}
	return dir, kid
}

func TestKeysGenerateTrustEntryID(t *testing.T) {
	for _, alg := range []string{"ed25519", "es256"} {
		t.Run(alg, func(t *testing.T) {
			dir, kid := genKeys(t, alg)
			st, err := os.Stat(filepath.Join(dir, security.PrivateKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %04o", st.Mode().Perm())
			}
			// keys id agrees, for the public and the private key.
			for _, f := range []string{security.PublicKeyFile, security.PrivateKeyFile} {
				code, out, errOut := runCardd(t, "keys", "id", filepath.Join(dir, f))
				if code != exitOK || !strings.Contains(out, "kid "+kid) || !strings.Contains(out, "alg "+alg) {
					t.Fatalf("keys id %s: exit %d out %q err %q", f, code, out, errOut)
				}
			}
			// trust-entry prints a list the verifier loads; --append adds.
			list := filepath.Join(t.TempDir(), "trust.json")
			code, out, errOut := runCardd(t, "keys", "trust-entry", "--pub", filepath.Join(dir, security.PublicKeyFile),
				"--issuer", "https://id.example.org", "--not-before", "2026-01-01T00:00:00Z")
			if code != exitOK {
				t.Fatalf("trust-entry: exit %d: %s", code, errOut)
			}
			if err := os.WriteFile(list, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			other, _ := genKeys(t, "ed25519")
			code, _, errOut = runCardd(t, "keys", "trust-entry", "--pub", filepath.Join(other, security.PublicKeyFile),
				"--issuer", "https://id.example.org", "--append", list)
			if code != exitOK {
				t.Fatalf("trust-entry --append: exit %d: %s", code, errOut)
			}
			tl, err := security.LoadTrustList(list)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(tl.Entries()); n != 2 {
				t.Fatalf("trust list has %d entries, want 2", n)
			}
			// A private key readable by others is refused.
			if err := os.Chmod(filepath.Join(dir, security.PrivateKeyFile), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut = runCardd(t, "keys", "id", filepath.Join(dir, security.PrivateKeyFile))
			if code == exitOK || !strings.Contains(errOut, "readable by group or others") {
				t.Fatalf("world-readable key: exit %d err %q", code, errOut)
			}
		})
	}
}

func TestKeysUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"keys"}, exitUsage},
		{[]string{"keys", "frobnicate"}, exitUsage},
		{[]string{"keys", "generate"}, exitUsage},
		{[]string{"keys", "generate", "--out", "x", "--alg", "rsa"}, exitUsage},
		{[]string{"keys", "trust-entry", "--pub", "x"}, exitUsage},
		{[]string{"keys", "-h"}, exitOK},
	}
	for _, tt := range tests {
		if code, _, _ := runCardd(t, tt.args...); code != tt.want {
			t.Errorf("cardd %v: exit %d, want %d", tt.args, code, tt.want)
		}
	}
	dir, _ := genKeys(t, "ed25519")
	if code, _, _ := runCardd(t, "keys", "generate", "--out", dir); code != exitFailure {
		t.Errorf("generate over an existing key: exit %d, want %d", code, exitFailure)
	}
}
