package layout_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"log/slog"
	"strings"
	"testing"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
)

// permanentJob returns the shipped permanent template and its sample job.
func permanentJob(t *testing.T) (*layout.Template, *layout.Data) {
	t.Helper()
	tp, err := samples.Template("permanent", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := samples.Generate("permanent", 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	return tp, jobs[0]
}

// elementsOn returns the names of the elements of side st on panel p.
func elementsOn(st *layout.SideTemplate, p printer.Panel) []string {
	var out []string
	for _, e := range st.Elements {
		if b := e.Common(); b.Panel == p {
			out = append(out, b.Name)
		}
	}
	return out
}

// TestPanelsSkipped renders the permanent sample for ribbons with and
// without some panels: elements on a missing panel are skipped and
// reported, the missing panel is not in the card, and the other panels are
// exactly those of a render with every panel.
func TestPanelsSkipped(t *testing.T) {
	tp, d := permanentJob(t)
	g := printer.CR80(300)
	ctx := context.Background()
	all, err := layout.NewRenderer(nil).RenderWith(ctx, tp, d, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Skipped) != 0 {
		t.Fatalf("all panels: skipped %v", all.Skipped)
	}
	if all.Card.Front.UV == nil {
		t.Fatal("all panels: no UV panel on the front")
	}
	uvNames := elementsOn(tp.Front, printer.PanelUV)
	if len(uvNames) < 3 {
		t.Fatalf("permanent front has %d UV elements (%v), want serial, ghost and artwork", len(uvNames), uvNames)
	}
	tests := []struct {
		name        string
		ro          layout.RenderOptions
		wantSkipped []string // "side/name/panel"
		noUV        bool
		noOverlay   bool
	}{
		{
			name: "ymcko",
			ro:   layout.RenderOptions{Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}},
			noUV: true,
		},
		{
			name:      "ymck front, k back",
			ro:        layout.RenderOptions{Panels: []printer.Panel{printer.PanelColor, printer.PanelK}, BackPanels: []printer.Panel{printer.PanelK, printer.PanelColor}},
			noUV:      true,
			noOverlay: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := layout.NewRenderer(nil).RenderWith(ctx, tp, d, g, &tt.ro)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			var want []string
			for _, st := range tp.Sides() {
				for _, e := range st.Elements {
					b := e.Common()
					if b.Panel == printer.PanelUV && tt.noUV || b.Panel == printer.PanelOverlay && tt.noOverlay {
						want = append(want, st.Name+"/"+b.Name+"/"+string(b.Panel))
					}
				}
			}
			var got []string
			for _, s := range res.Skipped {
				got = append(got, s.Side+"/"+s.Name+"/"+string(s.Panel))
				if s.Template != "permanent" || s.Kind == "" || s.Index < 1 {
					t.Errorf("skipped %+v: want template, kind and index", s)
				}
				if str := s.String(); !strings.Contains(str, "permanent") || !strings.Contains(str, string(s.Panel)) {
					t.Errorf("skipped %q does not name the template and panel", str)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("skipped\n %v\nwant\n %v", got, want)
			}
			for _, s := range []*printer.Side{&res.Card.Front, res.Card.Back} {
				if tt.noUV && s.UV != nil {
					t.Error("UV panel present on a ribbon without one")
				}
				if tt.noOverlay && s.Overlay != nil {
					t.Error("overlay panel present on a ribbon without one")
				}
			}
			// UV and overlay elements touch no other panel: colour and K
			// are the same as with every panel.
			if !bytes.Equal(res.Card.Front.Color.Pix, all.Card.Front.Color.Pix) || !bytes.Equal(res.Card.Front.K.Pix, all.Card.Front.K.Pix) {
				t.Error("front colour or K differs from the all-panel render")
			}
			if !bytes.Equal(res.Card.Back.Color.Pix, all.Card.Back.Color.Pix) || !bytes.Equal(res.Card.Back.K.Pix, all.Card.Back.K.Pix) {
				t.Error("back colour or K differs from the all-panel render")
			}
		})
	}
}

// TestPanelsDefaultFromOptions checks Options.Panels is the default of a
// Render and that Render logs each skipped element once at warning level,
// or at debug level when the template marks it panel_optional (the
// shipped permanent template's UV elements).
func TestPanelsDefaultFromOptions(t *testing.T) {
	tp, d := permanentJob(t)
	for _, e := range tp.Front.Elements {
		if b := e.Common(); b.Panel == printer.PanelUV && !b.PanelOptional {
			t.Errorf("the shipped permanent template's UV element %q is not panel_optional", b.Name)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := layout.NewRenderer(&layout.Options{Logger: log, Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}})
	for range 3 {
		c, err := r.Render(context.Background(), tp, d, printer.CR80(300))
		if err != nil {
			t.Fatal(err)
		}
		if c.Front.UV != nil {
			t.Fatal("UV panel rendered though Options.Panels leaves it out")
		}
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"element skipped"); n != 0 {
		t.Errorf("%d warnings for panel_optional elements:\n%s", n, logs.String())
	}
	n := strings.Count(logs.String(), "level=DEBUG msg=\"element skipped")
	if want := 3 * len(elementsOn(tp.Front, printer.PanelUV)); n != want {
		t.Errorf("%d debug lines over 3 cards, want %d (one per UV element and card):\n%s", n, want, logs.String())
	}
	// An element not marked panel_optional is a warning, once.
	for _, e := range tp.Front.Elements {
		e.Common().PanelOptional = false
	}
	logs.Reset()
	r = layout.NewRenderer(&layout.Options{Logger: log, Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}})
	for range 3 {
		if _, err := r.Render(context.Background(), tp, d, printer.CR80(300)); err != nil {
			t.Fatal(err)
		}
	}
	n = strings.Count(logs.String(), "level=WARN msg=\"element skipped")
	if want := len(elementsOn(tp.Front, printer.PanelUV)); n != want {
		t.Errorf("%d warnings over 3 cards, want %d (one per UV element):\n%s", n, want, logs.String())
	}
	if !strings.Contains(logs.String(), "panel=uv") || !strings.Contains(logs.String(), "template=permanent") {
		t.Errorf("warnings do not name the template and panel:\n%s", logs.String())
	}
}

// TestRequiredPanel: a required element on a panel the ribbon lacks fails
// the render with an error naming the template, element and panel; with
// the panel present it renders.
func TestRequiredPanel(t *testing.T) {
	src := `name = "uvcard"
[front]
[[front.element]]
kind = "background"
fill = "#ffffff"

[[front.element]]
kind = "text"
name = "uv serial"
panel = "uv"
required = true
text = "{{.Serial}}"
size = 12
x = 5.0
y = 5.0
`
	tp := parseTemplate(t, src)
	d := &layout.Data{JobID: "J1", Serial: "EX1"}
	g := printer.CR80(300)
	r := layout.NewRenderer(nil)
	_, err := r.RenderWith(context.Background(), tp, d, g, &layout.RenderOptions{Panels: []printer.Panel{printer.PanelColor, printer.PanelK}})
	if !errors.Is(err, layout.ErrPanelMissing) {
		t.Fatalf("err = %v, want ErrPanelMissing", err)
	}
	var le *layout.Error
	if !errors.As(err, &le) || le.Name != "uv serial" || le.Side != "front" || le.Index != 2 {
		t.Errorf("err = %#v, want a *layout.Error naming front element 2 \"uv serial\"", err)
	}
	for _, s := range []string{"t.toml", "uv serial", "uv", "color,k"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	res, err := r.RenderWith(context.Background(), tp, d, g, &layout.RenderOptions{Panels: []printer.Panel{printer.PanelColor, printer.PanelUV}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Card.Front.UV == nil || inkBounds(res.Card.Front.UV).Empty() {
		t.Error("required UV text not drawn on a ribbon with UV")
	}
}

// perCardRegion returns, in canvas dots, the union of the boxes of the
// elements of st that are not static, grown by margin millimetres; an
// element without a height (text, a microtext line) gets 7 mm.
func perCardRegion(st *layout.SideTemplate, dpi int, margin float64) []image.Rectangle {
	var out []image.Rectangle
	for _, e := range st.Elements {
		if s, ok := e.(layout.Static); ok && s.Static() {
			continue
		}
		b := e.Common()
		w, h := b.W, b.H
		if w == 0 {
			w = 60
		}
		if h == 0 {
			h = 7
		}
		out = append(out, boxDots(dpi, b.X-margin, b.Y-margin, w+2*margin, h+2*margin))
	}
	return out
}

func inAny(p image.Point, rs []image.Rectangle) bool {
	for _, r := range rs {
		if p.In(r) {
			return true
		}
	}
	return false
}

// TestStaticCacheSerials renders two cards that differ only in their
// serial with one renderer (the second from the static-prefix cache): the
// panels may differ only inside the boxes of per-card elements, and they
// do differ (the serial is printed).
func TestStaticCacheSerials(t *testing.T) {
	for _, name := range []string{"temporary", "permanent"} {
		t.Run(name, func(t *testing.T) {
			tp, err := samples.Template(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := samples.Generate(name, 1, 9)
			if err != nil {
				t.Fatal(err)
			}
			a := jobs[0]
			b := *a
			b.Serial = "EX99999997"
			g := printer.CR80(300)
			r := layout.NewRenderer(nil)
			ca, err := r.Render(context.Background(), tp, a, g)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := r.Render(context.Background(), tp, &b, g)
			if err != nil {
				t.Fatal(err)
			}
			sides := []struct {
				st   *layout.SideTemplate
				x, y *printer.Side
			}{{tp.Front, &ca.Front, &cb.Front}}
			if tp.Back != nil {
				sides = append(sides, struct {
					st   *layout.SideTemplate
					x, y *printer.Side
				}{tp.Back, ca.Back, cb.Back})
			}
			differ := 0
			for _, s := range sides {
				allowed := perCardRegion(s.st, 300, 1)
				for y := 0; y < g.Height; y++ {
					for x := 0; x < g.Width; x++ {
						p := image.Pt(x, y)
						d := s.x.Color.RGBAAt(x, y) != s.y.Color.RGBAAt(x, y) || s.x.K.BitAt(x, y) != s.y.K.BitAt(x, y)
						if s.x.UV != nil {
							d = d || s.x.UV.BitAt(x, y) != s.y.UV.BitAt(x, y)
						}
						if !d {
							continue
						}
						differ++
						if !inAny(p, allowed) {
							t.Fatalf("%s: dot %v differs outside every per-card element", s.st.Name, p)
						}
					}
				}
			}
			if differ == 0 {
				t.Error("cards with different serials are identical")
			}
		})
	}
}
