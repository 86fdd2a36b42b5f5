package jpegscale

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
)

// The files in testdata were written by libjpeg-turbo's cjpeg from one
// 101 × 77 picture (odd sides: partial MCUs) with edges and noise, at
// several chroma samplings, with restart intervals and optimised Huffman
// tables, and as progressive and arithmetic-coded files this decoder
// leaves to image/jpeg.

// planes returns the sample planes of a decoded image with their sides.
type plane struct {
	pix          []uint8
	stride, w, h int
}

func planesOf(t testing.TB, m image.Image) []plane {
	t.Helper()
	switch m := m.(type) {
	case *image.Gray:
		return []plane{{m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy()}}
	case *image.YCbCr:
		cw, ch := m.Rect.Dx(), m.Rect.Dy()
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			cw, ch = (cw+1)/2, (ch+1)/2
		case image.YCbCrSubsampleRatio422:
			cw = (cw + 1) / 2
		case image.YCbCrSubsampleRatio440:
			ch = (ch + 1) / 2
		}
		return []plane{
			{m.Y, m.YStride, m.Rect.Dx(), m.Rect.Dy()},
			{m.Cb, m.CStride, cw, ch},
			{m.Cr, m.CStride, cw, ch},
		}
	}
	t.Fatalf("decoded a %T", m)
	return nil
}

// boxReduce averages f × f blocks of p (partial blocks at the edges over
// the samples they have).
func boxReduce(p plane, f int) plane {
	w, h := (p.w+f-1)/f, (p.h+f-1)/f
	out := plane{make([]uint8, w*h), w, w, h}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0, 0
			for yy := y * f; yy < min(y*f+f, p.h); yy++ {
				for xx := x * f; xx < min(x*f+f, p.w); xx++ {
					sum += int(p.pix[yy*p.stride+xx])
					n++
				}
			}
			out.pix[y*w+x] = uint8((sum + n/2) / n)
		}
	}
	return out
}

// compare decodes data at 1/denom and checks it against image/jpeg's full
// decode averaged over denom × denom blocks: the same kind of image, the
// same sides, and samples close (the DCT reduction is a sharper low-pass
// than a box average, so edges differ by more than flat parts).
func compare(t *testing.T, name string, data []byte, denom int, maxMean float64) {
	t.Helper()
	got, err := Decode(data, denom)
	if err != nil {
		t.Fatalf("%s 1/%d: %v", name, denom, err)
	}
	full, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := Size(full.Bounds().Dx(), full.Bounds().Dy(), denom); got.Bounds() != image.Rect(0, 0, w, h) {
		t.Fatalf("%s 1/%d: bounds %v, want %d × %d", name, denom, got.Bounds(), w, h)
	}
	gp, fp := planesOf(t, got), planesOf(t, full)
	if len(gp) != len(fp) {
		t.Fatalf("%s: %d planes, image/jpeg %d", name, len(gp), len(fp))
	}
	if g, ok := got.(*image.YCbCr); ok && g.SubsampleRatio != full.(*image.YCbCr).SubsampleRatio {
		t.Fatalf("%s: ratio %v, image/jpeg %v", name, g.SubsampleRatio, full.(*image.YCbCr).SubsampleRatio)
	}
	for i := range gp {
		want := boxReduce(fp[i], denom)
		g := gp[i]
		if g.w != want.w || g.h != want.h {
			t.Fatalf("%s 1/%d plane %d: %d × %d, want %d × %d", name, denom, i, g.w, g.h, want.w, want.h)
		}
		// The last row and column come from blocks that run past the
		// image, filled as the encoder chose: compare the rest.
		sum, worst := 0, 0
		cw, ch := max(g.w-1, 1), max(g.h-1, 1)
		if g.w == 1 || g.h == 1 {
			continue
		}
		for y := 0; y < ch; y++ {
			for x := 0; x < cw; x++ {
				d := int(g.pix[y*g.stride+x]) - int(want.pix[y*want.stride+x])
				d = max(d, -d)
				sum += d
				worst = max(worst, d)
			}
		}
		mean := float64(sum) / float64(cw*ch)
		t.Logf("%s 1/%d plane %d: mean difference %.2f, worst %d", name, denom, i, mean, worst)
		if mean > maxMean || worst > 80 {
			t.Errorf("%s 1/%d plane %d: mean difference %.2f, worst %d from image/jpeg averaged", name, denom, i, mean, worst)
		}
	}
}

func TestDecodeMatchesImageJPEG(t *testing.T) {
	for _, name := range []string{"s420.jpg", "s444.jpg", "s422.jpg", "s440.jpg", "restart.jpg", "optimized-restart.jpg", "gray.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, denom := range []int{2, 4, 8} {
			compare(t, name, data, denom, 5) // a noisy picture
		}
	}
}

// photo returns a smooth picture with some detail, as a camera gives.
func photo(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			m.SetRGBA(x, y, color.RGBA{
				uint8(128 + 100*math.Sin(7*fx+3*fy)),
				uint8(128 + 90*math.Cos(5*fy)*math.Sin(11*fx)),
				uint8(255 * fx * fy), 255})
		}
	}
	return m
}

// TestDecodeGoEncoded covers image/jpeg's own output (4:2:0, greyscale) at
// several qualities and sizes, and checks a smooth photo closely.
func TestDecodeGoEncoded(t *testing.T) {
	for _, tc := range []struct {
		w, h, q int
		gray    bool
		mean    float64 // small, coarse pictures differ more per sample
	}{{864, 1152, 90, false, 1}, {33, 17, 50, false, 5}, {8, 8, 100, false, 5}, {1, 1, 75, false, 5}, {130, 97, 85, true, 1}} {
		var src image.Image = photo(tc.w, tc.h)
		if tc.gray {
			g := image.NewGray(src.Bounds())
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					g.Set(x, y, src.At(x, y))
				}
			}
			src = g
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: tc.q}); err != nil {
			t.Fatal(err)
		}
		for _, denom := range []int{2, 4, 8} {
			compare(t, "go-encoded", buf.Bytes(), denom, tc.mean)
		}
	}
}

func TestUnsupportedAndMalformed(t *testing.T) {
	for _, name := range []string{"progressive.jpg", "arithmetic.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(data, 2); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", name, err)
		}
	}
	good, err := os.ReadFile(filepath.Join("testdata", "restart.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i += 97 {
		cut := good[:i]
		if _, err := Decode(cut, 2); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	if _, err := Decode(good, 3); err == nil {
		t.Error("scale 1/3: no error")
	}
	if _, err := Decode([]byte("\x89PNG\r\n\x1a\n"), 2); !errors.Is(err, ErrFormat) {
		t.Errorf("PNG: got %v, want ErrFormat", err)
	}
}

// FuzzDecode feeds damaged JPEGs (a photo's bytes come from the spool):
// no panic, and whatever decodes has the sides image/jpeg reads from the
// header.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"s420.jpg", "restart.jpg", "gray.jpg", "s444.jpg", "progressive.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, s uint8) {
		denom := []int{2, 4, 8}[s%3]
		// As the renderer does: the header is checked against a pixel
		// limit before decoding.
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<20 {
			return
		}
		m, err := Decode(data, denom)
		if err != nil {
			return
		}
		if w, h := Size(cfg.Width, cfg.Height, denom); m.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("bounds %v, header says %d × %d at 1/%d", m.Bounds(), cfg.Width, cfg.Height, denom)
		}
	})
}

// BenchmarkDecode1MP decodes a 1-megapixel photo at half size, and with
// image/jpeg at full size (cpu-ns/op: CPU time).
func BenchmarkDecode1MP(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(864, 1152), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for _, impl := range []string{"half", "image-jpeg"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := benchcpu.Process()
			for b.Loop() {
				var err error
				if impl == "half" {
					_, err = Decode(data, 2)
				} else {
					_, err = jpeg.Decode(bytes.NewReader(data))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, cpu0)
		})
	}
}

// decodeSlowAC is Decode reading every AC coefficient as a Huffman code,
// then its value (no whole-coefficient look-up).
func decodeSlowAC(data []byte, denom int) (image.Image, error) {
	d := &decoder{data: data, n: 8 / denom, slowAC: true}
	for x := 0; x < d.n; x++ {
		for u := 0; u < d.n; u++ {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			d.basis[x][u] = float32(c / 2 * math.Cos(float64((2*x+1)*u)*math.Pi/float64(2*d.n)))
		}
	}
	return d.decode()
}

// TestFastACExact: the whole-coefficient look-up decodes exactly what
// reading code and value one after the other decodes (the same pixels,
// the same errors), on the test files, image/jpeg's output at several
// qualities, and every one of them cut short or with a byte changed.
func TestFastACExact(t *testing.T) {
	var files [][]byte
	for _, name := range []string{"s420.jpg", "s444.jpg", "s422.jpg", "s440.jpg", "restart.jpg", "optimized-restart.jpg", "gray.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	for _, q := range []int{30, 75, 90, 100} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, photo(200, 150), &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		files = append(files, buf.Bytes())
	}
	same := func(data []byte, denom int) {
		t.Helper()
		got, gerr := Decode(data, denom)
		want, werr := decodeSlowAC(data, denom)
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("1/%d: error %v, reading code and value %v", denom, gerr, werr)
		}
		if gerr != nil {
			return
		}
		gp, wp := planesOf(t, got), planesOf(t, want)
		for i := range wp {
			if !bytes.Equal(gp[i].pix, wp[i].pix) {
				t.Fatalf("1/%d: plane %d differs", denom, i)
			}
		}
	}
	decoded := 0
	for _, data := range files {
		for _, denom := range []int{2, 4, 8} {
			same(data, denom)
			for i := 1; i < 12; i++ {
				same(data[:len(data)*i/12], denom)
				bad := bytes.Clone(data)
				bad[len(bad)*i/12] ^= 0x5A
				same(bad, denom)
			}
			decoded++
		}
	}
	t.Logf("%d files at 3 scales, whole, cut and changed: equal", decoded/3)
}
