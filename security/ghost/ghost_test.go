package ghost

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"
)

// portrait is a synthetic portrait: a dark disc on a light background with
// a saturated red patch.
func portrait() *image.RGBA {
	img := image.NewRGBA(image.Rect(10, 20, 310, 420)) // not at the origin
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{230, 230, 220, 255}), image.Point{}, draw.Src)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if math.Hypot(float64(x-160), float64(y-200)) < 100 {
				img.Set(x, y, color.RGBA{40, 30, 30, 255})
			}
			if x > 250 && y > 350 {
				img.Set(x, y, color.RGBA{255, 0, 0, 255})
			}
		}
	}
	return img
}

func TestColorGhost(t *testing.T) {
	size := image.Pt(90, 120)
	g, err := Color(portrait(), size, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Rect != image.Rect(0, 0, 90, 120) {
		t.Fatalf("bounds %v", g.Rect)
	}
	// On white, the ghost is light (low contrast), tinted (not grey and
	// not the portrait's red), and darker where the portrait is dark.
	on := image.NewRGBA(g.Rect)
	draw.Draw(on, on.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(on, on.Rect, g, image.Point{}, draw.Over)
	centre := on.RGBAAt(45, 55)
	corner := on.RGBAAt(2, 2)
	if centre.R < 150 {
		t.Fatalf("ghost centre %v too dark for a low-contrast ghost", centre)
	}
	if !(centre.B > centre.R && centre.R < corner.R) {
		t.Fatalf("centre %v corner %v: want a blue-tinted darker centre", centre, corner)
	}
	red := on.RGBAAt(85, 115)
	if int(red.R)-int(red.G) > 10 {
		t.Fatalf("saturated patch kept its colour: %v", red)
	}
	v, err := Color(portrait(), size, Options{Vignette: true, Strength: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if v.RGBAAt(0, 0).A != 0 || v.RGBAAt(45, 60).A == 0 {
		t.Fatalf("vignette: corner %v centre %v", v.RGBAAt(0, 0), v.RGBAAt(45, 60))
	}
}

func TestUVDither(t *testing.T) {
	m, err := UV(portrait(), image.Pt(90, 120), Options{})
	if err != nil {
		t.Fatal(err)
	}
	count := func(r image.Rectangle) float64 {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if m.BitAt(x, y) {
					n++
				}
			}
		}
		return float64(n) / float64(r.Dx()*r.Dy())
	}
	dark, light := count(image.Rect(35, 45, 55, 65)), count(image.Rect(0, 0, 15, 15))
	if dark > 0.3 || light < 0.8 {
		t.Fatalf("UV coverage dark %.2f light %.2f: want the light background to glow", dark, light)
	}
}

func TestRejects(t *testing.T) {
	if _, err := Color(portrait(), image.Pt(0, 10), Options{}); err == nil {
		t.Error("zero size accepted")
	}
	if _, err := Color(portrait(), image.Pt(10, 10), Options{Strength: 2}); err == nil {
		t.Error("strength 2 accepted")
	}
	if _, err := UV(image.NewRGBA(image.Rectangle{}), image.Pt(10, 10), Options{}); err == nil {
		t.Error("empty portrait accepted")
	}
}

func BenchmarkColor(b *testing.B) {
	p := portrait()
	b.ReportAllocs()
	for b.Loop() {
		Color(p, image.Pt(150, 190), Options{Vignette: true})
	}
}

// TestPresized: a portrait already at the ghost's size (read in place)
// gives the same ghost as the same pixels in another image type (resized
// by the general path, which at equal size copies them).
func TestPresized(t *testing.T) {
	size := image.Pt(37, 49)
	n := image.NewNRGBA(image.Rect(0, 0, size.X, size.Y))
	for y := 0; y < size.Y; y++ {
		for x := 0; x < size.X; x++ {
			n.SetNRGBA(x, y, color.NRGBA{uint8(x * 6), uint8(y * 5), uint8((x + y) * 3), 255})
		}
	}
	// The same pixels as RGBA, and as an NRGBA not at the origin: both
	// take the general path.
	rgba := image.NewRGBA(n.Rect)
	draw.Draw(rgba, rgba.Rect, n, image.Point{}, draw.Src)
	off := image.NewNRGBA(n.Rect.Add(image.Pt(5, 7)))
	draw.Draw(off, off.Rect, n, image.Point{}, draw.Src)
	opt := Options{Strength: 0.5, Vignette: true}
	want, err := Color(n, size, opt)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]image.Image{"rgba": rgba, "offset nrgba": off} {
		got, err := Color(src, size, opt)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Pix) != string(want.Pix) {
			t.Errorf("%s: ghost differs from the presized NRGBA's", name)
		}
	}
	// A larger portrait is resized, not read in place.
	big := image.NewNRGBA(image.Rect(0, 0, size.X*2, size.Y*2))
	got, err := Color(big, size, opt)
	if err != nil || got.Rect.Size() != size {
		t.Fatalf("larger portrait: %v, %v", got.Rect, err)
	}
}
