package samples

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Portrait draws a synthetic ID-style portrait of w × h pixels, with
// colours and proportions picked from seed: a plain, evenly lit background;
// a head lit from the front and a little above, shaded as a rounded form;
// eye sockets, eyes with iris, pupil and catch-light, brows, a shaded nose,
// lips, ears, hair with strands, neck and clothed shoulders. It is drawn
// the way a camera sees a face (light and shadow, not outlines), so the
// station's face detector and photo checks accept it as they accept a
// compliant photograph. The same seed always gives the same picture. No
// photograph of a person is involved.
func Portrait(seed uint64, w, h int) *image.RGBA {
	f := newFace(seed, float64(w), float64(h))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for py := 0; py < h; py++ {
		row := img.Pix[py*img.Stride : py*img.Stride+4*w]
		for px := 0; px < w; px++ {
			c := f.at(float64(px)+0.5, float64(py)+0.5, uint64(py)*uint64(w)+uint64(px))
			p := row[4*px : 4*px+4 : 4*px+4]
			p[0], p[1], p[2], p[3] = to8(c[0]), to8(c[1]), to8(c[2]), 255
		}
	}
	return img
}

// rgb is a colour with components from 0 to 1.
type rgb [3]float64

func hex(v uint32) rgb {
	return rgb{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}
}

func (c rgb) scale(k float64) rgb { return rgb{c[0] * k, c[1] * k, c[2] * k} }

// mix returns c with a of d over it.
func (c rgb) mix(d rgb, a float64) rgb {
	if a <= 0 {
		return c
	}
	if a >= 1 {
		return d
	}
	return rgb{c[0] + (d[0]-c[0])*a, c[1] + (d[1]-c[1])*a, c[2] + (d[2]-c[2])*a}
}

func luma(c rgb) float64 { return 0.299*c[0] + 0.587*c[1] + 0.114*c[2] }

func to8(v float64) uint8 {
	return uint8(255*max(0, min(1, v)) + 0.5)
}

// smooth is 0 below e0, 1 above e1, and a smooth step between.
func smooth(e0, e1, x float64) float64 {
	t := max(0, min(1, (x-e0)/(e1-e0)))
	return t * t * (3 - 2*t)
}

// ellipse is the coverage of the ellipse centred at (cx, cy) with radii
// rx, ry at (x, y), with an edge soft over about soft pixels.
func ellipse(x, y, cx, cy, rx, ry, soft float64) float64 {
	dx, dy := (x-cx)/rx, (y-cy)/ry
	d := (math.Sqrt(dx*dx+dy*dy) - 1) * min(rx, ry)
	return 1 - smooth(-soft/2, soft/2, d)
}

// gauss is a Gaussian bump of height 1 at (cx, cy) with spreads sx, sy.
func gauss(x, y, cx, cy, sx, sy float64) float64 {
	dx, dy := (x-cx)/sx, (y-cy)/sy
	e := dx*dx + dy*dy
	if e > 9 {
		return 0 // under 1.2 %: left out
	}
	return math.Exp(-e / 2)
}

// noise is a deterministic value in [-1, 1) for pixel number i.
func noise(seed, i uint64) float64 {
	z := i*0x9e3779b97f4a7c15 + seed
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/float64(1<<52) - 1
}

// face is one portrait's picked colours and geometry, in pixels.
type face struct {
	seed                  uint64
	w, h                  float64
	bg, skin, hair, cloth rgb
	iris, lip, brow       rgb
	cx, cy, rx, ry        float64 // head
	eyeDX, eyeY, eyeW     float64 // eyes: half the distance apart, height, half width
	browY, noseY, mouthY  float64
	mouthW                float64
	hairTop, hairSide     float64 // how high the hair rises, how far down the sides
	parting               float64 // fringe's low point, a share of the head's width from its centre
	shoulderY             float64
	collar                float64 // neckline depth
	light                 [3]float64
}

func newFace(seed uint64, w, h float64) *face {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(p []uint32) rgb { return hex(p[rng.IntN(len(p))]) }
	f := &face{seed: seed, w: w, h: h}
	// Plain light backgrounds, as ID-photo rules ask: pale grey, blue or
	// cream.
	f.bg = pick([]uint32{0xdfe3e8, 0xd9e2ec, 0xe6e4de, 0xdde3e3, 0xe2e0e6})
	// Skin tones from fair to deep; hair and eye colours that go with
	// each (fair skin may have any, darker skin dark hair and brown eyes).
	skins := []uint32{0xf0c8a8, 0xe8b999, 0xdba581, 0xc98e62, 0xb97d57, 0xa86e47, 0x8a5735}
	si := rng.IntN(len(skins))
	f.skin = hex(skins[si])
	hairs := []uint32{0x2b2119, 0x4a3424, 0x1c1a1a, 0x8c8680}
	irises := []uint32{0x5a3a22, 0x3d2a1c, 0x6b4a2a}
	if si < 3 {
		hairs = append(hairs, 0x6e4a2c, 0x7a3e22, 0xa9834f)
		irises = append(irises, 0x4d6a86, 0x5f7048)
	}
	f.hair = pick(hairs)
	f.cloth = pick([]uint32{0x23324a, 0x3b3d42, 0x5a2633, 0x2f4a3a, 0x48505c, 0x1f2b3b})
	f.iris = pick(irises)
	f.lip = f.skin.mix(hex(0xa04a48), 0.45).scale(0.92)
	// Brows are darker than the skin, even under grey or fair hair.
	f.brow = f.hair
	if luma(f.brow) > 0.55*luma(f.skin) {
		f.brow = f.hair.mix(f.skin, 0.3).scale(0.55 * luma(f.skin) / luma(f.hair.mix(f.skin, 0.3)))
	}
	f.cx = w * (0.5 + (rng.Float64()-0.5)*0.02)
	f.rx = w * (0.185 + rng.Float64()*0.025)
	f.ry = f.rx * (1.30 + rng.Float64()*0.08)
	f.cy = h * (0.40 + rng.Float64()*0.02)
	f.eyeDX = f.rx * 0.42
	f.eyeY = f.cy - f.ry*0.04
	f.eyeW = f.rx * 0.19
	f.browY = f.eyeY - f.ry*0.17
	f.noseY = f.cy + f.ry*0.30
	f.mouthY = f.cy + f.ry*0.52
	f.mouthW = f.rx * (0.34 + rng.Float64()*0.08)
	f.hairTop = 0.10 + rng.Float64()*0.08
	f.hairSide = rng.Float64()
	f.parting = (rng.Float64() - 0.5) * 0.5
	f.shoulderY = f.cy + f.ry*1.45
	f.collar = 0.5 + rng.Float64()*0.5
	l := [3]float64{-0.25, -0.35, 1}
	n := math.Sqrt(l[0]*l[0] + l[1]*l[1] + l[2]*l[2])
	f.light = [3]float64{l[0] / n, l[1] / n, l[2] / n}
	return f
}

// at is the colour at (x, y); i numbers the pixel for the fine texture.
func (f *face) at(x, y float64, i uint64) rgb {
	// Background: one colour with the faint fall-off of a studio light.
	c := f.bg.scale(1 - 0.04*((y/f.h)+math.Abs(x/f.w-0.5)))
	u, v := (x-f.cx)/f.rx, (y-f.cy)/f.ry // head coordinates
	nearHead := math.Abs(u) < 1.35 && v > -1.6 && v < 1.2
	hd := 0.0
	if nearHead {
		if hd = f.head(x, y, u, v); hd >= 1 {
			// Only the face and the hair over it show here.
			c = f.skinAt(x, y, u, v, i)
			if hf := f.hairFront(x, y, u, v); hf > 0 {
				c = c.mix(f.hairAt(u, v, i), hf)
			}
			return c
		}
	}

	// Hair behind the head (its back and the sides).
	if nearHead {
		if hb := f.hairBack(x, y); hb > 0 {
			c = c.mix(f.hairAt(u, v, i).scale(0.8), hb)
		}
	}
	// Neck, shadowed under the jaw.
	if y > f.cy && math.Abs(u) < 0.8 {
		if nk := f.neck(x, y); nk > 0 {
			shade := 0.70 + 0.22*smooth(f.cy+f.ry*0.85, f.cy+f.ry*1.35, y)
			nx := (x - f.cx) / (f.rx * 0.56)
			shade *= 1 - 0.25*nx*nx
			c = c.mix(f.skin.scale(shade*(1+0.02*noise(f.seed, i))), nk)
		}
	}
	// Clothes over the shoulders, with a neckline.
	if y > f.shoulderY-f.ry*0.5 {
		if cl := f.clothes(x, y); cl > 0 {
			sx := (x - f.cx) / (f.w * 0.5)
			shade := 0.82 + 0.25*math.Sqrt(max(0, 1-sx*sx)) + 0.03*noise(f.seed^7, i)
			c = c.mix(f.cloth.scale(shade), cl)
		}
	}
	if !nearHead {
		return c
	}
	// Ears.
	for _, s := range []float64{-1, 1} {
		if math.Abs(y-f.eyeY-f.ry*0.13) > f.ry*0.2 || math.Abs(math.Abs(u)-0.97) > 0.2 {
			break
		}
		if e := ellipse(x, y, f.cx+s*f.rx*0.97, f.eyeY+f.ry*0.13, f.rx*0.13, f.ry*0.16, 2); e > 0 {
			inner := gauss(x, y, f.cx+s*f.rx*0.99, f.eyeY+f.ry*0.13, f.rx*0.05, f.ry*0.09)
			c = c.mix(f.skin.scale(0.80-0.15*inner), e)
		}
	}
	// The head: an oval with a fuller jaw.
	if hd > 0 {
		c = c.mix(f.skinAt(x, y, u, v, i), hd)
	}
	// Hair over the top of the head: the fringe line.
	if hf := f.hairFront(x, y, u, v); hf > 0 {
		c = c.mix(f.hairAt(u, v, i), hf)
	}
	return c
}

// head is the coverage of the head's oval: an ellipse whose lower half is
// squarer (the jaw).
func (f *face) head(x, y, u, v float64) float64 {
	r2 := u*u + v*v
	if r2 < 0.8 {
		return 1 // well inside the ellipse, which the squarer jaw contains
	}
	if v <= 0 || r2 > 1.6 {
		return ellipse(x, y, f.cx, f.cy, f.rx, f.ry, 2.4)
	}
	p := 2 + 0.35*v
	d := math.Pow(math.Pow(math.Abs(u), p)+math.Pow(v, p), 1/p) - 1
	return 1 - smooth(-1.2, 1.2, d*min(f.rx, f.ry))
}

// skinAt is the face's skin with its shading and features.
func (f *face) skinAt(x, y, u, v float64, i uint64) rgb {
	// A rounded form lit from the front, a little above and to the left.
	r2 := u*u + v*v
	z := math.Sqrt(max(0.02, 1-r2))
	nx, ny, nz := u, v, z
	lambert := max(0, nx*f.light[0]+ny*f.light[1]+nz*f.light[2])
	k := 0.55 + 0.5*lambert
	// Eye sockets, the sides of the nose, under the nose and lower lip,
	// the temples: where a frontal light leaves shadow.
	ex := f.eyeDX
	for _, s := range []float64{-1, 1} {
		k -= 0.20 * gauss(x, y, f.cx+s*ex*1.02, f.eyeY-f.ry*0.02, f.eyeW*1.35, f.ry*0.10)
		k -= 0.08 * gauss(x, y, f.cx+s*f.rx*0.16, f.eyeY+f.ry*0.18, f.rx*0.06, f.ry*0.16)  // beside the nose bridge
		k -= 0.10 * gauss(x, y, f.cx+s*f.rx*0.13, f.noseY-f.ry*0.02, f.rx*0.05, f.ry*0.06) // the nose's wings
		k += 0.06 * gauss(x, y, f.cx+s*f.rx*0.45, f.cy+f.ry*0.28, f.rx*0.18, f.ry*0.12)    // cheekbones
	}
	k += 0.07 * gauss(x, y, f.cx, f.eyeY+f.ry*0.12, f.rx*0.05, f.ry*0.18)      // the nose's ridge
	k += 0.06 * gauss(x, y, f.cx, f.noseY-f.ry*0.04, f.rx*0.07, f.ry*0.05)     // the nose's tip
	k -= 0.16 * gauss(x, y, f.cx, f.noseY+f.ry*0.06, f.rx*0.16, f.ry*0.035)    // under the nose
	k -= 0.12 * gauss(x, y, f.cx, f.mouthY+f.ry*0.12, f.mouthW*0.7, f.ry*0.04) // under the lower lip
	k += 0.05 * gauss(x, y, f.cx, f.browY-f.ry*0.18, f.rx*0.35, f.ry*0.12)     // forehead
	k -= 0.10 * smooth(0.55, 1, r2) * (1 - smooth(0.4, 0.95, v)) * 0.5         // the form's edge
	k -= 0.12 * smooth(0.75, 1.0, v) * (1 - 0.6*smooth(0.1, 0.5, math.Abs(u))) // under the chin
	skin := f.skin.mix(hex(0xc0504a), 0.10*(gauss(x, y, f.cx-f.rx*0.45, f.cy+f.ry*0.3, f.rx*0.2, f.ry*0.12)+
		gauss(x, y, f.cx+f.rx*0.45, f.cy+f.ry*0.3, f.rx*0.2, f.ry*0.12)))
	c := skin.scale(k * (1 + 0.025*noise(f.seed, i)))

	// Brows: soft arcs of hair.
	for _, s := range []float64{-1, 1} {
		bx := f.cx + s*ex
		t := (x - bx) / (f.eyeW * 1.35) // -1 … 1 along the brow
		if math.Abs(t) < 1.3 {
			arc := f.browY - f.ry*0.035*(1-t*t) + s*t*f.ry*0.01
			thick := f.ry * (0.028 - 0.01*math.Abs(t))
			a := (1 - smooth(0.85, 1.3, math.Abs(t))) * (1 - smooth(thick*0.6, thick*1.25, math.Abs(y-arc)))
			c = c.mix(f.brow.scale(0.9+0.2*noise(f.seed^3, i)).mix(skin.scale(k), 0.2), a*0.9)
		}
	}
	// Eyes.
	for _, s := range []float64{-1, 1} {
		c = f.eye(c, x, y, f.cx+s*ex, i, k)
	}
	// Nostrils.
	for _, s := range []float64{-1, 1} {
		if math.Abs(y-f.noseY-f.ry*0.035) > f.ry*0.03 {
			break
		}
		a := ellipse(x, y, f.cx+s*f.rx*0.065, f.noseY+f.ry*0.035, f.rx*0.045, f.ry*0.017, 2.5)
		c = c.mix(skin.scale(k*0.45), a*0.85)
	}
	// Lips: the upper one darker with a bow, a dark line between them,
	// the lower one fuller with a highlight.
	mu := (x - f.cx) / f.mouthW
	if math.Abs(mu) < 1.1 && math.Abs(y-f.mouthY) < f.ry*0.12 {
		side := 1 - smooth(0.88, 1.02, math.Abs(mu))
		line := f.mouthY + f.ry*0.008*mu*mu
		bow := 1 - 0.25*gauss(mu, 0, 0, 0, 0.12, 1)
		upTop := line - f.ry*0.06*math.Sqrt(max(0, 1-mu*mu))*bow*(1+0.15*gauss(math.Abs(mu), 0, 0.3, 0, 0.15, 1))
		loBot := line + f.ry*0.08*math.Pow(max(0, 1-mu*mu), 0.6)
		upper := side * smooth(-1, 1, y-upTop) * (1 - smooth(-1, 1, y-line))
		lower := side * smooth(-1, 1, y-line) * (1 - smooth(-1, 1, y-loBot))
		c = c.mix(f.lip.scale(k*0.80), upper)
		hl := gauss(x, y, f.cx, line+f.ry*0.04, f.mouthW*0.35, f.ry*0.012)
		c = c.mix(f.lip.scale(k*(0.95+0.15*hl)), lower)
		c = c.mix(f.lip.scale(0.38), side*(1-smooth(0.5, 2.2, math.Abs(y-line)))*0.85)
	}
	return c
}

// eye draws one eye centred at ex on the eye line: the lash line and lid
// crease, a white with its corners in shadow, the iris, pupil and a
// catch-light.
func (f *face) eye(c rgb, x, y, ex float64, i uint64, k float64) rgb {
	ew, eh := f.eyeW, f.eyeW*0.42
	t := (x - ex) / ew
	if math.Abs(t) > 1.4 || math.Abs(y-f.eyeY) > eh*3 {
		return c
	}
	// The lid opening: a lens between two arcs, the upper one higher.
	top := f.eyeY - eh*(1-t*t)*1.05
	bot := f.eyeY + eh*(1-t*t)*0.75
	inside := (1 - smooth(0.92, 1.02, math.Abs(t))) * smooth(-0.8, 0.8, y-top) * smooth(-0.8, 0.8, bot-y)
	// Crease above the lid.
	crease := f.eyeY - eh*(1-0.8*t*t)*1.9
	c = c.mix(c.scale(0.82), (1-smooth(0.8, 1.1, math.Abs(t)))*(1-smooth(0, eh*0.35, math.Abs(y-crease))))
	if inside > 0 {
		white := hex(0xe9e4df).scale(0.78 + 0.12*k - 0.25*smooth(0.4, 1, math.Abs(t)))
		e := white
		ir := eh * 1.05
		d := math.Hypot(x-ex, y-f.eyeY)
		iris := 1 - smooth(ir-1, ir+1, d)
		irisCol := f.iris.scale(0.75 + 0.35*smooth(0, ir, d) + 0.08*noise(f.seed^5, i))
		e = e.mix(irisCol, iris)
		e = e.mix(hex(0x0c0a0a), 1-smooth(ir*0.42-1, ir*0.42+1, d))                                            // pupil
		e = e.mix(hex(0xf4f4f4), 1-smooth(ir*0.12, ir*0.12+1.2, math.Hypot(x-(ex-ir*0.3), y-(f.eyeY-ir*0.3)))) // catch-light
		// The upper lid's shadow on the eye.
		e = e.scale(1 - 0.35*(1-smooth(0, eh*0.6, y-top)))
		c = c.mix(e, inside)
	}
	// Lash line along the upper lid, heavier towards the outer corner.
	lash := (1 - smooth(0.95, 1.15, math.Abs(t))) * (1 - smooth(eh*0.08, eh*0.3, math.Abs(y-(top-eh*0.05))))
	c = c.mix(hex(0x1a1412), lash*0.9)
	// A faint lower lid line.
	low := (1 - smooth(0.85, 1.05, math.Abs(t))) * (1 - smooth(0, eh*0.2, math.Abs(y-(bot+eh*0.05))))
	return c.mix(c.scale(0.8), low*0.6)
}

// hairBack is the coverage of the hair mass behind the head: from above
// the crown down to the ears or, longer, to the jaw, with a rounded end.
func (f *face) hairBack(x, y float64) float64 {
	top := f.cy - f.ry*(1.02+0.6*f.hairTop)
	bot := f.cy + f.ry*(0.05+0.75*f.hairSide)
	// Longer hair falls wider below the eyes, clear of the background
	// beside the crown that the photo check measures.
	wide := 1.02 + 0.16*smooth(0.35, 1, f.hairSide)*smooth(f.eyeY-f.ry*0.3, f.eyeY+f.ry*0.25, y)
	return ellipse(x, y, f.cx, (top+bot)/2, f.rx*wide, (bot-top)/2, 3)
}

// hairFront is the coverage of the hair over the top of the head, down to
// a hairline that leaves the forehead bare.
func (f *face) hairFront(x, y, u, v float64) float64 {
	if v > -0.2 {
		return 0
	}
	// The hairline: high at the parting, lower over the temples.
	du := u - f.parting
	line := -0.52 - 0.16*math.Exp(-du*du*6) + 0.30*u*u
	cov := smooth(-0.02, 0.02, line-v+0.01)
	outer := ellipse(x, y, f.cx, f.cy-f.ry*f.hairTop*0.3, f.rx*1.03, f.ry*(1+f.hairTop*0.3), 3)
	return max(0, min(1, cov)) * outer
}

// hairAt is the hair's colour: strands running from the parting, lit on
// top.
func (f *face) hairAt(u, v float64, i uint64) rgb {
	ang := math.Atan2(v+1.25, u-f.parting)
	strands := 0.5*math.Sin(ang*150+4*math.Sin(ang*11+v*3)) + 0.5*math.Sin(ang*67+2*v)
	lit := 0.78 + 0.3*smooth(0.6, 1.3, -v)*(1-smooth(0.2, 1.0, math.Abs(u-f.parting*0.5)))
	return f.hair.scale(lit * (1 + 0.10*strands + 0.05*noise(f.seed^11, i)))
}

// neck is the coverage of the neck, widening to the shoulders.
func (f *face) neck(x, y float64) float64 {
	half := f.rx * (0.52 + 0.25*smooth(f.shoulderY-f.ry*0.45, f.shoulderY, y))
	return (1 - smooth(half-1.5, half+1.5, math.Abs(x-f.cx))) * smooth(f.cy, f.cy+f.ry*0.3, y)
}

// clothes is the coverage of the shoulders and the garment, less the
// neckline.
func (f *face) clothes(x, y float64) float64 {
	dx := math.Abs(x - f.cx)
	// The shoulder line: from the base of the neck, sloping down and out
	// to the arms.
	sx := max(0, dx-f.rx*0.55) / (f.w*0.5 - f.rx*0.55)
	top := f.shoulderY - f.ry*0.32 + f.ry*0.42*smooth(0, 0.55, sx) + f.ry*0.35*sx*sx
	a := smooth(-1.5, 1.5, y-top)
	// The neckline: a V of depth collar below the base of the neck.
	nw := f.rx * 0.62
	if dx < nw {
		depth := f.ry * (0.18 + 0.3*f.collar)
		edge := f.shoulderY - f.ry*0.32 + depth*(1-dx/nw)
		a *= smooth(-1.5, 1.5, y-edge)
	}
	return a
}

// PortraitJPEG returns Portrait(seed, w, h) encoded as a JPEG file.
func PortraitJPEG(seed uint64, w, h int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Portrait(seed, w, h), &jpeg.Options{Quality: 88}); err != nil {
		return nil, fmt.Errorf("samples: encode portrait %d: %w", seed, err)
	}
	return b.Bytes(), nil
}
