// Package textsafe makes untrusted text safe to show to a person: on a
// terminal, in a log line, on a web page. A card's fields, a job's source
// name or a reason may carry a newline (a forged "verdict: valid" line),
// ANSI escape sequences (colours, cursor moves, a cleared screen) or
// Unicode bidirectional controls that reorder what is displayed
// ("Trojan Source"). Escape shows every such character as a visible escape
// instead, and leaves all other text as it is.
package textsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a display raw: a control
// character (C0, DEL, C1), a format character (bidirectional embeddings,
// overrides and isolates U+202A–U+202E and U+2066–U+2069, marks U+200E,
// U+200F and U+061C, zero-width characters, the BOM, soft hyphen …), a
// line or paragraph separator, or a non-character / replacement for bad
// UTF-8.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x80:
		return false
	case r == utf8.RuneError:
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
		r&0xfffe == 0xfffe || r >= 0xfdd0 && r <= 0xfdef
}

// Escape returns s with every unsafe character (see Unsafe) written as a
// visible escape: \n, \r, \t, \xNN for other bytes below 0x80 and for
// bytes that are not UTF-8, \u{NNNN} otherwise. Safe text, including
// letters of every script, is returned unchanged (without copying).
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !Unsafe(r):
			b.WriteString(s[i : i+n])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u{%04x}`, r)
		}
		i += n
	}
	return b.String()
}

// firstUnsafe returns the byte index of the first unsafe character or
// invalid byte of s, -1 when there is none.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if Unsafe(r) {
			return i
		}
		i += n
	}
	return -1
}
