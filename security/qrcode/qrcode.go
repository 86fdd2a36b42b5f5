// Package qrcode encodes QR Code symbols (ISO/IEC 18004, model 2) in
// numeric, alphanumeric or byte mode, at versions 1 to 40 and the four
// error-correction levels.
//
// It picks the same symbol as github.com/boombuler/barcode/qr (which the
// project used before, and which its differential test checks it
// against): the smallest version that holds the data in the one mode
// chosen, and of the eight masks the one with the lowest penalty under
// boombuler's reading of the four penalty rules (ties to the lower mask).
// The difference is speed: the symbol is kept as packed rows of bits, and
// the penalties of all eight masks are computed on whole 64-bit words at a
// time, on the rows and on a transposed copy for the columns, instead of
// module by module.
package qrcode

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Level is an error-correction level.
type Level uint8

// The error-correction levels, recovering about 7, 15, 25 and 30 % of the
// symbol.
const (
	L Level = iota
	M
	Q
	H
)

func (l Level) String() string {
	if l > H {
		return fmt.Sprintf("Level(%d)", uint8(l))
	}
	return "LMQH"[l : l+1]
}

// Mode is the data encoding mode.
type Mode uint8

// The encoding modes. Auto takes numeric when the text is all digits,
// alphanumeric when every character is one of 0–9, A–Z, space and
// $%*+-./:, and byte mode (the text's UTF-8 bytes, without an ECI header)
// otherwise.
const (
	Auto Mode = iota
	Numeric
	Alphanumeric
	Byte
)

func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case Numeric:
		return "numeric"
	case Alphanumeric:
		return "alphanumeric"
	case Byte:
		return "byte"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Errors of Encode.
var (
	// ErrTooLong means the data does not fit a version-40 symbol at the
	// level asked.
	ErrTooLong = errors.New("too much data for a QR symbol")
	// ErrBadChar means the text has a character its mode cannot encode.
	ErrBadChar = errors.New("character not encodable in this mode")
)

// maxWords is the number of 64-bit words of one row of the largest
// symbol (177 modules).
const maxWords = 3

// row is one row (or column) of modules: bit x%64 of word x/64 is module
// x, set when dark. Bits past the symbol's side are zero.
type row [maxWords]uint64

// Symbol is an encoded QR symbol, without its quiet zone.
type Symbol struct {
	version int
	level   Level
	mask    int
	rows    []row
}

// Version returns the symbol's version, 1 to 40.
func (s *Symbol) Version() int { return s.version }

// Level returns the symbol's error-correction level.
func (s *Symbol) Level() Level { return s.level }

// Mask returns the data mask chosen, 0 to 7.
func (s *Symbol) Mask() int { return s.mask }

// Size returns the symbol's side in modules (17 + 4 × version).
func (s *Symbol) Size() int { return len(s.rows) }

// Dark reports whether the module at column x, row y is dark; modules
// outside the symbol are light.
func (s *Symbol) Dark(x, y int) bool {
	n := len(s.rows)
	if x < 0 || y < 0 || x >= n || y >= n {
		return false
	}
	return s.rows[y][x>>6]>>(x&63)&1 != 0
}

// ColorModel returns color.GrayModel: the symbol is an image of one pixel
// per module.
func (s *Symbol) ColorModel() color.Model { return color.GrayModel }

// Bounds returns the symbol's rectangle, from (0, 0).
func (s *Symbol) Bounds() image.Rectangle { return image.Rect(0, 0, len(s.rows), len(s.rows)) }

// At returns black for a dark module, white otherwise.
func (s *Symbol) At(x, y int) color.Color {
	if s.Dark(x, y) {
		return color.Gray{}
	}
	return color.Gray{Y: 0xff}
}

// Encode encodes text as a QR symbol at the level lvl, in the mode given
// (Auto chooses as the Mode constants say). A text longer than a
// version-40 symbol holds wraps ErrTooLong; a character the mode cannot
// encode wraps ErrBadChar.
func Encode(text string, lvl Level, mode Mode) (*Symbol, error) {
	if lvl > H {
		return nil, fmt.Errorf("qrcode: error-correction level %d", lvl)
	}
	if mode == Auto {
		mode = autoMode(text)
	}
	var payload int // bits after the mode indicator and the count
	switch mode {
	case Numeric:
		for i := 0; i < len(text); i++ {
			if text[i] < '0' || text[i] > '9' {
				return nil, fmt.Errorf("qrcode: %w: %q at byte %d in numeric mode", ErrBadChar, text[i], i)
			}
		}
		payload = len(text)/3*10 + [3]int{0, 4, 7}[len(text)%3]
	case Alphanumeric:
		for i := 0; i < len(text); i++ {
			if alnumIndex(text[i]) < 0 {
				return nil, fmt.Errorf("qrcode: %w: %q at byte %d in alphanumeric mode", ErrBadChar, text[i], i)
			}
		}
		payload = len(text)/2*11 + len(text)%2*6
	case Byte:
		payload = 8 * len(text)
	default:
		return nil, fmt.Errorf("qrcode: mode %d", mode)
	}
	ver := 0
	for v := 1; v <= 40; v++ {
		if 4+countBits(mode, v)+payload <= 8*dataCodewords(v, lvl) {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, fmt.Errorf("qrcode: %w: %d bytes in %s mode at level %s", ErrTooLong, len(text), mode, lvl)
	}
	data := encodeData(text, mode, ver, lvl)
	return place(interleave(data, ver, lvl), ver, lvl), nil
}

// autoMode returns the densest mode of Numeric, Alphanumeric and Byte that
// encodes every character of text.
func autoMode(text string) Mode {
	m := Numeric
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if alnumIndex(c) < 0 {
			return Byte
		}
		m = Alphanumeric
	}
	return m
}

// alnumIndex returns the value of c in alphanumeric mode, or -1.
func alnumIndex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	switch c {
	case ' ':
		return 36
	case '$':
		return 37
	case '%':
		return 38
	case '*':
		return 39
	case '+':
		return 40
	case '-':
		return 41
	case '.':
		return 42
	case '/':
		return 43
	case ':':
		return 44
	}
	return -1
}

// countBits returns the width of the character count field.
func countBits(m Mode, v int) int {
	i := 0
	switch {
	case v >= 27:
		i = 2
	case v >= 10:
		i = 1
	}
	switch m {
	case Numeric:
		return [3]int{10, 12, 14}[i]
	case Alphanumeric:
		return [3]int{9, 11, 13}[i]
	}
	return [3]int{8, 16, 16}[i]
}

// bitWriter appends bits, most significant first.
type bitWriter struct {
	buf []byte
	n   int
}

func (w *bitWriter) add(v uint32, count int) {
	for i := count - 1; i >= 0; i-- {
		if w.n&7 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.buf[w.n>>3] |= 0x80 >> uint(w.n&7)
		}
		w.n++
	}
}

// modeIndicator returns the 4-bit mode indicator.
func modeIndicator(m Mode) uint32 {
	switch m {
	case Numeric:
		return 1
	case Alphanumeric:
		return 2
	}
	return 4
}

// encodeData returns the data codewords: mode, count, the text, the
// terminator and padding to the version's capacity.
func encodeData(text string, mode Mode, ver int, lvl Level) []byte {
	capBytes := dataCodewords(ver, lvl)
	w := &bitWriter{buf: make([]byte, 0, capBytes)}
	w.add(modeIndicator(mode), 4)
	w.add(uint32(len(text)), countBits(mode, ver))
	switch mode {
	case Numeric:
		for i := 0; i < len(text); i += 3 {
			chunk := text[i:min(i+3, len(text))]
			v := uint32(0)
			for j := 0; j < len(chunk); j++ {
				v = v*10 + uint32(chunk[j]-'0')
			}
			w.add(v, [4]int{0, 4, 7, 10}[len(chunk)])
		}
	case Alphanumeric:
		for i := 0; i+1 < len(text); i += 2 {
			w.add(uint32(alnumIndex(text[i])*45+alnumIndex(text[i+1])), 11)
		}
		if len(text)%2 == 1 {
			w.add(uint32(alnumIndex(text[len(text)-1])), 6)
		}
	default:
		for i := 0; i < len(text); i++ {
			w.add(uint32(text[i]), 8)
		}
	}
	w.add(0, min(4, 8*capBytes-w.n)) // terminator
	w.n = (w.n + 7) &^ 7
	for pad := byte(0xEC); len(w.buf) < capBytes; pad ^= 0xEC ^ 0x11 {
		w.buf = append(w.buf, pad)
	}
	return w.buf
}

// interleave splits the data codewords into the version's blocks, adds
// each block's Reed–Solomon codewords and interleaves them: the first
// codeword of every block, then the second, …, then the error-correction
// codewords the same way.
func interleave(data []byte, ver int, lvl Level) []byte {
	nb := numBlocks[lvl][ver]
	ne := eccPerBlock[lvl][ver]
	short := len(data) / nb   // data codewords of a short block
	long := nb - len(data)%nb // index of the first long block
	gen := rsGenerator(ne)
	out := make([]byte, 0, len(data)+nb*ne)
	blocks := make([][]byte, nb)
	eccs := make([][]byte, nb)
	off := 0
	for b := range blocks {
		n := short
		if b >= long {
			n++
		}
		blocks[b] = data[off : off+n]
		eccs[b] = rsRemainder(blocks[b], gen)
		off += n
	}
	for i := 0; i <= short; i++ {
		for _, blk := range blocks {
			if i < len(blk) {
				out = append(out, blk[i])
			}
		}
	}
	for i := 0; i < ne; i++ {
		for _, e := range eccs {
			out = append(out, e[i])
		}
	}
	return out
}

// rawModules returns the number of modules of a version-v symbol left for
// data and error correction (with the remainder bits).
func rawModules(v int) int {
	r := (16*v+128)*v + 64
	if v >= 2 {
		na := v/7 + 2
		r -= (25*na-10)*na - 55
		if v >= 7 {
			r -= 36
		}
	}
	return r
}

// dataCodewords returns the number of data codewords of version v at lvl.
func dataCodewords(v int, lvl Level) int {
	return rawModules(v)/8 - eccPerBlock[lvl][v]*numBlocks[lvl][v]
}

// eccPerBlock and numBlocks are the block structure of each version (index
// 1–40) and level (ISO/IEC 18004 table 9): the error-correction codewords
// of each block, and the number of blocks. The data codewords are shared
// out as evenly as possible, the longer blocks last.
var (
	eccPerBlock = [4][41]int{
		L: {0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
		M: {0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
		Q: {0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
		H: {0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	}
	numBlocks = [4][41]int{
		L: {0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
		M: {0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
		Q: {0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
		H: {0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
	}
)

// GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1: exponentials of α = 2
// (doubled so that a sum of two logarithms needs no reduction) and
// logarithms. Computed once; never written after.
var gfExp, gfLog = gfTables()

func gfTables() (exp [512]byte, log [256]byte) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i], exp[i+255] = byte(x), byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	return exp, log
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// rsGenerator returns the coefficients, highest degree first and without
// the leading 1, of the generator polynomial (x-α⁰)(x-α¹)…(x-αⁿ⁻¹).
func rsGenerator(n int) []byte {
	c := make([]byte, 1, n+1)
	c[0] = 1
	for i := 0; i < n; i++ {
		// c(x)·(x + αⁱ): shift up, add αⁱ·c.
		c = append(c, 0)
		for j := len(c) - 1; j >= 1; j-- {
			c[j] ^= gfMul(c[j-1], gfExp[i])
		}
	}
	return c[1:]
}

// rsRemainder returns the Reed–Solomon codewords of data: the remainder of
// data(x)·xⁿ divided by the generator.
func rsRemainder(data, gen []byte) []byte {
	r := make([]byte, len(gen))
	for _, d := range data {
		f := d ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		if f == 0 {
			continue
		}
		lf := int(gfLog[f])
		for i, g := range gen {
			if g != 0 {
				r[i] ^= gfExp[lf+int(gfLog[g])]
			}
		}
	}
	return r
}
