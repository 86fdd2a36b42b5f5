package jpegscale

// lutBits is the width of the Huffman fast look-up: codes up to this long
// (nearly all of them in practice) decode with one table read.
const lutBits = 9

// huffman is a decoding table.
type huffman struct {
	lut [1 << lutBits]uint16 // length<<8 | value; 0 for a longer code
	// fast is, for an AC table, the look-up of a whole coefficient: a
	// code and the bits of its value that fit in lutBits together give
	// value<<16 | run<<8 | their length; 0 otherwise (decode, then
	// extend).
	fast    [1 << lutBits]int32
	maxcode [17]int32 // largest code of each length, -1 for none
	mincode [17]int32
	valptr  [17]int32
	vals    []byte
}

func (d *decoder) parseDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return formatErr("short DHT")
		}
		tc, th := int(s[0]>>4), int(s[0]&15)
		if tc > 1 || th > 3 {
			return formatErr("DHT class %d table %d", tc, th)
		}
		total := 0
		for _, c := range s[1:17] {
			total += int(c)
		}
		if total == 0 || total > 256 || len(s) < 17+total {
			return formatErr("DHT of %d codes", total)
		}
		h := &huffman{vals: append([]byte(nil), s[17:17+total]...)}
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			n := int32(s[l])
			h.maxcode[l] = -1
			if code+n > 1<<uint(l) {
				return formatErr("DHT codes overflow %d bits", l)
			}
			if n > 0 {
				h.valptr[l], h.mincode[l] = k, code
				for i := int32(0); i < n; i++ {
					if l <= lutBits {
						first := (code + i) << uint(lutBits-l)
						for j := int32(0); j < 1<<uint(lutBits-l); j++ {
							h.lut[first+j] = uint16(l)<<8 | uint16(h.vals[k+i])
						}
					}
				}
				code += n
				k += n
				h.maxcode[l] = code - 1
			}
			code <<= 1
		}
		if tc == 1 {
			h.fillFast()
		}
		d.huff[tc][th] = h
		s = s[17+total:]
	}
	return nil
}

// fillFast fills h.fast from h.lut: for each lutBits-bit prefix whose
// code (of length l) has a run/size byte with a size s > 0 and l+s ≤
// lutBits, the coefficient's value is read from the prefix's next s bits
// and extended as extend extends it.
func (h *huffman) fillFast() {
	for p, e := range h.lut {
		l, rs := uint(e>>8), e&0xFF
		s := uint(rs & 15)
		if e == 0 || s == 0 || l+s > lutBits {
			continue
		}
		v := int32(p>>(lutBits-l-s)) & (1<<s - 1)
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		h.fast[p] = v<<16 | int32(rs>>4)<<8 | int32(l+s)
	}
}

// bitReader reads the entropy-coded segment: bytes 0xFF 0x00 stand for
// 0xFF; a marker ends the data, after which zero bits are supplied for
// look-ahead only (consuming one is an error).
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // the next n bits, the first in the highest place
	n      uint
	pad    uint // how many of the lowest bits of acc are past the data
	marker bool // pos is at a marker
	bad    bool
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		switch {
		case b.marker || b.pos >= len(b.data):
			b.pad += 8
		case b.data[b.pos] != 0xFF:
			c = b.data[b.pos]
			b.pos++
		case b.pos+1 < len(b.data) && b.data[b.pos+1] == 0:
			c = 0xFF
			b.pos += 2
		default:
			b.marker = true
			b.pad += 8
		}
		b.acc = b.acc<<8 | uint64(c)
		b.n += 8
	}
}

func (b *bitReader) consume(k uint) {
	b.n -= k
	if b.n < b.pad {
		b.bad = true
	}
}

// extend turns the s bits v read after a code (s > 0) into the signed
// value they stand for (T.81 F.2.2.1, EXTEND).
func extend(v int32, s uint) int32 {
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

func (b *bitReader) decode(h *huffman) byte {
	if b.n < 16 {
		b.fill()
	}
	p := int32(b.acc>>(b.n-16)) & 0xFFFF
	if e := h.lut[p>>(16-lutBits)]; e != 0 {
		b.consume(uint(e >> 8))
		return byte(e)
	}
	for l := lutBits + 1; l <= 16; l++ {
		code := p >> uint(16-l)
		if code <= h.maxcode[l] {
			b.consume(uint(l))
			return h.vals[h.valptr[l]+code-h.mincode[l]]
		}
	}
	b.bad = true
	return 0
}

// restartAt moves past the restart marker RSTk, k = n mod 8.
func (b *bitReader) restartAt(n int) bool {
	b.acc, b.n, b.pad, b.marker = 0, 0, 0, false
	for b.pos+1 < len(b.data) && b.data[b.pos] == 0xFF && b.data[b.pos+1] == 0xFF {
		b.pos++ // fill bytes
	}
	if b.pos+1 >= len(b.data) || b.data[b.pos] != 0xFF || b.data[b.pos+1] != 0xD0+byte(n%8) {
		return false
	}
	b.pos += 2
	return true
}

// zigzag[k] is the natural (row-major) index of the k-th coefficient in
// zigzag order.
var zigzag = func() (z [64]int) {
	k := 0
	for s := 0; s < 15; s++ { // anti-diagonals row+col = s
		for i := 0; i <= s; i++ {
			r := i
			if s%2 == 0 {
				r = s - i // even diagonals run up and to the right
			}
			c := s - r
			if r < 8 && c < 8 {
				z[k] = 8*r + c
				k++
			}
		}
	}
	return z
}()

// scan decodes the image's one scan into the component planes.
func (d *decoder) scan() error {
	n := d.n
	mcusX, mcusY := (d.w+7)/8, (d.h+7)/8
	if len(d.comps) == 3 {
		hmax, vmax := d.comps[0].h, d.comps[0].v
		mcusX, mcusY = (d.w+8*hmax-1)/(8*hmax), (d.h+8*vmax-1)/(8*vmax)
	}
	for i := range d.comps {
		c := &d.comps[i]
		c.stride = mcusX * c.h * n
		c.pix = make([]uint8, c.stride*mcusY*c.v*n)
		c.pred = 0
	}
	// keep[k]: where the k-th zigzag coefficient goes in the n × n block
	// of low frequencies, or -1.
	var keep [64]int8
	for k, z := range zigzag {
		keep[k] = -1
		if r, c := z/8, z%8; r < n && c < n {
			keep[k] = int8(r*n + c)
		}
	}
	// The reader's accumulator and bit count are kept in acc and nb, in
	// registers, through the loop: each code read depends on the count
	// the one before left, and a count kept in the bitReader went
	// through memory (a store and a load, several cycles) at every code.
	// They go back into b only for fill and the rare code longer than
	// lutBits. b.bad is set at the end of a block when bits past the data
	// were consumed (nb < b.pad): once the data ends, fill adds as much to
	// b.pad as to nb, so nb−b.pad only falls, and the test at the end of
	// the block sees what consume's test at each code would have seen.
	b := &bitReader{data: d.data, pos: d.pos}
	var acc uint64
	var nb uint
	var f [16]float32
	mcu := 0
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			if d.restart > 0 && mcu > 0 && mcu%d.restart == 0 {
				if !b.restartAt(mcu/d.restart - 1) {
					return formatErr("restart marker %d missing at byte %d", (mcu/d.restart-1)%8, b.pos)
				}
				acc, nb = 0, 0
				for i := range d.comps {
					d.comps[i].pred = 0
				}
			}
			mcu++
			for ci := range d.comps {
				c := &d.comps[ci]
				q := &d.quant[c.tq]
				dc, ac := d.huff[0][c.td], d.huff[1][c.ta]
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						f = [16]float32{}
						ac0 := false // a kept AC coefficient is nonzero
						// DC: a code, then s bits of its difference.
						if nb < 16 {
							b.acc, b.n = acc, nb
							b.fill()
							acc, nb = b.acc, b.n
						}
						var s uint
						if e := dc.lut[(acc>>(nb-lutBits))&(1<<lutBits-1)]; e != 0 {
							nb -= uint(e >> 8)
							s = uint(e & 0xFF)
						} else {
							b.acc, b.n = acc, nb
							s = uint(b.decode(dc))
							acc, nb = b.acc, b.n
						}
						if s > 15 {
							return formatErr("DC category %d", s)
						}
						if s > 0 {
							if nb < s {
								b.acc, b.n = acc, nb
								b.fill()
								acc, nb = b.acc, b.n
							}
							c.pred += extend(int32(acc>>(nb-s))&(1<<s-1), s)
							nb -= s
						}
						f[0] = float32(c.pred * q[0])
						for k := 1; k < 64; {
							// Filled as decode fills: the same bytes read at
							// the same points (an error names the same byte).
							if nb < 16 {
								b.acc, b.n = acc, nb
								b.fill()
								acc, nb = b.acc, b.n
							}
							p := (acc >> (nb - lutBits)) & (1<<lutBits - 1)
							if e := ac.fast[p]; e != 0 && !d.slowAC {
								nb -= uint(e & 0xFF)
								k += int(e>>8) & 0xFF
								if k > 63 {
									return formatErr("AC coefficient %d past the block", k)
								}
								if p := keep[k]; p >= 0 {
									f[p] = float32((e >> 16) * q[k])
									ac0 = true
								}
								k++
								continue
							}
							var rs byte
							if e := ac.lut[p]; e != 0 {
								nb -= uint(e >> 8)
								rs = byte(e)
							} else {
								b.acc, b.n = acc, nb
								rs = b.decode(ac)
								acc, nb = b.acc, b.n
							}
							r, s := int(rs>>4), uint(rs&15)
							if s == 0 {
								if r != 15 {
									break // end of block
								}
								k += 16
								continue
							}
							k += r
							if k > 63 {
								return formatErr("AC coefficient %d past the block", k)
							}
							if nb < s {
								b.acc, b.n = acc, nb
								b.fill()
								acc, nb = b.acc, b.n
							}
							v := extend(int32(acc>>(nb-s))&(1<<s-1), s)
							nb -= s
							if p := keep[k]; p >= 0 {
								f[p] = float32(v * q[k])
								ac0 = true
							}
							k++
						}
						if nb < b.pad {
							b.bad = true
						}
						if b.bad {
							return formatErr("bad Huffman data near byte %d", b.pos)
						}
						x0 := (mx*c.h + bx) * n
						y0 := (my*c.v + by) * n
						out := c.pix[y0*c.stride+x0:]
						switch {
						case !ac0:
							d.flat(f[0], out, c.stride)
						case n == 4:
							d.idct4(&f, out, c.stride)
						default:
							d.idct(&f, out, c.stride)
						}
					}
				}
			}
		}
	}
	d.pos = b.pos
	return nil
}

// idct writes the n × n pixels of a block from its n × n lowest
// frequencies f (row-major, dequantised): the 8-point inverse DCT
// evaluated at the centres of the n × n output pixels.
func (d *decoder) idct(f *[16]float32, out []uint8, stride int) {
	n := d.n
	var t [16]float32
	for v := 0; v < n; v++ {
		for x := 0; x < n; x++ {
			var s float32
			for u := 0; u < n; u++ {
				s += d.basis[x][u] * f[v*n+u]
			}
			t[v*n+x] = s
		}
	}
	for y := 0; y < n; y++ {
		row := out[y*stride:][:n]
		for x := range row {
			s := float32(128.5)
			for v := 0; v < n; v++ {
				s += d.basis[y][v] * t[v*n+x]
			}
			switch {
			case s < 0:
				row[x] = 0
			case s >= 255:
				row[x] = 255
			default:
				row[x] = uint8(s)
			}
		}
	}
}

func clampPixel(s float32) uint8 {
	switch {
	case s < 0:
		return 0
	case s >= 255:
		return 255
	}
	return uint8(s)
}

// flat fills a block that has only its DC coefficient.
func (d *decoder) flat(dc float32, out []uint8, stride int) {
	n := d.n
	v := clampPixel(dc*d.basis[0][0]*d.basis[0][0] + 128.5)
	for y := 0; y < n; y++ {
		row := out[y*stride:][:n]
		for x := range row {
			row[x] = v
		}
	}
}

// idct4 is idct for 4 × 4 outputs, unrolled: the even frequencies give
// the same value at x and 3-x, the odd ones opposite values. Written out
// whole (no loops, each output row sliced once), so that the block stays
// in registers and every index is a constant.
func (d *decoder) idct4(f *[16]float32, out []uint8, stride int) {
	b0 := d.basis[0][0]
	b1a, b1b := d.basis[0][1], d.basis[1][1] // cos(π/8), cos(3π/8) terms
	b2a, b2b := d.basis[0][2], d.basis[1][2]
	b3a, b3b := d.basis[0][3], d.basis[1][3]
	// One row of frequencies to four samples.
	row := func(r0, r1, r2, r3 float32) (x0, x1, x2, x3 float32) {
		e0 := b0*r0 + b2a*r2
		e1 := b0*r0 + b2b*r2
		o0 := b1a*r1 + b3a*r3
		o1 := b1b*r1 + b3b*r3
		return e0 + o0, e1 + o1, e1 - o1, e0 - o0
	}
	t00, t01, t02, t03 := row(f[0], f[1], f[2], f[3])
	t10, t11, t12, t13 := row(f[4], f[5], f[6], f[7])
	t20, t21, t22, t23 := row(f[8], f[9], f[10], f[11])
	t30, t31, t32, t33 := row(f[12], f[13], f[14], f[15])
	o0 := out[:4:4]
	o1 := out[stride : stride+4 : stride+4]
	o2 := out[2*stride : 2*stride+4 : 2*stride+4]
	o3 := out[3*stride : 3*stride+4 : 3*stride+4]
	// Column x of the intermediate values to the four output rows.
	col := func(x int, c0, c1, c2, c3 float32) {
		e0 := b0*c0 + b2a*c2 + 128.5
		e1 := b0*c0 + b2b*c2 + 128.5
		p0 := b1a*c1 + b3a*c3
		p1 := b1b*c1 + b3b*c3
		o0[x] = clampPixel(e0 + p0)
		o1[x] = clampPixel(e1 + p1)
		o2[x] = clampPixel(e1 - p1)
		o3[x] = clampPixel(e0 - p0)
	}
	col(0, t00, t10, t20, t30)
	col(1, t01, t11, t21, t31)
	col(2, t02, t12, t22, t32)
	col(3, t03, t13, t23, t33)
}
