package security

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A card serial looks like IIII-SS-NNNNNNN-C:
//
//	IIII     issuer prefix, 1 to 8 characters from 0-9 A-Z (the station
//	         configuration's serial_prefix; 4 is typical)
//	SS       station code, 1 to 4 characters from 0-9 A-Z (2 is typical)
//	NNNNNNN  sequence number, 7 decimal digits, allocated by an Allocator
//	C        check character, ISO/IEC 7064 MOD 37-2 over everything before
//	         the last hyphen, the two hyphens included (a hyphen counts as
//	         value 36, so a misplaced hyphen is caught too): one of 0-9 A-Z
//	         or '*'
//
// MOD 37-2 is the ISO 7064 pure system with prime modulus 37 and radix 2.
// Because 37 is prime and every weight is a power of two, any single
// substituted character and any two swapped adjacent characters change the
// weighted sum modulo 37, so both are always detected. (The hybrid MOD 37,36
// system was considered and rejected: it misses some adjacent
// transpositions.)

// Serial part lengths.
const (
	// MinIssuerLen and MaxIssuerLen bound the issuer prefix.
	MinIssuerLen, MaxIssuerLen = 1, 8
	// MinStationLen and MaxStationLen bound the station code.
	MinStationLen, MaxStationLen = 1, 4
	// SequenceLen is the number of sequence digits.
	SequenceLen = 7
	// MaxSerialLen is the longest formatted serial, hyphens included.
	MaxSerialLen = MaxIssuerLen + 1 + MaxStationLen + 1 + SequenceLen + 1 + 1
	// MaxSequence is the largest sequence number a serial can carry.
	MaxSequence = 9_999_999
)

// checkAlphabet maps MOD 37-2 values 0..36 to characters.
const checkAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"

// ErrBadSerial is wrapped by every serial parsing error.
var ErrBadSerial = errors.New("bad card serial")

// Serial is a parsed card serial.
type Serial struct {
	// Issuer is the issuer prefix (1–8 characters).
	Issuer string
	// Station is the station code (1–4 characters).
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
	if err := checkCode("issuer", s.Issuer, MinIssuerLen, MaxIssuerLen); err != nil {
		return err
	}
	if err := checkCode("station", s.Station, MinStationLen, MaxStationLen); err != nil {
		return err
	}
	if s.Sequence == 0 || s.Sequence > MaxSequence {
		return fmt.Errorf("%w: sequence %d out of range 1..%d", ErrBadSerial, s.Sequence, MaxSequence)
	}
	return nil
}

func checkCode(what, v string, lo, hi int) error {
	if len(v) < lo || len(v) > hi {
		return fmt.Errorf("%w: %s %q must be %d to %d characters", ErrBadSerial, what, v, lo, hi)
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
// string of 0-9, A-Z and '-' (a hyphen has value 36, the value of '*' in
// the MOD 37-2 alphabet). For a serial, body is everything before its last
// hyphen: "CARD-01-0000042".
func CheckChar(body string) (byte, error) {
	p := 0
	for i := 0; i < len(body); i++ {
		v := alnumValue(body[i])
		if body[i] == '-' {
			v = 36
		}
		if v < 0 {
			return 0, fmt.Errorf("%w: character %q is not 0-9, A-Z or '-'", ErrBadSerial, body[i])
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
	body := s.Issuer + "-" + s.Station + "-" + fmt.Sprintf("%07d", s.Sequence)
	c, err := CheckChar(body)
	if err != nil {
		return "", err
	}
	return body + "-" + string(c), nil
}

// ParseSerial parses and validates a serial: layout, character sets and
// check character. Lower-case input is rejected rather than folded so that
// what is printed is exactly what was signed.
func ParseSerial(text string) (Serial, error) {
	if len(text) > MaxSerialLen {
		return Serial{}, fmt.Errorf("%w: %d characters, at most %d", ErrBadSerial, len(text), MaxSerialLen)
	}
	parts := strings.Split(text, "-")
	if len(parts) != 4 || len(parts[2]) != SequenceLen || len(parts[3]) != 1 {
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
	want, err := CheckChar(text[:len(text)-2])
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
