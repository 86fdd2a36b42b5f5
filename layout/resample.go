package layout

import (
	"encoding/binary"
	"image"
	"math"
	"slices"

	"github.com/disintegration/imaging"
)

// A resampling kernel: weight k(t) for a source sample t output-pixel
// widths away, nonzero for |t| < support.
type kernel struct {
	name    string
	support float64
	k       func(t float64) float64
}

var (
	kernelCatmullRom = kernel{"catmullrom", 2, func(t float64) float64 {
		t = math.Abs(t)
		switch {
		case t < 1:
			return 1.5*t*t*t - 2.5*t*t + 1
		case t < 2:
			return -0.5*t*t*t + 2.5*t*t - 4*t + 2
		}
		return 0
	}}
	kernelLanczos = kernel{"lanczos", 3, func(t float64) float64 {
		t = math.Abs(t)
		if t == 0 {
			return 1
		}
		if t >= 3 {
			return 0
		}
		pt := math.Pi * t
		return 3 * math.Sin(pt) * math.Sin(pt/3) / (pt * pt)
	}}
	kernelLinear = kernel{"linear", 1, func(t float64) float64 { return math.Max(0, 1-math.Abs(t)) }}
)

// imagingFilter returns the equivalent imaging filter, for images the fast
// path does not handle.
func (k kernel) imagingFilter() imaging.ResampleFilter {
	switch k.name {
	case "lanczos":
		return imaging.Lanczos
	case "linear":
		return imaging.Linear
	}
	return imaging.CatmullRom
}

const weightBits = 14

// taps are the fixed-point weights of one output sample.
type taps struct {
	start int     // first source index
	w     []int32 // weights summing to 1<<weightBits
}

// makeTaps computes the taps mapping the source span [off, off+length) of
// a line of n samples onto dst output samples. Source indices are clamped
// to [0, n).
func makeTaps(dst int, off, length float64, n int, k kernel) []taps {
	scale := length / float64(dst)
	fscale := math.Max(scale, 1)
	support := k.support * fscale
	out := make([]taps, dst)
	buf := make([]int32, 0, dst*(int(2*support)+3))
	fw := make([]float64, 0, int(2*support)+3)
	for i := range out {
		center := off + (float64(i)+0.5)*scale - 0.5
		lo := int(math.Ceil(center - support))
		hi := int(math.Floor(center + support))
		fw = fw[:0]
		sum := 0.0
		for j := lo; j <= hi; j++ {
			v := k.k((float64(j) - center) / fscale)
			fw = append(fw, v)
			sum += v
		}
		// Fold samples outside the line onto its edge.
		first := max(lo, 0)
		last := min(hi, n-1)
		if last < first {
			first, last = min(max(lo, 0), n-1), min(max(lo, 0), n-1)
		}
		start := len(buf)
		buf = append(buf, make([]int32, last-first+1)...)
		w := buf[start:]
		acc := int32(0)
		for j := lo; j <= hi; j++ {
			idx := min(max(j, first), last) - first
			v := int32(math.Round(fw[j-lo] / sum * (1 << weightBits)))
			w[idx] += v
			acc += v
		}
		w[len(w)/2] += 1<<weightBits - acc // exact unit gain
		out[i] = taps{start: first, w: w}
	}
	return out
}

// resamplePlane resamples the part [x0, x0+cw) × [y0, y0+ch) (in plane
// sample coordinates, fractional) of an 8-bit plane to dw × dh samples.
// A large reduction first averages k × k blocks, leaving the kernel a
// reduction of at most about 1.5 (the kernel's cost grows with the ratio).
func resamplePlane(pix []uint8, stride, pw, ph int, x0, y0, cw, ch float64, dw, dh int, k kernel) []uint8 {
	if f := int(math.Min(cw/float64(dw), ch/float64(dh)) / 1.4); f >= 2 {
		pix, stride, pw, ph, x0, y0 = boxReduce(pix, stride, pw, ph, x0, y0, cw, ch, f)
		cw, ch = cw/float64(f), ch/float64(f)
	}
	xt := makeTaps(dw, x0, cw, pw, k)
	yt := makeTaps(dh, y0, ch, ph, k)
	// Rows the vertical pass reads.
	ry0, ry1 := ph, 0
	for _, t := range yt {
		ry0 = min(ry0, t.start)
		ry1 = max(ry1, t.start+len(t.w))
	}
	tmp := make([]uint8, (ry1-ry0)*dw)
	n, starts, wts := padTaps(xt, pw)
	for y := ry0; y < ry1; y++ {
		row := pix[y*stride:][:pw]
		out := tmp[(y-ry0)*dw : (y-ry0+1)*dw]
		switch n {
		case 2:
			for x, st := range starts {
				s := (*[2]uint8)(row[st : st+2])
				w := (*[2]int32)(wts[2*x : 2*x+2])
				out[x] = clamp8(int32(s[0])*w[0] + int32(s[1])*w[1])
			}
		case 4:
			for x, st := range starts {
				s := (*[4]uint8)(row[st : st+4])
				w := (*[4]int32)(wts[4*x : 4*x+4])
				out[x] = clamp8(int32(s[0])*w[0] + int32(s[1])*w[1] + int32(s[2])*w[2] + int32(s[3])*w[3])
			}
		case 5:
			for x, st := range starts {
				s := (*[5]uint8)(row[st : st+5])
				w := (*[5]int32)(wts[5*x : 5*x+5])
				out[x] = clamp8(int32(s[0])*w[0] + int32(s[1])*w[1] + int32(s[2])*w[2] + int32(s[3])*w[3] +
					int32(s[4])*w[4])
			}
		case 6:
			for x, st := range starts {
				s := (*[6]uint8)(row[st : st+6])
				w := (*[6]int32)(wts[6*x : 6*x+6])
				out[x] = clamp8(int32(s[0])*w[0] + int32(s[1])*w[1] + int32(s[2])*w[2] + int32(s[3])*w[3] +
					int32(s[4])*w[4] + int32(s[5])*w[5])
			}
		case 8:
			for x, st := range starts {
				s := (*[8]uint8)(row[st : st+8])
				w := (*[8]int32)(wts[8*x : 8*x+8])
				out[x] = clamp8(int32(s[0])*w[0] + int32(s[1])*w[1] + int32(s[2])*w[2] + int32(s[3])*w[3] +
					int32(s[4])*w[4] + int32(s[5])*w[5] + int32(s[6])*w[6] + int32(s[7])*w[7])
			}
		default:
			for x, t := range xt {
				out[x] = clamp8(dot8(row[t.start:][:len(t.w)], t.w))
			}
		}
	}
	dst := make([]uint8, dw*dh)
	col := make([]int32, dw)
	for y, t := range yt {
		// Up to five source rows (an enlargement, or a reduction of up
		// to about 1.25 with Catmull-Rom) are summed straight into the
		// output row; more are summed into col, two rows a pass (half
		// the loads and stores of col).
		if out, w, at := dst[y*dw:(y+1)*dw], t.w, (t.start-ry0)*dw; len(w) <= 5 {
			verticalTaps(out, tmp[at:], dw, w)
			continue
		}
		w := t.w
		first := tmp[(t.start-ry0)*dw:][:len(col)]
		i := 1
		if len(w) > 1 {
			second := tmp[(t.start+1-ry0)*dw:][:len(col)]
			w0, w1 := w[0], w[1]
			for x := range col {
				col[x] = int32(first[x])*w0 + int32(second[x])*w1
			}
			i = 2
		} else {
			for x := range col {
				col[x] = int32(first[x]) * w[0]
			}
		}
		for ; i+1 < len(w); i += 2 {
			a := tmp[(t.start+i-ry0)*dw:][:len(col)]
			b := tmp[(t.start+i+1-ry0)*dw:][:len(col)]
			wa, wb := w[i], w[i+1]
			for x := range col {
				col[x] += int32(a[x])*wa + int32(b[x])*wb
			}
		}
		if i < len(w) {
			a := tmp[(t.start+i-ry0)*dw:][:len(col)]
			wa := w[i]
			for x := range col {
				col[x] += int32(a[x]) * wa
			}
		}
		out := dst[y*dw : (y+1)*dw]
		for x, acc := range col {
			out[x] = clamp8(acc)
		}
	}
	return dst
}

// resamplePlanePair is resamplePlane of two planes of one geometry (Cb
// and Cr), with the same result. When each output sample is interpolated
// from at most two source samples each way with weights of at least zero
// (linear chroma of a photo decoded at half size, enlarged to the box),
// both planes go through one pass each way: the taps are made once, each
// weight read serves both, and no sum is clamped (weights of at least
// zero summing to one keep it within 0 … 255).
func resamplePlanePair(p1, p2 []uint8, stride, pw, ph int, x0, y0, cw, ch float64, dw, dh int, k kernel) ([]uint8, []uint8) {
	if int(math.Min(cw/float64(dw), ch/float64(dh))/1.4) >= 2 {
		return resamplePlane(p1, stride, pw, ph, x0, y0, cw, ch, dw, dh, k), resamplePlane(p2, stride, pw, ph, x0, y0, cw, ch, dw, dh, k)
	}
	xt := makeTaps(dw, x0, cw, pw, k)
	yt := makeTaps(dh, y0, ch, ph, k)
	n, starts, wts := padTaps(xt, pw)
	ry0, ry1 := ph, 0
	for _, t := range yt {
		ry0 = min(ry0, t.start)
		ry1 = max(ry1, t.start+len(t.w))
		if len(t.w) > 2 || slices.Min(t.w) < 0 {
			n = 0
		}
	}
	if n != 2 || slices.Min(wts) < 0 {
		return resamplePlane(p1, stride, pw, ph, x0, y0, cw, ch, dw, dh, k), resamplePlane(p2, stride, pw, ph, x0, y0, cw, ch, dw, dh, k)
	}
	rows := ry1 - ry0
	buf := make([]uint8, 2*rows*dw)
	tmp1, tmp2 := buf[:rows*dw], buf[rows*dw:]
	starts = starts[:dw]
	wts = wts[:2*dw]
	for y := ry0; y < ry1; y++ {
		r1, r2 := p1[y*stride:][:pw], p2[y*stride:][:pw]
		o1, o2 := tmp1[(y-ry0)*dw:][:dw], tmp2[(y-ry0)*dw:][:dw]
		for x, st := range starts {
			w := (*[2]int32)(wts[2*x : 2*x+2])
			a, b := (*[2]uint8)(r1[st:st+2]), (*[2]uint8)(r2[st:st+2])
			o1[x] = round14(int32(a[0])*w[0] + int32(a[1])*w[1])
			o2[x] = round14(int32(b[0])*w[0] + int32(b[1])*w[1])
		}
	}
	out := make([]uint8, 2*dw*dh)
	d1, d2 := out[:dw*dh:dw*dh], out[dw*dh:]
	for y, t := range yt {
		o1, o2 := d1[y*dw:][:dw], d2[y*dw:][:dw]
		at := (t.start - ry0) * dw
		a1, a2 := tmp1[at:][:dw], tmp2[at:][:dw]
		if len(t.w) == 1 {
			w0 := t.w[0]
			for x := range o1 {
				o1[x] = round14(int32(a1[x]) * w0)
				o2[x] = round14(int32(a2[x]) * w0)
			}
			continue
		}
		b1, b2 := tmp1[at+dw:][:dw], tmp2[at+dw:][:dw]
		w0, w1 := t.w[0], t.w[1]
		for x := range o1 {
			o1[x] = round14(int32(a1[x])*w0 + int32(b1[x])*w1)
			o2[x] = round14(int32(a2[x])*w0 + int32(b2[x])*w1)
		}
	}
	return d1, d2
}

// boxReduce averages f × f blocks of the part of a plane around the span
// [x0, x0+cw) × [y0, y0+ch), returning the reduced plane and the span's
// origin in it.
func boxReduce(pix []uint8, stride, pw, ph int, x0, y0, cw, ch float64, f int) ([]uint8, int, int, int, float64, float64) {
	// Keep a margin for the kernel's support beyond the span.
	bx0 := max(0, int(math.Floor(x0))-3*f)
	by0 := max(0, int(math.Floor(y0))-3*f)
	bx1 := min(pw, int(math.Ceil(x0+cw))+3*f)
	by1 := min(ph, int(math.Ceil(y0+ch))+3*f)
	nw, nh := (bx1-bx0)/f, (by1-by0)/f
	out := make([]uint8, nw*nh)
	sums := make([]uint32, nw)
	area := uint32(f * f)
	for oy := 0; oy < nh; oy++ {
		clear(sums)
		for y := by0 + oy*f; y < by0+(oy+1)*f; y++ {
			row := pix[y*stride+bx0:][:nw*f]
			for ox := range sums {
				var s uint32
				for _, v := range row[ox*f : ox*f+f] {
					s += uint32(v)
				}
				sums[ox] += s
			}
		}
		o := out[oy*nw:][:nw]
		for ox, s := range sums {
			o[ox] = uint8((s + area/2) / area)
		}
	}
	return out, nw, nw, nh, (x0 - float64(bx0)) / float64(f), (y0 - float64(by0)) / float64(f)
}

// padTaps lays taps out with n weights each (n = 2, 4, 5, 6 or 8, the
// least that holds the longest), zeros added after, or before where the line ends,
// so that the horizontal pass runs one unrolled loop without bounds
// checks. n is 0 (use the taps as they are) when the taps are longer than
// 8 or the line shorter than n.
func padTaps(ts []taps, lineLen int) (n int, starts []int, w []int32) {
	longest := 0
	for _, t := range ts {
		longest = max(longest, len(t.w))
	}
	switch {
	case longest <= 2:
		n = 2
	case longest <= 4:
		n = 4
	case longest == 5:
		n = 5 // Catmull-Rom reducing by up to 1.25: the portrait of a half-size decode
	case longest <= 6:
		n = 6
	case longest <= 8:
		n = 8
	default:
		return 0, nil, nil
	}
	if lineLen < n {
		return 0, nil, nil
	}
	starts = make([]int, len(ts))
	w = make([]int32, n*len(ts))
	for i, t := range ts {
		st := min(t.start, lineLen-n)
		starts[i] = st
		copy(w[n*i+t.start-st:], t.w)
	}
	return n, starts, w
}

// verticalTaps writes into out the rows of src (rows stride apart, the
// first at 0) weighted by w (one to five weights) and rounded: one pass,
// no accumulator row.
func verticalTaps(out, src []uint8, stride int, w []int32) {
	n := len(out)
	r := func(i int) []uint8 { return src[i*stride:][:n] }
	switch len(w) {
	case 1:
		a, w0 := r(0), w[0]
		for x := range out {
			out[x] = clamp8(int32(a[x]) * w0)
		}
	case 2:
		a, b, w0, w1 := r(0), r(1), w[0], w[1]
		for x := range out {
			out[x] = clamp8(int32(a[x])*w0 + int32(b[x])*w1)
		}
	case 3:
		a, b, c, w0, w1, w2 := r(0), r(1), r(2), w[0], w[1], w[2]
		for x := range out {
			out[x] = clamp8(int32(a[x])*w0 + int32(b[x])*w1 + int32(c[x])*w2)
		}
	case 4:
		a, b, c, d := r(0), r(1), r(2), r(3)
		w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
		for x := range out {
			out[x] = clamp8(int32(a[x])*w0 + int32(b[x])*w1 + int32(c[x])*w2 + int32(d[x])*w3)
		}
	case 5:
		a, b, c, d, e := r(0), r(1), r(2), r(3), r(4)
		w0, w1, w2, w3, w4 := w[0], w[1], w[2], w[3], w[4]
		for x := range out {
			out[x] = clamp8(int32(a[x])*w0 + int32(b[x])*w1 + int32(c[x])*w2 + int32(d[x])*w3 + int32(e[x])*w4)
		}
	}
}

// dot8 returns the weighted sum of the samples s (len(s) == len(w)),
// two taps a step.
func dot8(s []uint8, w []int32) int32 {
	s = s[:len(w)]
	var a, b int32
	i := 0
	for ; i+1 < len(w); i += 2 {
		a += int32(s[i]) * w[i]
		b += int32(s[i+1]) * w[i+1]
	}
	if i < len(w) {
		a += int32(s[i]) * w[i]
	}
	return a + b
}

// clamp8 rounds a weighted sum to a sample in 0…255 (min and max compile
// to conditional moves: no branch to mispredict at every edge).
func clamp8(acc int32) uint8 {
	return uint8(min(max((acc+1<<(weightBits-1))>>weightBits, 0), 255))
}

// round14 is clamp8 for a sum of samples weighted by weights of at least
// zero that sum to 1<<weightBits: within 0 … 255<<weightBits, no clamp.
func round14(acc int32) uint8 { return uint8((acc + 1<<(weightBits-1)) >> weightBits) }

// resizeCrop returns the part r of src resized to w × h. JPEG images
// (YCbCr) and greyscale images are resampled plane by plane in fixed point
// without converting the whole source to RGB first; other images go
// through imaging.
func resizeCrop(src image.Image, r image.Rectangle, w, h int, k kernel) *image.NRGBA {
	switch m := src.(type) {
	case *image.YCbCr:
		return resizeYCbCr(m, r, w, h, k)
	case *image.NRGBA:
		if opaque(m, r) {
			return resizeNRGBA(m, r, w, h, k)
		}
	case *image.Gray:
		b := m.Rect
		g := resamplePlane(m.Pix, m.Stride, b.Dx(), b.Dy(), float64(r.Min.X-b.Min.X), float64(r.Min.Y-b.Min.Y), float64(r.Dx()), float64(r.Dy()), w, h, k)
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i, v := range g {
			dst.Pix[4*i], dst.Pix[4*i+1], dst.Pix[4*i+2], dst.Pix[4*i+3] = v, v, v, 0xff
		}
		return dst
	}
	sub := src
	if s, ok := src.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		sub = s.SubImage(r)
	} else {
		sub = imaging.Crop(src, r)
	}
	return imaging.Resize(sub, w, h, k.imagingFilter())
}

// opaque reports whether every pixel of m in r is opaque. Two pixels are
// tested at a time, their alpha bytes masked out of one 64-bit word.
func opaque(m *image.NRGBA, r image.Rectangle) bool {
	const alphas = 0xff000000ff000000 // of two pixels in a little-endian word
	r = r.Intersect(m.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := m.Pix[m.PixOffset(r.Min.X, y):][:4*r.Dx()]
		i := 0
		for ; i+8 <= len(row); i += 8 {
			if binary.LittleEndian.Uint64(row[i:])&alphas != alphas {
				return false
			}
		}
		for i += 3; i < len(row); i += 4 {
			if row[i] != 0xff {
				return false
			}
		}
	}
	return true
}

// resizeNRGBA resamples the part r (inside m's bounds) of an opaque image
// channel by channel with the fixed-point resampler: the ghost image is
// made this way from the resampled portrait.
func resizeNRGBA(m *image.NRGBA, r image.Rectangle, w, h int, k kernel) *image.NRGBA {
	r = r.Intersect(m.Rect)
	cw, ch := r.Dx(), r.Dy()
	planes := [3][]uint8{make([]uint8, cw*ch), make([]uint8, cw*ch), make([]uint8, cw*ch)}
	for y := 0; y < ch; y++ {
		row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][:4*cw]
		p0, p1, p2 := planes[0][y*cw:][:cw], planes[1][y*cw:][:cw], planes[2][y*cw:][:cw]
		for x := range p0 {
			p := row[4*x : 4*x+3 : 4*x+3]
			p0[x], p1[x], p2[x] = p[0], p[1], p[2]
		}
	}
	var out [3][]uint8
	for c, p := range planes {
		out[c] = resamplePlane(p, cw, cw, ch, 0, 0, float64(cw), float64(ch), w, h, k)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range out[0] {
		p := dst.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = out[0][i], out[1][i], out[2][i], 0xff
	}
	return dst
}

// lumaReduce returns the part r of an opaque image as grey (R = G = B =
// its luma, BT.601 as JPEG's Y) reduced to w × h with the linear
// (area-weighted) kernel: the source of the ghost images, which keep only
// luma, at a third of the cost of resampling every channel.
func lumaReduce(m *image.NRGBA, r image.Rectangle, w, h int) *image.NRGBA {
	r = r.Intersect(m.Rect)
	cw, ch := r.Dx(), r.Dy()
	luma := make([]uint8, cw*ch)
	for y := 0; y < ch; y++ {
		row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][:4*cw]
		out := luma[y*cw:][:cw]
		for x := range out {
			p := row[4*x : 4*x+3 : 4*x+3]
			out[x] = uint8((19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16)
		}
	}
	return greyReduce(luma, cw, cw, ch, w, h)
}

// greyReduce reduces the cw × ch plane p (rows stride apart) to a grey w ×
// h image with the linear (area-weighted) kernel.
func greyReduce(p []uint8, stride, cw, ch, w, h int) *image.NRGBA {
	sw, sh := float64(cw), float64(ch)
	if cw >= 2*w && ch >= 2*h {
		// Halve first (2 × 2 averages): the kernel then has half the taps.
		hw, hh := cw/2, ch/2
		half := make([]uint8, hw*hh)
		halvePlane(half, hw, hw, hh, p, stride, cw, ch)
		p, stride, cw, ch = half, hw, hw, hh
		sw, sh = sw/2, sh/2
	}
	g := resamplePlane(p, stride, cw, ch, 0, 0, sw, sh, w, h, kernelLinear)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, v := range g {
		p := dst.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = v, v, v, 0xff
	}
	return dst
}

func resizeYCbCr(m *image.YCbCr, r image.Rectangle, w, h int, k kernel) *image.NRGBA {
	return planesToNRGBA(resizeYCbCrPlanes(m, r, w, h, k))
}

// resizeYCbCrPlanes returns the part r of m resampled to w × h, as Y, Cb
// and Cr planes of w × h samples each.
func resizeYCbCrPlanes(m *image.YCbCr, r image.Rectangle, w, h int, k kernel) (yp, cb, cr []uint8, _, _ int) {
	b := m.Rect
	x0, y0 := float64(r.Min.X-b.Min.X), float64(r.Min.Y-b.Min.Y)
	cw, ch := float64(r.Dx()), float64(r.Dy())
	yp = resamplePlane(m.Y, m.YStride, b.Dx(), b.Dy(), x0, y0, cw, ch, w, h, k)
	// Chroma planes cover the same area at a lower resolution.
	var sx, sy float64 = 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		sx = 2
	case image.YCbCrSubsampleRatio420:
		sx, sy = 2, 2
	case image.YCbCrSubsampleRatio440:
		sy = 2
	case image.YCbCrSubsampleRatio411:
		sx = 4
	case image.YCbCrSubsampleRatio410:
		sx, sy = 4, 2
	}
	cpw := (b.Max.X+int(sx)-1)/int(sx) - b.Min.X/int(sx)
	cph := (b.Max.Y+int(sy)-1)/int(sy) - b.Min.Y/int(sy)
	cx0 := (float64(r.Min.X) - float64(b.Min.X/int(sx))*sx) / sx
	cy0 := (float64(r.Min.Y) - float64(b.Min.Y/int(sy))*sy) / sy
	// Chroma carries little detail: it is resampled linearly (area-
	// weighted when reduced, interpolated when enlarged, as a photo
	// decoded at half size has its 4:2:0 chroma), at half the cost.
	ck := kernelLinear
	cb, cr = resamplePlanePair(m.Cb, m.Cr, m.CStride, cpw, cph, cx0, cy0, cw/sx, ch/sy, w, h, ck)
	return yp, cb, cr, w, h
}

// planesToNRGBA converts w × h planes of Y, Cb and Cr to an opaque image,
// exactly as color.YCbCrToRGB converts each pixel (its fixed-point
// formulae written into the loop, which the compiler does not inline).
func planesToNRGBA(yp, cb, cr []uint8, w, h int) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	n := w * h
	ycbcrRowToNRGBA(dst.Pix[:4*n], yp[:n], cb[:n], cr[:n])
	return dst
}

// ycbcrRowToNRGBA converts the samples yp, cb and cr (of one length) to
// opaque pixels in pix (four times that length), as planesToNRGBA. The
// three sums are clamped only when one of them is outside 0 … 1<<24−1
// (seldom in a photo: one test of the three or-ed together instead of six
// conditional moves), and a pixel is one 32-bit store.
func ycbcrRowToNRGBA(pix, yp, cb, cr []uint8) {
	cb, cr, pix = cb[:len(yp)], cr[:len(yp)], pix[:4*len(yp)]
	for i, y := range yp {
		// Y'·0x10101 is 65536·Y' plus YCbCrToRGB's rounding adjustment;
		// a sum outside 0 … 1<<24−1 clamps to 0 or 255 as there.
		yy := int32(y) * 0x10101
		b1, r1 := int32(cb[i])-128, int32(cr[i])-128
		r := yy + 91881*r1
		g := yy - 22554*b1 - 46802*r1
		b := yy + 116130*b1
		if uint32(r|g|b) >= 1<<24 {
			r = min(max(r, 0), 1<<24-1)
			g = min(max(g, 0), 1<<24-1)
			b = min(max(b, 0), 1<<24-1)
		}
		p := (*[4]uint8)(pix[4*i : 4*i+4])
		p[0], p[1], p[2], p[3] = uint8(r>>16), uint8(g>>16), uint8(b>>16), 0xff
	}
}

// chromaFactors returns how many luma samples one chroma sample spans
// horizontally and vertically.
func chromaFactors(r image.YCbCrSubsampleRatio) (sx, sy int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// halfYCbCr returns m (whose bounds start at the origin) at half its width
// and height, each plane averaged over 2 × 2 blocks, with the same chroma
// subsampling.
func halfYCbCr(m *image.YCbCr) *image.YCbCr {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewYCbCr(image.Rect(0, 0, max(1, w/2), max(1, h/2)), m.SubsampleRatio)
	halvePlane(out.Y, out.YStride, out.Rect.Dx(), out.Rect.Dy(), m.Y, m.YStride, w, h)
	sx, sy := chromaFactors(m.SubsampleRatio)
	scw, sch := (w+sx-1)/sx, (h+sy-1)/sy
	dcw, dch := (out.Rect.Dx()+sx-1)/sx, (out.Rect.Dy()+sy-1)/sy
	halvePlane(out.Cb, out.CStride, dcw, dch, m.Cb, m.CStride, scw, sch)
	halvePlane(out.Cr, out.CStride, dcw, dch, m.Cr, m.CStride, scw, sch)
	return out
}

// halvePlane writes into dst (dw × dh) the 2 × 2 block averages of src
// (sw × sh); blocks past src's edge repeat its last row or column.
func halvePlane(dst []uint8, dstride, dw, dh int, src []uint8, sstride, sw, sh int) {
	for y := 0; y < dh; y++ {
		r0 := src[min(2*y, sh-1)*sstride:][:sw]
		r1 := src[min(2*y+1, sh-1)*sstride:][:sw]
		o := dst[y*dstride:][:dw]
		for x := range o {
			x0, x1 := min(2*x, sw-1), min(2*x+1, sw-1)
			o[x] = uint8((uint32(r0[x0]) + uint32(r0[x1]) + uint32(r1[x0]) + uint32(r1[x1]) + 2) >> 2)
		}
	}
}
