// Package fastjson reads, without reflection, the compact JSON that cardd
// writes itself: journal and audit log records, read back in full on every
// restart, where encoding/json's reflection is most of the time.
//
// A Decoder accepts only the simple form: no whitespace, strings without
// escapes or control characters, integers without fraction or exponent,
// no null. Anything else makes a method report false, and the caller falls
// back to encoding/json, so the result is always what that decoder gives
// (each caller's fuzz test checks this for its record type).
package fastjson

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// A Decoder reads one JSON value from a byte slice, left to right.
type Decoder struct {
	b []byte
	i int
}

// NewDecoder returns a decoder of b; b must not change while it is used.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

// End reports whether the whole input has been read.
func (d *Decoder) End() bool { return d.i == len(d.b) }

// Byte consumes c if it is the next byte.
func (d *Decoder) Byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// Raw reads a string without escapes or control characters, valid UTF-8,
// and returns its bytes, which alias the input.
func (d *Decoder) Raw() ([]byte, bool) {
	if !d.Byte('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return nil, false
}

// Str reads a string as Raw does and returns a copy.
func (d *Decoder) Str() (string, bool) {
	s, ok := d.Raw()
	return string(s), ok
}

// Uint reads an integer without sign, fraction or exponent.
func (d *Decoder) Uint() (uint64, bool) {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	digits := d.b[start:d.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	return n, err == nil
}

// Int reads an integer, possibly negative, of at most 2⁶² in magnitude.
func (d *Decoder) Int() (int, bool) {
	neg := d.Byte('-')
	u, ok := d.Uint()
	if !ok || u > 1<<62 {
		return 0, false
	}
	if neg {
		return -int(u), true
	}
	return int(u), true
}

// Bool reads true or false.
func (d *Decoder) Bool() (bool, bool) {
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		d.i += 4
		return true, true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

// Time reads a string holding an RFC 3339 time, as time.Time's
// UnmarshalText reads it.
func (d *Decoder) Time() (time.Time, bool) {
	s, ok := d.Raw()
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalText(s); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Object reads an object, calling field for each key with the decoder at
// the key's value; field reads the value and reports whether it could.
// Object stops and reports false at the first key field refuses. The key
// aliases the input (a switch on string(key) does not allocate).
func (d *Decoder) Object(field func(key []byte) bool) bool {
	if !d.Byte('{') {
		return false
	}
	if d.Byte('}') {
		return true
	}
	for {
		key, ok := d.Raw()
		if !ok || !d.Byte(':') || !field(key) {
			return false
		}
		if d.Byte(',') {
			continue
		}
		return d.Byte('}')
	}
}

// Strings reads an array of strings; an empty array gives an empty,
// non-nil slice, as encoding/json gives.
func (d *Decoder) Strings() ([]string, bool) {
	if !d.Byte('[') {
		return nil, false
	}
	out := []string{}
	if d.Byte(']') {
		return out, true
	}
	for {
		s, ok := d.Str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.Byte(',') {
			continue
		}
		return out, d.Byte(']')
	}
}
