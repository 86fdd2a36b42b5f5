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
	switch {
	case depth == 7 && packBits == 7:
		pack7Quarter(y, m, c, rgba, a)
		return
	case depth == 7 && packBits == 8 && haveSSE2:
		dye7Quarter(y, m, c, rgba, a)
		return
	}
	packQuarterGo(y, m, c, rgba, a, depth, packBits)
}

// packQuarterGo is packQuarter's general path, in Go.
func packQuarterGo(y, m, c []byte, rgba *image.RGBA, a affine, depth, packBits int) {
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

// dye7Quarter is packQuarter at 7 bits one sample a byte (SplitColor's
// planes at the Evolis default), four columns of eight dots at a time
// (dye7Block4); a block with a translucent dot takes DyeColumn8's table
// path, which composites it over white. Tiles are pack7Quarter's.
func dye7Quarter(y, m, c []byte, rgba *image.RGBA, a affine) {
	w := rgba.Rect.Dx()
	wd := rgba.Rect.Dy() // wire width of a quarter turn
	pix, stride := rgba.Pix, rgba.Stride
	groups := wd / 8
	back := a.ay < 0
	inv := DyeTable(7)
	step := a.bx * wd   // from one wire row (source column) to the next
	dotStride := stride // from one dot's source row to the next dot's
	if back {
		dotStride = -stride
	}
	const tileCols, tileGroups = 64, 4
	for tg := 0; tg < groups; tg += tileGroups {
		for tx := 0; tx < w; tx += tileCols {
			cols := min(tx+tileCols, w) - tx
			for gi := tg; gi < min(tg+tileGroups, groups); gi++ {
				// Dot 0 of the group comes from source row a.cy + 8gi
				// forward, a.cy − 8gi backward.
				src := (a.cy+a.ay*8*gi)*stride + 4*tx
				off := (a.bx*(tx-a.cx))*wd + gi*8
				dye7Group(y, m, c, pix, src, dotStride, cols, off, step, inv)
			}
		}
	}
}

// dye7Group stores the dyes of cols columns of eight dots, dot k of
// column j at pix[src + k·dotStride + 4j], at off + j·step in y, m and c,
// eight bytes a column, dot 0 first.
func dye7Group(y, m, c, pix []byte, src, dotStride, cols, off, step int, inv *[256]byte) {
	// Every load and store lies in the slices.
	r0, r1 := src, src+7*dotStride
	o0, o1 := off, off+(cols-1)*step
	if min(r0, r1) < 0 || max(r0, r1)+4*cols > len(pix) || min(o0, o1) < 0 || max(o0, o1)+8 > min(len(y), len(m), len(c)) {
		panic("printer: dye7Group outside the image or the planes")
	}
	blocks := cols / 4
	for i := 0; i < blocks; {
		k := dye7Block4(&y[off], &m[off], &c[off], &pix[src+16*i], dotStride, blocks-i, step)
		i += k
		off += 4 * k * step
		if i < blocks {
			// A translucent dot: this block through the tables.
			dye7Columns(y, m, c, pix, src+16*i, dotStride, 4, off, step, inv)
			i++
			off += 4 * step
		}
	}
	dye7Columns(y, m, c, pix, src+16*blocks, dotStride, cols%4, off, step, inv)
}

// dye7Columns is dye7Group through DyeColumn8's tables.
func dye7Columns(y, m, c, pix []byte, src, dotStride, cols, off, step int, inv *[256]byte) {
	stride := dotStride
	if dotStride < 0 {
		src, stride = src+7*dotStride, -dotStride // the lowest row first
	}
	for j := range cols {
		p := src + 4*j
		vy, vm, vc := DyeColumn8(pix[p:p+7*stride+4], stride, inv)
		if dotStride < 0 {
			vy, vm, vc = bits.ReverseBytes64(vy), bits.ReverseBytes64(vm), bits.ReverseBytes64(vc)
		}
		o := off + j*step
		binary.BigEndian.PutUint64(y[o:], vy)
		binary.BigEndian.PutUint64(m[o:], vm)
		binary.BigEndian.PutUint64(c[o:], vc)
	}
}

// pack7Quarter is packQuarter at 7 bits packed (the Evolis default). The
// dots of two neighbouring source columns in eight source rows give one
// group of 7 bytes in each of two wire rows of each stream. At 7 bits the
// dye of a channel value v is the top 7 bits of 255 − v (see dye7), so
// opaque dots are packed by word arithmetic (columns7); eight dots of one
// opaque colour cost a multiplication per stream (flat7), and a group with
// a translucent dot takes DyeDots8's table path, which composites it over
// white. The eight source rows of a group are read in place (pack7Rows),
// four columns at a time in assembly where there is (pack7Group).
//
// Tiles are 64 source columns by four groups (32 source rows): small
// enough for the rows read and the wire rows written to stay in the L1
// cache together.
func pack7Quarter(y, m, c []byte, rgba *image.RGBA, a affine) {
	const d = 7
	w := rgba.Rect.Dx()
	wd := rgba.Rect.Dy() // wire width of a quarter turn
	rowBytes := wd / 8 * d
	pix, stride := rgba.Pix, rgba.Stride
	groups := wd / 8
	back := a.ay < 0
	inv := DyeTable(d)
	step := a.bx * rowBytes // from one wire row (source column) to the next
	dotStride := stride     // from one dot's source row to the next dot's
	if back {
		dotStride = -stride
	}
	const tileCols, tileGroups = 64, 4
	for tg := 0; tg < groups; tg += tileGroups {
		for tx := 0; tx < w; tx += tileCols {
			tx1 := min(tx+tileCols, w)
			for gi := tg; gi < min(tg+tileGroups, groups); gi++ {
				// Wire dots 8gi … 8gi+7 come from the source rows
				// a.ay*dot + a.cy: ascending from sy0 forward, descending
				// to sy0 backward.
				sy0 := a.cy + 8*gi
				if back {
					sy0 = a.cy - 8*gi - 7
				}
				base := sy0*stride + 4*tx
				n := 4 * (tx1 - tx)
				// Dot k of the group comes from source row k forward,
				// 7 − k backward.
				var r [8][]byte
				for k := range r {
					row := k
					if back {
						row = 7 - k
					}
					r[k] = pix[base+row*stride : base+row*stride+n]
				}
				off := (a.bx*(tx-a.cx))*rowBytes + gi*d
				pack7Group(y, m, c, &r, dotStride, off, step, gi+1 == groups, inv)
			}
		}
	}
}

// pack7Group is pack7Rows, four columns at a time in assembly where
// there is (pack7Block4); the last group of a row, whose stores may not
// spill, goes through a scratch. Row k of r must start dotStride bytes
// after row 0.
func pack7Group(y, m, c []byte, r *[8][]byte, dotStride, off, step int, last bool, inv *[256]byte) {
	n := len(r[0])
	switch {
	case !haveSSE2 || last && n > 4*lastCols:
		pack7Rows(y, m, c, r, off, step, last, inv)
	case last:
		// Packed into 8-byte slots, of which 7 bytes are copied.
		var tmp [3][8 * lastCols]byte
		pack7Blocks(tmp[0][:], tmp[1][:], tmp[2][:], r, dotStride, 0, 8, inv)
		for j := range n / 4 {
			o := off + j*step
			copy(y[o:o+7], tmp[0][8*j:])
			copy(m[o:o+7], tmp[1][8*j:])
			copy(c[o:o+7], tmp[2][8*j:])
		}
	default:
		pack7Blocks(y, m, c, r, dotStride, off, step, inv)
	}
}

// lastCols is the most columns pack7Group packs through its scratch (a
// tile's width).
const lastCols = 64

// pack7Blocks is pack7Group for a group whose stores may spill.
func pack7Blocks(y, m, c []byte, r *[8][]byte, dotStride, off, step int, inv *[256]byte) {
	n := len(r[0])
	blocks := n / 16
	for i := 0; i < blocks; {
		// The blocks left store 8 bytes at off + j·step, j < 4·left.
		end := off + (4*(blocks-i)-1)*step
		lo, hi := min(off, end), max(off, end)+8
		if lo < 0 || hi > len(y) || hi > len(m) || hi > len(c) {
			panic("printer: pack7Group out of the streams")
		}
		k := pack7Block4(&y[off], &m[off], &c[off], &r[0][16*i], dotStride, blocks-i, step)
		i += k
		off += 4 * k * step
		if i < blocks {
			// A translucent dot: this block through the tables.
			var sub [8][]byte
			for j := range sub {
				sub[j] = r[j][16*i : 16*i+16]
			}
			pack7Rows(y, m, c, &sub, off, step, false, inv)
			i++
			off += 4 * step
		}
	}
	if n%16 != 0 {
		var sub [8][]byte
		for j := range sub {
			sub[j] = r[j][16*blocks:]
		}
		pack7Rows(y, m, c, &sub, off, step, false, inv)
	}
}

// pack7Rows packs the pairs of columns of eight dots in the rows r (dot
// k of each column in r[k], all rows of one length, a multiple of 8
// bytes: two RGBA dots) into the streams, the left column's group at off
// and the right one's at off + step, each pair 2·step on. Groups of a row
// are written in increasing order, so a word store may spill into the
// next group of the same row, which is written after; never past the
// row's end, so the last group of a row (last) is stored byte by byte.
// Opaque dots are packed by word arithmetic (columns7), eight of one
// colour by flat7, translucent ones through DyeDots8's table (which
// composites them over white). The rows are read in place: no copy.
func pack7Rows(y, m, c []byte, r *[8][]byte, off, step int, last bool, inv *[256]byte) {
	r0, r1, r2, r3, r4, r5, r6, r7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
	n := len(r0)
	r1, r2, r3, r4, r5, r6, r7 = r1[:n], r2[:n], r3[:n], r4[:n], r5[:n], r6[:n], r7[:n]
	for i := 0; i+8 <= n; i, off = i+8, off+2*step {
		d0, d1, d2, d3 := le64(r0, i), le64(r1, i), le64(r2, i), le64(r3, i)
		d4, d5, d6, d7 := le64(r4, i), le64(r5, i), le64(r6, i), le64(r7, i)
		var ya, ma, ca, yb, mb, cb uint64
		switch {
		case d0&d1&d2&d3&d4&d5&d6&d7&alpha2 != alpha2:
			ya, ma, ca, yb, mb, cb = dyeWords7(d0, d1, d2, d3, d4, d5, d6, d7, inv)
		case d0 == d1 && d0 == d2 && d0 == d3 && d0 == d4 && d0 == d5 && d0 == d6 && d0 == d7 && uint32(d0) == uint32(d0>>32):
			ya, ma, ca = flat7(uint32(d0))
			yb, mb, cb = ya, ma, ca
		default:
			ya, ma, ca, yb, mb, cb = columns7(d0, d1, d2, d3, d4, d5, d6, d7)
		}
		if last {
			putTop(y[off:off+7], ya)
			putTop(m[off:off+7], ma)
			putTop(c[off:off+7], ca)
			putTop(y[off+step:off+step+7], yb)
			putTop(m[off+step:off+step+7], mb)
			putTop(c[off+step:off+step+7], cb)
			continue
		}
		binary.BigEndian.PutUint64(y[off:], ya)
		binary.BigEndian.PutUint64(m[off:], ma)
		binary.BigEndian.PutUint64(c[off:], ca)
		binary.BigEndian.PutUint64(y[off+step:], yb)
		binary.BigEndian.PutUint64(m[off+step:], mb)
		binary.BigEndian.PutUint64(c[off+step:], cb)
	}
}

// dyeWords7 is columns7 through DyeDots8's table, for columns with a
// translucent dot.
func dyeWords7(d0, d1, d2, d3, d4, d5, d6, d7 uint64, inv *[256]byte) (ya, ma, ca, yb, mb, cb uint64) {
	const k = 64 - 56 // the packed samples go to the top
	v := [8]uint32{uint32(d0), uint32(d1), uint32(d2), uint32(d3), uint32(d4), uint32(d5), uint32(d6), uint32(d7)}
	ya, ma, ca = DyeDots8(&v, inv)
	v = [8]uint32{uint32(d0 >> 32), uint32(d1 >> 32), uint32(d2 >> 32), uint32(d3 >> 32), uint32(d4 >> 32), uint32(d5 >> 32), uint32(d6 >> 32), uint32(d7 >> 32)}
	yb, mb, cb = DyeDots8(&v, inv)
	return pack7(ya) << k, pack7(ma) << k, pack7(ca) << k, pack7(yb) << k, pack7(mb) << k, pack7(cb) << k
}

// alpha2 selects the alpha bytes of two RGBA dots in a little-endian word.
const alpha2 = 0xff000000ff000000

// le64 reads the little-endian word at b[i:] with one bounds check (the
// compiler merges the byte loads).
func le64(b []byte, i int) uint64 {
	_ = b[i+7]
	return uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
		uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
}

// Masks and multiplier of pairSamples7. In a little-endian word of two
// RGBA dots, dot 0 in the low half, the top 7 bits of red, green and blue
// are bits 1–7, 9–15 and 17–23 of each half.
const (
	maskRB7 = 0x00fe00fe00fe00fe
	maskG7  = 0x0000fe000000fe00
	// Multiplying by 2⁴⁰ + 2 moves a field of dot 0 up by 40 and one of
	// dot 1 up by 1, which puts dot 0's field just above dot 1's: blue
	// at bits 50–63, red at 34–47, green at 42–55. The other products
	// land on bits that are masked off (2–8, 10–16, 18–24) or past bit 63,
	// and no two overlap, so nothing carries.
	mul7 = 1<<40 | 1<<1
)

// columns7 returns the packed 7-bit yellow, magenta and cyan samples of
// two columns of eight opaque dots, from eight words of two dots each (row
// k in word k, the left dot in the low half): the left column's in ya, ma,
// ca and the right one's in yb, mb, cb, each stream's 56 bits at the top
// of its word (dot 0 highest, as the wire wants). The rows are paired so
// that each word given to the multiplications holds two dots of one
// column; each such word gives 14 bits of each stream.
func columns7(d0, d1, d2, d3, d4, d5, d6, d7 uint64) (ya, ma, ca, yb, mb, cb uint64) {
	const lo = 0xffffffff
	const f = 0x3fff
	// The dye of each channel is its complement.
	w0, w1, w2, w3 := ^(d0&lo | d1<<32), ^(d2&lo | d3<<32), ^(d4&lo | d5<<32), ^(d6&lo | d7<<32)
	rb0, g0 := (w0&maskRB7)*mul7, (w0&maskG7)*mul7
	rb1, g1 := (w1&maskRB7)*mul7, (w1&maskG7)*mul7
	rb2, g2 := (w2&maskRB7)*mul7, (w2&maskG7)*mul7
	rb3, g3 := (w3&maskRB7)*mul7, (w3&maskG7)*mul7
	ya = rb0&(f<<50) | rb1>>14&(f<<36) | rb2>>28&(f<<22) | rb3>>42&(f<<8)
	ca = rb0<<16&(f<<50) | rb1<<2&(f<<36) | rb2>>12&(f<<22) | rb3>>26&(f<<8)
	ma = g0<<8&(f<<50) | g1>>6&(f<<36) | g2>>20&(f<<22) | g3>>34&(f<<8)
	w0, w1, w2, w3 = ^(d0>>32 | d1&^lo), ^(d2>>32 | d3&^lo), ^(d4>>32 | d5&^lo), ^(d6>>32 | d7&^lo)
	rb0, g0 = (w0&maskRB7)*mul7, (w0&maskG7)*mul7
	rb1, g1 = (w1&maskRB7)*mul7, (w1&maskG7)*mul7
	rb2, g2 = (w2&maskRB7)*mul7, (w2&maskG7)*mul7
	rb3, g3 = (w3&maskRB7)*mul7, (w3&maskG7)*mul7
	yb = rb0&(f<<50) | rb1>>14&(f<<36) | rb2>>28&(f<<22) | rb3>>42&(f<<8)
	cb = rb0<<16&(f<<50) | rb1<<2&(f<<36) | rb2>>12&(f<<22) | rb3>>26&(f<<8)
	mb = g0<<8&(f<<50) | g1>>6&(f<<36) | g2>>20&(f<<22) | g3>>34&(f<<8)
	return
}

// flat7 is one column of columns7 for eight dots of the one opaque
// colour x.
func flat7(x uint32) (vy, vm, vc uint64) {
	// Eight 7-bit copies of a sample, at the top of the word.
	const ones = 0x0002040810204081 << 8
	x = ^x
	return uint64(x>>17&0x7f) * ones, uint64(x>>9&0x7f) * ones, uint64(x>>1&0x7f) * ones
}

// pack7 is bitLanes.pack at 7 bits, with constant masks.
func pack7(x uint64) uint64 {
	x = (x&0x7f007f007f007f00)>>1 | x&0x007f007f007f007f
	x = (x&0x3fff00003fff0000)>>2 | x&0x00003fff00003fff
	return (x&0x0fffffff00000000)>>4 | x&0x000000000fffffff
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
	return DyeDots8(&v, inv)
}

// DyeDots8 is DyeColumn8 on eight dots given as little-endian RGBA words
// (red in the low byte), the first dot in the most significant byte of
// each result; it may change v (translucent dots are composited over white
// in place).
func DyeDots8(v *[8]uint32, inv *[256]byte) (vy, vm, vc uint64) {
	if (v[0]&v[1]&v[2]&v[3]&v[4]&v[5]&v[6]&v[7])>>24 != 0xff {
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
