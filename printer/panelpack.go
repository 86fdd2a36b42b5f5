package printer

import (
	"encoding/binary"
	"fmt"
	"image"
	"math/bits"
)

// ColorScratch holds the planes PackColor needs when it cannot take its
// fast path. A driver keeps one per encoder and reuses it across sides and
// cards; the zero value is ready to use.
type ColorScratch struct {
	y, m, c *Plane
}

func (s *ColorScratch) planes(wd, hd, depth int) (y, m, c *Plane) {
	r := image.Rect(0, 0, wd, hd)
	if s.y == nil || s.y.Rect != r || s.y.Depth != depth {
		s.y, s.m, s.c = NewPlane(r, depth), NewPlane(r, depth), NewPlane(r, depth)
	}
	return s.y, s.m, s.c
}

// PackColor is SplitColor followed by PackSamples for each plane, in one
// pass: it writes the packed wire streams of the yellow, magenta and cyan
// planes of src laid out by t, at depth bits per sample, into y, m and c,
// each of which must be exactly PackedLen(wd*hd, depth) bytes for the wire
// size wd × hd. The bytes are those SplitColor and PackSamples give.
//
// The fast path takes an *image.RGBA turned a quarter turn without an
// offset, whose wire width and height are multiples of 8: the dots of 8
// source rows are quantised, packed and stored straight into the streams.
// Anything else goes through planes kept in scratch (nil allocates them).
func PackColor(y, m, c []byte, src image.Image, t Transform, depth int, scratch *ColorScratch) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := checkDepth(depth); err != nil {
		return err
	}
	b := src.Bounds()
	wd, hd := t.WireSize(b.Dx(), b.Dy())
	n := PackedLen(wd*hd, depth)
	if len(y) != n || len(m) != n || len(c) != n {
		return fmt.Errorf("printer: packed planes are %d, %d and %d bytes, want %d for %dx%d at %d bits", len(y), len(m), len(c), n, wd, hd, depth)
	}
	rgba, ok := src.(*image.RGBA)
	if ok && (t.Rotate == 90 || t.Rotate == 270) && t.Offset == (image.Point{}) && wd%8 == 0 && hd%8 == 0 {
		packQuarter(y, m, c, rgba, t.affine(b.Dx(), b.Dy()), depth, depth)
		return nil
	}
	if scratch == nil {
		scratch = &ColorScratch{}
	}
	py, pm, pc := scratch.planes(wd, hd, depth)
	if err := SplitColorInto(py, pm, pc, src, t); err != nil {
		return err
	}
	PackSamples(y[:0], py.Pix, depth)
	PackSamples(m[:0], pm.Pix, depth)
	PackSamples(c[:0], pc.Pix, depth)
	return nil
}

// packQuarter is PackColor's fast path. With a quarter turn (a.ax == 0) a
// wire row is one source column and consecutive source rows are
// consecutive wire dots (forward when a.ay is 1, backward when −1), so 8
// source rows give 8 whole samples of a wire row: one group of depth bytes
// in each stream. Groups are visited in increasing wire-dot order, in tiles
// of 64 dots × 64 source columns so that both the rows read and the wire
// rows written stay in the cache.
//
// Samples are quantised to depth bits and packed at packBits per sample (8
// leaves them one a byte, as in a Plane).
func packQuarter(y, m, c []byte, rgba *image.RGBA, a affine, depth, packBits int) {
	w := rgba.Rect.Dx()
	wd := rgba.Rect.Dy() // wire width of a quarter turn
	inv := DyeTable(depth)
	k := newBitLanes(uint(packBits))
	d := packBits
	rowBytes := wd / 8 * d // packed bytes of one wire row
	shift := 64 - 8*uint(d)
	pix, stride := rgba.Pix, rgba.Stride
	groups := wd / 8
	seven := depth == 7 // quantised by arithmetic, see dye7
	const tile = 64
	for tg := 0; tg < groups; tg += tile / 8 {
		for tx := 0; tx < w; tx += tile {
			tx1 := min(tx+tile, w)
			for gi := tg; gi < min(tg+tile/8, groups); gi++ {
				// Wire dots 8gi … 8gi+7 come from source rows a.ay*dot + a.cy:
				// ascending from sy0 when walking forward, descending to
				// sy0 when backward (then the loaded word is reversed).
				sy0 := a.cy + 8*gi
				if a.ay < 0 {
					sy0 = a.cy - 8*gi - 7
				}
				back := a.ay < 0
				// Groups of a row are written in increasing order, so a
				// word store may spill into the next group of the same
				// row, which is written after; never past the row's end.
				overrun := gi+1 < groups
				base := sy0*stride + 4*tx
				off := (a.bx*(tx-a.cx))*rowBytes + gi*d
				step := a.bx * rowBytes
				for sx := tx; sx < tx1; sx, base, off = sx+1, base+4, off+step {
					var vy, vm, vc uint64
					ok := false
					if seven {
						vy, vm, vc, ok = dye7(pix[base:base+7*stride+4], stride, back)
					}
					if !ok {
						vy, vm, vc = DyeColumn8(pix[base:base+7*stride+4], stride, inv)
						if back {
							vy, vm, vc = bits.ReverseBytes64(vy), bits.ReverseBytes64(vm), bits.ReverseBytes64(vc)
						}
					}
					if d != 8 {
						vy, vm, vc = k.pack(vy)<<shift, k.pack(vm)<<shift, k.pack(vc)<<shift
					}
					if overrun || d == 8 {
						binary.BigEndian.PutUint64(y[off:], vy)
						binary.BigEndian.PutUint64(m[off:], vm)
						binary.BigEndian.PutUint64(c[off:], vc)
						continue
					}
					putTop(y[off:off+d], vy)
					putTop(m[off:off+d], vm)
					putTop(c[off:off+d], vc)
				}
			}
		}
	}
}

// putTop stores the top len(out) bytes of v in out, most significant
// first.
func putTop(out []byte, v uint64) {
	for j := range out {
		out[j] = byte(v >> (56 - 8*uint(j)))
	}
}

// dye7 is DyeColumn8 at 7 bits for eight opaque dots, by arithmetic on
// whole words instead of 24 table look-ups: at 7 bits the rounded dye of a
// channel value v, ((255−v)·127 + 127) / 255, is exactly (255−v) >> 1. The
// dots' bytes are regrouped channel by channel (a 2 × 4 byte transpose in
// each pair of dots, then a 4 × 4 transpose of 16-bit lanes across the
// pairs). With back the first dot lands in the least significant byte, as
// the backward quarter turn wants. ok is false when a dot is translucent
// (the caller takes the table path, which composites it over white).
func dye7(p []byte, stride int, back bool) (vy, vm, vc uint64, ok bool) {
	_ = p[7*stride+3]
	w0 := uint64(binary.LittleEndian.Uint32(p[0:])) | uint64(binary.LittleEndian.Uint32(p[stride:]))<<32
	w1 := uint64(binary.LittleEndian.Uint32(p[2*stride:])) | uint64(binary.LittleEndian.Uint32(p[3*stride:]))<<32
	w2 := uint64(binary.LittleEndian.Uint32(p[4*stride:])) | uint64(binary.LittleEndian.Uint32(p[5*stride:]))<<32
	w3 := uint64(binary.LittleEndian.Uint32(p[6*stride:])) | uint64(binary.LittleEndian.Uint32(p[7*stride:]))<<32
	const alpha = 0xff000000ff000000
	if w0&w1&w2&w3&alpha != alpha {
		return 0, 0, 0, false
	}
	// In each word R G B A of two dots become R R G G B B A A.
	w0, w1, w2, w3 = pairChannels(w0), pairChannels(w1), pairChannels(w2), pairChannels(w3)
	// 16-bit lane c of word k is channel c of dots 2k and 2k+1:
	// transpose the 4 × 4 lanes so that word c holds channel c.
	x := (w0>>16 ^ w1) & 0x0000ffff0000ffff
	w1 ^= x
	w0 ^= x << 16
	x = (w2>>16 ^ w3) & 0x0000ffff0000ffff
	w3 ^= x
	w2 ^= x << 16
	x = (w0>>32 ^ w2) & 0x00000000ffffffff
	w2 ^= x
	w0 ^= x << 32
	x = (w1>>32 ^ w3) & 0x00000000ffffffff
	w3 ^= x
	w1 ^= x << 32
	// w0, w1, w2 are red, green and blue, dot i in byte i.
	const low7 = 0x7f7f7f7f7f7f7f7f
	vy, vm, vc = ^w2>>1&low7, ^w1>>1&low7, ^w0>>1&low7
	if !back {
		vy, vm, vc = bits.ReverseBytes64(vy), bits.ReverseBytes64(vm), bits.ReverseBytes64(vc)
	}
	return vy, vm, vc, true
}

// pairChannels turns the bytes R0 G0 B0 A0 R1 G1 B1 A1 of w (least
// significant first) into R0 R1 G0 G1 B0 B1 A0 A1.
func pairChannels(w uint64) uint64 {
	x := (w ^ w>>16) & 0x00000000ffff0000
	w ^= x ^ x<<16
	x = (w ^ w>>8) & 0x0000ff000000ff00
	return w ^ x ^ x<<8
}

// DyeTable returns the table that maps a colour channel value (red, green
// or blue) to the dye sample of its complement at depth bits (cyan,
// magenta or yellow), rounded as SplitColor rounds. Drivers' fast paths
// use it with DyeColumn8.
func DyeTable(depth int) *[256]byte {
	lut := quantLUT(depth)
	var inv [256]byte
	for v := range inv {
		inv[v] = lut[0xff-v]
	}
	return &inv
}

// DyeColumn8 quantises eight RGBA dots (premultiplied, composited over
// white as SplitColor does) at p[0], p[stride] … p[7*stride] through the
// table inv (see DyeTable) and returns their yellow, magenta and cyan
// samples, one a byte, the first dot in the most significant byte. Eight
// rows of one image column make eight consecutive wire samples when the
// wire is the card turned a quarter turn.
func DyeColumn8(p []byte, stride int, inv *[256]byte) (vy, vm, vc uint64) {
	_ = p[7*stride+3]
	var v [8]uint32
	v[0] = binary.LittleEndian.Uint32(p[0:])
	v[1] = binary.LittleEndian.Uint32(p[stride:])
	v[2] = binary.LittleEndian.Uint32(p[2*stride:])
	v[3] = binary.LittleEndian.Uint32(p[3*stride:])
	v[4] = binary.LittleEndian.Uint32(p[4*stride:])
	v[5] = binary.LittleEndian.Uint32(p[5*stride:])
	v[6] = binary.LittleEndian.Uint32(p[6*stride:])
	v[7] = binary.LittleEndian.Uint32(p[7*stride:])
	all := v[0] & v[1] & v[2] & v[3] & v[4] & v[5] & v[6] & v[7]
	if all == 0xffffffff {
		return 0, 0, 0 // white: no dye (the usual card background)
	}
	if x := v[0]; x>>24 == 0xff && (x^v[1])|(x^v[2])|(x^v[3])|(x^v[4])|(x^v[5])|(x^v[6])|(x^v[7]) == 0 {
		// Eight dots of one opaque colour (flat backgrounds, text,
		// blocks): three look-ups instead of 24.
		const ones = 0x0101010101010101
		return uint64(inv[byte(x>>16)]) * ones, uint64(inv[byte(x>>8)]) * ones, uint64(inv[byte(x)]) * ones
	}
	if all>>24 != 0xff {
		for i, x := range v {
			if x>>24 != 0xff {
				v[i] = overWhite(x)
			}
		}
	}
	vy = uint64(inv[byte(v[0]>>16)])<<56 | uint64(inv[byte(v[1]>>16)])<<48 | uint64(inv[byte(v[2]>>16)])<<40 | uint64(inv[byte(v[3]>>16)])<<32 |
		uint64(inv[byte(v[4]>>16)])<<24 | uint64(inv[byte(v[5]>>16)])<<16 | uint64(inv[byte(v[6]>>16)])<<8 | uint64(inv[byte(v[7]>>16)])
	vm = uint64(inv[byte(v[0]>>8)])<<56 | uint64(inv[byte(v[1]>>8)])<<48 | uint64(inv[byte(v[2]>>8)])<<40 | uint64(inv[byte(v[3]>>8)])<<32 |
		uint64(inv[byte(v[4]>>8)])<<24 | uint64(inv[byte(v[5]>>8)])<<16 | uint64(inv[byte(v[6]>>8)])<<8 | uint64(inv[byte(v[7]>>8)])
	vc = uint64(inv[byte(v[0])])<<56 | uint64(inv[byte(v[1])])<<48 | uint64(inv[byte(v[2])])<<40 | uint64(inv[byte(v[3])])<<32 |
		uint64(inv[byte(v[4])])<<24 | uint64(inv[byte(v[5])])<<16 | uint64(inv[byte(v[6])])<<8 | uint64(inv[byte(v[7])])
	return vy, vm, vc
}
