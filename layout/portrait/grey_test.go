package portrait

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGreyMeanAreaAsWritten: greyMean and greyArea give, byte for byte,
// what their first, plainer versions gave, on random images of the
// common types and odd sizes, for whole and fractional cell sizes.
func TestGreyMeanAreaAsWritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		w, h := 20+rng.IntN(90), 20+rng.IntN(90)
		var img image.Image
		switch n % 3 {
		case 0:
			m := image.NewNRGBA(image.Rect(3, 5, 3+w, 5+h))
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			img = m
		case 1:
			m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			for i := range m.Y {
				m.Y[i] = uint8(rng.Uint32())
			}
			img = m
		default:
			m := image.NewGray(image.Rect(0, 0, w, h))
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			m.Set(0, 0, color.Gray{255})
			img = m
		}
		b := img.Bounds()
		r := image.Rect(b.Min.X+rng.IntN(5), b.Min.Y+rng.IntN(5), b.Max.X-rng.IntN(5), b.Max.Y-rng.IntN(5))
		for _, k := range []int{1, 2, 3, 4, 5, 7} {
			if got, want := greyMean(img, r, k), greyMeanRef(img, r, k); got.w != want.w || got.h != want.h || !slices.Equal(got.pix, want.pix) {
				t.Fatalf("image %d (%T %v), part %v, greyMean k %d differs", n, img, b, r, k)
			}
		}
		for _, k := range []float64{1.5, 2.25, 2.5, 3.7, 4.5} {
			if math.Trunc(k) == k {
				continue
			}
			if got, want := greyArea(img, r, k), greyAreaRef(img, r, k); got.w != want.w || got.h != want.h || !slices.Equal(got.pix, want.pix) {
				t.Fatalf("image %d (%T %v), part %v, greyArea k %v differs", n, img, b, r, k)
			}
		}
	}
}

// TestGreyBoxAsWritten: greyBox gives, byte for byte, what its first
// version gave, on random images of the common types and one other, with
// origins off zero, parts of odd sizes and offsets, every reduction from 1
// to 9, and parts narrower than a block.
func TestGreyBoxAsWritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 60 {
		w, h := 1+rng.IntN(120), 1+rng.IntN(120)
		bounds := image.Rect(0, 0, w, h).Add(image.Pt(rng.IntN(7), rng.IntN(7)))
		var img image.Image
		switch n % 5 {
		case 0:
			m := image.NewNRGBA(bounds)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			img = m
		case 1:
			m := image.NewYCbCr(bounds, image.YCbCrSubsampleRatio420)
			for i := range m.Y {
				m.Y[i] = uint8(rng.Uint32())
			}
			img = m
		case 2:
			m := image.NewGray(bounds)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			img = m.SubImage(image.Rect(bounds.Min.X, bounds.Min.Y+1, bounds.Max.X, bounds.Max.Y))
		case 3:
			m := image.NewRGBA(bounds)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			img = m
		default:
			m := image.NewCMYK(bounds)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.Uint32())
			}
			img = m
		}
		b := img.Bounds()
		if b.Empty() {
			continue
		}
		r := image.Rect(b.Min.X+rng.IntN(b.Dx()), b.Min.Y+rng.IntN(b.Dy()), b.Max.X, b.Max.Y)
		r.Max.X -= rng.IntN(r.Dx())
		r.Max.Y -= rng.IntN(r.Dy())
		for f := 1; f <= 9; f++ {
			if got, want := greyBox(img, r, f), greyBoxRef(img, r, f); got.w != want.w || got.h != want.h || !slices.Equal(got.pix, want.pix) {
				t.Fatalf("image %d (%T %v), part %v, greyBox f %d differs", n, img, b, r, f)
			}
		}
	}
}

// greyMeanRef is greyMean as first written: the luminance of the part r of img averaged over whole
// k × k blocks (a partial block at the edge averages what it covers).
func greyMeanRef(img image.Image, r image.Rectangle, k int) grey {
	w, h := (r.Dx()+k-1)/k, (r.Dy()+k-1)/k
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	sum := make([]uint32, w)
	cnt := make([]uint32, w)
	row := make([]uint8, r.Dx())
	for oy := 0; oy < h; oy++ {
		clear(sum)
		clear(cnt)
		for y := r.Min.Y + oy*k; y < min(r.Max.Y, r.Min.Y+(oy+1)*k); y++ {
			lumaRow(img, r.Min.X, r.Max.X, y, row)
			for x, v := range row {
				sum[x/k] += uint32(v)
				cnt[x/k]++
			}
		}
		o := g.pix[oy*w : (oy+1)*w]
		for i := range o {
			o[i] = uint8((sum[i] + cnt[i]/2) / cnt[i])
		}
	}
	return g
}

// greyAreaRef is greyArea as first written: the luminance of the part r of img averaged over cells
// of k × k pixels (k not a whole number): each cell the mean of the pixels
// it covers, a pixel it covers in part weighted by that part. A partial
// cell at the edge averages what it covers.
func greyAreaRef(img image.Image, r image.Rectangle, k float64) grey {
	w, h := int(math.Ceil(float64(r.Dx())/k)), int(math.Ceil(float64(r.Dy())/k))
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	// cover lists, for each cell along one axis, the pixels it covers
	// (offsets from the start) and their weights.
	type part struct {
		i int
		w float64
	}
	cover := func(n, cells int) [][]part {
		out := make([][]part, cells)
		for c := range out {
			lo, hi := float64(c)*k, math.Min(float64(c+1)*k, float64(n))
			for i := int(lo); float64(i) < hi; i++ {
				if wt := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i)); wt > 0 {
					out[c] = append(out[c], part{i, wt})
				}
			}
		}
		return out
	}
	cols, rows := cover(r.Dx(), w), cover(r.Dy(), h)
	row := make([]uint8, r.Dx())
	sum := make([]float64, w)
	for oy, rs := range rows {
		clear(sum)
		var rw float64
		for _, p := range rs {
			lumaRow(img, r.Min.X, r.Max.X, r.Min.Y+p.i, row)
			for ox, cs := range cols {
				var v float64
				for _, q := range cs {
					v += float64(row[q.i]) * q.w
				}
				sum[ox] += v * p.w
			}
			rw += p.w
		}
		o := g.pix[oy*w : (oy+1)*w]
		for ox, cs := range cols {
			var cw float64
			for _, q := range cs {
				cw += q.w
			}
			o[ox] = uint8(math.Min(255, math.Round(sum[ox]/(cw*rw))))
		}
	}
	return g
}

// greyBoxRef is greyBox as first written: the luminance of the part r of img reduced f times:
// each output pixel averages the (at most) 2 × 2 source pixels at the
// centre of its f × f block, which is enough for the cascades and reads a
// fraction of a large photo. Blocks past r's edge use its last pixels.
func greyBoxRef(img image.Image, r image.Rectangle, f int) grey {
	w, h := (r.Dx()+f-1)/f, (r.Dy()+f-1)/f
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	n := min(f, 2)
	off := (f - n) / 2
	// xs are the source columns read, n per output pixel.
	xs := make([]int, 0, w*n)
	for gx := 0; gx < w; gx++ {
		for k := 0; k < n; k++ {
			xs = append(xs, min(r.Min.X+gx*f+off+k, r.Max.X-1))
		}
	}
	lo, hi := xs[0], xs[len(xs)-1]+1
	rows := [2][]uint8{make([]uint8, hi-lo), make([]uint8, hi-lo)}
	for gy := 0; gy < h; gy++ {
		for k := 0; k < n; k++ {
			lumaRow(img, lo, hi, min(r.Min.Y+gy*f+off+k, r.Max.Y-1), rows[k])
		}
		o := g.pix[gy*w : (gy+1)*w]
		if n == 1 {
			for i := range o {
				o[i] = rows[0][xs[i]-lo]
			}
			continue
		}
		r0, r1 := rows[0], rows[1]
		for i := range o {
			a, b := xs[2*i]-lo, xs[2*i+1]-lo
			o[i] = uint8((uint32(r0[a]) + uint32(r0[b]) + uint32(r1[a]) + uint32(r1[b]) + 2) >> 2)
		}
	}
	return g
}
