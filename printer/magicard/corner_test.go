package magicard_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/magicard"
)

// sidePlanes splits a job stream into its sides' headers and planes (by
// letter), reading the SZ lengths in the order the header gives them.
func sidePlanes(t *testing.T, b []byte) (headers []string, planes []map[byte][]byte) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < magicard.LeadIn+2 || b[magicard.LeadIn] != magicard.SOH {
			t.Fatalf("side %d: no lead-in and SOH", len(headers)+1)
		}
		b = b[magicard.LeadIn+2:]
		end := bytes.IndexByte(b, magicard.FS)
		hdr := string(b[:end])
		b = b[end+1:]
		p := map[byte][]byte{}
		for _, f := range strings.Split(hdr, ",") {
			if len(f) < 4 || !strings.HasPrefix(f, "SZ") {
				continue
			}
			n, err := strconv.Atoi(f[3:])
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			p[f[2]] = b[:n]
			if string(b[n:n+3]) != string([]byte{magicard.FS, f[2], ':'}) {
				t.Fatalf("plane %c trailer %q", f[2], b[n:n+3])
			}
			b = b[n+3:]
		}
		if b[0] != magicard.ETX {
			t.Fatalf("side %d ends %#x", len(headers)+1, b[0])
		}
		b = b[1:]
		headers, planes = append(headers, hdr), append(planes, p)
	}
	return headers, planes
}

// TestCornerMapping pins where a card's corners land on the wire, for the
// front and the back (package documentation: wire line = card column,
// line 0 at the card's left edge; canvas dot 12 + 647 − y for card row y,
// dot 12 at the card's bottom row; never a mirror). The same side goes on
// both pages, and both must come out the same: Magicard turns the card
// over its short edge, so the back as seen that way takes the front's
// mapping. The overcoat's hole is in the same frame, counted from the
// bottom-left corner.
func TestCornerMapping(t *testing.T) {
	t.Parallel()
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	k.SetBit(0, 0, true)                   // top-left
	k.SetBit(g.Width-1, g.Height-1, true)  // bottom-right
	k.Fill(image.Rect(16, 0, 24, 8), true) // an 8 × 8 block at the top, 16 dots from the left
	col := image.NewRGBA(g.Bounds())
	for i := range col.Pix {
		col.Pix[i] = 0xff
	}
	col.SetRGBA(0, 0, color.RGBA{0xff, 0, 0, 0xff}) // red: yellow and magenta, no cyan
	ov := printer.NewMono(g.Bounds())
	ov.Fill(g.Bounds(), true)
	ov.Fill(image.Rect(90, 194, 261, 350), false) // an ISO 7816 chip, left of the card, 16–30 mm from its top
	side := printer.Side{Color: col, K: k, Overlay: ov}
	back := side
	card := &printer.Card{Geometry: g, Front: side, Back: &back}
	b, err := magicard.AppendJob(nil, card, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	headers, planes := sidePlanes(t, b)
	if len(planes) != 2 {
		t.Fatalf("%d sides", len(planes))
	}
	const stripe = magicard.CanvasDots / 8 // 84 bytes a line and bit-plane
	// set lists the canvas dots set in a line of a 1-bit stripe.
	set := func(p []byte, line int) []int {
		var dots []int
		for d := range magicard.CanvasDots {
			if p[line*stripe+d/8]&(0x80>>(d%8)) != 0 {
				dots = append(dots, d)
			}
		}
		return dots
	}
	for i, name := range []string{"front", "back"} {
		// The chip hole: Gutenprint's "SmartCard" overcoat hole, the
		// very same numbers.
		if !strings.Contains(headers[i], ",NCT90,295,260,450,") || !strings.Contains(headers[i], ",WID1016,HGT642,") {
			t.Errorf("%s header %q: want NCT90,295,260,450 and WID1016,HGT642", name, headers[i])
		}
		kp := planes[i]['K']
		for line := range magicard.Lines {
			var want []int
			switch {
			case line == 0:
				want = []int{12 + 647} // card (0, 0): the top row is the last dot
			case line >= 16 && line < 24:
				want = []int{652, 653, 654, 655, 656, 657, 658, 659} // rows 7 … 0
			case line == magicard.Lines-1:
				want = []int{12} // card (1015, 647): the bottom row is the first dot
			}
			if got := set(kp, line); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s K line %d: dots %v, want %v", name, line, got, want)
			}
		}
		// The red dot: every bit of yellow and magenta, no cyan, at
		// line 0, dot 659; nothing else dyed.
		for _, pl := range []struct {
			letter byte
			full   bool
		}{{'B', true}, {'G', true}, {'R', false}} {
			p := planes[i][pl.letter]
			for bit := range 6 {
				for line := range magicard.Lines {
					var want []int
					if pl.full && line == 0 {
						want = []int{659}
					}
					if got := set(p[bit*stripe:], line*6); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s plane %c bit %d line %d: dots %v, want %v", name, pl.letter, bit, line, got, want)
					}
				}
			}
		}
	}
}
