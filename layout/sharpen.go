package layout

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// sharpenBits is the fixed-point precision of the blur weights: fine
// enough that the blur rounds as imaging's float blur does but for values
// within a millionth of a half.
const sharpenBits = 20

// blurTaps returns, for each of n positions, the Gaussian weights of
// standard deviation sigma (radius ⌈3σ⌉, as imaging.Blur) over the
// window that lies inside the line, normalised to 1<<sharpenBits.
func blurTaps(n int, sigma float64) []taps {
	radius := int(math.Ceil(sigma * 3))
	g := make([]float64, radius+1)
	for i := range g {
		g[i] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
	}
	out := make([]taps, n)
	buf := make([]int32, 0, n*(2*radius+1))
	for x := range out {
		lo, hi := max(0, x-radius), min(n-1, x+radius)
		sum := 0.0
		for j := lo; j <= hi; j++ {
			sum += g[abs(x-j)]
		}
		start := len(buf)
		buf = append(buf, make([]int32, hi-lo+1)...)
		w := buf[start:]
		acc := int32(0)
		for j := lo; j <= hi; j++ {
			w[j-lo] = int32(math.Round(g[abs(x-j)] / sum * (1 << sharpenBits)))
			acc += w[j-lo]
		}
		w[x-lo] += 1<<sharpenBits - acc // exact unit gain
		out[x] = taps{start: lo, w: w}
	}
	return out
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func round8(acc int32) uint8 {
	v := (acc + 1<<(sharpenBits-1)) >> sharpenBits
	return uint8(min(max(v, 0), 255))
}

// sharpen returns img unsharp-masked as imaging.Sharpen does (twice the
// image less its Gaussian blur of standard deviation sigma), computed in
// fixed point on the 8-bit samples: a fifth of imaging's float cost. The
// result differs from imaging's by at most one level, rarely. Images with
// any translucent pixel, whose blur imaging weights by alpha, go through
// imaging.
func sharpen(img *image.NRGBA, sigma float64) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:][:4*w]
		for x := 3; x < len(row); x += 4 {
			if row[x] != 0xff {
				return imaging.Sharpen(img, sigma)
			}
		}
	}
	xt, yt := blurTaps(w, sigma), blurTaps(h, sigma)
	radius := int(math.Ceil(sigma * 3))
	// Horizontal blur into tmp, three bytes (RGB) a pixel: alpha stays
	// opaque. Inside the line the weights are symmetric, so pairs of
	// samples share a multiplication.
	tmp := make([]uint8, 3*w*h)
	var sym []int32 // weights from the centre out, inside the line
	if w > 2*radius {
		sym = xt[radius].w[radius:]
	}
	for y := 0; y < h; y++ {
		src := img.Pix[y*img.Stride:][:4*w]
		out := tmp[3*w*y:][:3*w]
		for x, t := range xt {
			var r, g, b int32
			if sym != nil && x >= radius && x < w-radius {
				c := src[4*x : 4*x+3 : 4*x+3]
				r, g, b = int32(c[0])*sym[0], int32(c[1])*sym[0], int32(c[2])*sym[0]
				for d := 1; d < len(sym); d++ {
					lo := src[4*(x-d) : 4*(x-d)+3 : 4*(x-d)+3]
					hi := src[4*(x+d) : 4*(x+d)+3 : 4*(x+d)+3]
					wv := sym[d]
					r += (int32(lo[0]) + int32(hi[0])) * wv
					g += (int32(lo[1]) + int32(hi[1])) * wv
					b += (int32(lo[2]) + int32(hi[2])) * wv
				}
			} else {
				s := src[4*t.start:][:4*len(t.w)]
				for i, wv := range t.w {
					p := s[4*i : 4*i+3 : 4*i+3]
					r += int32(p[0]) * wv
					g += int32(p[1]) * wv
					b += int32(p[2]) * wv
				}
			}
			o := out[3*x : 3*x+3 : 3*x+3]
			o[0], o[1], o[2] = round8(r), round8(g), round8(b)
		}
	}
	// Vertical blur, then 2·src − blur.
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	col := make([]int32, 3*w)
	var vsym []int32
	if h > 2*radius {
		vsym = yt[radius].w[radius:]
	}
	line := func(y int) []uint8 { return tmp[3*w*y:][:len(col)] }
	for y, t := range yt {
		if vsym != nil && y >= radius && y < h-radius {
			c, wv := line(y), vsym[0]
			for x, v := range c {
				col[x] = int32(v) * wv
			}
			for d := 1; d < len(vsym); d++ {
				lo, hi, wv := line(y-d), line(y+d), vsym[d]
				for x := range col {
					col[x] += (int32(lo[x]) + int32(hi[x])) * wv
				}
			}
		} else {
			clear(col)
			for i, wv := range t.w {
				for x, v := range line(t.start + i) {
					col[x] += int32(v) * wv
				}
			}
		}
		src := img.Pix[y*img.Stride:][:4*w]
		out := dst.Pix[y*dst.Stride:][:4*w]
		for x := 0; x < w; x++ {
			s := src[4*x : 4*x+3 : 4*x+3]
			o := out[4*x : 4*x+4 : 4*x+4]
			c := col[3*x : 3*x+3 : 3*x+3]
			o[0] = clampInt(2*int32(s[0]) - int32(round8(c[0])))
			o[1] = clampInt(2*int32(s[1]) - int32(round8(c[1])))
			o[2] = clampInt(2*int32(s[2]) - int32(round8(c[2])))
			o[3] = 0xff
		}
	}
	return dst
}

func clampInt(v int32) uint8 { return uint8(min(max(v, 0), 255)) }

// sharpenPlane returns the w × h plane p unsharp-masked as sharpen does
// each channel (2·p − its Gaussian blur): the portrait is sharpened on its
// luma alone, before conversion to RGB, at a third of the cost of
// sharpening R, G and B, and without colour fringes at edges.
func sharpenPlane(p []uint8, w, h int, sigma float64) []uint8 {
	dst := make([]uint8, w*h)
	sharpenRows(p, w, h, sigma, func(y int, row []uint8) { copy(dst[y*w:][:w], row) })
	return dst
}

// sharpenPlanesToNRGBA returns the w × h planes of Y, Cb and Cr as an
// opaque image with the luma sharpened as sharpenPlane does: the
// sharpened portrait. Each sharpened row of luma is converted while it is
// in the cache, without a sharpened plane written and read again.
func sharpenPlanesToNRGBA(yp, cb, cr []uint8, w, h int, sigma float64) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	cb, cr = cb[:w*h], cr[:w*h]
	sharpenRows(yp, w, h, sigma, func(y int, row []uint8) {
		ycbcrRowToNRGBA(dst.Pix[y*dst.Stride:][:4*w], row, cb[y*w:][:w], cr[y*w:][:w])
	})
	return dst
}

// sharpenRows unsharp-masks the w × h plane p (2·p − its Gaussian blur of
// standard deviation sigma) and hands each sharpened row to emit, top to
// bottom, in a buffer that emit must not keep.
func sharpenRows(p []uint8, w, h int, sigma float64, emit func(y int, row []uint8)) {
	xt, yt := blurTaps(w, sigma), blurTaps(h, sigma)
	radius := int(math.Ceil(sigma * 3))
	tmp := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		row, out := p[y*w:][:w], tmp[y*w:][:w]
		x := 0
		for ; x < min(radius, w); x++ {
			t := xt[x]
			out[x] = blur8(dot8(row[t.start:][:len(t.w)], t.w))
		}
		if w > 2*radius {
			// Inside the row the weights are symmetric: pairs of samples
			// share a multiplication.
			sym := xt[radius].w[radius:]
			if len(sym) == 3 {
				// Radius 2 (σ up to 2/3, the shipped templates' 0.6):
				// the taps written out.
				// Sliced so that the compiler sees every index in
				// range: no bounds check per sample.
				// The five samples slide along the row in registers: one
				// load a sample.
				s0, s1, s2 := sym[0], sym[1], sym[2]
				o := out[2 : w-2]
				next := row[4:][:len(o)]
				r0, r1, r2, r3 := int32(row[0]), int32(row[1]), int32(row[2]), int32(row[3])
				for i, v := range next {
					r4 := int32(v)
					o[i] = blur8(r2*s0 + (r1+r3)*s1 + (r0+r4)*s2)
					r0, r1, r2, r3 = r1, r2, r3, r4
				}
				x = w - 2
			}
			for ; x < w-radius; x++ {
				acc := int32(row[x]) * sym[0]
				for d := 1; d < len(sym); d++ {
					acc += (int32(row[x-d]) + int32(row[x+d])) * sym[d]
				}
				out[x] = blur8(acc)
			}
		}
		for ; x < w; x++ {
			t := xt[x]
			out[x] = blur8(dot8(row[t.start:][:len(t.w)], t.w))
		}
	}
	lrow := make([]uint8, w)
	col := make([]int32, w)
	var vsym []int32
	if h > 2*radius {
		vsym = yt[radius].w[radius:]
	}
	line := func(y int) []uint8 { return tmp[y*w:][:w] }
	for y, t := range yt {
		src := p[y*w:][:w]
		if vsym != nil && y >= radius && y < h-radius && len(vsym) == 3 {
			// Radius 2 (the shipped templates' σ 0.6): the five rows
			// blurred and the sample sharpened in one step, rows y-d and
			// y+d sharing a weight.
			w0, w1, w2 := vsym[0], vsym[1], vsym[2]
			out := lrow[:len(src)]
			c, l1, h1, l2, h2 := line(y)[:len(out)], line(y - 1)[:len(out)], line(y + 1)[:len(out)], line(y - 2)[:len(out)], line(y + 2)[:len(out)]
			for x := range out {
				b := int32(c[x])*w0 + (int32(l1[x])+int32(h1[x]))*w1 + (int32(l2[x])+int32(h2[x]))*w2
				out[x] = clampInt(2*int32(src[x]) - int32(blur8(b)))
			}
			emit(y, out)
			continue
		}
		if vsym != nil && y >= radius && y < h-radius {
			// Symmetric weights: rows y-d and y+d share one.
			c, w0 := line(y), vsym[0]
			for x, v := range c {
				col[x] = int32(v) * w0
			}
			for d := 1; d < len(vsym); d++ {
				lo, hi, wd := line(y-d), line(y+d), vsym[d]
				for x := range col {
					col[x] += (int32(lo[x]) + int32(hi[x])) * wd
				}
			}
		} else {
			clear(col)
			for i, wv := range t.w {
				for x, v := range line(t.start + i) {
					col[x] += int32(v) * wv
				}
			}
		}
		out := lrow[:len(src)]
		blur := col[:len(out)]
		for x := range out {
			out[x] = clampInt(2*int32(src[x]) - int32(blur8(blur[x])))
		}
		emit(y, out)
	}
}

// blur8 rounds a blur sum to a sample. The blur's weights are positive
// and sum to 1<<sharpenBits, so the sum of 8-bit samples needs no clamp:
// round8 without its min and max.
func blur8(acc int32) uint8 { return uint8((acc + 1<<(sharpenBits-1)) >> sharpenBits) }
