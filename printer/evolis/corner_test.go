package evolis_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// TestCornerMapping pins the orientation of a panel on the wire against the
// vendor's own drivers: with the card seen upright in landscape, wire line 0
// is the card's left edge and dot 0 of a line its bottom row. A mark in the
// card's top-left corner therefore lands at the start of the panel (line 0)
// and at the end of the line (dot 647): in a 1-bit line the last byte's low
// bit. A mark at the bottom-right lands in the last line's first dot.
func TestCornerMapping(t *testing.T) {
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	k.SetBit(0, 0, true)                   // top-left
	k.SetBit(g.Width-1, g.Height-1, true)  // bottom-right
	k.Fill(image.Rect(16, 0, 24, 8), true) // an 8 × 8 block at the top, 16 dots from the left
	col := image.NewRGBA(g.Bounds())
	for i := range col.Pix {
		col.Pix[i] = 0xff // white
	}
	col.SetRGBA(0, 0, color.RGBA{0xff, 0, 0, 0xff}) // a red dot top-left: yellow and magenta, no cyan
	card := &printer.Card{Geometry: g, Front: printer.Side{Color: col, K: k}}
	o := evolis.DefaultOpts()
	o.ColorDepth = 8 // one byte per sample: sample i is byte i
	s, err := evolis.Encode(card, &o)
	if err != nil {
		t.Fatal(err)
	}
	panels := map[string][]byte{}
	for i, c := range s.Commands {
		if c.Data != 0 {
			head := string(s.Bytes[c.Start+1 : c.Data])
			panels[head] = s.Bytes[c.Data : s.Commands[i].End-1]
		}
	}
	kd := panels["Db;k;2;"]
	if len(kd) != evolis.WireLines*evolis.LineBytes1 {
		t.Fatalf("K download %d bytes (have %v)", len(kd), keys(panels))
	}
	want := make([]byte, len(kd))
	want[0*evolis.LineBytes1+80] = 0x01                   // line 0 (left edge), dot 647 (top)
	want[(evolis.WireLines-1)*evolis.LineBytes1+0] = 0x80 // line 1015 (right edge), dot 0 (bottom)
	for line := 16; line < 24; line++ {                   // columns 16–23
		want[line*evolis.LineBytes1+80] = 0xff // rows 0–7 = dots 640–647
	}
	if !bytes.Equal(kd, want) {
		for i := range kd {
			if kd[i] != want[i] {
				t.Fatalf("K byte %d (line %d, byte %d) is %#02x, want %#02x", i, i/evolis.LineBytes1, i%evolis.LineBytes1, kd[i], want[i])
			}
		}
	}
	// The red dot: yellow and magenta full, no cyan, at line 0, dot 647.
	for name, v := range map[string]byte{"Db;y;256;": 0xff, "Db;m;256;": 0xff, "Db;c;256;": 0} {
		d := panels[name]
		if len(d) != evolis.WireLines*evolis.WireWidth {
			t.Fatalf("%s %d bytes", name, len(d))
		}
		if d[evolis.WireWidth-1] != v {
			t.Errorf("%s line 0 dot 647 = %#02x, want %#02x", name, d[evolis.WireWidth-1], v)
		}
		for i, b := range d {
			if b != 0 && i != evolis.WireWidth-1 {
				t.Fatalf("%s has dye at line %d dot %d", name, i/evolis.WireWidth, i%evolis.WireWidth)
			}
		}
	}
}

// TestEmulatorCornerMapping sends a panel built by hand (not by this
// driver) with one dot at line 0, dot 647: the emulator must show it at the
// card's top-left corner.
func TestEmulatorCornerMapping(t *testing.T) {
	e, err := emulator.New(evolisLang(t), &emulator.Options{Clock: emulator.NewFakeClock(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, evolis.WireLines*evolis.LineBytes1)
	data[80] = 0x01
	dl := append([]byte("\x1bDb;k;2;"), data...)
	dl = append(dl, evolis.CR)
	tr := e.Transport()
	for _, c := range [][]byte{[]byte("\x1bSs\r"), []byte("\x1bSr\r"), dl, []byte("\x1bSe\r")} {
		if _, err := tr.Write(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, tr); got != "OK" {
			t.Fatalf("%q: %q", c[:min(len(c), 8)], got)
		}
	}
	pr := e.Printed()
	if len(pr) != 1 {
		t.Fatalf("%d cards printed", len(pr))
	}
	k := pr[0].Card.Front.K
	g := printer.CR80(300)
	for y := 0; y < g.Height; y++ {
		for x := 0; x < g.Width; x++ {
			if k.BitAt(x, y) != (x == 0 && y == 0) {
				t.Fatalf("dot (%d, %d) is %v", x, y, k.BitAt(x, y))
			}
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func evolisLang(t *testing.T) emulator.Language {
	t.Helper()
	l, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// readLine reads one CR-terminated reply.
func readLine(t *testing.T, tr printer.Transport) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got []byte
	b := make([]byte, 1)
	for {
		if _, err := tr.Read(ctx, b); err != nil {
			t.Fatalf("read reply (have %q): %v", got, err)
		}
		if b[0] == evolis.CR {
			return string(got)
		}
		got = append(got, b[0])
	}
}
