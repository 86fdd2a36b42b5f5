package printer

// Panel conversion shared by the drivers and the emulator.
//
// A driver turns the landscape raster of a Card (see raster.go) into its
// printer's wire panels in three steps, each a function here:
//
//  1. Transform: where each wire dot comes from. A Transform rotates the
//     landscape raster clockwise by 0, 90, 180 or 270 degrees, optionally
//     mirrors the result left to right, and shifts the card content by a
//     calibration Offset (in landscape dots; uncovered dots get no material).
//     Evolis wants the 1016 × 648 landscape as a 648 × 1016 portrait, line 0
//     at the card's left edge and dot 0 at its bottom: Transform{Rotate: 90}.
//  2. SplitColor turns the colour image into Y, M and C Planes at the
//     driver's bit depth (Y = 255 − blue, M = 255 − green, C = 255 − red,
//     rounded to the nearest of 2^depth levels), and MonoToWire lays a 1-bit
//     K, overlay or UV panel out the same way.
//  3. PackSamples packs samples into a continuous most-significant-bit-first
//     bit stream at 1, 5, 6, 7 or 8 bits per sample; UnpackSamples inverts it.
//
// PackColor does steps 2 and 3 for the dye panels in one pass, straight
// into a stream's bytes, and MonoToWireInto lays a 1-bit panel into bytes
// the caller provides; both take 8 × 8 dot blocks for quarter turns.
//
// The emulator goes the other way with UnpackSamples, ComposeColor,
// MonoFromWire and PlaneFromWire, which undo the rotation and mirroring
// (not the offset).

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/bits"
	"slices"
)

// Transform maps a landscape card raster onto a printer's wire raster.
// The zero Transform is the identity.
type Transform struct {
	// Rotate is the clockwise rotation in degrees: 0, 90, 180 or 270.
	Rotate int
	// Mirror flips the rotated image left to right (wire x reversed).
	Mirror bool
	// Offset shifts the card content by this many dots in the landscape
	// frame (x to the right, y downward) before rotation; dots uncovered by
	// the shift get no material (white). It carries the calibration offsets.
	Offset image.Point
}

// Validate reports whether the rotation is one of the four supported.
func (t Transform) Validate() error {
	switch t.Rotate {
	case 0, 90, 180, 270:
		return nil
	}
	return fmt.Errorf("printer: transform rotation %d not one of 0, 90, 180, 270", t.Rotate)
}

// WireSize returns the size of the wire raster for a w × h landscape raster.
func (t Transform) WireSize(w, h int) (int, int) {
	if t.Rotate == 90 || t.Rotate == 270 {
		return h, w
	}
	return w, h
}

// affine gives, for a wire dot (dx, dy) of a w × h landscape raster, the
// landscape dot it shows: sx = ax*dx + bx*dy + cx, sy = ay*dx + by*dy + cy.
type affine struct{ ax, bx, cx, ay, by, cy int }

func (t Transform) affine(w, h int) affine {
	var a affine
	switch t.Rotate {
	case 0:
		a = affine{ax: 1, ay: 0, bx: 0, by: 1}
	case 90: // landscape (sx, sy) lands at wire (h-1-sy, sx)
		a = affine{ax: 0, bx: 1, cx: 0, ay: -1, by: 0, cy: h - 1}
	case 180:
		a = affine{ax: -1, cx: w - 1, by: -1, cy: h - 1}
	case 270: // landscape (sx, sy) lands at wire (sy, w-1-sx)
		a = affine{ax: 0, bx: -1, cx: w - 1, ay: 1, by: 0, cy: 0}
	}
	if t.Mirror {
		wd, _ := t.WireSize(w, h)
		// dx -> wd-1-dx
		a.cx += a.ax * (wd - 1)
		a.cy += a.ay * (wd - 1)
		a.ax, a.ay = -a.ax, -a.ay
	}
	a.cx -= t.Offset.X
	a.cy -= t.Offset.Y
	return a
}

// OffsetMM converts a calibration offset in millimetres into whole dots at
// dpi, rounding to the nearest dot.
func OffsetMM(xmm, ymm float64, dpi int) image.Point {
	d := float64(dpi) / 25.4
	return image.Pt(int(math.Round(xmm*d)), int(math.Round(ymm*d)))
}

// Plane is one continuous-tone dye plane (Y, M or C), one byte per dot.
// A sample is 0 for no dye up to Max() for full dye. Plane implements
// image.Image as grey, dark where there is dye, so it can be saved as PNG.
type Plane struct {
	// Pix holds the samples: the dot at (x, y) is
	// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)].
	Pix []byte
	// Stride is the number of bytes per row.
	Stride int
	// Rect is the plane's bounds.
	Rect image.Rectangle
	// Depth is the number of bits per sample, 1 to 8.
	Depth int
}

// NewPlane returns an empty (no dye) plane of bounds r at depth bits.
func NewPlane(r image.Rectangle, depth int) *Plane {
	return &Plane{Pix: make([]byte, r.Dx()*r.Dy()), Stride: r.Dx(), Rect: r, Depth: depth}
}

// Max returns the largest sample value, 2^Depth − 1.
func (p *Plane) Max() byte { return byte(1<<uint(p.Depth) - 1) }

// ColorModel returns color.GrayModel.
func (p *Plane) ColorModel() color.Model { return color.GrayModel }

// Bounds returns the plane's bounds.
func (p *Plane) Bounds() image.Rectangle { return p.Rect }

// At returns the dye density at (x, y) as grey: white for no dye, black
// for full dye.
func (p *Plane) At(x, y int) color.Color {
	return color.Gray{Y: 255 - p.Level(x, y)}
}

// Sample returns the raw sample at (x, y); 0 outside the bounds.
func (p *Plane) Sample(x, y int) byte {
	if !(image.Point{x, y}.In(p.Rect)) {
		return 0
	}
	return p.Pix[(y-p.Rect.Min.Y)*p.Stride+x-p.Rect.Min.X]
}

// Level returns the sample at (x, y) expanded to 8 bits (0 no dye, 255 full).
func (p *Plane) Level(x, y int) byte {
	return expand(p.Sample(x, y), p.Depth)
}

func checkDepth(depth int) error {
	if depth < 1 || depth > 8 {
		return fmt.Errorf("printer: sample depth %d bits not in 1..8", depth)
	}
	return nil
}

// quantLUT returns the table mapping an 8-bit level to the nearest of the
// 2^depth levels.
func quantLUT(depth int) *[256]byte {
	var lut [256]byte
	max := 1<<uint(depth) - 1
	for v := range lut {
		lut[v] = byte((v*max + 127) / 255)
	}
	return &lut
}

// expandLUT returns the table mapping a sample back to 8 bits.
func expandLUT(depth int) *[256]byte {
	var lut [256]byte
	max := 1<<uint(depth) - 1
	for v := 0; v <= max; v++ {
		lut[v] = byte((v*255 + max/2) / max)
	}
	for v := max + 1; v < 256; v++ {
		lut[v] = 255
	}
	return &lut
}

func expand(v byte, depth int) byte {
	max := 1<<uint(depth) - 1
	if int(v) >= max {
		return 255
	}
	return byte((int(v)*255 + max/2) / max)
}

// Quantize returns the 8-bit level v rounded to depth bits and back, which
// is what a round trip through a plane of that depth yields.
func Quantize(v byte, depth int) byte {
	return expand(quantLUT(depth)[v], depth)
}

// SplitColor separates src into its yellow, magenta and cyan planes laid
// out on the wire by t, at depth bits per sample. Y = 255 − blue, M = 255 −
// green, C = 255 − red, each rounded to the nearest level; pixels that are
// not opaque are composited over white first. *image.RGBA takes a fast
// path; any other image is converted first.
func SplitColor(src image.Image, t Transform, depth int) (y, m, c *Plane, err error) {
	if err := t.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := checkDepth(depth); err != nil {
		return nil, nil, nil, err
	}
	wd, hd := t.WireSize(src.Bounds().Dx(), src.Bounds().Dy())
	r := image.Rect(0, 0, wd, hd)
	y, m, c = NewPlane(r, depth), NewPlane(r, depth), NewPlane(r, depth)
	if err := SplitColorInto(y, m, c, src, t); err != nil {
		return nil, nil, nil, err
	}
	return y, m, c, nil
}

// SplitColorInto is SplitColor into planes the caller provides (and may
// reuse across cards and sides): y, m and c must have bounds starting at
// (0, 0) of the wire size, the same Depth and Stride equal to the width.
// Every sample is overwritten.
func SplitColorInto(y, m, c *Plane, src image.Image, t Transform) error {
	if err := t.Validate(); err != nil {
		return err
	}
	depth := y.Depth
	if err := checkDepth(depth); err != nil {
		return err
	}
	rgba, ok := src.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(src.Bounds())
		draw.Draw(rgba, rgba.Rect, src, src.Bounds().Min, draw.Src)
	}
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	wd, hd := t.WireSize(w, h)
	for _, p := range []*Plane{y, m, c} {
		if p.Rect != image.Rect(0, 0, wd, hd) || p.Stride != wd || p.Depth != depth || len(p.Pix) < wd*hd {
			return fmt.Errorf("printer: plane %v depth %d does not fit a %dx%d wire raster at depth %d", p.Rect, p.Depth, wd, hd, depth)
		}
	}
	if t.Offset != (image.Point{}) {
		clear(y.Pix)
		clear(m.Pix)
		clear(c.Pix)
	}
	lut := quantLUT(depth)
	a := t.affine(w, h)
	if (t.Rotate == 90 || t.Rotate == 270) && t.Offset == (image.Point{}) && wd%8 == 0 && hd%8 == 0 {
		packQuarter(y.Pix[:wd*hd], m.Pix[:wd*hd], c.Pix[:wd*hd], rgba, a, depth, 8)
		return nil
	}
	if t.Offset == (image.Point{}) {
		scatterColor(y, m, c, rgba, a, lut)
		return nil
	}
	step := a.ax*4 + a.ay*rgba.Stride
	pix := rgba.Pix
	// Work in tiles so that a quarter-turn, which walks the source by
	// columns, stays within the cache and the TLB.
	const tile = 64
	for ty := 0; ty < hd; ty += tile {
		for tx := 0; tx < wd; tx += tile {
			for dy := ty; dy < min(ty+tile, hd); dy++ {
				sx := a.bx*dy + a.cx
				sy := a.by*dy + a.cy
				lo, hi := validSpan(sx, a.ax, w, tx, min(tx+tile, wd))
				lo, hi = validSpan(sy, a.ay, h, lo, hi)
				if lo >= hi {
					continue
				}
				off := (sy+a.ay*lo)*rgba.Stride + (sx+a.ax*lo)*4
				yrow := y.Pix[dy*wd+lo : dy*wd+hi]
				mrow := m.Pix[dy*wd+lo : dy*wd+hi]
				crow := c.Pix[dy*wd+lo : dy*wd+hi]
				mrow = mrow[:len(yrow)]
				crow = crow[:len(yrow)]
				for i := range yrow {
					v := binary.LittleEndian.Uint32(pix[off:])
					if v>>24 != 0xff {
						v = overWhite(v)
					}
					yrow[i] = lut[0xff-byte(v>>16)]
					mrow[i] = lut[0xff-byte(v>>8)]
					crow[i] = lut[0xff-byte(v)]
					off += step
				}
			}
		}
	}
	return nil
}

// scatterColor is SplitColorInto without an offset, where every wire dot
// has a source: it reads the source in order, tile by tile, and writes each
// dot where the transform sends it. The map from wire to source is a signed
// permutation, so its inverse is its transpose: dx = ax*(sx-cx) +
// ay*(sy-cy), dy = bx*(sx-cx) + by*(sy-cy).
func scatterColor(y, m, c *Plane, rgba *image.RGBA, a affine, lut *[256]byte) {
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	wd := y.Stride
	step := a.ax + a.bx*wd
	yp, mp, cp := y.Pix, m.Pix, c.Pix
	const tile = 64
	for ty := 0; ty < h; ty += tile {
		for tx := 0; tx < w; tx += tile {
			x1 := min(tx+tile, w)
			for sy := ty; sy < min(ty+tile, h); sy++ {
				dx := a.ax*(tx-a.cx) + a.ay*(sy-a.cy)
				dy := a.bx*(tx-a.cx) + a.by*(sy-a.cy)
				off := dy*wd + dx
				row := rgba.Pix[sy*rgba.Stride+4*tx : sy*rgba.Stride+4*x1]
				for i := 0; i+4 <= len(row); i += 4 {
					v := binary.LittleEndian.Uint32(row[i:])
					if v>>24 != 0xff {
						v = overWhite(v)
					}
					yp[off] = lut[0xff-byte(v>>16)]
					mp[off] = lut[0xff-byte(v>>8)]
					cp[off] = lut[0xff-byte(v)]
					off += step
				}
			}
		}
	}
}

// overWhite composites a translucent little-endian RGBA pixel v
// (premultiplied, as in image.RGBA) over white. Callers test for opacity
// first (v>>24 == 0xff, the usual case) so the hot loops make no call; the
// result's alpha byte is zero: callers read R, G and B.
func overWhite(v uint32) uint32 {
	aa := byte(v >> 24)
	return uint32(over(byte(v), aa)) | uint32(over(byte(v>>8), aa))<<8 | uint32(over(byte(v>>16), aa))<<16
}

// OverWhite composites a translucent little-endian RGBA pixel v
// (premultiplied, red in the low byte) over white, as SplitColor does; the
// result's alpha byte is zero. Drivers' fast paths call it for the rare
// translucent dot.
func OverWhite(v uint32) uint32 { return overWhite(v) }

// over composites a premultiplied channel value v of alpha a over white.
func over(v, a byte) byte {
	s := int(v) + 0xff - int(a)
	if s > 0xff {
		return 0xff
	}
	return byte(s)
}

// validSpan narrows [lo, hi) to the indices i for which v0 + step*i lies in
// [0, limit).
func validSpan(v0, step, limit, lo, hi int) (int, int) {
	switch {
	case step == 0:
		if v0 < 0 || v0 >= limit {
			return lo, lo
		}
	case step > 0:
		// v0 + step*i >= 0  =>  i >= ceil(-v0/step); v0 + step*i < limit.
		if v0 < 0 {
			lo = max(lo, (-v0+step-1)/step)
		}
		hi = min(hi, ceilDiv(limit-v0, step))
	default:
		s := -step
		// v0 - s*i < limit  =>  i > (v0-limit)/s; v0 - s*i >= 0 => i <= v0/s.
		if v0 >= limit {
			lo = max(lo, (v0-limit)/s+1)
		}
		if v0 < 0 {
			return lo, lo
		}
		hi = min(hi, v0/s+1)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// ComposeColor undoes SplitColor: it lays the wire planes y, m and c back
// into a w × h landscape image (t's rotation and mirroring are undone, its
// Offset is ignored). Red = 255 − C, green = 255 − M, blue = 255 − Y, each
// expanded to 8 bits. The three planes must have the same bounds and the
// wire size of a w × h raster under t.
func ComposeColor(y, m, c *Plane, t Transform, w, h int) (*image.RGBA, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	wd, hd := t.WireSize(w, h)
	for _, p := range []*Plane{y, m, c} {
		if p.Rect.Dx() != wd || p.Rect.Dy() != hd {
			return nil, fmt.Errorf("printer: plane is %dx%d, want %dx%d", p.Rect.Dx(), p.Rect.Dy(), wd, hd)
		}
		if err := checkDepth(p.Depth); err != nil {
			return nil, err
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	ly, lm, lc := expandLUT(y.Depth), expandLUT(m.Depth), expandLUT(c.Depth)
	t.Offset = image.Point{}
	a := t.affine(w, h)
	// Gather: the map from wire to landscape is a signed permutation, so
	// its inverse is its transpose: dx = ax*(sx-cx) + ay*(sy-cy),
	// dy = bx*(sx-cx) + by*(sy-cy). Walk the landscape image in tiles,
	// writing it in order.
	stride := y.Stride
	if m.Stride != stride || c.Stride != stride {
		return nil, fmt.Errorf("printer: planes have different strides")
	}
	if a.ax == 0 && w%8 == 0 && h%8 == 0 {
		composeQuarter(dst, y, m, c, a, ly, lm, lc)
		return dst, nil
	}
	step := a.ax + a.bx*stride
	const tile = 64
	for ty := 0; ty < h; ty += tile {
		for tx := 0; tx < w; tx += tile {
			x1 := min(tx+tile, w)
			for sy := ty; sy < min(ty+tile, h); sy++ {
				dx := a.ax*(tx-a.cx) + a.ay*(sy-a.cy)
				dy := a.bx*(tx-a.cx) + a.by*(sy-a.cy)
				off := dy*stride + dx
				row := dst.Pix[sy*dst.Stride+4*tx : sy*dst.Stride+4*x1]
				yp, mp, cp := y.Pix, m.Pix, c.Pix
				for i := 0; i+4 <= len(row); i += 4 {
					v := uint32(lc[cp[off]]) | uint32(lm[mp[off]])<<8 | uint32(ly[yp[off]])<<16
					binary.LittleEndian.PutUint32(row[i:], ^v)
					off += step
				}
			}
		}
	}
	return dst, nil
}

// composeQuarter is ComposeColor for a quarter turn (a.ax == 0) with both
// sides multiples of 8: a wire row is one landscape column, and 8
// consecutive wire samples, read as one word from each plane, are the
// column's dots in 8 consecutive rows. It walks tiles of 64 × 64 dots.
func composeQuarter(dst *image.RGBA, y, m, c *Plane, a affine, ly, lm, lc *[256]byte) {
	// Each table gives its channel of the RGBA word, complemented and in
	// place (alpha comes with the cyan table), so a dot is three look-ups
	// and two ors.
	var tabC, tabM, tabY [256]uint32
	for v := range 256 {
		tabC[v] = uint32(0xff-lc[v]) | 0xff<<24
		tabM[v] = uint32(0xff-lm[v]) << 8
		tabY[v] = uint32(0xff-ly[v]) << 16
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	stride, ds := y.Stride, dst.Stride
	yp, mp, cp := y.Pix, m.Pix, c.Pix
	const tile = 64
	for ty := 0; ty < h; ty += tile {
		for tx := 0; tx < w; tx += tile {
			tx1 := min(tx+tile, w)
			for sy0 := ty; sy0 < min(ty+tile, h); sy0 += 8 {
				dx0 := a.ay * (sy0 - a.cy)
				lo := dx0
				if a.ay < 0 {
					lo = dx0 - 7
				}
				out := dst.Pix[sy0*dst.Stride:]
				for sx := tx; sx < tx1; sx++ {
					off := (a.bx*(sx-a.cx))*stride + lo
					vy := binary.BigEndian.Uint64(yp[off:])
					vm := binary.BigEndian.Uint64(mp[off:])
					vc := binary.BigEndian.Uint64(cp[off:])
					if a.ay < 0 {
						vy, vm, vc = bits.ReverseBytes64(vy), bits.ReverseBytes64(vm), bits.ReverseBytes64(vc)
					}
					// Row sy0+i takes the byte 7-i of each word.
					p := out[4*sx : 4*sx+7*ds+4]
					put := func(o int, s uint) {
						binary.LittleEndian.PutUint32(p[o:o+4], tabC[byte(vc>>s)]|tabM[byte(vm>>s)]|tabY[byte(vy>>s)])
					}
					put(0, 56)
					put(ds, 48)
					put(2*ds, 40)
					put(3*ds, 32)
					put(4*ds, 24)
					put(5*ds, 16)
					put(6*ds, 8)
					put(7*ds, 0)
				}
			}
		}
	}
}

// PlaneFromWire undoes the layout of a dye plane: it lays the wire plane
// back into a w × h landscape Plane of the same depth (t's rotation and
// mirroring undone, its Offset ignored). It serves people rather than
// throughput (the emulator's per-panel PNG files).
func PlaneFromWire(wire *Plane, t Transform, w, h int) (*Plane, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	wd, hd := t.WireSize(w, h)
	if wire.Rect.Dx() != wd || wire.Rect.Dy() != hd {
		return nil, fmt.Errorf("printer: wire plane is %dx%d, want %dx%d", wire.Rect.Dx(), wire.Rect.Dy(), wd, hd)
	}
	dst := NewPlane(image.Rect(0, 0, w, h), wire.Depth)
	t.Offset = image.Point{}
	a := t.affine(w, h)
	for dy := 0; dy < hd; dy++ {
		sx := a.bx*dy + a.cx
		sy := a.by*dy + a.cy
		row := wire.Pix[dy*wire.Stride : dy*wire.Stride+wd]
		for _, v := range row {
			dst.Pix[sy*dst.Stride+sx] = v
			sx += a.ax
			sy += a.ay
		}
	}
	return dst, nil
}

// MonoToWire lays the 1-bit panel src out on the wire by t. The result's
// bounds start at (0, 0) and its rows are packed MSB first, so for a wire
// width that is a multiple of 8 its Pix is the panel's 1-bit wire stream.
func MonoToWire(src *Mono, t Transform) (*Mono, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	wd, hd := t.WireSize(src.Rect.Dx(), src.Rect.Dy())
	dst := NewMono(image.Rect(0, 0, wd, hd))
	monoToWire(dst, src, t, false)
	return dst, nil
}

// MonoToWireInto is MonoToWire into a panel the caller provides (and may
// reuse, or lay over the bytes of a stream): dst must have bounds starting
// at (0, 0) of the wire size and Stride (width+7)/8; every byte of its
// first height*Stride is overwritten.
func MonoToWireInto(dst, src *Mono, t Transform) error {
	if err := t.Validate(); err != nil {
		return err
	}
	wd, hd := t.WireSize(src.Rect.Dx(), src.Rect.Dy())
	if dst.Rect != image.Rect(0, 0, wd, hd) || dst.Stride != (wd+7)/8 || len(dst.Pix) < hd*dst.Stride {
		return fmt.Errorf("printer: panel %v stride %d does not fit a %dx%d wire raster", dst.Rect, dst.Stride, wd, hd)
	}
	monoToWire(dst, src, t, true)
	return nil
}

// monoToWire does MonoToWire's work into dst, clearing it first when dirty
// and the path taken does not write every byte.
func monoToWire(dst, src *Mono, t Transform, dirty bool) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	wd, hd := t.WireSize(w, h)
	if t.Rotate == 0 && !t.Mirror && t.Offset == (image.Point{}) {
		for dy := 0; dy < hd; dy++ {
			copy(dst.Pix[dy*dst.Stride:(dy+1)*dst.Stride], src.Pix[dy*src.Stride:])
		}
		clearPad(dst)
		return
	}
	if (t.Rotate == 90 || t.Rotate == 270) && t.Offset == (image.Point{}) && w%8 == 0 && h%8 == 0 {
		quarterTurnAffine(dst, src, t.affine(w, h))
		return
	}
	if dirty {
		clear(dst.Pix[:hd*dst.Stride])
	}
	a := t.affine(w, h)
	for dy := 0; dy < hd; dy++ {
		sx := a.bx*dy + a.cx
		sy := a.by*dy + a.cy
		lo, hi := validSpan(sx, a.ax, w, 0, wd)
		lo, hi = validSpan(sy, a.ay, h, lo, hi)
		row := dst.Pix[dy*dst.Stride : (dy+1)*dst.Stride]
		if lo >= hi {
			continue
		}
		if a.ax == 0 {
			// Rotated a quarter turn: the wire row is one landscape column.
			shift := 7 - uint(sx&7)
			off := (sy+a.ay*lo)*src.Stride + sx>>3
			step := a.ay * src.Stride
			pix := src.Pix
			for dx := lo; dx < hi; dx++ {
				row[dx>>3] |= (pix[off] >> shift & 1) << (7 - uint(dx&7))
				off += step
			}
			continue
		}
		sx += a.ax * lo
		sy += a.ay * lo
		for dx := lo; dx < hi; dx++ {
			row[dx>>3] |= ((src.Pix[sy*src.Stride+sx>>3] >> (7 - uint(sx&7))) & 1) << (7 - uint(dx&7))
			sx += a.ax
			sy += a.ay
		}
	}
}

// transpose8 transposes the 8 × 8 bit matrix held in x, row i in byte i
// from the top and column j in bit 7-j of its byte.
func transpose8(x uint64) uint64 {
	t := (x ^ x>>7) & 0x00AA00AA00AA00AA
	x ^= t ^ t<<7
	t = (x ^ x>>14) & 0x0000CCCC0000CCCC
	x ^= t ^ t<<14
	t = (x ^ x>>28) & 0x00000000F0F0F0F0
	return x ^ t ^ t<<28
}

// inverseQuarter returns, for the affine a of a quarter turn (ax = by = 0)
// from wire dots to landscape dots, the affine from landscape dots back to
// wire dots: dx = ay*(sy-cy), dy = bx*(sx-cx).
func inverseQuarter(a affine) affine {
	return affine{ax: 0, bx: a.ay, cx: -a.ay * a.cy, ay: a.bx, by: 0, cy: -a.bx * a.cx}
}

// quarterTurnAffine lays src out in dst by the quarter-turn affine a
// (ax = by = 0, bx and ay ±1; dst dot (dx, dy) shows src dot (bx*dy+cx,
// ay*dx+cy)), 8 × 8 dots at a time. Both sides must be whole bytes wide
// and tall, and every dst byte is written.
func quarterTurnAffine(dst, src *Mono, a affine) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if haveSSE2 && w >= 128 {
		quarterTurnBlocks(dst, src, a)
		return
	}
	ss, ds := src.Stride, dst.Stride
	sp, dp := src.Pix, dst.Pix
	// Source row of wire dot dx: ay*dx + cy; wire row of source column
	// sx: bx*(sx-cx).
	for bx := 0; bx < w/8; bx++ { // a band of 8 source columns = 8 wire rows
		d0, dStep := a.bx*(8*bx-a.cx)*ds, a.bx*ds
		for by := 0; by < h/8; by++ { // 8 source rows = one wire byte column
			s0, sStep := (a.ay*8*by+a.cy)*ss+bx, a.ay*ss
			x := uint64(sp[s0])<<56 | uint64(sp[s0+sStep])<<48 | uint64(sp[s0+2*sStep])<<40 | uint64(sp[s0+3*sStep])<<32 |
				uint64(sp[s0+4*sStep])<<24 | uint64(sp[s0+5*sStep])<<16 | uint64(sp[s0+6*sStep])<<8 | uint64(sp[s0+7*sStep])
			x = transpose8(x) // byte c from the top: source column 8bx+c
			d := d0 + by
			dp[d] = byte(x >> 56)
			dp[d+dStep] = byte(x >> 48)
			dp[d+2*dStep] = byte(x >> 40)
			dp[d+3*dStep] = byte(x >> 32)
			dp[d+4*dStep] = byte(x >> 24)
			dp[d+5*dStep] = byte(x >> 16)
			dp[d+6*dStep] = byte(x >> 8)
			dp[d+7*dStep] = byte(x)
		}
	}
}

// quarterTurnBlocks is quarterTurnAffine in blocks of 128 source
// columns (quarterBlock16) down the whole source, for a source at least
// 128 dots wide: the last block overlaps the one before when the width
// is not a multiple of 128, and writes the same bytes again.
func quarterTurnBlocks(dst, src *Mono, a affine) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	ss, ds := src.Stride, dst.Stride
	sStep, dStep := a.ay*ss, a.bx*ds
	// Every load and store lies in the panels: source rows of the first
	// and last dot, wire rows of the first and last source column.
	r0, r1 := a.cy*ss, (a.ay*(h-1)+a.cy)*ss
	d0, d1 := -a.bx*a.cx*ds, a.bx*(w-1-a.cx)*ds
	if min(r0, r1) < 0 || max(r0, r1)+w/8 > len(src.Pix) || w/8 > ss || min(d0, d1) < 0 || max(d0, d1)+h/8 > len(dst.Pix) {
		panic("printer: quarterTurnBlocks outside the panels")
	}
	last := w/8 - 16           // the last block's first byte
	s7 := (a.ay*7 + a.cy) * ss // the source row of the first wire byte's last dot
	for j := 0; ; j += 16 {
		j = min(j, last)
		quarterBlock16(&dst.Pix[d0+8*j*dStep], dStep, &src.Pix[s7+j], -sStep, h/8)
		if j == last {
			return
		}
	}
}

// clearPad clears the bits past the width in each row's last byte.
func clearPad(m *Mono) {
	w := m.Rect.Dx()
	if w&7 == 0 {
		return
	}
	mask := byte(0xff << (8 - uint(w&7)))
	for y := 0; y < m.Rect.Dy(); y++ {
		m.Pix[y*m.Stride+w>>3] &= mask
	}
}

// MonoFromWire undoes MonoToWire: it lays the wire panel back into a w × h
// landscape Mono (rotation and mirroring undone, Offset ignored).
func MonoFromWire(wire *Mono, t Transform, w, h int) (*Mono, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	wd, hd := t.WireSize(w, h)
	if wire.Rect.Dx() != wd || wire.Rect.Dy() != hd {
		return nil, fmt.Errorf("printer: wire panel is %dx%d, want %dx%d", wire.Rect.Dx(), wire.Rect.Dy(), wd, hd)
	}
	dst := NewMono(image.Rect(0, 0, w, h))
	t.Offset = image.Point{}
	if (t.Rotate == 90 || t.Rotate == 270) && w%8 == 0 && h%8 == 0 {
		quarterTurnAffine(dst, wire, inverseQuarter(t.affine(w, h)))
		return dst, nil
	}
	a := t.affine(w, h)
	for dy := 0; dy < hd; dy++ {
		sx := a.bx*dy + a.cx
		sy := a.by*dy + a.cy
		row := wire.Pix[dy*wire.Stride:]
		for dx := 0; dx < wd; dx++ {
			if row[dx>>3]&(0x80>>uint(dx&7)) != 0 {
				dst.Pix[sy*dst.Stride+sx>>3] |= 0x80 >> uint(sx&7)
			}
			sx += a.ax
			sy += a.ay
		}
	}
	return dst, nil
}

// PackedLen returns the number of bytes n samples take at bits per sample
// in a continuous bit stream (the last byte padded with zero bits).
func PackedLen(n, bits int) int { return (n*bits + 7) / 8 }

// PackSamples appends to dst the samples of src packed into a continuous
// most-significant-bit-first bit stream at bits (1 to 8) per sample, and
// returns the extended slice. Only the low bits of each sample are used.
// The final byte is padded with zero bits.
func PackSamples(dst, src []byte, bits int) []byte {
	if bits == 8 {
		return append(dst, src...)
	}
	need := PackedLen(len(src), bits)
	start := len(dst)
	dst = slices.Grow(dst, need)[:start+need]
	out := dst[start:]
	mask := uint64(1)<<uint(bits) - 1
	b := uint(bits)
	k := newBitLanes(b)
	// Eight samples make exactly `bits` bytes: load them as one word,
	// squeeze the lanes together in three steps, store the top bytes.
	i, o := 0, 0
	for ; i+8 <= len(src); i, o = i+8, o+bits {
		v := k.pack(binary.BigEndian.Uint64(src[i:]))
		if o+8 <= len(out) {
			binary.BigEndian.PutUint64(out[o:], v<<(64-8*b))
			continue
		}
		for j := bits - 1; j >= 0; j-- {
			out[o+j] = byte(v)
			v >>= 8
		}
	}
	var acc uint64
	var n uint
	for ; i < len(src); i++ {
		acc = acc<<b | uint64(src[i])&mask
		n += b
		for n >= 8 {
			out[o] = byte(acc >> (n - 8))
			o++
			n -= 8
		}
	}
	if n > 0 {
		out[o] = byte(acc << (8 - n))
	}
	return dst
}

// bitLanes holds the masks that squeeze eight 8-bit lanes of a word into
// eight b-bit fields (and back) in three steps of halving lane counts.
type bitLanes struct {
	b                            uint
	hi1, lo1, hi2, lo2, hi3, lo3 uint64 // pack masks
	uh1, uh2                     uint64 // unpack masks for the high halves
}

func repeat(pattern uint64, width uint) uint64 {
	var r uint64
	for s := uint(0); s < 64; s += width {
		r |= pattern << s
	}
	return r
}

func newBitLanes(b uint) bitLanes {
	m1 := uint64(1)<<b - 1
	m2 := uint64(1)<<(2*b) - 1
	m4 := uint64(1)<<(4*b) - 1
	return bitLanes{
		b:   b,
		hi1: repeat(m1<<8, 16), lo1: repeat(m1, 16),
		hi2: repeat(m2<<16, 32), lo2: repeat(m2, 32),
		hi3: m4 << 32, lo3: m4,
		uh1: repeat(m1<<b, 16),
		uh2: repeat(m2<<(2*b), 32),
	}
}

// pack squeezes the eight bytes of x (first sample in the top byte) into
// the low 8b bits, first sample highest.
func (k *bitLanes) pack(x uint64) uint64 {
	x = (x&k.hi1)>>(8-k.b) | x&k.lo1
	x = (x&k.hi2)>>(16-2*k.b) | x&k.lo2
	return (x&k.hi3)>>(32-4*k.b) | x&k.lo3
}

// unpack spreads the low 8b bits of x into eight bytes.
func (k *bitLanes) unpack(x uint64) uint64 {
	x = (x>>(4*k.b))<<32 | x&k.lo3
	x = (x&k.uh2)<<(16-2*k.b) | x&k.lo2
	return (x&k.uh1)<<(8-k.b) | x&k.lo1
}

// unpack7 is bitLanes.unpack at 7 bits, with constant masks.
func unpack7(x uint64) uint64 {
	x = (x&0x00fffffff0000000)<<4 | x&0x000000000fffffff
	x = (x&0x0fffc0000fffc000)<<2 | x&0x00003fff00003fff
	return (x&0x3f803f803f803f80)<<1 | x&0x007f007f007f007f
}

// UnpackSamples appends to dst the n samples held in the bit stream src at
// bits (1 to 8) per sample and returns the extended slice. It fails when
// src is shorter than PackedLen(n, bits).
func UnpackSamples(dst, src []byte, bits, n int) ([]byte, error) {
	if err := checkDepth(bits); err != nil {
		return dst, err
	}
	if n < 0 || len(src) < PackedLen(n, bits) {
		return dst, fmt.Errorf("printer: %d bytes hold fewer than %d samples of %d bits", len(src), n, bits)
	}
	if bits == 8 {
		return append(dst, src[:n]...), nil
	}
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	mask := uint64(1)<<uint(bits) - 1
	b := uint(bits)
	k := newBitLanes(b)
	i, o := 0, 0
	if bits == 7 {
		// The Evolis default: the same words with constant masks.
		for ; o+8 <= n && i+8 <= len(src); o, i = o+8, i+7 {
			binary.BigEndian.PutUint64(out[o:], unpack7(binary.BigEndian.Uint64(src[i:])>>8))
		}
	}
	// Whole words while eight bytes can be read: no edge test per group.
	if n >= 8 && len(src) >= 8 {
		for ; o+8 <= n && i+8 <= len(src); o, i = o+8, i+bits {
			binary.BigEndian.PutUint64(out[o:o+8], k.unpack(binary.BigEndian.Uint64(src[i:i+8])>>(64-8*b)))
		}
	}
	for ; o+8 <= n; o, i = o+8, i+bits {
		var v uint64
		if i+8 <= len(src) {
			v = binary.BigEndian.Uint64(src[i:]) >> (64 - 8*b)
		} else {
			for j := 0; j < bits; j++ {
				v = v<<8 | uint64(src[i+j])
			}
		}
		binary.BigEndian.PutUint64(out[o:], k.unpack(v))
	}
	var acc uint64
	var have uint
	for ; o < n; o++ {
		for have < b {
			acc = acc<<8 | uint64(src[i])
			i++
			have += 8
		}
		out[o] = byte(acc >> (have - b) & mask)
		have -= b
	}
	return dst, nil
}
