package samples

import (
	"bytes"
	"image/jpeg"
	"testing"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/cardd/cardd/layout"
)

func TestShippedTemplates(t *testing.T) {
	names := TemplateNames()
	if len(names) < 2 {
		t.Fatalf("templates %v", names)
	}
	for _, n := range names {
		tp, err := Template(n, nil)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if tp.Name != n {
			t.Errorf("%s.toml names itself %q", n, tp.Name)
		}
	}
	if tp, _ := Template("temporary", nil); tp == nil || tp.Back != nil {
		t.Error("temporary must be single-sided")
	}
	if tp, _ := Template("permanent", nil); tp == nil || tp.Back == nil {
		t.Error("permanent must be dual-sided")
	}
	if _, err := Template("nosuch", nil); err == nil {
		t.Error("unknown template found")
	}
}

func TestJobsMatchTemplates(t *testing.T) {
	jobs, err := Jobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(TemplateNames()) {
		t.Errorf("%d jobs for %d templates", len(jobs), len(TemplateNames()))
	}
	for _, j := range jobs {
		tp, err := Template(j.Template, nil)
		if err != nil {
			t.Fatalf("job %s: %v", j.Name, err)
		}
		for _, f := range tp.Fields() {
			switch f {
			case "JobID", "Serial", "CardType", "IssuedAt", "Expires":
				continue
			}
			if _, ok := j.Data.Fields[f]; !ok {
				t.Errorf("job %s lacks field %q that template %s uses", j.Name, f, tp.Name)
			}
		}
		if j.Data.CardType != j.Template {
			t.Errorf("job %s: card type %q for template %s", j.Name, j.Data.CardType, j.Template)
		}
	}
}

func TestPortrait(t *testing.T) {
	a, err := PortraitJPEG(3, 120, 160)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PortraitJPEG(3, 120, 160)
	c, _ := PortraitJPEG(4, 120, 160)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different portraits")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same portrait")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(a))
	if err != nil || cfg.Width != 120 || cfg.Height != 160 {
		t.Errorf("portrait %+v, %v", cfg, err)
	}
	// A face: the centre differs from the top-left background.
	img := Portrait(9, 90, 120)
	if img.RGBAAt(2, 2) == img.RGBAAt(45, 50) {
		t.Error("flat portrait")
	}
}

func BenchmarkPortraitJPEG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PortraitJPEG(1, PortraitWidth, PortraitHeight); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNamesHaveGlyphs checks that every letter of the generated names is in
// the Go fonts the sample templates use (no missing-glyph boxes).
func TestNamesHaveGlyphs(t *testing.T) {
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			t.Fatal(err)
		}
		var buf sfnt.Buffer
		for _, name := range append(append([]string{}, surnames...), givens...) {
			for _, r := range name {
				if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
					t.Errorf("%q: no glyph for %q (U+%04X)", name, r, r)
				}
			}
		}
	}
}

// TestTemporaryNamesShrinkFirst: the temporary card's name lines shrink to
// the labels' size (5 pt) before they are cut, so a long name such as
// MÜLLER-LÜDENSCHEIDT prints whole in its box (the default minimum, 0.7 ×
// size, cut it with room to spare).
func TestTemporaryNamesShrinkFirst(t *testing.T) {
	tp, err := Template("temporary", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range tp.Front.Elements {
		if txt, ok := e.(*layout.Text); ok && (txt.Name == "surname" || txt.Name == "given names") {
			found[txt.Name] = true
			if txt.MinSize > 5 {
				t.Errorf("%s: min_size %v, want at most 5 pt", txt.Name, txt.MinSize)
			}
		}
	}
	if len(found) != 2 {
		t.Errorf("found %v, want the surname and given names text elements", found)
	}
}
