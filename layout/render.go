package layout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"math"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"

	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
)

// Options tunes a Renderer. The zero value of a field means its default.
type Options struct {
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
	// FontFiles maps extra font names to TrueType/OpenType files (from the
	// station config). Template [fonts] of the same name take precedence.
	FontFiles map[string]string
	// MaxPhotoBytes bounds the size of a job's photo file (default 8 MiB).
	MaxPhotoBytes int64
	// MaxPhotoPixels bounds the photo's width × height, checked before the
	// photo is decoded (default 24 megapixels).
	MaxPhotoPixels int64
	// MaxImagePixels bounds static template images the same way (default
	// 16 megapixels).
	MaxImagePixels int64
	// Panels lists the panels the target printer's ribbon provides, the
	// default of RenderOptions.Panels; nil means every panel.
	Panels []printer.Panel
	// Faces finds faces for photo elements with fit = "face"; nil (no
	// cascades installed) crops those by their anchor instead.
	Faces *portrait.Detector
}

// RenderOptions tune one Render call.
type RenderOptions struct {
	// Panels lists the panels the target printer's ribbon provides on the
	// front (and on the back unless BackPanels is set); nil means the
	// Renderer's Options.Panels. Elements on another panel are skipped
	// and reported in RenderResult.Skipped, unless they are marked
	// required, which makes the render fail with ErrPanelMissing.
	Panels []printer.Panel
	// BackPanels, when not nil, are the panels printed on the back.
	BackPanels []printer.Panel
	// LogSkipped logs the skipped elements as Render does: at warning
	// level the first time for a template, side and element, at debug
	// level after that.
	LogSkipped bool
}

// RenderResult is a composed card and what was left out of it.
type RenderResult struct {
	// Card is the composed card; panels the ribbon lacks are nil.
	Card *printer.Card
	// Skipped lists, in drawing order, the elements not drawn because the
	// ribbon lacks their panel.
	Skipped []Skipped
}

// Skipped names an element left out because the ribbon lacks its panel.
type Skipped struct {
	Template string        // template name
	Side     string        // "front" or "back"
	Index    int           // 1-based element index on Side
	Kind     string        // element kind
	Name     string        // element name, may be empty
	Panel    printer.Panel // the panel the ribbon lacks
	Optional bool          // the template marks the element panel_optional
}

// String reads "template T: SIDE element N (KIND "NAME"): no PANEL panel
// on the ribbon, skipped".
func (s Skipped) String() string {
	el := s.Kind
	if s.Name != "" {
		el = fmt.Sprintf("%s %q", s.Kind, s.Name)
	}
	return fmt.Sprintf("template %s: %s element %d (%s): no %s panel on the ribbon, skipped", s.Template, s.Side, s.Index, el, s.Panel)
}

// ErrPanelMissing is wrapped by the error of a render where a required
// element's panel is not on the ribbon.
var ErrPanelMissing = errors.New("panel not on the printer's ribbon")

// panelSet is a set of panels as bits; allPanels has every panel.
type panelSet uint8

const allPanels panelSet = 1<<4 - 1

func panelBit(p printer.Panel) panelSet {
	switch p {
	case printer.PanelColor:
		return 1
	case printer.PanelK:
		return 2
	case printer.PanelOverlay:
		return 4
	case printer.PanelUV:
		return 8
	}
	return 0
}

// makePanelSet returns the set of ps; nil is def.
func makePanelSet(ps []printer.Panel, def panelSet) panelSet {
	if ps == nil {
		return def
	}
	var s panelSet
	for _, p := range ps {
		s |= panelBit(p)
	}
	return s
}

func (s panelSet) has(p printer.Panel) bool { return s&panelBit(p) != 0 }

func (s panelSet) String() string {
	var out []string
	for _, p := range []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay, printer.PanelUV} {
		if s.has(p) {
			out = append(out, string(p))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// Defaults of Options.
const (
	DefaultMaxPhotoBytes  = 8 << 20
	DefaultMaxPhotoPixels = 24_000_000
	DefaultMaxImagePixels = 16_000_000
)

// Renderer composes cards. It caches parsed fonts and decoded static
// template images; it is safe for concurrent use.
type Renderer struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	fonts    map[resKey]*opentype.Font
	images   map[resKey]image.Image
	prefixes map[resKey]*printer.Side
	// prefixBytes is the size of the panels held in prefixes.
	prefixBytes int
	// warned holds the template, side and panel sets whose skipped
	// elements Render has logged at warning level (once each).
	warned map[resKey]bool
	// photos keeps the photos of jobs not composed yet as their intake
	// decoded them, for the composition of their cards (IntakePhoto).
	photos photoCache
}

// resKey names a cached resource: a template (nil for renderer-wide
// resources) and a name or path.
type resKey struct {
	t    *Template
	name string
}

// NewRenderer returns a Renderer with opts (nil for the defaults).
func NewRenderer(opts *Options) *Renderer {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxPhotoBytes <= 0 {
		o.MaxPhotoBytes = DefaultMaxPhotoBytes
	}
	if o.MaxPhotoPixels <= 0 {
		o.MaxPhotoPixels = DefaultMaxPhotoPixels
	}
	if o.MaxImagePixels <= 0 {
		o.MaxImagePixels = DefaultMaxImagePixels
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Renderer{opts: o, log: log, fonts: map[resKey]*opentype.Font{}, images: map[resKey]image.Image{}, prefixes: map[resKey]*printer.Side{}, warned: map[resKey]bool{}}
}

// FontNames returns the names of the fonts the renderer knows besides a
// template's own: the built-in Go fonts and the configured font files. Pass
// them as ParseOptions.Fonts.
func (r *Renderer) FontNames() []string {
	return append(builtinFontNames(), sortedKeys(r.opts.FontFiles)...)
}

// Render composes the card for job d with template t at geometry g (the
// printer's native raster), with the panels of Options.Panels. Elements on
// panels the ribbon lacks are skipped and logged at warning level (once per
// template, side and panel set; at debug level after that). Every error is
// an *Error naming the template, job, side, element and key.
func (r *Renderer) Render(ctx context.Context, t *Template, d *Data, g printer.Geometry) (*printer.Card, error) {
	res, err := r.RenderWith(ctx, t, d, g, &RenderOptions{LogSkipped: true})
	if err != nil {
		return nil, err
	}
	return res.Card, nil
}

// logSkipped logs skipped elements: at warning level the first time for a
// template and side, at debug level after.
func (r *Renderer) logSkipped(sk []Skipped) {
	for _, s := range sk {
		k := resKey{name: fmt.Sprintf("%s/%s/%d/%s", s.Template, s.Side, s.Index, s.Panel)}
		r.mu.Lock()
		first := !r.warned[k]
		if first {
			if len(r.warned) >= maxCached {
				clear(r.warned)
			}
			r.warned[k] = true
		}
		r.mu.Unlock()
		lvl := slog.LevelDebug
		if first && !s.Optional {
			lvl = slog.LevelWarn
		}
		r.log.Log(context.Background(), lvl, "element skipped: its panel is not on the ribbon",
			"template", s.Template, "side", s.Side, "element", s.Index, "kind", s.Kind, "name", s.Name, "panel", s.Panel)
	}
}

// RenderWith is Render with per-call options (nil for the defaults): the
// panels of the target printer's ribbon. It returns the card and the
// elements skipped for want of a panel, and logs them only when
// ro.LogSkipped is set.
func (r *Renderer) RenderWith(ctx context.Context, t *Template, d *Data, g printer.Geometry, ro *RenderOptions) (*RenderResult, error) {
	if err := g.Validate(); err != nil {
		return nil, &Error{File: t.File, JobID: d.JobID, Err: err}
	}
	// The job's intake decodes (IntakePhoto) are no longer needed once
	// its card is composed, whichever one the card took.
	defer r.photos.release(d.JobID, true)
	var o RenderOptions
	if ro != nil {
		o = *ro
	}
	front := makePanelSet(o.Panels, makePanelSet(r.opts.Panels, allPanels))
	back := makePanelSet(o.BackPanels, front)
	res := &RenderResult{Card: &printer.Card{Geometry: g}}
	rc := &renderCard{vals: d.values(), cache: map[string]any{}}
	for _, st := range t.Sides() {
		ps := front
		if st.Name == "back" {
			ps = back
		}
		side, err := r.renderSide(ctx, t, st, d, g, rc, ps, &res.Skipped)
		if err != nil {
			return nil, err
		}
		if st.Name == "back" {
			res.Card.Back = side
		} else {
			res.Card.Front = *side
		}
	}
	r.log.Debug("card composed", "template", t.Name, "job", d.JobID, "dpi", g.DPI, "duplex", res.Card.Duplex(), "skipped", len(res.Skipped))
	if o.LogSkipped {
		r.logSkipped(res.Skipped)
	}
	return res, nil
}

// renderCard is what the sides of one card share.
type renderCard struct {
	vals  map[string]any
	cache map[string]any
}

func (r *Renderer) renderSide(ctx context.Context, t *Template, st *SideTemplate, d *Data, g printer.Geometry, rc *renderCard, ps panelSet, skipped *[]Skipped) (*printer.Side, error) {
	canvas := g
	if t.Orientation == Portrait {
		canvas.Width, canvas.Height = g.Height, g.Width
	}
	// Elements whose panel the ribbon lacks: an error when required,
	// else skipped and reported.
	for i, e := range st.Elements {
		b := e.Common()
		if ps.has(b.Panel) {
			continue
		}
		if b.Required {
			return nil, &Error{File: t.File, JobID: d.JobID, Side: st.Name, Index: i + 1, Kind: b.Kind, Name: b.Name, Field: "panel",
				Err: fmt.Errorf("%w: the element is required on the %s panel, the ribbon has %s", ErrPanelMissing, b.Panel, ps)}
		}
		*skipped = append(*skipped, Skipped{Template: t.Name, Side: st.Name, Index: i + 1, Kind: b.Kind, Name: b.Name, Panel: b.Panel, Optional: b.PanelOptional})
	}
	dpmm := g.DotsPerMM()
	cw, ch := int(math.Round(t.Width*dpmm)), int(math.Round(t.Height*dpmm))
	dc := &DrawContext{
		Template: t,
		Side:     st.Name,
		Geometry: canvas,
		Data:     d,
		Log:      r.log.With("template", t.Name, "job", d.JobID, "side", st.Name),
		r:        r,
		panels:   &printer.Side{},
		origin:   image.Pt((canvas.Width-cw)/2, (canvas.Height-ch)/2),
		dpmm:     dpmm,
		card:     rc,
		ps:       ps,
	}
	// The leading elements that draw the same thing for every job are
	// drawn once per template, side, raster and panel set, then copied.
	start := staticPrefix(st)
	key := resKey{t, fmt.Sprintf("prefix:%s:%d:%d:%d:%d", st.Name, g.DPI, g.Width, g.Height, ps)}
	if snap := r.prefix(key); snap != nil && start > 0 {
		dc.panels = cloneSide(snap)
	} else {
		if st.Overlay && ps.has(printer.PanelOverlay) {
			dc.Mono(printer.PanelOverlay).Fill(canvas.Bounds(), true)
		}
		if err := r.drawElements(ctx, dc, t, st, d, 0, start); err != nil {
			return nil, err
		}
		if start > 0 {
			r.storePrefix(key, cloneSide(dc.panels))
		}
	}
	if err := r.drawElements(ctx, dc, t, st, d, start, len(st.Elements)); err != nil {
		return nil, err
	}
	side := dc.panels
	// An element may touch a panel besides its own (a QR code knocks out
	// the colour under it); a panel the ribbon lacks is never returned.
	for _, p := range []struct {
		panel printer.Panel
		drop  func()
	}{
		{printer.PanelColor, func() { side.Color = nil }},
		{printer.PanelK, func() { side.K = nil }},
		{printer.PanelOverlay, func() { side.Overlay = nil }},
		{printer.PanelUV, func() { side.UV = nil }},
	} {
		if !ps.has(p.panel) {
			p.drop()
		}
	}
	if t.Orientation == Portrait {
		side = &printer.Side{
			Color:   rotateRGBA(side.Color),
			K:       rotateMono(side.K),
			Overlay: rotateMono(side.Overlay),
			UV:      rotateMono(side.UV),
		}
	}
	return side, nil
}

// drawElements draws elements [from, to) of st, leaving out those whose
// panel is not in dc's panel set.
func (r *Renderer) drawElements(ctx context.Context, dc *DrawContext, t *Template, st *SideTemplate, d *Data, from, to int) error {
	for i := from; i < to; i++ {
		e := st.Elements[i]
		if err := ctx.Err(); err != nil {
			return &Error{File: t.File, JobID: d.JobID, Side: st.Name, Err: err}
		}
		if !dc.ps.has(e.Common().Panel) {
			continue
		}
		if err := e.Draw(ctx, dc); err != nil {
			b := e.Common()
			ee := &Error{File: t.File, JobID: d.JobID, Side: st.Name, Index: i + 1, Kind: b.Kind, Name: b.Name, Err: err}
			var fe *FieldError
			if errors.As(err, &fe) {
				ee.Field, ee.Err = fe.Field, fe.Err
			}
			return ee
		}
	}
	return nil
}

// Static is implemented by elements that can say they draw the same dots
// for every job: no field expressions, no photo, no per-card randomness.
// The renderer draws a side's leading run of static elements once per
// template, side and raster and copies the result for later cards, so a
// kind whose drawing is costly (a guilloche, a background image) gains from
// reporting true. Elements that do not implement it are drawn every time.
type Static interface {
	Static() bool
}

// staticPrefix returns how many leading elements of st are static.
func staticPrefix(st *SideTemplate) int {
	for i, e := range st.Elements {
		s, ok := e.(Static)
		if !ok || !s.Static() {
			return i
		}
	}
	return len(st.Elements)
}

func (r *Renderer) prefix(k resKey) *printer.Side {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prefixes[k]
}

// maxPrefixBytes bounds the memory the static-prefix cache holds (a
// 600 dpi colour panel alone is 10 MB); when full it starts afresh.
const maxPrefixBytes = 96 << 20

func (r *Renderer) storePrefix(k resKey, s *printer.Side) {
	n := sideBytes(s)
	r.mu.Lock()
	if r.prefixBytes+n > maxPrefixBytes {
		clear(r.prefixes)
		r.prefixBytes = 0
	}
	if old, ok := r.prefixes[k]; ok {
		r.prefixBytes -= sideBytes(old)
	}
	r.prefixes[k] = s
	r.prefixBytes += n
	r.mu.Unlock()
}

func sideBytes(s *printer.Side) int {
	n := 0
	if s.Color != nil {
		n += len(s.Color.Pix)
	}
	for _, m := range []*printer.Mono{s.K, s.Overlay, s.UV} {
		if m != nil {
			n += len(m.Pix)
		}
	}
	return n
}

// cloneSide deep-copies the panels of s.
func cloneSide(s *printer.Side) *printer.Side {
	c := &printer.Side{}
	if s.Color != nil {
		c.Color = &image.RGBA{Pix: append([]uint8(nil), s.Color.Pix...), Stride: s.Color.Stride, Rect: s.Color.Rect}
	}
	cm := func(m *printer.Mono) *printer.Mono {
		if m == nil {
			return nil
		}
		return &printer.Mono{Pix: append([]byte(nil), m.Pix...), Stride: m.Stride, Rect: m.Rect}
	}
	c.K, c.Overlay, c.UV = cm(s.K), cm(s.Overlay), cm(s.UV)
	return c
}

// DrawContext is what Element.Draw gets: the side being drawn, the job, the
// conversion from millimetres to the dot grid and drawing helpers that
// respect each panel's nature (anti-aliased colour, 1-bit thresholded
// mono).
type DrawContext struct {
	// Template is the template rendered.
	Template *Template
	// Side is "front" or "back".
	Side string
	// Geometry is the canvas of this side in its reading orientation (the
	// printer geometry with width and height swapped for a portrait
	// template).
	Geometry printer.Geometry
	// Data is the job's data.
	Data *Data
	// Log is scoped to the template, job and side.
	Log *slog.Logger

	r      *Renderer
	panels *printer.Side
	origin image.Point // card's top-left corner on the canvas, in dots
	dpmm   float64
	card   *renderCard
	ps     panelSet // the panels the ribbon provides
}

// DotsPerMM returns the canvas resolution.
func (dc *DrawContext) DotsPerMM() float64 { return dc.dpmm }

// Dots converts a length in millimetres to whole dots (rounded).
func (dc *DrawContext) Dots(mm float64) int { return int(math.Round(mm * dc.dpmm)) }

// DotsF converts a length in millimetres to fractional dots, for vector
// drawing.
func (dc *DrawContext) DotsF(mm float64) float64 { return mm * dc.dpmm }

// Point converts a card position in millimetres to the canvas dot it falls
// in (rounded to the nearest dot corner).
func (dc *DrawContext) Point(xmm, ymm float64) image.Point {
	return image.Pt(dc.origin.X+dc.Dots(xmm), dc.origin.Y+dc.Dots(ymm))
}

// PointF converts a card position in millimetres to fractional canvas
// coordinates.
func (dc *DrawContext) PointF(xmm, ymm float64) (x, y float64) {
	return float64(dc.origin.X) + xmm*dc.dpmm, float64(dc.origin.Y) + ymm*dc.dpmm
}

// Rect converts a box in millimetres to a rectangle of whole dots; each
// edge is rounded on its own so that abutting boxes tile exactly.
func (dc *DrawContext) Rect(b Box) image.Rectangle {
	return image.Rectangle{Min: dc.Point(b.X, b.Y), Max: dc.Point(b.X+b.W, b.Y+b.H)}
}

// CardRect returns the card's own rectangle on the canvas (the canvas may
// be larger: full-bleed rasters overhang the card).
func (dc *DrawContext) CardRect() image.Rectangle {
	return dc.Rect(Box{W: dc.Template.Width, H: dc.Template.Height})
}

// Bounds returns the whole canvas.
func (dc *DrawContext) Bounds() image.Rectangle { return dc.Geometry.Bounds() }

// RGBA returns the side's colour panel, creating it white when needed.
func (dc *DrawContext) RGBA() *image.RGBA {
	if dc.panels.Color == nil {
		m := image.NewRGBA(dc.Geometry.Bounds())
		if len(m.Pix) > 0 {
			m.Pix[0] = 0xff
			for n := 1; n < len(m.Pix); n *= 2 {
				copy(m.Pix[n:], m.Pix[:n])
			}
		}
		dc.panels.Color = m
	}
	return dc.panels.Color
}

// Mono returns the side's 1-bit panel p (k, overlay or uv), creating it
// empty when needed. It panics on the colour panel.
func (dc *DrawContext) Mono(p printer.Panel) *printer.Mono {
	var slot **printer.Mono
	switch p {
	case printer.PanelK:
		slot = &dc.panels.K
	case printer.PanelOverlay:
		slot = &dc.panels.Overlay
	case printer.PanelUV:
		slot = &dc.panels.UV
	default:
		panic(fmt.Sprintf("layout: Mono(%q): not a 1-bit panel", p))
	}
	if *slot == nil {
		*slot = printer.NewMono(dc.Geometry.Bounds())
	}
	return *slot
}

// Paint paints colour c through a coverage mask onto panel p. The mask's
// alpha is the coverage and its bounds are canvas coordinates. On the
// colour panel coverage blends (anti-aliasing); on a 1-bit panel a dot is
// set where coverage is at least half, On for a dark colour and Off (a
// knock-out) for a light one; a colour less than half opaque does nothing
// on a 1-bit panel.
func (dc *DrawContext) Paint(p printer.Panel, mask image.Image, c color.Color) {
	r := mask.Bounds().Intersect(dc.Geometry.Bounds())
	if r.Empty() {
		return
	}
	if p == printer.PanelColor {
		draw.DrawMask(dc.RGBA(), r, image.NewUniform(c), image.Point{}, mask, r.Min, draw.Over)
		return
	}
	if _, _, _, a := c.RGBA(); a < 0x8000 {
		return
	}
	on := dark(c)
	m := dc.Mono(p)
	if am, ok := mask.(*image.Alpha); ok {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := am.Pix[am.PixOffset(r.Min.X, y):]
			for x := r.Min.X; x < r.Max.X; x++ {
				if row[x-r.Min.X] >= 0x80 {
					m.SetBit(x, y, on)
				}
			}
		}
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if _, _, _, a := mask.At(x, y).RGBA(); a >= 0x8000 {
				m.SetBit(x, y, on)
			}
		}
	}
}

// Fill fills the canvas rectangle r of panel p with c (blended on the
// colour panel; On or Off by darkness on a 1-bit panel, as Paint).
func (dc *DrawContext) Fill(p printer.Panel, r image.Rectangle, c color.Color) {
	r = r.Intersect(dc.Geometry.Bounds())
	if r.Empty() {
		return
	}
	if p == printer.PanelColor {
		op := draw.Over
		if _, _, _, a := c.RGBA(); a == 0xffff {
			op = draw.Src
		}
		draw.Draw(dc.RGBA(), r, image.NewUniform(c), image.Point{}, op)
		return
	}
	if _, _, _, a := c.RGBA(); a < 0x8000 {
		return
	}
	dc.Mono(p).Fill(r, dark(c))
}

// DrawImage draws img, already at its final size, with its top-left corner
// at canvas point at. On the colour panel it is composited over what is
// there; on a 1-bit panel it is dithered (Floyd–Steinberg) when dither is
// true, thresholded at half luminance otherwise, and transparent pixels
// leave the panel untouched.
func (dc *DrawContext) DrawImage(p printer.Panel, img image.Image, at image.Point, dither bool) {
	sb := img.Bounds()
	r := image.Rectangle{Min: at, Max: at.Add(sb.Size())}
	clipped := r.Intersect(dc.Geometry.Bounds())
	if clipped.Empty() {
		return
	}
	sp := sb.Min.Add(clipped.Min.Sub(r.Min))
	if p == printer.PanelColor {
		dst := dc.RGBA()
		// An opaque NRGBA image (a resampled photo) has the canvas's
		// bytes already: copy its rows instead of compositing each pixel.
		if n, ok := img.(*image.NRGBA); ok && opaque(n, image.Rectangle{Min: sp, Max: sp.Add(clipped.Size())}) {
			for y := 0; y < clipped.Dy(); y++ {
				copy(dst.Pix[dst.PixOffset(clipped.Min.X, clipped.Min.Y+y):][:4*clipped.Dx()], n.Pix[n.PixOffset(sp.X, sp.Y+y):])
			}
			return
		}
		draw.Draw(dst, clipped, img, sp, draw.Over)
		return
	}
	m := dc.Mono(p)
	if dither {
		ditherInto(m, clipped, img, sp)
		return
	}
	for y := clipped.Min.Y; y < clipped.Max.Y; y++ {
		for x := clipped.Min.X; x < clipped.Max.X; x++ {
			c := img.At(sp.X+x-clipped.Min.X, sp.Y+y-clipped.Min.Y)
			if _, _, _, a := c.RGBA(); a >= 0x8000 {
				m.SetBit(x, y, dark(c))
			}
		}
	}
}

// Eval evaluates an expression against the job.
func (dc *DrawContext) Eval(e *Expr) (string, error) { return e.eval(dc.card.vals) }

// Cache returns the value stored under key for this card, building and
// storing it on first use. The cache is shared by both sides of one card
// and dropped after it; prefix keys with the kind's name.
func (dc *DrawContext) Cache(key string, build func() (any, error)) (any, error) {
	if v, ok := dc.card.cache[key]; ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	dc.card.cache[key] = v
	return v, nil
}

// Face returns a font face of the named font at size points for this
// canvas resolution, with full hinting (crisp stems on the dot grid). An
// empty name is the default font "go". Faces are cached per card.
func (dc *DrawContext) Face(name string, size float64) (font.Face, error) {
	if name == "" {
		name = "go"
	}
	key := fmt.Sprintf("layout.face/%s/%g", name, size)
	v, err := dc.Cache(key, func() (any, error) {
		f, err := dc.r.font(dc.Template, name)
		if err != nil {
			return nil, err
		}
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: float64(dc.Geometry.DPI), Hinting: font.HintingFull})
	})
	if err != nil {
		return nil, err
	}
	return v.(font.Face), nil
}

// Image returns the decoded static image at path p in the template's
// directory. The image is cached by the renderer and shared: do not
// modify it.
func (dc *DrawContext) Image(p string) (image.Image, error) { return dc.r.image(dc.Template, p) }

func (r *Renderer) image(t *Template, p string) (image.Image, error) {
	k := resKey{t, p}
	r.mu.Lock()
	img, ok := r.images[k]
	r.mu.Unlock()
	if ok {
		return img, nil
	}
	b, err := readResource(t.fsys, p)
	if err != nil {
		return nil, err
	}
	img, err = decodeLimited(b, p, int64(len(b))+1, r.opts.MaxImagePixels)
	if err != nil {
		return nil, err
	}
	r.storeImage(k, img)
	return img, nil
}

// maxCached bounds each renderer cache. Entries are keyed by template, so
// a daemon that reloads templates would otherwise grow them forever; when
// full, a cache starts afresh.
const maxCached = 512

func (r *Renderer) storeImage(k resKey, img image.Image) {
	r.mu.Lock()
	if len(r.images) >= maxCached {
		clear(r.images)
	}
	r.images[k] = img
	r.mu.Unlock()
}

// ditherInto sets the dots of r in m from the luminance of img (from sp)
// with Floyd–Steinberg error diffusion: dark areas get many dots, light
// ones few, and the dot pattern keeps the tones. Transparent pixels leave
// m untouched. Diffusing the error of the luminance, not of each of R, G
// and B, keeps saturated colours from turning solid black.
func ditherInto(m *printer.Mono, r image.Rectangle, img image.Image, sp image.Point) {
	w := r.Dx()
	// Errors in 1/16 grey levels for this row and the next, with a guard
	// column either side.
	cur, next := make([]int32, w+2), make([]int32, w+2)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < w; x++ {
			c := img.At(sp.X+x, sp.Y+y)
			cr, cg, cb, ca := c.RGBA()
			if ca < 0x8000 {
				continue
			}
			// Un-premultiply, then BT.601 luma in 0–255.
			lum := (19595*cr + 38470*cg + 7471*cb + 1<<15) >> 16
			lum = lum * 0xffff / ca
			v := int32(lum>>8)*16 + cur[x+1]
			on := v < 128*16
			out := int32(255 * 16)
			if on {
				out = 0
			}
			m.SetBit(r.Min.X+x, r.Min.Y+y, on)
			e := v - out
			cur[x+2] += e * 7 / 16
			next[x] += e * 3 / 16
			next[x+1] += e * 5 / 16
			next[x+2] += e / 16
		}
		cur, next = next, cur
		clear(next)
	}
}
