package layout_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/microtext"
)

// TestShippedMicrotextEndsOnWholeCopy: every repeated microtext of the
// shipped templates (the temporary card's rule under the photo, the line
// around the photo, the permanent card's) ends on a whole copy of its
// text, never mid-word (issue 10: "…TEMPOR"), at 300 and 600 dpi, with
// the sample jobs' data. The element as shipped is drawn alone and
// compared dot for dot with the same element drawn once, not repeated,
// with its text written out k times: it must equal that for some k ≥ 1.
func TestShippedMicrotextEndsOnWholeCopy(t *testing.T) {
	jobs, err := samples.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, j := range jobs {
		tp, err := samples.Template(j.Template, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range tp.Sides() {
			for i, e := range side.Elements {
				m, ok := e.(*layout.Microtext)
				if !ok || !repeats(m) {
					continue
				}
				for _, dpi := range []int{300, 600} {
					name := fmt.Sprintf("%s/%s/%d %s/%ddpi", j.Name, side.Name, i, m.Name, dpi)
					t.Run(name, func(t *testing.T) {
						checkWholeCopies(t, side.Name, m, j.Data, dpi)
					})
					checked++
				}
			}
		}
	}
	// The temporary card's rule and photo border, the permanent card's.
	if checked < 4 {
		t.Fatalf("checked %d repeated microtext elements, want the shipped ones (at least 2 at 2 resolutions)", checked)
	}
}

// repeats says whether m repeats its text along its path.
func repeats(m *layout.Microtext) bool {
	if m.Repeat != nil {
		return *m.Repeat
	}
	return m.Path != "" && m.Path != "line"
}

// checkWholeCopies draws m as shipped and as k explicit copies.
func checkWholeCopies(t *testing.T, side string, m *layout.Microtext, d *layout.Data, dpi int) {
	t.Helper()
	shipped := drawSide(t, side, microtextTOML(side, m, m.Text, true), d, dpi)
	if inkDots(shipped) == 0 {
		t.Fatal("the shipped element draws nothing")
	}
	sep := m.Separator
	if sep == "" {
		sep = " "
	}
	if m.Negative || (m.Path != "" && m.Path != "line" && m.Path != "rect") {
		t.Fatalf("path %q, negative %v: the test counts glyph dots, exact only for positive text on lines and rectangles", m.Path, m.Negative)
	}
	// The glyphs land whole on the dot grid, so k copies drawn in full set
	// k × (one copy's dots) + (k - 1) × (the separator's dots); a drawing
	// with fewer was cut short by the end of the path.
	f := microtext.ForDPI(dpi)
	switch m.Cut {
	case "300":
		f = microtext.Cut300()
	case "600":
		f = microtext.Cut600()
	}
	sepDots := 0
	for _, r := range sep {
		g := f.Glyph(r)
		for y := range f.CapHeight {
			for x := range g.Width {
				if g.On(x, y) {
					sepDots++
				}
			}
		}
	}
	one := inkDots(drawSide(t, side, microtextTOML(side, m, m.Text, false), d, dpi))
	for k := 1; k <= 200; k++ {
		text := strings.Repeat(m.Text+sep, k-1) + m.Text
		once := drawSide(t, side, microtextTOML(side, m, text, false), d, dpi)
		if inkDots(once) != k*one+(k-1)*sepDots {
			break // k copies no longer fit whole
		}
		if sameSide(shipped, once) {
			t.Logf("%d whole copies", k)
			return
		}
	}
	t.Fatalf("the repeated text does not end on a whole copy of %q", m.Text)
}

// microtextTOML is a one-element template holding m's settings, with
// text and repeat as given.
func microtextTOML(side string, m *layout.Microtext, text string, repeat bool) string {
	var b strings.Builder
	if side == "back" {
		b.WriteString("[front]\n[back]\n")
	} else {
		b.WriteString("[front]\n")
	}
	fmt.Fprintf(&b, "[[%s.element]]\nkind = \"microtext\"\n", side)
	if m.Panel != "" {
		fmt.Fprintf(&b, "panel = %q\n", m.Panel)
	}
	fmt.Fprintf(&b, "x = %v\ny = %v\nw = %v\nh = %v\n", m.X, m.Y, m.W, m.H)
	if m.Path != "" {
		fmt.Fprintf(&b, "path = %q\n", m.Path)
	}
	if m.Path == "arc" {
		fmt.Fprintf(&b, "start = %v\nend = %v\n", m.Start, m.End)
	}
	fmt.Fprintf(&b, "text = %s\nrepeat = %v\n", strconv.Quote(text), repeat)
	if m.Separator != "" {
		fmt.Fprintf(&b, "separator = %q\n", m.Separator)
	}
	fmt.Fprintf(&b, "negative = %v\noffset = %v\n", m.Negative, m.Offset)
	if m.Cut != "" {
		fmt.Fprintf(&b, "cut = %q\n", m.Cut)
	}
	if m.Color != "" {
		fmt.Fprintf(&b, "color = %q\n", m.Color)
	}
	return b.String()
}

// drawSide renders a one-element template and returns the side drawn on.
func drawSide(t *testing.T, side, src string, d *layout.Data, dpi int) *printer.Side {
	t.Helper()
	c := renderT(t, src, d, printer.CR80(dpi))
	if side == "back" {
		return c.Back
	}
	return &c.Front
}

// sameSide compares every panel of two sides dot for dot.
func sameSide(a, b *printer.Side) bool {
	if (a.Color == nil) != (b.Color == nil) || (a.K == nil) != (b.K == nil) || (a.UV == nil) != (b.UV == nil) || (a.Overlay == nil) != (b.Overlay == nil) {
		return false
	}
	if a.Color != nil && !bytes.Equal(a.Color.Pix, b.Color.Pix) {
		return false
	}
	for _, p := range [][2]*printer.Mono{{a.K, b.K}, {a.UV, b.UV}, {a.Overlay, b.Overlay}} {
		if p[0] != nil && !bytes.Equal(p[0].Pix, p[1].Pix) {
			return false
		}
	}
	return true
}

// inkDots counts the dots a side's panels set (colour: non-white pixels).
func inkDots(s *printer.Side) int {
	n := 0
	if s.Color != nil {
		for i := 0; i+3 < len(s.Color.Pix); i += 4 {
			if s.Color.Pix[i] != 0xff || s.Color.Pix[i+1] != 0xff || s.Color.Pix[i+2] != 0xff {
				n++
			}
		}
	}
	for _, m := range []*printer.Mono{s.K, s.UV, s.Overlay} {
		if m == nil {
			continue
		}
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
				if m.BitAt(x, y) {
					n++
				}
			}
		}
	}
	return n
}
