package layout

import (
	"context"
	"errors"
	"fmt"
	"image/color"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/ghost"
)

// Ghost draws the ghost image (package security/ghost): a smaller,
// desaturated, low-contrast, tinted copy of the job's portrait, usually
// over the data fields so that altering them damages it. On the colour
// panel it is composited over what is there (guilloche shows through); on
// the uv panel it is a 1-bit dithered copy whose light parts fluoresce.
//
//	[[front.element]]
//	kind = "ghost"
//	x = 62.0
//	y = 30.0
//	w = 16.0
//	h = 20.0
//	strength = 0.35              # darkest coverage, 0–1
//	tint = "#3a4a78"
//	vignette = true
type Ghost struct {
	Base
	// Strength is how dark the ghost's darkest parts get, 0–1 (default
	// 0.35).
	Strength float64 `toml:"strength"`
	// Tint is the ghost's colour (default slate blue).
	Tint string `toml:"tint"`
	// Vignette fades the edges out (default true).
	Vignette *bool `toml:"vignette"`
	// Optional skips the element when the job has no photo.
	Optional bool `toml:"optional"`

	tint color.RGBA
}

// needsPhoto: see Template.NeedsPhoto.
func (g *Ghost) needsPhoto() bool { return !g.Optional }

// Init checks the box and options.
func (g *Ghost) Init(ic *InitContext) error {
	if g.Box().Empty() {
		return fieldErr("w", errors.New("a ghost image needs a box: w and h in mm"))
	}
	if g.Panel != "" && g.Panel != printer.PanelColor && g.Panel != printer.PanelUV {
		return fieldErr("panel", fmt.Errorf("%q: a ghost goes on the color or uv panel", g.Panel))
	}
	if g.Strength < 0 || g.Strength > 1 {
		return fieldErr("strength", fmt.Errorf("%v: want 0–1", g.Strength))
	}
	if g.Tint != "" {
		var err error
		if g.tint, err = ic.Color("tint", g.Tint); err != nil {
			return err
		}
	}
	return nil
}

// Draw makes the ghost from the job's photo.
func (g *Ghost) Draw(ctx context.Context, dc *DrawContext) error {
	r := dc.Rect(g.Box())
	if r.Empty() {
		return nil
	}
	// The printed portrait reduced to the ghost's size (ghostSource),
	// cached for the card and shared by a colour and a UV ghost.
	src, err := dc.ghostSource(r.Dx(), r.Dy())
	if errors.Is(err, ErrNoPhoto) && g.Optional {
		return nil
	}
	if err != nil {
		return err
	}
	opt := ghost.Options{Strength: g.Strength, Tint: g.tint, Vignette: g.Vignette == nil || *g.Vignette}
	if g.Panel == printer.PanelUV {
		m, err := ghost.UV(src, r.Size(), opt)
		if err != nil {
			return err
		}
		uv := dc.Mono(printer.PanelUV)
		for y := 0; y < r.Dy(); y++ {
			for x := 0; x < r.Dx(); x++ {
				if m.BitAt(x, y) {
					uv.SetBit(r.Min.X+x, r.Min.Y+y, true)
				}
			}
		}
		return nil
	}
	img, err := ghost.Color(src, r.Size(), opt)
	if err != nil {
		return err
	}
	dc.DrawImage(printer.PanelColor, img, r.Min, false)
	return nil
}
