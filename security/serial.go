package security

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A card serial looks like IIII-SS-NNNNNNN-C:
//
//	IIII     issuer prefix, 4 characters from 0-9 A-Z
//	SS       station, 2 characters from 0-9 A-Z
//	NNNNNNN  sequence number, 7 decimal digits, allocated by an Allocator
//	C        check character, ISO/IEC 7064 MOD 37-2 over the 13 characters
//	         before it (hyphens excluded): one of 0-9 A-Z or '*'
//
// MOD 37-2 is the ISO 7064 pure system with prime modulus 37 and radix 2.
// Because 37 is prime and every weight is a power of two, any single
// substituted character and any two swapped adjacent characters change the
// weighted sum modulo 37, so both are always detected. (The hybrid MOD 37,36
// system was considered and rejected: it misses some adjacent
// transpositions.)

// Serial lengths.
const (
	IssuerLen   = 4
	StationLen  = 2
	SequenceLen = 7
	// SerialLen is the length of a formatted serial, hyphens included.
	SerialLen = IssuerLen + 1 + StationLen + 1 + SequenceLen + 1 + 1
	// MaxSequence is the largest sequence number a serial can carry.
	MaxSequence = 9_999_999
)

// checkAlphabet maps MOD 37-2 values 0..36 to characters.
const checkAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"

// ErrBadSerial is wrapped by every serial parsing error.
var ErrBadSerial = errors.New("bad card serial")

// Serial is a parsed card serial.
type Serial struct {
	// Issuer is the 4-character issuer prefix.
	Issuer string
	// Station is the 2-character station code.
	Station string
	// Sequence is the sequence number, 1..MaxSequence.
	Sequence uint32
}

// NewSerial returns the serial for issuer, station and seq after checking
// each part.
func NewSerial(issuer, station string, seq uint32) (Serial, error) {
	s := Serial{Issuer: issuer, Station: station, Sequence: seq}
	if err := s.validateParts(); err != nil {
		return Serial{}, err
	}
	return s, nil
}

func (s Serial) validateParts() error {
	if err := checkCode("issuer", s.Issuer, IssuerLen); err != nil {
		return err
	}
	if err := checkCode("station", s.Station, StationLen); err != nil {
		return err
	}
	if s.Sequence == 0 || s.Sequence > MaxSequence {
		return fmt.Errorf("%w: sequence %d out of range 1..%d", ErrBadSerial, s.Sequence, MaxSequence)
	}
	return nil
}

func checkCode(what, v string, n int) error {
	if len(v) != n {
		return fmt.Errorf("%w: %s %q must be %d characters", ErrBadSerial, what, v, n)
	}
	for i := 0; i < len(v); i++ {
		if alnumValue(v[i]) < 0 {
			return fmt.Errorf("%w: %s %q: character %q is not 0-9 or A-Z", ErrBadSerial, what, v, v[i])
		}
	}
	return nil
}

// alnumValue returns the ISO 7064 value of c (0-9 → 0..9, A-Z → 10..35) or
// -1.
func alnumValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// CheckChar returns the ISO/IEC 7064 MOD 37-2 check character for body, a
// string of 0-9 and A-Z.
func CheckChar(body string) (byte, error) {
	p := 0
	for i := 0; i < len(body); i++ {
		v := alnumValue(body[i])
		if v < 0 {
			return 0, fmt.Errorf("%w: character %q is not 0-9 or A-Z", ErrBadSerial, body[i])
		}
		p = (p + v) * 2 % 37
	}
	return checkAlphabet[(38-p)%37], nil
}

// String formats the serial with its check character. A Serial with invalid
// parts formats as "invalid-serial"; use Format to get the error instead.
func (s Serial) String() string {
	v, err := s.Format()
	if err != nil {
		return "invalid-serial"
	}
	return v
}

// Format returns the serial text, IIII-SS-NNNNNNN-C.
func (s Serial) Format() (string, error) {
	if err := s.validateParts(); err != nil {
		return "", err
	}
	seq := fmt.Sprintf("%07d", s.Sequence)
	c, err := CheckChar(s.Issuer + s.Station + seq)
	if err != nil {
		return "", err
	}
	return s.Issuer + "-" + s.Station + "-" + seq + "-" + string(c), nil
}

// ParseSerial parses and validates a serial: layout, character sets and
// check character. Lower-case input is rejected rather than folded so that
// what is printed is exactly what was signed.
func ParseSerial(text string) (Serial, error) {
	if len(text) != SerialLen {
		return Serial{}, fmt.Errorf("%w %q: length %d, want %d", ErrBadSerial, text, len(text), SerialLen)
	}
	parts := strings.Split(text, "-")
	if len(parts) != 4 || len(parts[0]) != IssuerLen || len(parts[1]) != StationLen ||
		len(parts[2]) != SequenceLen || len(parts[3]) != 1 {
		return Serial{}, fmt.Errorf("%w %q: want IIII-SS-NNNNNNN-C", ErrBadSerial, text)
	}
	for i := 0; i < SequenceLen; i++ {
		if c := parts[2][i]; c < '0' || c > '9' {
			return Serial{}, fmt.Errorf("%w %q: sequence must be digits", ErrBadSerial, text)
		}
	}
	seq, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return Serial{}, fmt.Errorf("%w %q: sequence: %w", ErrBadSerial, text, err)
	}
	s := Serial{Issuer: parts[0], Station: parts[1], Sequence: uint32(seq)}
	if err := s.validateParts(); err != nil {
		return Serial{}, fmt.Errorf("%q: %w", text, err)
	}
	want, err := CheckChar(parts[0] + parts[1] + parts[2])
	if err != nil {
		return Serial{}, err
	}
	if parts[3][0] != want {
		return Serial{}, fmt.Errorf("%w %q: check character mismatch", ErrBadSerial, text)
	}
	return s, nil
}

// ValidSerial reports whether text is a well-formed serial with a correct
// check character.
func ValidSerial(text string) bool {
	_, err := ParseSerial(text)
	return err == nil
}
