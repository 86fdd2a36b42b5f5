package layout

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/disintegration/imaging"
	"golang.org/x/image/vector"

	"github.com/cardd/cardd/printer"
)

// Gradient is a linear gradient between two colours.
type Gradient struct {
	// From and To are the colours at the start and end.
	From string `toml:"from"`
	To   string `toml:"to"`
	// Angle is the direction in degrees: 0 runs left to right, 90 top to
	// bottom.
	Angle float64 `toml:"angle"`
}

// Background fills a box (the whole raster, bleed included, when the box is
// empty) with a solid colour, a linear gradient or an image.
type Background struct {
	Base
	// Fill is a solid colour.
	Fill string `toml:"fill"`
	// Gradient is a linear gradient.
	Gradient *Gradient `toml:"gradient"`
	// Image is a PNG or JPEG file relative to the template's directory,
	// scaled to cover the box.
	Image string `toml:"image"`

	fill, from, to color.RGBA
}

// Init checks that exactly one of fill, gradient and image is set.
func (bg *Background) Init(ic *InitContext) error {
	n := 0
	var err error
	if bg.Fill != "" {
		n++
		if bg.fill, err = ic.Color("fill", bg.Fill); err != nil {
			return err
		}
	}
	if bg.Gradient != nil {
		n++
		if bg.from, err = ic.Color("gradient.from", bg.Gradient.From); err != nil {
			return err
		}
		if bg.to, err = ic.Color("gradient.to", bg.Gradient.To); err != nil {
			return err
		}
		if math.IsNaN(bg.Gradient.Angle) || math.IsInf(bg.Gradient.Angle, 0) {
			return fieldErr("gradient.angle", errors.New("not a number"))
		}
	}
	if bg.Image != "" {
		n++
		if err := ic.Resource("image", bg.Image); err != nil {
			return err
		}
	}
	if n != 1 {
		return fieldErr("fill", errors.New("set exactly one of fill, gradient and image"))
	}
	return nil
}

func (bg *Background) area(dc *DrawContext) image.Rectangle {
	if bg.Box().Empty() {
		return dc.Bounds()
	}
	return dc.Rect(bg.Box()).Intersect(dc.Bounds())
}

// Static reports true: a background is the same on every card.
func (bg *Background) Static() bool { return true }

// Draw fills the background.
func (bg *Background) Draw(ctx context.Context, dc *DrawContext) error {
	r := bg.area(dc)
	switch {
	case bg.Fill != "":
		dc.Fill(bg.Panel, r, bg.fill)
	case bg.Gradient != nil:
		drawGradient(dc, bg.Panel, r, bg.from, bg.to, bg.Gradient.Angle)
	default:
		img, err := dc.scaledImage(bg.Image, r.Dx(), r.Dy(), "cover", .5, .5)
		if err != nil {
			return fieldErr("image", err)
		}
		dc.DrawImage(bg.Panel, img, r.Min, true)
	}
	return nil
}

// drawGradient fills r with a linear gradient from a to b along angle.
func drawGradient(dc *DrawContext, p printer.Panel, r image.Rectangle, a, b color.RGBA, angle float64) {
	if r.Empty() {
		return
	}
	sin, cos := math.Sincos(angle * math.Pi / 180)
	// Project the corners to find the gradient's extent along its axis.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range []image.Point{r.Min, {r.Max.X, r.Min.Y}, {r.Min.X, r.Max.Y}, r.Max} {
		t := float64(c.X)*cos + float64(c.Y)*sin
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	// The colour depends on t alone and t grows linearly along a row:
	// look colours up in a table indexed by t.
	const steps = 1024
	var lut [steps + 1][4]uint8
	for i := range lut {
		t := float64(i) / steps
		mix := func(u, v uint8) uint8 { return uint8(float64(u) + (float64(v)-float64(u))*t + .5) }
		lut[i] = [4]uint8{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), mix(a.A, b.A)}
	}
	dt := cos / span * steps
	row := func(y int, f func(x int, c [4]uint8)) {
		t := ((float64(r.Min.X)+.5)*cos + (float64(y)+.5)*sin - lo) / span * steps
		for x := r.Min.X; x < r.Max.X; x++ {
			i := int(t + .5)
			if i < 0 {
				i = 0
			} else if i > steps {
				i = steps
			}
			f(x, lut[i])
			t += dt
		}
	}
	if p != printer.PanelColor {
		m := dc.Mono(p)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row(y, func(x int, c [4]uint8) {
				if c[3] >= 0x80 {
					m.SetBit(x, y, dark(color.RGBA{c[0], c[1], c[2], c[3]}))
				}
			})
		}
		return
	}
	dst := dc.RGBA()
	if a.A == 0xff && b.A == 0xff {
		// Opaque: each dot is one 32-bit store of its colour, in the
		// byte order of the RGBA's Pix.
		var lut32 [steps + 1]uint32
		for i, c := range lut {
			lut32[i] = binary.LittleEndian.Uint32([]byte{c[0], c[1], c[2], 0xff})
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			pix := dst.Pix[dst.PixOffset(r.Min.X, y) : dst.PixOffset(r.Max.X-1, y)+4]
			t := ((float64(r.Min.X)+.5)*cos + (float64(y)+.5)*sin - lo) / span * steps
			for len(pix) >= 4 {
				k := int(t + .5)
				k = max(0, min(k, steps))
				binary.LittleEndian.PutUint32(pix, lut32[k])
				pix = pix[4:]
				t += dt
			}
		}
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		pix := dst.Pix[dst.PixOffset(r.Min.X, y):]
		row(y, func(x int, c [4]uint8) {
			px := pix[(x-r.Min.X)*4 : (x-r.Min.X)*4+4]
			ia := 255 - uint32(c[3])
			px[0] = uint8(uint32(c[0]) + uint32(px[0])*ia/255)
			px[1] = uint8(uint32(c[1]) + uint32(px[1])*ia/255)
			px[2] = uint8(uint32(c[2]) + uint32(px[2])*ia/255)
			px[3] = uint8(uint32(c[3]) + uint32(px[3])*ia/255)
		})
	}
}

// Image draws a static image (a logo) from the template's directory.
type Image struct {
	Base
	// Path is a PNG or JPEG file relative to the template's directory.
	Path string `toml:"path"`
	// Fit is contain (default: whole image inside the box, aspect kept),
	// cover (box filled, image cropped) or stretch.
	Fit string `toml:"fit"`
	// Anchor places a contained image or picks the kept part of a covered
	// one, as for photos (default center).
	Anchor string `toml:"anchor"`
	// Dither dithers the image on a 1-bit panel instead of thresholding it.
	Dither bool `toml:"dither"`

	fx, fy float64
}

// Init checks the path and fit.
func (im *Image) Init(ic *InitContext) error {
	if im.Box().Empty() {
		return fieldErr("w", errors.New("an image needs a box: w and h in mm"))
	}
	switch im.Fit {
	case "", "contain", "cover", "stretch":
	default:
		return fieldErr("fit", fmt.Errorf("%q: want contain, cover or stretch", clip(im.Fit)))
	}
	p := Photo{Anchor: im.Anchor}
	p.W, p.H = 1, 1
	if err := p.Init(ic); err != nil {
		return err
	}
	im.fx, im.fy = p.fx, p.fy
	return ic.Resource("path", im.Path)
}

// Static reports true: a template image is the same on every card.
func (im *Image) Static() bool { return true }

// Draw draws the image.
func (im *Image) Draw(ctx context.Context, dc *DrawContext) error {
	r := dc.Rect(im.Box())
	fit := im.Fit
	if fit == "" {
		fit = "contain"
	}
	img, err := dc.scaledImage(im.Path, r.Dx(), r.Dy(), fit, im.fx, im.fy)
	if err != nil {
		return fieldErr("path", err)
	}
	at := r.Min
	s := img.Bounds().Size()
	at.X += int(math.Round(float64(r.Dx()-s.X) * im.fx))
	at.Y += int(math.Round(float64(r.Dy()-s.Y) * im.fy))
	dc.DrawImage(im.Panel, img, at, im.Dither)
	return nil
}

// scaledImage returns the template image p scaled for a w × h box; the
// result is cached by the renderer.
func (dc *DrawContext) scaledImage(p string, w, h int, fit string, fx, fy float64) (image.Image, error) {
	key := resKey{dc.Template, fmt.Sprintf("scaled:%s:%d:%d:%s:%g:%g", p, w, h, fit, fx, fy)}
	r := dc.r
	r.mu.Lock()
	img, ok := r.images[key]
	r.mu.Unlock()
	if ok {
		return img, nil
	}
	src, err := dc.Image(p)
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return image.NewNRGBA(image.Rect(0, 0, max(w, 0), max(h, 0))), nil
	}
	switch fit {
	case "cover":
		img = imaging.Resize(cropToAspect(src, w, h, fx, fy), w, h, imaging.Lanczos)
	case "stretch":
		img = imaging.Resize(src, w, h, imaging.Lanczos)
	default:
		img = imaging.Fit(src, w, h, imaging.Lanczos)
		if b := img.Bounds(); b.Dx() < w && b.Dy() < h { // Fit never enlarges
			sb := src.Bounds()
			scale := math.Min(float64(w)/float64(sb.Dx()), float64(h)/float64(sb.Dy()))
			img = imaging.Resize(src, max(1, int(float64(sb.Dx())*scale)), max(1, int(float64(sb.Dy())*scale)), imaging.Lanczos)
		}
	}
	r.storeImage(key, img)
	return img, nil
}

// Rect draws a rectangle, optionally with rounded corners, filled and/or
// stroked inside its box.
type Rect struct {
	Base
	// Fill is the fill colour; empty for none.
	Fill string `toml:"fill"`
	// Stroke is the outline colour; empty for none.
	Stroke string `toml:"stroke"`
	// StrokeWidth is the outline's width in mm, drawn inside the box
	// (default 0.25 when a stroke is set).
	StrokeWidth float64 `toml:"stroke_width"`
	// Radius rounds the corners, in mm.
	Radius float64 `toml:"radius"`

	fill, stroke color.RGBA
}

// Init checks the colours and sizes.
func (rc *Rect) Init(ic *InitContext) error {
	if rc.Box().Empty() {
		return fieldErr("w", errors.New("a rect needs a box: w and h in mm"))
	}
	var err error
	if rc.Fill == "" && rc.Stroke == "" {
		return fieldErr("fill", errors.New("set fill, stroke or both"))
	}
	if rc.Fill != "" {
		if rc.fill, err = ic.Color("fill", rc.Fill); err != nil {
			return err
		}
	}
	if rc.Stroke != "" {
		if rc.stroke, err = ic.Color("stroke", rc.Stroke); err != nil {
			return err
		}
		if rc.StrokeWidth == 0 {
			rc.StrokeWidth = 0.25
		}
	}
	if rc.StrokeWidth < 0 || rc.StrokeWidth > math.Min(rc.W, rc.H)/2 {
		return fieldErr("stroke_width", fmt.Errorf("%v mm: want 0 to half the box", rc.StrokeWidth))
	}
	if rc.Radius < 0 || rc.Radius > math.Min(rc.W, rc.H)/2 {
		return fieldErr("radius", fmt.Errorf("%v mm: want 0 to half the box", rc.Radius))
	}
	return nil
}

// Static reports true.
func (rc *Rect) Static() bool { return true }

// Draw draws the rectangle. Square corners are drawn on whole dots; round
// ones are rasterised (anti-aliased on the colour panel).
func (rc *Rect) Draw(ctx context.Context, dc *DrawContext) error {
	r := dc.Rect(rc.Box())
	sw := dc.Dots(rc.StrokeWidth)
	if rc.Stroke != "" && sw < 1 {
		sw = 1
	}
	if rc.Radius == 0 {
		if rc.Fill != "" {
			dc.Fill(rc.Panel, r.Inset(sw), rc.fill)
		}
		if rc.Stroke != "" {
			for _, e := range []image.Rectangle{
				{r.Min, image.Pt(r.Max.X, r.Min.Y+sw)},
				{image.Pt(r.Min.X, r.Max.Y-sw), r.Max},
				{image.Pt(r.Min.X, r.Min.Y+sw), image.Pt(r.Min.X+sw, r.Max.Y-sw)},
				{image.Pt(r.Max.X-sw, r.Min.Y+sw), image.Pt(r.Max.X, r.Max.Y-sw)},
			} {
				dc.Fill(rc.Panel, e, rc.stroke)
			}
		}
		return nil
	}
	rad := dc.DotsF(rc.Radius)
	outer := func(z *vector.Rasterizer, o image.Point) {
		roundRect(z, float32(r.Min.X-o.X), float32(r.Min.Y-o.Y), float32(r.Dx()), float32(r.Dy()), float32(rad), false)
	}
	s := float32(sw)
	inner := func(z *vector.Rasterizer, o image.Point, reverse bool) {
		roundRect(z, float32(r.Min.X-o.X)+s, float32(r.Min.Y-o.Y)+s, float32(r.Dx())-2*s, float32(r.Dy())-2*s, float32(math.Max(0, rad-float64(sw))), reverse)
	}
	if rc.Fill != "" {
		if rc.Stroke != "" {
			dc.Paint(rc.Panel, pathMask(r, func(z *vector.Rasterizer, o image.Point) { inner(z, o, false) }), rc.fill)
		} else {
			dc.Paint(rc.Panel, pathMask(r, outer), rc.fill)
		}
	}
	if rc.Stroke != "" {
		dc.Paint(rc.Panel, pathMask(r, func(z *vector.Rasterizer, o image.Point) {
			outer(z, o)
			inner(z, o, true)
		}), rc.stroke)
	}
	return nil
}

// pathMask rasterises the path drawn by build into a coverage mask over
// canvas rectangle r; build gets r.Min to subtract from canvas coordinates.
func pathMask(r image.Rectangle, build func(z *vector.Rasterizer, origin image.Point)) *image.Alpha {
	z := vector.NewRasterizer(r.Dx(), r.Dy())
	build(z, r.Min)
	mask := image.NewAlpha(r)
	z.Draw(mask, r, image.Opaque, image.Point{})
	return mask
}

// roundRect adds a closed rounded rectangle to z; reverse winds it the
// other way (to cut a hole).
func roundRect(z *vector.Rasterizer, x, y, w, h, rad float32, reverse bool) {
	if w <= 0 || h <= 0 {
		return
	}
	const k = 0.5523 // cubic Bézier approximation of a quarter circle
	c := rad * k
	// Corners clockwise from the top-left arc's end.
	pts := [][2]float32{
		{x + rad, y}, {x + w - rad, y}, // top edge
		{x + w, y + rad}, {x + w, y + h - rad}, // right edge
		{x + w - rad, y + h}, {x + rad, y + h}, // bottom edge
		{x, y + h - rad}, {x, y + rad}, // left edge
	}
	ctrl := [][4]float32{
		{x + w - rad + c, y, x + w, y + rad - c},
		{x + w, y + h - rad + c, x + w - rad + c, y + h},
		{x + rad - c, y + h, x, y + h - rad + c},
		{x, y + rad - c, x + rad - c, y},
	}
	if !reverse {
		z.MoveTo(pts[0][0], pts[0][1])
		for i := 0; i < 4; i++ {
			a, b := pts[2*i+1], pts[(2*i+2)%8]
			z.LineTo(a[0], a[1])
			cc := ctrl[i]
			z.CubeTo(cc[0], cc[1], cc[2], cc[3], b[0], b[1])
		}
		z.ClosePath()
		return
	}
	z.MoveTo(pts[0][0], pts[0][1])
	for i := 3; i >= 0; i-- {
		a, b := pts[2*i+1], pts[(2*i+2)%8]
		cc := ctrl[i]
		z.LineTo(b[0], b[1])
		z.CubeTo(cc[2], cc[3], cc[0], cc[1], a[0], a[1])
	}
	z.ClosePath()
}

// Line draws a straight line from (x, y) to (x2, y2).
type Line struct {
	Base
	// X2 and Y2 are the end point in mm.
	X2 float64 `toml:"x2"`
	Y2 float64 `toml:"y2"`
	// Width is the line's width in mm (default 0.25; at least one dot).
	Width float64 `toml:"width"`
	// Color is the line's colour (default black).
	Color string `toml:"color"`

	col color.RGBA
}

// Init checks the line.
func (l *Line) Init(ic *InitContext) error {
	if l.Width == 0 {
		l.Width = 0.25
	}
	if !(l.Width > 0 && l.Width <= 50) {
		return fieldErr("width", fmt.Errorf("%v mm: want 0–50", l.Width))
	}
	if l.Color == "" {
		l.Color = "black"
	}
	var err error
	l.col, err = ic.Color("color", l.Color)
	return err
}

// Static reports true.
func (l *Line) Static() bool { return true }

// Draw draws the line. Horizontal and vertical lines fall on whole dots.
func (l *Line) Draw(ctx context.Context, dc *DrawContext) error {
	w := math.Max(1, float64(dc.Dots(l.Width)))
	x0, y0 := dc.PointF(l.X, l.Y)
	x1, y1 := dc.PointF(l.X2, l.Y2)
	if y0 == y1 || x0 == x1 { // axis-aligned: whole dots, no blur
		a, b := dc.Point(l.X, l.Y), dc.Point(l.X2, l.Y2)
		half := int(w) / 2
		var r image.Rectangle
		if y0 == y1 {
			r = image.Rect(min(a.X, b.X), a.Y-half, max(a.X, b.X), a.Y-half+int(w))
		} else {
			r = image.Rect(a.X-half, min(a.Y, b.Y), a.X-half+int(w), max(a.Y, b.Y))
		}
		dc.Fill(l.Panel, r, l.col)
		return nil
	}
	dx, dy := x1-x0, y1-y0
	n := math.Hypot(dx, dy)
	nx, ny := -dy/n*w/2, dx/n*w/2
	r := image.Rect(int(math.Floor(math.Min(x0, x1)-w)), int(math.Floor(math.Min(y0, y1)-w)),
		int(math.Ceil(math.Max(x0, x1)+w)), int(math.Ceil(math.Max(y0, y1)+w))).Intersect(dc.Bounds())
	if r.Empty() {
		return nil
	}
	dc.Paint(l.Panel, pathMask(r, func(z *vector.Rasterizer, o image.Point) {
		ox, oy := float64(o.X), float64(o.Y)
		z.MoveTo(float32(x0+nx-ox), float32(y0+ny-oy))
		z.LineTo(float32(x1+nx-ox), float32(y1+ny-oy))
		z.LineTo(float32(x1-nx-ox), float32(y1-ny-oy))
		z.LineTo(float32(x0-nx-ox), float32(y0-ny-oy))
		z.ClosePath()
	}), l.col)
	return nil
}

// Overlay-mask presets, in mm on a landscape CR80 card. They are generous
// approximations of ISO/IEC 7816-2 (contact chip) and ISO/IEC 7811 (three
// track magnetic stripe on the back); give x, y, w and h to override.
var overlayPresets = map[string]Box{
	"chip":      {X: 8.5, Y: 17.5, W: 14.0, H: 12.5},
	"magstripe": {X: 0, Y: 3.5, W: CR80WidthMM, H: 13.5},
}

// OverlayMask leaves a region of the overlay bare: a contact chip, the
// magnetic stripe or a signature panel.
type OverlayMask struct {
	Base
	// Region is chip, magstripe (presets used when no box is given) or
	// signature / custom, which need a box.
	Region string `toml:"region"`
}

// Init checks the region.
func (om *OverlayMask) Init(ic *InitContext) error {
	switch om.Region {
	case "chip", "magstripe":
		if om.Box().Empty() {
			p := overlayPresets[om.Region]
			om.X, om.Y, om.W, om.H = p.X, p.Y, p.W, p.H
			if om.Region == "magstripe" {
				om.W = ic.Template.Width
			}
		}
	case "signature", "custom", "":
		if om.Box().Empty() {
			return fieldErr("w", fmt.Errorf("region %q needs a box: x, y, w and h in mm", om.Region))
		}
	default:
		return fieldErr("region", fmt.Errorf("%q: want chip, magstripe, signature or custom", clip(om.Region)))
	}
	return nil
}

// Static reports true.
func (om *OverlayMask) Static() bool { return true }

// Draw clears the region on the overlay panel. A side without an overlay
// (overlay = false) stays without one.
func (om *OverlayMask) Draw(ctx context.Context, dc *DrawContext) error {
	if dc.panels.Overlay != nil {
		dc.panels.Overlay.Fill(dc.Rect(om.Box()), false)
	}
	return nil
}
