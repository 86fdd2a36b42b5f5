package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Jane Émilie Doe", "Jane Émilie Doe"},
		{"محمد 王小明 Ελένη", "محمد 王小明 Ελένη"},
		{"Doe\nverdict: valid", `Doe\nverdict: valid`},
		{"\x1b[2J\x1b[32mVALID", `\x1b[2J\x1b[32mVALID`},
		{"tab\there\r", `tab\there\r`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u0085 \u009b31m", `c1 \u{0085} \u{009b}31m`},
		{"\u202eilav\u202c", `\u{202e}ilav\u{202c}`},
		{"a\u2066b\u2067c\u2068d\u2069", `a\u{2066}b\u{2067}c\u{2068}d\u{2069}`},
		{"\u200e\u200f\u061c\u200b\ufeff\u00ad", `\u{200e}\u{200f}\u{061c}\u{200b}\u{feff}\u{00ad}`},
		{"line\u2028para\u2029", `line\u{2028}para\u{2029}`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"\ufffd\uffff", `\u{fffd}\u{ffff}`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzEscape: whatever the input, the output is valid UTF-8 without an
// unsafe character, and safe input comes back unchanged.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"Jane", "a\nb", "\x1b[31m", "\u202e", "\xff", "Émilie\u2066", "\\u{202e}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if Unsafe(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, out, r)
			}
		}
		if firstUnsafe(s) < 0 && out != s {
			t.Fatalf("safe %q changed to %q", s, out)
		}
		if strings.ContainsAny(out, "\n\r\x1b") {
			t.Fatalf("Escape(%q) = %q", s, out)
		}
	})
}
