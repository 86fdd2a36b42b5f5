package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
)

// signedCard generates a key with the CLI, writes its trust list and signs
// a credential valid around now, and returns the trust list path, the QR
// text and a PNG of a card side carrying it.
func signedCard(t *testing.T, id string, expires time.Time) (trust, text, pngPath string) {
	t.Helper()
	dir, _ := genKeys(t, "ed25519")
	code, out, errOut := runCardd(t, "keys", "trust-entry", "--pub", filepath.Join(dir, security.PublicKeyFile), "--issuer", "https://id.example.org")
	if code != exitOK {
		t.Fatal(errOut)
	}
	trust = writeFile(t, t.TempDir(), "trust.json", out)
	key, err := security.LoadPrivateKey(filepath.Join(dir, security.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := security.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	text, err = s.Sign(security.Credential{
		Issuer: "https://id.example.org", IssuedAt: now.Add(-2 * time.Hour), Expires: expires,
		ID: id, FullName: "AMINA OKAFOR", DateOfBirth: "19870412", Gender: security.GenderFemale,
		CardType: security.CardTemporary,
	})
	if err != nil {
		t.Fatal(err)
	}
	q, err := security.RenderQR(text, security.ECCM, 4)
	if err != nil {
		t.Fatal(err)
	}
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	for y := 0; y < q.Rect.Dy(); y++ {
		for x := 0; x < q.Rect.Dx(); x++ {
			k.SetBit(600+x, 150+y, q.BitAt(x, y))
		}
	}
	pngPath = filepath.Join(t.TempDir(), "card.png")
	f, err := os.Create(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, printer.Flatten(&printer.Side{K: k}, g)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return trust, text, pngPath
}

func TestVerifyCommand(t *testing.T) {
	serial := "CARD-01-0000042-" + string(mustCheckChar(t, "CARD-01-0000042"))
	trust, text, img := signedCard(t, serial, time.Now().Add(24*time.Hour))
	deny := writeFile(t, t.TempDir(), "deny.json", `{"serials":["`+serial+`"]}`)
	empty := writeFile(t, t.TempDir(), "trust.json", `{"keys":[]}`)
	tests := []struct {
		name    string
		args    []string
		code    int
		verdict string
	}{
		{"image valid", []string{"verify", "--image", img, "--trust", trust}, exitOK, "valid"},
		{"text valid", []string{"verify", "--text", text, "--trust", trust}, exitOK, "valid"},
		{"revoked", []string{"verify", "--text", text, "--trust", trust, "--deny", deny}, exitFailure, "revoked"},
		{"unknown key", []string{"verify", "--text", text, "--trust", empty}, exitFailure, "unknown-key"},
		{"no trust list", []string{"verify", "--text", text}, exitFailure, "unknown-key"},
		{"expired", []string{"verify", "--text", text, "--trust", trust, "--at", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, exitFailure, "expired"},
		{"garbage", []string{"verify", "--text", "NOT A CARD", "--trust", trust}, exitFailure, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCardd(t, tt.args...)
			if code != tt.code || !strings.Contains(out, "verdict: "+tt.verdict+"\n") {
				t.Fatalf("exit %d (want %d), out %q err %q", code, tt.code, out, errOut)
			}
			if tt.verdict == "valid" && !strings.Contains(out, "AMINA OKAFOR") {
				t.Fatalf("holder fields missing: %q", out)
			}
			if tt.verdict != "valid" && strings.Contains(out, "signed fields:") {
				t.Fatalf("unverified fields shown as signed: %q", out)
			}
			code, out, _ = runCardd(t, append(tt.args, "--json")...)
			var res security.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || string(res.Verdict) != tt.verdict || code != tt.code {
				t.Fatalf("--json: exit %d, %v, %q", code, err, out)
			}
		})
	}
}

func TestVerifyCommandErrors(t *testing.T) {
	notImage := writeFile(t, t.TempDir(), "x.png", "not an image")
	blank := filepath.Join(t.TempDir(), "blank.png")
	f, _ := os.Create(blank)
	png.Encode(f, printer.NewMono(printer.CR80(300).Bounds()))
	f.Close()
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"verify"}, exitUsage},
		{[]string{"verify", "--text", "A", "--image", "b"}, exitUsage},
		{[]string{"verify", "--text", "A", "--at", "yesterday"}, exitUsage},
		{[]string{"verify", "--text", "A", "--trust", "/nonexistent/trust.json"}, exitConfig},
		{[]string{"verify", "--image", notImage}, exitFailure},
		{[]string{"verify", "--image", blank}, exitFailure},
	}
	for _, tt := range tests {
		if code, _, errOut := runCardd(t, tt.args...); code != tt.code {
			t.Errorf("cardd %v: exit %d, want %d (%s)", tt.args, code, tt.code, errOut)
		}
	}
}

func mustCheckChar(t *testing.T, body string) byte {
	t.Helper()
	c, err := security.CheckChar(body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// securityConfig writes a station config whose security section names the
// given trust list, deny list and audit log.
func securityConfig(t *testing.T, trust, deny, auditLog string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"spool", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	return writeFile(t, dir, "cardd.toml", `
[station]
id = "sec-test"
[paths]
spool = "spool"
state = "state"
[[printers]]
name = "emu"
driver = "evolis"
connection = "emulator"
[security]
signing_key = "keys/issuer.key"
issuer = "https://id.example.org"
trust_list = "`+trust+`"
deny_list = "`+deny+`"
audit_log = "`+auditLog+`"
serial_prefix = "CARD"
serial_station = "SEC"
`)
}

func TestVerifyWithStationConfig(t *testing.T) {
	serial := "CARD-01-0000042-" + string(mustCheckChar(t, "CARD-01-0000042"))
	trust, text, _ := signedCard(t, serial, time.Now().Add(24*time.Hour))
	deny := filepath.Join(t.TempDir(), "deny.json")
	cfg := securityConfig(t, trust, deny, filepath.Join(t.TempDir(), "audit.log"))
	code, out, errOut := runCardd(t, "verify", "--config", cfg, "--text", text)
	if code != exitOK || !strings.Contains(out, "verdict: valid") {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
	// Once the station's deny list exists and names the serial, the card
	// is revoked.
	writeFile(t, filepath.Dir(deny), filepath.Base(deny), `{"serials":["`+serial+`"]}`)
	code, out, _ = runCardd(t, "verify", "--config", cfg, "--text", text)
	if code != exitFailure || !strings.Contains(out, "verdict: revoked") {
		t.Fatalf("exit %d out %q", code, out)
	}
	if code, _, _ := runCardd(t, "verify", "--config", "/nonexistent/cardd.toml", "--text", text); code != exitConfig {
		t.Fatalf("missing config: exit %d, want %d", code, exitConfig)
	}
}

// TestVerifyOutputEscaped: the text output of "cardd verify" shows the
// fields of an unverified card with control and bidi characters escaped:
// a name cannot forge a "verdict: valid" line, move the cursor, clear the
// screen or reorder what the officer reads.
func TestVerifyOutputEscaped(t *testing.T) {
	hostile := []string{"Doe\nverdict: valid", "\x1b[2J\x1b[32mVALID\x1b[0m", "\u202edilav :tcidrev", "x\u2066y\u2069", "\u009b2J"}
	r := security.Result{Verdict: security.VerdictBadSignature, Reason: "signature does not verify\nverdict: valid",
		Issuer: "https://evil.example\x1b[8m", Kid: "k\u202e1"}
	for _, h := range hostile {
		r.Fields = append(r.Fields, security.Field{Label: "name" + h[:1], Value: h})
	}
	var b strings.Builder
	printVerifyResult(&b, r)
	out := b.String()
	if n := strings.Count(out, "verdict:"); !strings.HasPrefix(out, "verdict: bad-signature\n") || strings.Count(out, "\nverdict:") != 0 || n < 1 {
		t.Errorf("a field forged a verdict line:\n%s", out)
	}
	for _, bad := range []string{"\x1b", "\u202e", "\u2066", "\u2069", "\u009b"} {
		if strings.Contains(out, bad) {
			t.Errorf("output keeps %q:\n%q", bad, out)
		}
	}
	for _, want := range []string{`Doe\nverdict: valid`, `\x1b[2J`, `\u{202e}dilav`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped %s:\n%s", want, out)
		}
	}
}
