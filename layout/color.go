package layout

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"github.com/cardd/cardd/printer"
)

// namedColors are the colour names templates may use besides #rgb,
// #rrggbb and #rrggbbaa.
var namedColors = map[string]color.RGBA{
	"black":       {0, 0, 0, 0xff},
	"white":       {0xff, 0xff, 0xff, 0xff},
	"red":         {0xff, 0, 0, 0xff},
	"green":       {0, 0x80, 0, 0xff},
	"blue":        {0, 0, 0xff, 0xff},
	"yellow":      {0xff, 0xff, 0, 0xff},
	"cyan":        {0, 0xff, 0xff, 0xff},
	"magenta":     {0xff, 0, 0xff, 0xff},
	"grey":        {0x80, 0x80, 0x80, 0xff},
	"gray":        {0x80, 0x80, 0x80, 0xff},
	"transparent": {},
}

// ParseColor parses a template colour: #rgb, #rrggbb, #rrggbbaa (straight
// alpha) or one of the names black, white, red, green, blue, yellow, cyan,
// magenta, grey, gray and transparent. The result is premultiplied.
func ParseColor(s string) (color.RGBA, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if c, ok := namedColors[t]; ok {
		return c, nil
	}
	if !strings.HasPrefix(t, "#") {
		return color.RGBA{}, fmt.Errorf("colour %q: want #rrggbb, #rgb, #rrggbbaa or a name", clip(s))
	}
	h := t[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) == 6 {
		h += "ff"
	}
	if len(h) != 8 {
		return color.RGBA{}, fmt.Errorf("colour %q: want #rrggbb, #rgb or #rrggbbaa", clip(s))
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.RGBA{}, fmt.Errorf("colour %q: not hexadecimal", clip(s))
	}
	n := color.NRGBA{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}
	return color.RGBAModel.Convert(n).(color.RGBA), nil
}

// dark reports whether c sets a dot of a 1-bit panel: opaque enough and
// darker than mid-grey. Light colours erase dots (knock-outs).
func dark(c color.Color) bool { return bool(printer.BitModel.Convert(c).(printer.Bit)) }
