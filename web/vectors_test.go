package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectorFile is testdata/vectors.json: QR texts with the verdict package
// security gives them at Now against Trust and Deny. The Go test below and
// the page's Node tests (web/test) both check every vector, so the two
// verifiers cannot drift apart unnoticed.
type vectorFile struct {
	Now   time.Time `json:"now"`
	Trust struct {
		Keys []security.TrustEntry `json:"keys"`
	} `json:"trust"`
	Deny  *security.DenyList `json:"deny"`
	Cases []vectorCase       `json:"cases"`
}

type vectorCase struct {
	Name    string `json:"name"`
	Text    string `json:"text"`
	Verdict string `json:"verdict"`
	// Fields are the holder's fields the verifier reports (label, value).
	Fields [][2]string `json:"fields,omitempty"`
}

const vectorsPath = "testdata/vectors.json"

// makeVectors signs the vector credentials with fixed keys.
func makeVectors(t *testing.T) vectorFile {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	esKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://id.example.org"
	edEntry, err := security.NewTrustEntry(issuer, edKey.Public(), now.AddDate(-2, 0, 0), now.AddDate(3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	esEntry, err := security.NewTrustEntry(issuer, esKey.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key any, c security.Credential) string {
		t.Helper()
		var s *security.Signer
		var err error
		switch k := key.(type) {
		case ed25519.PrivateKey:
			s, err = security.NewSigner(k)
		case *ecdsa.PrivateKey:
			s, err = security.NewSigner(k)
		}
		if err != nil {
			t.Fatal(err)
		}
		text, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	cred := func(id string) security.Credential {
		return security.Credential{
			Issuer: issuer, IssuedAt: now.AddDate(0, 0, -1), NotBefore: now.AddDate(0, 0, -1), Expires: now.AddDate(0, 0, 29),
			ID: id, FullName: "ÉLODIE EXAMPLE-ŁUKASZ", DateOfBirth: "19880731", Gender: security.GenderOther,
			Nationality: "XKX", LegalStatus: "resident", CountryOfIssuance: "XK", CardType: security.CardTemporary,
			Face: &security.Face{Data: []byte("\x89PNG\r\n\x1a\nnot really"), SubFormat: security.FacePNG},
		}
	}
	expired, notYet, beforeKey, wrongIssuer, minimal := cred("V-3"), cred("V-4"), cred("V-5"), cred("V-6"), cred("V-7")
	expired.IssuedAt, expired.NotBefore, expired.Expires = now.AddDate(-1, 0, 0), time.Time{}, now.Add(-time.Second)
	notYet.NotBefore = now.Add(time.Hour)
	beforeKey.IssuedAt, beforeKey.NotBefore = now.AddDate(-3, 0, 0), time.Time{}
	wrongIssuer.Issuer = "https://other.example.org"
	minimal = security.Credential{Issuer: issuer, IssuedAt: now.Add(-time.Minute), ID: "V-7"}
	valid := sign(edKey, cred("V-1"))
	raw := mustInflate(t, valid)

	v := vectorFile{Now: now, Deny: security.NewDenyList(now.AddDate(0, 0, -2), []string{"V-8", "V-0"})}
	v.Trust.Keys = []security.TrustEntry{edEntry, esEntry}
	for _, c := range []struct{ name, text string }{
		{"valid-ed25519", valid},
		{"valid-es256", sign(esKey, cred("V-2"))},
		{"valid-minimal", sign(edKey, minimal)},
		{"expired", sign(edKey, expired)},
		{"not-yet-valid", sign(edKey, notYet)},
		{"revoked", sign(edKey, cred("V-8"))},
		{"key-window", sign(edKey, beforeKey)},
		{"wrong-issuer", sign(edKey, wrongIssuer)},
		{"unknown-key", sign(otherKey, cred("V-9"))},
		{"tampered-name", tamper(t, valid, "EXAMPLE", "EXAMPLF")},
		{"tampered-signature", zlibBase45(t, append(bytes.Clone(raw[:len(raw)-1]), raw[len(raw)-1]^1))},
		{"truncated-cose", zlibBase45(t, raw[:len(raw)-10])},
		{"trailing-byte", zlibBase45(t, append(bytes.Clone(raw), 0))},
		{"untagged", zlibBase45(t, raw[1:])},
		{"cwt-tagged", zlibBase45(t, append([]byte{0xd8, 0x3d}, raw...))},
		{"cwt-tag-without-18", zlibBase45(t, append([]byte{0xd8, 0x3d}, raw[1:]...))},
		{"not-zlib", "0" + valid[1:]},
		{"bad-base45", valid[:len(valid)-1]},
		{"lowercase", "abc"},
		{"empty", ""},
		{"zlib-bomb", zlibBase45(t, make([]byte, 1<<20))},
		{"indefinite-array", zlibBase45(t, []byte{0xd2, 0x9f, 0xff})},
		{"deep-nesting", zlibBase45(t, bytes.Repeat([]byte{0x81}, 100))},
		// Claim 169 allows Brotli as well as zlib.
		{"brotli-valid", brotliBase45(t, raw)},
		{"brotli-untagged", brotliBase45(t, raw[1:])},
		{"brotli-cwt-tagged", brotliBase45(t, append([]byte{0xd8, 0x3d}, raw...))},
		{"brotli-tampered-signature", brotliBase45(t, flipLast(raw))},
		{"brotli-truncated", brotliTruncated(t, raw)},
		{"brotli-bomb", brotliBase45(t, make([]byte, 1<<20))},
	} {
		res := security.NewVerifier(mustTrust(t, v.Trust.Keys), v.Deny, func() time.Time { return now }).Verify(c.text)
		vc := vectorCase{Name: c.name, Text: c.text, Verdict: string(res.Verdict)}
		for _, f := range res.Fields {
			vc.Fields = append(vc.Fields, [2]string{f.Label, f.Value})
		}
		v.Cases = append(v.Cases, vc)
	}
	return v
}

func mustTrust(t *testing.T, entries []security.TrustEntry) *security.TrustList {
	t.Helper()
	tl, err := security.NewTrustList(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// TestVectors checks that package security still gives every vector its
// recorded verdict and fields (go test ./web -run Vectors -update rewrites
// the file), and that the vectors cover every verdict.
func TestVectors(t *testing.T) {
	if *update {
		b, err := json.MarshalIndent(makeVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (go test ./web -run Vectors -update writes it)", err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	deny := security.NewDenyList(v.Deny.Generated, v.Deny.Serials)
	verifier := security.NewVerifier(mustTrust(t, v.Trust.Keys), deny, func() time.Time { return v.Now })
	seen := map[string]bool{}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			res := verifier.Verify(c.Text)
			if string(res.Verdict) != c.Verdict {
				t.Errorf("verdict %s (%s), recorded %s", res.Verdict, res.Reason, c.Verdict)
			}
			var fields [][2]string
			for _, f := range res.Fields {
				fields = append(fields, [2]string{f.Label, f.Value})
			}
			if !slices.Equal(fields, c.Fields) {
				t.Errorf("fields %q, recorded %q", fields, c.Fields)
			}
		})
		seen[c.Verdict] = true
	}
	for _, want := range []security.Verdict{security.VerdictValid, security.VerdictExpired, security.VerdictNotYetValid, security.VerdictRevoked,
		security.VerdictUnknownKey, security.VerdictBadSignature, security.VerdictMalformed} {
		if !seen[string(want)] {
			t.Errorf("no vector has verdict %s", want)
		}
	}
}

// TestNodeUnitTests runs the page's own unit tests (web/test, node:test)
// on the sources, which check its Base45 and CBOR decoders and every
// vector of testdata/vectors.json without a browser. They need Node.js 20
// or later; without it they are skipped (the Chromium tests cover the same
// code through the built bundle).
func TestNodeUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH: the page's unit tests (web/test) are covered by the Chromium tests only")
	}
	files, _ := filepath.Glob("test/*.test.mjs")
	if len(files) == 0 {
		t.Fatal("no test/*.test.mjs files")
	}
	cmd := exec.Command(node, append([]string{"--test"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", lastLines(out, 9))
}

func lastLines(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return bytes.Join(lines[max(0, len(lines)-n):], []byte("\n"))
}
