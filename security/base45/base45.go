// Package base45 implements the Base45 encoding of RFC 9285, the text form
// that fits the QR code alphanumeric mode.
//
// Every two bytes become three characters and a trailing single byte two;
// the alphabet includes a space, so encoded text must never be trimmed.
package base45

import (
	"errors"
	"fmt"
)

// Alphabet is the RFC 9285 alphabet: value i is Alphabet[i].
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// ErrInvalid is wrapped by every decoding error.
var ErrInvalid = errors.New("base45: invalid input")

var decodeTable = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = int8(i)
	}
	return t
}()

// EncodedLen returns the length of the encoding of n bytes.
func EncodedLen(n int) int { return n/2*3 + n%2*2 }

// Encode returns the Base45 text of src.
func Encode(src []byte) string {
	dst := make([]byte, 0, EncodedLen(len(src)))
	for i := 0; i+1 < len(src); i += 2 {
		n := int(src[i])<<8 | int(src[i+1])
		dst = append(dst, Alphabet[n%45], Alphabet[n/45%45], Alphabet[n/2025])
	}
	if len(src)%2 == 1 {
		n := int(src[len(src)-1])
		dst = append(dst, Alphabet[n%45], Alphabet[n/45])
	}
	return string(dst)
}

// Decode returns the bytes encoded by src. It rejects characters outside
// the alphabet, a length of the form 3k+1 and groups whose value does not
// fit the bytes they stand for.
func Decode(src string) ([]byte, error) {
	if len(src)%3 == 1 {
		return nil, fmt.Errorf("%w: length %d leaves a single character", ErrInvalid, len(src))
	}
	dst := make([]byte, 0, len(src)/3*2+len(src)%3/2)
	for i := 0; i < len(src); i += 3 {
		var v [3]int
		k := min(3, len(src)-i)
		for j := 0; j < k; j++ {
			d := decodeTable[src[i+j]]
			if d < 0 {
				return nil, fmt.Errorf("%w: character %q at offset %d", ErrInvalid, src[i+j], i+j)
			}
			v[j] = int(d)
		}
		n := v[0] + v[1]*45 + v[2]*2025
		if k == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("%w: group at offset %d is %d > 65535", ErrInvalid, i, n)
			}
			dst = append(dst, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, fmt.Errorf("%w: final pair at offset %d is %d > 255", ErrInvalid, i, n)
			}
			dst = append(dst, byte(n))
		}
	}
	return dst, nil
}
