package printer

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// The raster contract between composition (package layout) and the drivers.
//
// A Card is rendered at the printer's native resolution in whole dots. Every
// image of a Card is in the card's landscape reading orientation as a person
// looks at that side of the finished card: x grows to the right, y grows
// downward, and the images are Geometry.Width × Geometry.Height dots (1016 ×
// 648 for a full-bleed CR80 at 300 dpi). Drivers rotate and mirror into their
// own wire orientation; composition never does.

// Geometry is the raster a printer prints one side of a card into.
type Geometry struct {
	// DPI is the printer's resolution in dots per inch (300 or 600).
	DPI int
	// Width and Height are the raster size in dots, landscape.
	Width, Height int
}

// CR80 returns the full-bleed CR80 raster at dpi: 1016 × 648 dots at 300
// dpi, scaled in proportion for other resolutions (2032 × 1296 at 600).
func CR80(dpi int) Geometry {
	return Geometry{DPI: dpi, Width: 1016 * dpi / 300, Height: 648 * dpi / 300}
}

// Bounds returns the raster rectangle anchored at the origin.
func (g Geometry) Bounds() image.Rectangle { return image.Rect(0, 0, g.Width, g.Height) }

// DotsPerMM returns the number of dots per millimetre.
func (g Geometry) DotsPerMM() float64 { return float64(g.DPI) / 25.4 }

// Validate reports whether the geometry can be printed.
func (g Geometry) Validate() error {
	if g.DPI <= 0 || g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("printer: invalid geometry %dx%d at %d dpi", g.Width, g.Height, g.DPI)
	}
	return nil
}

// Panel names one ribbon panel.
type Panel string

// The panels a Side can carry.
const (
	PanelColor   Panel = "color"   // Y, M and C dye, continuous tone
	PanelK       Panel = "k"       // resin black, 1 bit
	PanelOverlay Panel = "overlay" // clear varnish, 1 bit (set = varnish applied)
	PanelUV      Panel = "uv"      // UV-fluorescent, 1 bit (set = fluorescent applied)
)

// Side is one side of a card, panel by panel. A nil panel is not printed.
type Side struct {
	// Color is the continuous-tone image printed with the Y, M and C panels.
	// Pure white (255, 255, 255) means no dye.
	Color *image.RGBA
	// K is the resin black panel: set dots get black resin.
	K *Mono
	// Overlay is the clear overlay: set dots are varnished; clear dots are
	// left bare (chip, magnetic stripe, signature panel).
	Overlay *Mono
	// UV is the fluorescent panel: set dots fluoresce under UV light.
	UV *Mono
}

// Panels lists the panels present on the side, in printing order.
func (s *Side) Panels() []Panel {
	var p []Panel
	if s.Color != nil {
		p = append(p, PanelColor)
	}
	if s.K != nil {
		p = append(p, PanelK)
	}
	if s.UV != nil {
		p = append(p, PanelUV)
	}
	if s.Overlay != nil {
		p = append(p, PanelOverlay)
	}
	return p
}

// MagTracks holds the ISO 7811 magnetic stripe tracks to encode; an empty
// track is not written.
type MagTracks [3]string

// Empty reports whether no track is to be written.
func (m MagTracks) Empty() bool { return m[0] == "" && m[1] == "" && m[2] == "" }

// Card is one card to print: its raster, its sides and optional stripe data.
type Card struct {
	// Geometry is the raster every panel image of the card has.
	Geometry Geometry
	// Front is always printed.
	Front Side
	// Back is printed when non-nil (duplex).
	Back *Side
	// Mag holds magnetic stripe data to encode, if any.
	Mag MagTracks
}

// Duplex reports whether the card has a back side.
func (c *Card) Duplex() bool { return c.Back != nil }

// Flatten returns how a side looks once printed under white light: the colour
// image with the K resin on top. Overlay and UV are invisible and ignored. A
// side with neither colour nor K is white.
func Flatten(s *Side, g Geometry) *image.RGBA {
	dst := image.NewRGBA(g.Bounds())
	if s.Color != nil {
		draw.Draw(dst, dst.Rect, s.Color, s.Color.Rect.Min, draw.Src)
	} else {
		draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
	}
	if s.K != nil {
		k := s.K
		for y := dst.Rect.Min.Y; y < dst.Rect.Max.Y; y++ {
			ky := y - dst.Rect.Min.Y + k.Rect.Min.Y
			if ky >= k.Rect.Max.Y {
				break
			}
			row := dst.Pix[(y-dst.Rect.Min.Y)*dst.Stride:]
			for x := dst.Rect.Min.X; x < dst.Rect.Max.X; x++ {
				kx := x - dst.Rect.Min.X + k.Rect.Min.X
				if kx >= k.Rect.Max.X {
					break
				}
				if k.BitAt(kx, ky) {
					i := (x - dst.Rect.Min.X) * 4
					row[i], row[i+1], row[i+2], row[i+3] = 0, 0, 0, 0xff
				}
			}
		}
	}
	return dst
}

// Bit is the colour of one dot of a Mono panel: On means the panel's
// material is applied there.
type Bit bool

// On and Off are the two values of a Bit.
const (
	On  Bit = true
	Off Bit = false
)

// RGBA renders On as black and Off as white.
func (b Bit) RGBA() (r, g, bl, a uint32) {
	if b {
		return 0, 0, 0, 0xffff
	}
	return 0xffff, 0xffff, 0xffff, 0xffff
}

// BitModel converts any colour to a Bit: On when its luminance is below half.
var BitModel color.Model = color.ModelFunc(toBit)

func toBit(c color.Color) color.Color {
	if b, ok := c.(Bit); ok {
		return b
	}
	r, g, b, a := c.RGBA()
	if a < 0x8000 {
		return Off
	}
	// ITU-R BT.601 luma on 16-bit channels.
	y := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	return Bit(y < 0x8000)
}

// Mono is a 1-bit image, one bit per dot, rows packed most significant bit
// first. It is the native type of the K, overlay and UV panels and is what
// drivers read fastest. It implements draw.Image with BitModel.
type Mono struct {
	// Pix holds the bits: the dot at (x, y) is bit 7-(x-Rect.Min.X)%8 of
	// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)/8].
	Pix []byte
	// Stride is the number of bytes per row.
	Stride int
	// Rect is the image's bounds.
	Rect image.Rectangle
}

var _ draw.Image = (*Mono)(nil)

// NewMono returns an all-Off Mono with bounds r.
func NewMono(r image.Rectangle) *Mono {
	stride := (r.Dx() + 7) / 8
	return &Mono{Pix: make([]byte, stride*r.Dy()), Stride: stride, Rect: r}
}

// ColorModel returns BitModel.
func (m *Mono) ColorModel() color.Model { return BitModel }

// Bounds returns the image's bounds.
func (m *Mono) Bounds() image.Rectangle { return m.Rect }

// At returns the Bit at (x, y); Off outside the bounds.
func (m *Mono) At(x, y int) color.Color { return Bit(m.BitAt(x, y)) }

// Paletted returns m as a two-colour paletted image, white for Off and
// black for On, which image/png writes as a 1-bit PNG: the one format of
// every 1-bit panel file cardd writes (render, the emulator's output).
func (m *Mono) Paletted() *image.Paletted {
	p := image.NewPaletted(m.Rect, color.Palette{color.White, color.Black})
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		row := p.Pix[p.PixOffset(m.Rect.Min.X, y):]
		src := m.Pix[(y-m.Rect.Min.Y)*m.Stride:]
		for x := range m.Rect.Dx() {
			if src[x>>3]&(0x80>>uint(x&7)) != 0 {
				row[x] = 1
			}
		}
	}
	return p
}

// BitAt reports whether the dot at (x, y) is On; false outside the bounds.
func (m *Mono) BitAt(x, y int) bool {
	if !(image.Point{x, y}.In(m.Rect)) {
		return false
	}
	x -= m.Rect.Min.X
	return m.Pix[(y-m.Rect.Min.Y)*m.Stride+x>>3]&(0x80>>uint(x&7)) != 0
}

// Set sets the dot at (x, y) from any colour, converted with BitModel.
func (m *Mono) Set(x, y int, c color.Color) { m.SetBit(x, y, bool(toBit(c).(Bit))) }

// SetBit sets the dot at (x, y) On or Off; points outside are ignored.
func (m *Mono) SetBit(x, y int, on bool) {
	if !(image.Point{x, y}.In(m.Rect)) {
		return
	}
	x -= m.Rect.Min.X
	i := (y-m.Rect.Min.Y)*m.Stride + x>>3
	mask := byte(0x80 >> uint(x&7))
	if on {
		m.Pix[i] |= mask
	} else {
		m.Pix[i] &^= mask
	}
}

// Fill sets every dot of r (clipped to the bounds) On or Off.
func (m *Mono) Fill(r image.Rectangle, on bool) {
	r = r.Intersect(m.Rect)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := m.Pix[(y-m.Rect.Min.Y)*m.Stride:]
		x0, x1 := r.Min.X-m.Rect.Min.X, r.Max.X-m.Rect.Min.X
		// Leading partial byte, whole bytes, trailing partial byte.
		for x := x0; x < x1; {
			if x&7 == 0 && x+8 <= x1 {
				if on {
					row[x>>3] = 0xff
				} else {
					row[x>>3] = 0
				}
				x += 8
				continue
			}
			mask := byte(0x80 >> uint(x&7))
			if on {
				row[x>>3] |= mask
			} else {
				row[x>>3] &^= mask
			}
			x++
		}
	}
}

// Count returns the number of On dots.
func (m *Mono) Count() int {
	n := 0
	w := m.Rect.Dx()
	for y := 0; y < m.Rect.Dy(); y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+m.Stride]
		for x := 0; x < w; x++ {
			if row[x>>3]&(0x80>>uint(x&7)) != 0 {
				n++
			}
		}
	}
	return n
}
