package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
)

func TestVerifyExportPage(t *testing.T) {
	dir := t.TempDir()
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := security.NewTrustEntry("https://id.example.org", key.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := security.MarshalTrustList([]security.TrustEntry{entry})
	if err != nil {
		t.Fatal(err)
	}
	trust := writeFile(t, dir, "trust.json", string(tl))
	empty := writeFile(t, dir, "empty.json", `{"keys": []}`)
	dl, err := security.NewDenyList(time.Now(), []string{"XK-0001-00009-3"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	deny := writeFile(t, dir, "deny.json", string(dl))
	badDeny := writeFile(t, dir, "bad-deny.json", `{"serials": [""]}`)
	page := filepath.Join(dir, "verify.html")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
		inPage   []string
	}{
		{"trust and deny", []string{"--export-page", page, "--trust", trust, "--deny", deny}, exitOK,
			"1 trusted key(s) and 1 revoked serial(s)", "", []string{entry.KID, "XK-0001-00009-3", "https://id.example.org"}},
		{"trust only", []string{"--export-page", page, "--trust", trust}, exitOK, "0 revoked", "", []string{entry.KID, `"serials":[]`}},
		{"no trust", []string{"--export-page", page}, exitUsage, "", "needs --trust", nil},
		{"empty trust", []string{"--export-page", page, "--trust", empty}, exitConfig, "", "has no keys", nil},
		{"missing trust", []string{"--export-page", page, "--trust", filepath.Join(dir, "nope.json")}, exitConfig, "", "no such file", nil},
		{"bad deny", []string{"--export-page", page, "--trust", trust, "--deny", badDeny}, exitConfig, "", "serial 0 is empty", nil},
		{"extra argument", []string{"--export-page", page, "--trust", trust, "x"}, exitUsage, "", "no arguments", nil},
		{"unwritable", []string{"--export-page", filepath.Join(dir, "no", "dir", "v.html"), "--trust", trust}, exitFailure, "", "export page", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(page)
			code, stdout, stderr := runCardd(t, append([]string{"verify"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantOut) || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			b, err := os.ReadFile(page)
			if tt.inPage == nil {
				if err == nil {
					t.Error("page written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(page)
			if st.Mode().Perm() != 0o644 {
				t.Errorf("page mode %v, want 0644", st.Mode().Perm())
			}
			for _, want := range append(tt.inPage, "<!doctype html>", "Content-Security-Policy") {
				if !strings.Contains(string(b), want) {
					t.Errorf("page lacks %q", want)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".verify.html.*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}
