package portrait

import (
	"image"
	"math"
)

// The token portrait (ISO/IEC 19794-5's token face image): the eyes level
// on a line EyeLine of the frame's height from its top, centred, EyeSpan
// of the frame's width apart (60 px in a 240 × 320 frame, eyes 144 px
// from the top).
const (
	EyeSpan = 0.25
	EyeLine = 0.45
)

// CropRect returns the part of a photo of bounds b that, scaled to a
// w × h frame, puts face's eyes where the token portrait has them. When
// that part reaches past the photo it is moved (and, when larger than the
// photo, shrunk) to fit, and fits is false: the eyes are then off the
// standard's position.
func CropRect(face Face, b image.Rectangle, w, h int) (r image.Rectangle, fits bool) {
	c := face.EyeCentre()
	cw := face.EyeDistance() / EyeSpan
	ch := cw * float64(h) / float64(w)
	fits = true
	if s := math.Min(float64(b.Dx())/cw, float64(b.Dy())/ch); s < 1 {
		cw, ch, fits = cw*s, ch*s, false
	}
	x0 := c.X - cw/2
	y0 := c.Y - EyeLine*ch
	// Move inside the photo.
	nx := math.Min(math.Max(x0, float64(b.Min.X)), float64(b.Max.X)-cw)
	ny := math.Min(math.Max(y0, float64(b.Min.Y)), float64(b.Max.Y)-ch)
	if math.Abs(nx-x0) > 0.5 || math.Abs(ny-y0) > 0.5 {
		fits = false
	}
	iw, ih := max(1, int(math.Round(cw))), max(1, int(math.Round(ch)))
	ix := min(max(int(math.Round(nx)), b.Min.X), b.Max.X-iw)
	iy := min(max(int(math.Round(ny)), b.Min.Y), b.Max.Y-ih)
	return image.Rect(ix, iy, ix+iw, iy+ih), fits
}

// IdealRect is CropRect's part before it is fitted to the photo.
func IdealRect(face Face, w, h int) image.Rectangle {
	c := face.EyeCentre()
	cw := face.EyeDistance() / EyeSpan
	ch := cw * float64(h) / float64(w)
	x0, y0 := c.X-cw/2, c.Y-EyeLine*ch
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x0+cw)), int(math.Ceil(y0+ch)))
}

// headRect is the head's extent estimated from the eyes: about 2.4 eye
// distances wide, from 1.7 above the eye line (crown) to 2.1 below (chin).
func headRect(face Face) image.Rectangle {
	c, d := face.EyeCentre(), face.EyeDistance()
	return image.Rect(int(c.X-1.2*d), int(c.Y-1.7*d), int(c.X+1.2*d), int(c.Y+2.1*d))
}
