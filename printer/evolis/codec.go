package evolis

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
)

// Wire facts shared by the driver and the emulator's Evolis front end.

// Frame bytes: a command is ESC, the command and its ';'-separated
// parameters, then CR. Replies are ASCII text ended by CR.
const (
	ESC = 0x1b
	CR  = 0x0d
)

// Replies and error replies. "OK" acknowledges a command; every error reply
// starts with "ERR" (the family also uses "ERROR CDE" for an unknown
// command). The mechanism errors are the emulator's spelling of the
// family's fault classes (command, parameter, cover, feeder, ribbon,
// mechanical, magnetic).
const (
	ReplyOK          = "OK"
	ReplyUnknownCmd  = "ERROR CDE"        // unknown or malformed command
	ReplyParam       = "ERR PARAM"        // bad parameter or wrong data length
	ReplySequence    = "ERR SEQUENCE"     // command out of place (download outside Ss…Se)
	ReplyCoverOpen   = "ERR COVER OPEN"   // cover open
	ReplyFeederEmpty = "ERR FEEDER EMPTY" // no card in the feeder
	ReplyRibbon      = "ERR RIBBON"       // ribbon at its end
	ReplyNoRibbon    = "ERR NO RIBBON"    // no ribbon loaded
	ReplyBadRibbon   = "ERR RIBBON TYPE"  // ribbon does not match the job
	ReplyMechanical  = "ERR MECHANICAL"   // card jam
	ReplyHopperFull  = "ERR HOPPER FULL"  // output hopper full
	ReplyRejectFull  = "ERR REJECT FULL"  // reject box full
	ReplyMagnetic    = "ERR MAG"          // magnetic encoding failed
	ReplyUnsupported = "ERR UNSUPPORTED"  // no flipper or no encoder
	ReplyBusy        = "ERR BUSY"         // a job is running
)

// Wire raster: Evolis takes a 300 dpi panel as 648 dots per line and 1016
// lines (the landscape card turned a quarter turn).
const (
	WireWidth  = 648
	WireLines  = 1016
	LineBytes1 = WireWidth / 8 // 81 bytes per 1-bit line
)

// WireRotate is how a panel's wire raster relates to the card seen upright
// in landscape: printer.Transform{Rotate: WireRotate} gives wire line 0 at
// the card's left edge (lines run to its right edge) and dot 0 of a line at
// the card's bottom row, as the vendor's own drivers send it. Card dot
// (x, y), y counted down from the top, is wire line x, dot height−1−y.
const WireRotate = 90

// LevelsForDepth returns the "levels" parameter of a dye panel download for
// a sample depth in bits (5 → 32, 6 → 64, 7 → 128, 8 → 256) or 1 → 2 for
// K and overlay.
func LevelsForDepth(depth int) int { return 1 << uint(depth) }

// DepthForLevels is the inverse of LevelsForDepth for the accepted levels
// 2, 32, 64, 128 and 256.
func DepthForLevels(levels int) (int, error) {
	switch levels {
	case 2:
		return 1, nil
	case 32:
		return 5, nil
	case 64:
		return 6, nil
	case 128:
		return 7, nil
	case 256:
		return 8, nil
	}
	return 0, fmt.Errorf("evolis: levels %d not one of 2, 32, 64, 128, 256", levels)
}

// PanelBytes returns the length of an uncompressed Db download of a
// width × lines panel at depth bits.
func PanelBytes(width, lines, depth int) int { return (width*lines*depth + 7) / 8 }

// AppendLines appends the line compression of a 1-bit panel (K or
// overlay) to dst. raw holds lines of lineBytes bytes each, packed MSB
// first. Each line becomes one code byte and its data:
//
//   - 0x00: the line is white (every byte zero);
//   - 0xFF: the line is black (every byte 0xFF);
//   - N from 1 to lineBytes: the first N bytes of the line follow; the
//     rest of the line is zero.
//
// The encoder sends a line up to its last non-zero byte.
func AppendLines(dst, raw []byte, lineBytes int) []byte {
	// Room for the worst case (a code and every byte of each line) at
	// once rather than by append's steps.
	dst = slices.Grow(dst, len(raw)+len(raw)/lineBytes)
	for off := 0; off+lineBytes <= len(raw); off += lineBytes {
		line := raw[off : off+lineBytes]
		n := len(line)
		for n > 0 && line[n-1] == 0 {
			n--
		}
		if n == 0 {
			dst = append(dst, 0x00)
			continue
		}
		if n == lineBytes && allFF(line) {
			dst = append(dst, 0xff)
			continue
		}
		dst = append(dst, byte(n))
		dst = append(dst, line[:n]...)
	}
	return dst
}

func allFF(b []byte) bool {
	for _, v := range b {
		if v != 0xff {
			return false
		}
	}
	return true
}

// DecodeLines decodes a line-compressed 1-bit panel of lines lines of
// lineBytes bytes into dst (which must hold lines*lineBytes bytes and is
// fully overwritten). It fails on a code above lineBytes other than 0xFF,
// on data cut short, and on bytes left over.
func DecodeLines(dst, src []byte, lineBytes, lines int) error {
	if lineBytes < 1 || lineBytes > 254 || len(dst) < lineBytes*lines {
		return fmt.Errorf("evolis: bad line geometry %d×%d for %d bytes", lineBytes, lines, len(dst))
	}
	i := 0
	for l := 0; l < lines; l++ {
		line := dst[l*lineBytes : (l+1)*lineBytes]
		if i >= len(src) {
			return fmt.Errorf("evolis: compressed panel ends at line %d of %d", l, lines)
		}
		code := int(src[i])
		i++
		switch {
		case code == 0:
			clear(line)
		case code == 0xff:
			for k := range line {
				line[k] = 0xff
			}
		case code <= lineBytes:
			if i+code > len(src) {
				return fmt.Errorf("evolis: line %d wants %d bytes, %d left", l, code, len(src)-i)
			}
			copy(line, src[i:i+code])
			clear(line[code:])
			i += code
		default:
			return fmt.Errorf("evolis: line %d: code %d exceeds %d bytes per line", l, code, lineBytes)
		}
	}
	if i != len(src) {
		return fmt.Errorf("evolis: %d bytes after the last line", len(src)-i)
	}
	return nil
}

// maxRun returns the longest run one run code carries at depth bits.
func maxRun(depth int) int {
	ext := 7 - depth // count bits borrowed from the code byte
	return 1<<uint(8+ext) - 1
}

// AppendRLE appends the run-length coding of a dye panel (Y, M or C) to
// dst. samples holds lines of width samples each (values below 2^depth;
// depth 5, 6 or 7). Each line is coded on its own, as a series of codes:
//
//   - a byte with the top bit clear is one dot whose value is the byte;
//   - a byte with the top bit set starts a run: its low depth bits are the
//     value and the bits between them and the top bit (none at 7 bits, bit
//     6 at 6 bits, bits 6 and 5 at 5 bits) are the high part of the run
//     length, whose low 8 bits are the next byte. A run length of 0 means
//     "to the end of the line", so a blank line is 0x80 0x00.
//
// A line's codes cover exactly width dots; runs never cross lines.
func AppendRLE(dst, samples []byte, width, depth int) []byte {
	mr := maxRun(depth)
	vmask := byte(1<<uint(depth) - 1)
	lines := len(samples) / width
	// Worst case: every dot alone, one byte each. A panel coded band by
	// band appends many times: the room at least doubles when it grows,
	// so the bytes already coded are copied about once in all (append
	// grows a large slice by a quarter).
	start := len(dst)
	if need := lines * width; cap(dst)-len(dst) < need {
		dst = slices.Grow(dst, max(need, cap(dst)))
	}
	out := dst[start : start+lines*width]
	o := 0
	for off := 0; off+width <= len(samples); off += width {
		line := samples[off : off+width]
		for x := 0; x < width; {
			if x+9 <= width {
				// Dots unlike the next are single codes: find them
				// eight at a time (eq flags, in bit 7 of byte j, dot
				// x+j equal to the next) and store eight codes, keeping
				// those before the first run; a run that ends within
				// the eight is coded here too. With nine dots left in
				// the line at least nine bytes of out are left (a code
				// is never longer than its dots).
				a := binary.LittleEndian.Uint64(line[x:])
				d := a ^ binary.LittleEndian.Uint64(line[x+1:])
				const lsb, msb, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
				binary.LittleEndian.PutUint64(out[o:], a&(uint64(vmask)*lsb))
				eq := ^(d&low7 + low7 | d) & msb
				if eq == 0 {
					o += 8
					x += 8
					continue
				}
				k := bits.TrailingZeros64(eq) / 8
				o += k
				x += k // a run of two or more starts at x
				if m := bits.TrailingZeros64(^(eq>>(8*k))&msb) / 8; m < 8-k {
					// Dots x … x+m are equal and x+m+1 differs: a run
					// shorter than the longest code, not at the line's end.
					out[o], out[o+1] = 0x80|line[x]&vmask, byte(m+1)
					o += 2
					x += m + 1
					continue
				}
			}
			raw := line[x]
			v := raw & vmask
			// Runs are found on the raw samples (equal raw values have
			// equal coded values; the converse only matters for samples
			// out of range, which then merely code less tightly).
			n := runLen(line[x:], raw)
			switch {
			case n == 1:
				out[o] = v
				o++
				x++
				continue
			case x+n == width:
				out[o], out[o+1] = 0x80|v, 0
				o += 2
				x += n
				continue
			}
			for n > 0 {
				k := min(n, mr)
				if k == 1 {
					out[o] = v
					o++
				} else {
					out[o], out[o+1] = 0x80|byte(k>>8)<<uint(depth)|v, byte(k)
					o += 2
				}
				n -= k
				x += k
			}
		}
	}
	return dst[:start+o]
}

// runLen returns how many bytes at the start of line equal raw (at least
// 1: line[0] is raw), comparing eight at a time.
func runLen(line []byte, raw byte) int {
	if len(line) < 2 || line[1] != raw {
		return 1
	}
	n := 2
	pat := uint64(raw) * 0x0101010101010101
	for ; n+8 <= len(line); n += 8 {
		if d := binary.LittleEndian.Uint64(line[n:]) ^ pat; d != 0 {
			return n + bits.TrailingZeros64(d)/8
		}
	}
	for n < len(line) && line[n] == raw {
		n++
	}
	return n
}

// DecodeRLE decodes a run-length coded dye panel (see AppendRLE) of lines
// lines of width samples at depth bits into dst (len(dst) ≥ width*lines;
// fully overwritten). It fails on a dot value too large for the depth, a
// run crossing the end of a line, codes cut short and bytes left over.
func DecodeRLE(dst, src []byte, width, lines, depth int) error {
	if depth < 5 || depth > 7 {
		return fmt.Errorf("evolis: run-length coding needs 5 to 7 bits, not %d", depth)
	}
	if width < 1 || len(dst) < width*lines {
		return fmt.Errorf("evolis: bad panel geometry %d×%d for %d bytes", width, lines, len(dst))
	}
	vmask := byte(1<<uint(depth) - 1)
	i := 0
	for l := 0; l < lines; l++ {
		line := dst[l*width : (l+1)*width]
		for x := 0; x < width; {
			if i >= len(src) {
				return fmt.Errorf("evolis: run-length data ends in line %d at dot %d", l, x)
			}
			b := src[i]
			i++
			if b&0x80 == 0 {
				if b > vmask {
					return fmt.Errorf("evolis: line %d dot %d: value %d exceeds %d bits", l, x, b, depth)
				}
				line[x] = b
				x++
				continue
			}
			if i >= len(src) {
				return fmt.Errorf("evolis: run in line %d lacks its count", l)
			}
			v := b & vmask
			n := int(b&0x7f)>>uint(depth)<<8 | int(src[i])
			i++
			if n == 0 {
				n = width - x
			}
			if x+n > width {
				return fmt.Errorf("evolis: line %d: run of %d at dot %d crosses the line end", l, n, x)
			}
			fill(line[x:x+n], v)
			x += n
		}
	}
	if i != len(src) {
		return fmt.Errorf("evolis: %d bytes after the last line", len(src)-i)
	}
	return nil
}

// fill sets every byte of b to v: short runs byte by byte, long ones by
// doubling copies.
func fill(b []byte, v byte) {
	if len(b) < 16 {
		for k := range b {
			b[k] = v
		}
		return
	}
	if v == 0 {
		clear(b)
		return
	}
	binary.LittleEndian.PutUint64(b, uint64(v)*0x0101010101010101)
	binary.LittleEndian.PutUint64(b[8:], uint64(v)*0x0101010101010101)
	for n := 16; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// parseInt parses a decimal parameter, rejecting signs, spaces and
// anything over max.
func parseInt(s string, max int) (int, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("evolis: bad number %q", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("evolis: bad number %q", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, fmt.Errorf("evolis: number %q out of range", s)
	}
	return n, nil
}

// ParseCount parses a decimal count parameter from a command or reply
// (digits only, at most max).
func ParseCount(s string, max int) (int, error) { return parseInt(s, max) }
