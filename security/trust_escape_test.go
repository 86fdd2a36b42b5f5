package security

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cardd/cardd/internal/textsafe"
)

// TestListProblemsEscaped: the text of a trust or deny list problem quotes
// the file (an issuer, a kid, an unknown field's name, a time) and is read
// by a person, so control, bidi and invisible characters come out escaped:
// a list cannot add a line ("verdict: valid"), clear the terminal or
// reorder what is shown. The error chain is kept.
func TestListProblemsEscaped(t *testing.T) {
	k := testKey(t, AlgEd25519)
	e, err := NewTrustEntry(testIssuer, k.Public(), t0, t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const forged = "\nverdict: valid\x1b[2J\u202eX\u2066"
	entry := func(f func(m map[string]any)) string {
		b, _ := json.Marshal(e)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(map[string]any{"keys": []any{m}})
		return string(out)
	}
	var syntax *json.SyntaxError
	tests := []struct {
		name, file string
		deny       bool
		is         func(error) bool
	}{
		{name: "kid", file: entry(func(m map[string]any) { m["kid"] = "00" + forged })},
		{name: "issuer", file: entry(func(m map[string]any) { m["issuer"] = "https://x" + forged; m["public_key"] = "nope" })},
		{name: "unknown field", file: entry(func(m map[string]any) { m["x"+forged] = 1 })},
		{name: "time", file: entry(func(m map[string]any) { m["not_before"] = "2026" + forged })},
		{name: "syntax", file: "{\"keys\": [\x1b]}", is: func(err error) bool { return errors.As(err, &syntax) }},
		{name: "deny field", file: denyFile(map[string]any{"serials": []string{"A"}, "x" + forged: 1}), deny: true},
		{name: "deny time", file: denyFile(map[string]any{"generated": "2026" + forged}), deny: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.deny {
				_, err = ParseDenyList(strings.NewReader(tc.file))
			} else {
				_, err = ParseTrustList(strings.NewReader(tc.file))
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.ContainsFunc(msg, textsafe.Unsafe) {
				t.Errorf("problem text keeps unsafe characters: %q", msg)
			}
			if tc.is != nil && !tc.is(err) {
				t.Errorf("error chain lost: %#v", err)
			}
			t.Log(msg)
		})
	}
}

func denyFile(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}
