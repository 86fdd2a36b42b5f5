package samples

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Portrait draws a synthetic, portrait-like illustration of w × h pixels:
// a background, shoulders, neck, head, hair, eyes, brows and mouth, with
// colours and proportions picked from seed. The same seed always gives the
// same picture. No photograph of a person is involved.
func Portrait(seed uint64, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(p []color.RGBA) color.RGBA { return p[rng.IntN(len(p))] }
	skins := []color.RGBA{{0xf1, 0xc2, 0x9a, 255}, {0xe0, 0xac, 0x69, 255}, {0xc6, 0x86, 0x42, 255}, {0x8d, 0x55, 0x24, 255}, {0x5c, 0x3a, 0x1e, 255}, {0xff, 0xdb, 0xac, 255}}
	hairs := []color.RGBA{{0x2a, 0x1b, 0x10, 255}, {0x55, 0x3a, 0x1f, 255}, {0xb5, 0x8b, 0x3c, 255}, {0x1a, 0x1a, 0x1a, 255}, {0x9a, 0x9a, 0x9a, 255}, {0x8e, 0x3b, 0x1c, 255}}
	clothes := []color.RGBA{{0x1f, 0x3a, 0x5f, 255}, {0x3d, 0x3d, 0x3d, 255}, {0x6b, 0x1e, 0x2e, 255}, {0x2e, 0x5e, 0x3a, 255}, {0xd8, 0xd8, 0xd0, 255}}
	bgTop := color.RGBA{uint8(200 + rng.IntN(40)), uint8(210 + rng.IntN(40)), uint8(220 + rng.IntN(35)), 255}
	bgBottom := color.RGBA{bgTop.R - 40, bgTop.G - 40, bgTop.B - 30, 255}
	skin, hair, cloth := pick(skins), pick(hairs), pick(clothes)
	eye := color.RGBA{0x20, 0x20, 0x28, 255}
	lip := color.RGBA{uint8(min(255, int(skin.R)-20)), uint8(max(0, int(skin.G)-60)), uint8(max(0, int(skin.B)-50)), 255}

	fw, fh := float64(w), float64(h)
	cx := fw * (0.5 + (rng.Float64()-0.5)*0.06)
	headRX := fw * (0.20 + rng.Float64()*0.04)
	headRY := fh * (0.19 + rng.Float64()*0.03)
	headCY := fh * (0.42 + rng.Float64()*0.03)
	hairVol := 1.05 + rng.Float64()*0.12
	hairDrop := rng.Float64() * 0.5 // how far hair falls down the sides
	shoulderY := fh * 0.82
	eyeDX, eyeY := headRX*0.42, headCY-headRY*0.05
	eyeR := fw * 0.018
	mouthY, mouthW := headCY+headRY*0.5, headRX*(0.35+rng.Float64()*0.15)

	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// ellipse coverage with a one-pixel soft edge.
	cover := func(x, y, ex, ey, rx, ry float64) float64 {
		if math.Abs(x-ex) > rx+1 || math.Abs(y-ey) > ry+1 {
			return 0
		}
		dx, dy := (x-ex)/rx, (y-ey)/ry
		d := math.Sqrt(dx*dx+dy*dy) - 1
		edge := d * math.Min(rx, ry)
		return math.Max(0, math.Min(1, 0.5-edge))
	}
	blend := func(dst []uint8, c color.RGBA, a float64) {
		if a <= 0 {
			return
		}
		dst[0] = uint8(float64(dst[0])*(1-a) + float64(c.R)*a)
		dst[1] = uint8(float64(dst[1])*(1-a) + float64(c.G)*a)
		dst[2] = uint8(float64(dst[2])*(1-a) + float64(c.B)*a)
	}
	for py := 0; py < h; py++ {
		y := float64(py) + 0.5
		t := y / fh
		bg := color.RGBA{
			uint8(float64(bgTop.R)*(1-t) + float64(bgBottom.R)*t),
			uint8(float64(bgTop.G)*(1-t) + float64(bgBottom.G)*t),
			uint8(float64(bgTop.B)*(1-t) + float64(bgBottom.B)*t), 255}
		for px := 0; px < w; px++ {
			x := float64(px) + 0.5
			p := img.Pix[py*img.Stride+px*4 : py*img.Stride+px*4+4]
			p[0], p[1], p[2], p[3] = bg.R, bg.G, bg.B, 255
			// hair behind the head
			blend(p, hair, cover(x, y, cx, headCY+headRY*hairDrop*0.6, headRX*hairVol*1.08, headRY*(hairVol+hairDrop*0.5)))
			// neck, then shoulders over it
			if math.Abs(x-cx) < headRX*0.45 && y > headCY && y < shoulderY {
				blend(p, skin, math.Min(1, (headRX*0.45-math.Abs(x-cx))))
			}
			blend(p, cloth, cover(x, y, cx, shoulderY+fh*0.25, fw*0.42, fh*0.3))
			// head
			blend(p, skin, cover(x, y, cx, headCY, headRX, headRY))
			// ears
			blend(p, skin, cover(x, y, cx-headRX, headCY, headRX*0.12, headRY*0.18))
			blend(p, skin, cover(x, y, cx+headRX, headCY, headRX*0.12, headRY*0.18))
			// fringe: hair over the top of the head
			if y < headCY-headRY*0.45 {
				blend(p, hair, cover(x, y, cx, headCY-headRY*0.55, headRX*1.02, headRY*0.55))
			}
			// eyes and brows
			for _, s := range []float64{-1, 1} {
				ex := cx + s*eyeDX
				blend(p, color.RGBA{250, 250, 250, 255}, cover(x, y, ex, eyeY, eyeR*2, eyeR*1.1))
				blend(p, eye, cover(x, y, ex, eyeY, eyeR, eyeR))
				blend(p, hair, cover(x, y, ex, eyeY-eyeR*2.6, eyeR*2.4, eyeR*0.45))
			}
			// nose shadow and mouth
			blend(p, lip, 0.35*cover(x, y, cx, headCY+headRY*0.2, eyeR*0.9, headRY*0.14))
			blend(p, lip, cover(x, y, cx, mouthY, mouthW, headRY*0.06))
		}
	}
	return img
}

// PortraitJPEG returns Portrait(seed, w, h) encoded as a JPEG file.
func PortraitJPEG(seed uint64, w, h int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Portrait(seed, w, h), &jpeg.Options{Quality: 88}); err != nil {
		return nil, fmt.Errorf("samples: encode portrait %d: %w", seed, err)
	}
	return b.Bytes(), nil
}
