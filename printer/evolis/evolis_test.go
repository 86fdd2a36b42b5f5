package evolis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testColor draws a card-like colour image: a flat background (long runs),
// a gradient band, a noisy "photo" and a few saturated blocks.
func testColor(g printer.Geometry, seed uint64) *image.RGBA {
	img := image.NewRGBA(g.Bounds())
	rng := rand.New(rand.NewPCG(seed, 7))
	for y := 0; y < g.Height; y++ {
		for x := 0; x < g.Width; x++ {
			var c color.RGBA
			switch {
			case y < g.Height/4:
				c = color.RGBA{byte(x * 255 / g.Width), byte(255 - y*255/g.Height), 128, 255}
			case x < g.Width/3 && y > g.Height/2:
				c = color.RGBA{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), 255}
			case x > g.Width*2/3 && y > g.Height/2:
				c = color.RGBA{0, 40, 200, 255}
			default:
				c = color.RGBA{250, 248, 240, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func testMono(g printer.Geometry, seed uint64, density int) *printer.Mono {
	m := printer.NewMono(g.Bounds())
	rng := rand.New(rand.NewPCG(seed, 11))
	m.Fill(image.Rect(g.Width/10, g.Height/10, g.Width/2, g.Height/5+1), true)
	for y := g.Height / 2; y < g.Height; y++ {
		for x := 0; x < g.Width/2; x++ {
			m.SetBit(x, y, rng.IntN(density) == 0)
		}
	}
	return m
}

func fullOverlay(g printer.Geometry) *printer.Mono {
	m := printer.NewMono(g.Bounds())
	m.Fill(m.Rect, true)
	m.Fill(image.Rect(g.Width/8, g.Height/8, g.Width/4, g.Height/3), false) // chip hole
	return m
}

type cardKind struct {
	duplex, color, mag bool
}

func testCard(g printer.Geometry, k cardKind) *printer.Card {
	c := &printer.Card{Geometry: g}
	c.Front = printer.Side{K: testMono(g, 1, 5), Overlay: fullOverlay(g)}
	if k.color {
		c.Front.Color = testColor(g, 1)
	}
	if k.duplex {
		c.Back = &printer.Side{K: testMono(g, 2, 3)}
		if k.color {
			c.Back.Color = testColor(g, 2)
		}
	}
	if k.mag {
		c.Mag = printer.MagTracks{"%B1234^CARDD/TEST^2612?", ";1234=2612?", ""}
	}
	return c
}

var tiny = printer.Geometry{DPI: 300, Width: 16, Height: 8}

// annotate renders a stream as annotated hex: one command per line, text
// quoted; binary data up to 512 bytes dumped in hex, longer data by its
// length and SHA-256.
func annotate(s *evolis.Stream) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %d bytes, %d commands\n", len(s.Bytes), len(s.Commands))
	for i, c := range s.Commands {
		f := s.Frame(i)
		if c.Data == 0 {
			fmt.Fprintf(&b, "ESC %q CR\n", f[1:len(f)-1])
			continue
		}
		head := s.Bytes[c.Start+1 : c.Data]
		data := s.Bytes[c.Data : c.End-1]
		if len(data) > 512 {
			fmt.Fprintf(&b, "ESC %q [%d bytes sha256 %x] CR\n", head, len(data), sha256.Sum256(data))
			continue
		}
		fmt.Fprintf(&b, "ESC %q [%d bytes] CR\n", head, len(data))
		for off := 0; off < len(data); off += 16 {
			fmt.Fprintf(&b, "  %04x: % x\n", off, data[off:min(off+16, len(data))])
		}
	}
	return b.String()
}

func TestGoldenStreams(t *testing.T) {
	cr80 := printer.CR80(300)
	tests := []struct {
		name string
		g    printer.Geometry
		kind cardKind
		opts func(*evolis.Opts)
	}{
		{"tiny-simplex-k", tiny, cardKind{}, func(o *evolis.Opts) { o.Ribbon = "ko" }},
		{"tiny-duplex-ymcko-mag", tiny, cardKind{duplex: true, color: true, mag: true}, nil},
		{"tiny-duplex-ymcko-dbc", tiny, cardKind{duplex: true, color: true}, func(o *evolis.Opts) { o.Compress = true }},
		{"tiny-simplex-5bit-dbc", tiny, cardKind{color: true}, func(o *evolis.Opts) { o.Compress = true; o.ColorDepth = 5 }},
		{"tiny-simplex-6bit-offset", tiny, cardKind{color: true}, func(o *evolis.Opts) { o.ColorDepth = 6; o.OffsetXMM = 0.2 }},
		{"tiny-simplex-ymckos", tiny, cardKind{color: true}, func(o *evolis.Opts) { o.Ribbon = "ymckos" }},
		{"tiny-simplex-ymckos-dbpc", tiny, cardKind{color: true}, func(o *evolis.Opts) { o.Ribbon = "ymckos"; o.Compress = true }},
		{"cr80-duplex-ymcko", cr80, cardKind{duplex: true, color: true, mag: true}, nil},
		{"cr80-duplex-ymcko-dbc", cr80, cardKind{duplex: true, color: true}, func(o *evolis.Opts) { o.Compress = true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := evolis.DefaultOpts()
			if tc.opts != nil {
				tc.opts(&o)
			}
			s, err := evolis.Encode(testCard(tc.g, tc.kind), &o)
			if err != nil {
				t.Fatal(err)
			}
			got := annotate(s)
			path := filepath.Join("testdata", tc.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("stream differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	g := printer.CR80(300)
	o := evolis.DefaultOpts()
	simplex := evolis.DefaultOpts()
	simplex.Duplex, simplex.Magnetic = false, false
	tests := []struct {
		name string
		card *printer.Card
		o    evolis.Opts
		want error
	}{
		{"duplex on simplex printer", testCard(g, cardKind{duplex: true}), simplex, printer.ErrUnsupported},
		{"stripe without encoder", testCard(g, cardKind{mag: true}), simplex, printer.ErrUnsupported},
		{"uv panel", &printer.Card{Geometry: g, Front: printer.Side{UV: printer.NewMono(g.Bounds())}}, o, printer.ErrUnsupported},
		{"wrong panel size", &printer.Card{Geometry: g, Front: printer.Side{K: printer.NewMono(image.Rect(0, 0, 10, 10))}}, o, nil},
		{"bad track", &printer.Card{Geometry: g, Mag: printer.MagTracks{"", "12A", ""}}, o, nil},
		{"bad depth", testCard(g, cardKind{}), evolis.Opts{ColorDepth: 4}, nil},
		{"8-bit compressed", testCard(g, cardKind{}), evolis.Opts{ColorDepth: 8, Compress: true}, nil},
	}
	for _, tc := range tests {
		_, err := evolis.Encode(tc.card, &tc.o)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func newRig(t testing.TB, eo *emulator.Options, o *evolis.Opts) (*emulator.Emulator, *evolis.Dev) {
	t.Helper()
	if eo == nil {
		eo = &emulator.Options{}
	}
	eo.Clock = emulator.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	lang, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(lang, eo)
	if err != nil {
		t.Fatal(err)
	}
	return e, evolis.New(e.Transport(), o, nil)
}

func compareSide(t *testing.T, name string, got, want *printer.Side, depth int) {
	t.Helper()
	if (got.Color == nil) != (want.Color == nil) {
		t.Fatalf("%s: colour present %v, want %v", name, got.Color != nil, want.Color != nil)
	}
	if want.Color != nil {
		r := want.Color.Rect
		tol := 128 >> uint(depth)
		for y := 0; y < r.Dy(); y++ {
			for x := 0; x < r.Dx(); x++ {
				s := want.Color.RGBAAt(x+r.Min.X, y+r.Min.Y)
				g := got.Color.RGBAAt(x, y)
				for i, pair := range [][2]byte{{g.R, s.R}, {g.G, s.G}, {g.B, s.B}} {
					if d := int(pair[0]) - int(pair[1]); d > tol || d < -tol {
						t.Fatalf("%s: colour (%d,%d) channel %d = %d, source %d (tolerance %d)", name, x, y, i, pair[0], pair[1], tol)
					}
				}
			}
		}
	}
	for _, p := range []struct {
		n         string
		got, want *printer.Mono
	}{{"k", got.K, want.K}, {"overlay", got.Overlay, want.Overlay}} {
		if (p.got == nil) != (p.want == nil) {
			t.Fatalf("%s %s: present %v, want %v", name, p.n, p.got != nil, p.want != nil)
		}
		if p.want != nil && !bytes.Equal(p.got.Pix, p.want.Pix) {
			t.Fatalf("%s %s: decoded panel differs from source", name, p.n)
		}
	}
}

func TestRoundTripThroughEmulator(t *testing.T) {
	g := printer.CR80(300)
	tests := []struct {
		name     string
		kind     cardKind
		depth    int
		compress bool
	}{
		{"simplex-7", cardKind{color: true}, 7, false},
		{"simplex-7-dbc", cardKind{color: true}, 7, true},
		{"duplex-7-mag", cardKind{duplex: true, color: true, mag: true}, 7, false},
		{"duplex-7-dbc", cardKind{duplex: true, color: true}, 7, true},
		{"duplex-6-dbc", cardKind{duplex: true, color: true}, 6, true},
		{"duplex-5-dbc", cardKind{duplex: true, color: true}, 5, true},
		{"simplex-6", cardKind{color: true}, 6, false},
		{"simplex-5", cardKind{color: true}, 5, false},
		{"simplex-8", cardKind{color: true}, 8, false},
		{"mono-only-dbc", cardKind{}, 7, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := evolis.DefaultOpts()
			o.ColorDepth, o.Compress = tc.depth, tc.compress
			e, dev := newRig(t, nil, &o)
			card := testCard(g, tc.kind)
			res, err := dev.Print(context.Background(), card)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != printer.OutcomePrinted {
				t.Fatalf("outcome %s", res.Outcome)
			}
			pr := e.Printed()
			if len(pr) != 1 {
				t.Fatalf("%d cards printed", len(pr))
			}
			compareSide(t, "front", &pr[0].Card.Front, &card.Front, tc.depth)
			if card.Back != nil {
				if pr[0].Card.Back == nil {
					t.Fatal("back side missing")
				}
				compareSide(t, "back", pr[0].Card.Back, card.Back, tc.depth)
			} else if pr[0].Card.Back != nil {
				t.Fatal("unexpected back side")
			}
			if pr[0].Card.Mag != card.Mag {
				t.Errorf("stripe %q, want %q", pr[0].Card.Mag, card.Mag)
			}
			st := e.State()
			panels := len(card.Front.Panels()) + 2*btoi(card.Front.Color != nil)
			if card.Back != nil {
				panels += len(card.Back.Panels()) + 2*btoi(card.Back.Color != nil)
			}
			if st.PanelsPrinted != panels || st.CardsPrinted != 1 {
				t.Errorf("counters: %d panels (want %d), %d cards", st.PanelsPrinted, panels, st.CardsPrinted)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOffsetShiftsPrint(t *testing.T) {
	g := printer.CR80(300)
	o := evolis.DefaultOpts()
	o.OffsetXMM = 1 // 12 dots right
	e, dev := newRig(t, nil, &o)
	k := printer.NewMono(g.Bounds())
	k.SetBit(100, 200, true)
	if _, err := dev.Print(context.Background(), &printer.Card{Geometry: g, Front: printer.Side{K: k}}); err != nil {
		t.Fatal(err)
	}
	got := e.Printed()[0].Card.Front.K
	if !got.BitAt(112, 200) || got.Count() != 1 {
		t.Errorf("offset dot not at (112,200)")
	}
	o.OffsetXMM, o.BackOffsetYMM = 0, -0.5 // back: 6 dots up
	dev = evolis.New(e.Transport(), &o, nil)
	if _, err := dev.Print(context.Background(), &printer.Card{Geometry: g, Front: printer.Side{K: k}, Back: &printer.Side{K: k}}); err != nil {
		t.Fatal(err)
	}
	pc := e.Printed()[1]
	if !pc.Card.Front.K.BitAt(100, 200) || !pc.Card.Back.K.BitAt(100, 194) || pc.Card.Back.K.Count() != 1 {
		t.Errorf("per-side offsets not applied")
	}
}

func TestIdentifyAndStatus(t *testing.T) {
	e, dev := newRig(t, &emulator.Options{RibbonPanels: 40}, nil)
	ctx := context.Background()
	info, err := dev.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Vendor != "Evolis" || info.Serial != "EMU0000001" || info.Caps.Ribbon != "ymcko" || len(info.Caps.Panels) != 3 || !info.Caps.Duplex {
		t.Errorf("info %+v", info)
	}
	st, err := dev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 40 panels = 8 YMCKO prints: under the ribbon-low threshold.
	if st.State != printer.StateIdle || len(st.Reasons) != 1 || st.Reasons[0] != printer.ReasonRibbonLow || st.Consumables.RibbonLeft != 8 {
		t.Errorf("status %+v", st)
	}
	if err := dev.TestCard(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Printed()); n != 1 {
		t.Errorf("test card: %d printed", n)
	}
	st, _ = dev.Status(ctx)
	if st.Consumables.CardsPrinted != 1 || st.Consumables.PanelsPrinted != 1 {
		t.Errorf("counters %+v", st.Consumables)
	}
}

func TestFaultsSurface(t *testing.T) {
	g := printer.CR80(300)
	tests := []struct {
		name    string
		plan    emulator.FaultPlan
		reject  bool
		want    error
		reason  printer.Reason
		outcome printer.Outcome
	}{
		{"cover open", emulator.FaultPlan{CoverOpen: true}, true, printer.ErrCoverOpen, printer.ReasonCoverOpen, printer.OutcomeNotFed},
		{"feeder empty", emulator.FaultPlan{FeederEmpty: true}, true, printer.ErrFeederEmpty, printer.ReasonFeederEmpty, printer.OutcomeNotFed},
		{"hopper full", emulator.FaultPlan{HopperFull: true}, true, printer.ErrHopperFull, printer.ReasonHopperFull, printer.OutcomeNotFed},
		{"jam", emulator.FaultPlan{JamAtCard: 1}, true, printer.ErrCardJam, printer.ReasonCardJam, printer.OutcomeUnknown},
		{"ribbon out, rejected", emulator.FaultPlan{RibbonOutAfter: 3}, true, printer.ErrRibbonOut, printer.ReasonRibbonOut, printer.OutcomeRejected},
		{"ribbon out, left inside", emulator.FaultPlan{RibbonOutAfter: 3}, false, printer.ErrRibbonOut, printer.ReasonRibbonOut, printer.OutcomeUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := evolis.DefaultOpts()
			o.RejectOnFault = tc.reject
			e, dev := newRig(t, &emulator.Options{Faults: tc.plan}, &o)
			res, err := dev.Print(context.Background(), testCard(g, cardKind{duplex: true, color: true}))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var se *printer.StatusError
			if !errors.As(err, &se) || se.Raw == "" {
				t.Errorf("error %v carries no raw reply", err)
			}
			if res.Outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", res.Outcome, tc.outcome)
			}
			if !hasReason(res.Status.Reasons, tc.reason) {
				t.Errorf("result status reasons %v lack %s", res.Status.Reasons, tc.reason)
			}
			st, err := dev.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !hasReason(st.Reasons, tc.reason) || st.State != printer.StateError {
				t.Errorf("status %s %v lacks %s", st.State, st.Reasons, tc.reason)
			}
			if !errors.Is(st.Err(), tc.want) {
				t.Errorf("status error %v", st.Err())
			}
			for _, pc := range e.Printed() {
				if pc.Outcome == printer.OutcomePrinted {
					t.Error("emulator delivered a printed card")
				}
			}
		})
	}
}

func hasReason(rs []printer.Reason, r printer.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestDisconnect(t *testing.T) {
	g := printer.CR80(300)
	card := testCard(g, cardKind{duplex: true, color: true})
	s, err := evolis.Encode(card, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Byte offsets: inside the Pem command, and in the middle of the
	// second colour panel.
	tests := []struct {
		name    string
		at      int64
		outcome printer.Outcome
	}{
		{"before any card moves", 3, printer.OutcomeNotFed},
		{"mid-card", int64(s.Commands[5].Start + 1000), printer.OutcomeUnknown},
		{"in the last command", int64(len(s.Bytes) - 1), printer.OutcomeUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, dev := newRig(t, &emulator.Options{Faults: emulator.FaultPlan{DisconnectAtByte: tc.at}}, nil)
			res, err := dev.Print(context.Background(), card)
			if !errors.Is(err, printer.ErrNoDevice) {
				t.Fatalf("err %v, want ErrNoDevice", err)
			}
			if res.Outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", res.Outcome, tc.outcome)
			}
			if _, err := dev.Status(context.Background()); !errors.Is(err, printer.ErrNoDevice) {
				t.Errorf("status while down: %v", err)
			}
			// The printer comes back; a new driver on a new transport sees
			// the card left inside and rejects it.
			e.Reconnect()
			dev2 := evolis.New(e.Transport(), nil, nil)
			st, err := dev2.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.outcome == printer.OutcomeUnknown {
				if st.State != printer.StateBusy {
					t.Errorf("state after reconnect %s, want busy (card inside)", st.State)
				}
				if err := dev2.Eject(context.Background(), true); err != nil {
					t.Fatal(err)
				}
			}
			for _, pc := range e.Printed() {
				if pc.Outcome == printer.OutcomePrinted {
					t.Error("a card was delivered as printed across a disconnect")
				}
			}
		})
	}
}

func TestEjectAndClear(t *testing.T) {
	e, dev := newRig(t, nil, nil)
	ctx := context.Background()
	if err := dev.Eject(ctx, false); !errors.Is(err, printer.ErrProtocol) {
		t.Errorf("eject with no card: %v", err)
	}
	if err := dev.ClearError(ctx); err != nil {
		t.Error(err)
	}
	if err := e.Inject(emulator.FaultCoverOpen); err != nil {
		t.Fatal(err)
	}
	if err := dev.TestCard(ctx); !errors.Is(err, printer.ErrCoverOpen) {
		t.Errorf("test card with cover open: %v", err)
	}
}

func TestReplyTimeout(t *testing.T) {
	// A transport that never answers: the driver gives up with ErrTimeout.
	o := evolis.DefaultOpts()
	o.CommandTimeout = 20 * time.Millisecond
	dev := evolis.New(silent{}, &o, nil)
	if _, err := dev.Status(context.Background()); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("status from a silent printer: %v", err)
	}
}

type silent struct{}

func (silent) Write(ctx context.Context, p []byte) (int, error) { return len(p), nil }
func (silent) Read(ctx context.Context, p []byte) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}
func (silent) Close() error   { return nil }
func (silent) String() string { return "silent" }

func BenchmarkEncodeDuplexYMCKO(b *testing.B) {
	card := testCard(printer.CR80(300), cardKind{duplex: true, color: true})
	card.Back.Overlay = fullOverlay(card.Geometry)
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) {
			o := evolis.DefaultOpts()
			o.Compress = compress
			b.ReportAllocs()
			// The two sides are packed on two goroutines: count the
			// process's CPU time, not one thread's.
			start := benchcpu.Process()
			for b.Loop() {
				if _, err := evolis.Encode(card, &o); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}

func TestCancelMidCardIsUnknown(t *testing.T) {
	lang, _ := emulator.LanguageByName("evolis")
	tim := emulator.DefaultTiming()
	tim.Panel = time.Hour // the first panel never finishes
	e, err := emulator.New(lang, &emulator.Options{Timing: tim})
	if err != nil {
		t.Fatal(err)
	}
	dev := evolis.New(e.Transport(), nil, nil)
	// Cancel once the card is inside (not on a timer: encoding the card
	// may take long under the race detector, and a cancellation before
	// the feed is rightly "not fed").
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for !e.State().CardInside {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		cancel()
	}()
	start := time.Now()
	res, err := dev.Print(ctx, testCard(printer.CR80(300), cardKind{color: true}))
	if err == nil {
		t.Fatal("print finished")
	}
	if !errors.Is(err, printer.ErrTimeout) && !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	if res.Outcome != printer.OutcomeUnknown {
		t.Errorf("outcome %s, want unknown", res.Outcome)
	}
	if d := time.Since(start); d > testwait.Limit() {
		t.Errorf("cancellation took %v", d)
	}
}

// Images whose bounds do not start at the origin print the same.
func TestOffsetBoundsSameStream(t *testing.T) {
	g := printer.CR80(300)
	card := testCard(g, cardKind{color: true})
	base, err := evolis.Encode(card, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(-20, -10, g.Width+30, g.Height+40))
	r := image.Rect(5, 7, 5+g.Width, 7+g.Height)
	draw.Draw(big, r, card.Front.Color, image.Point{}, draw.Src)
	moved := func(m *printer.Mono) *printer.Mono {
		n := printer.NewMono(r)
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				n.SetBit(x+5, y+7, m.BitAt(x, y))
			}
		}
		return n
	}
	card2 := &printer.Card{Geometry: g, Front: printer.Side{
		Color:   big.SubImage(r).(*image.RGBA),
		K:       moved(card.Front.K),
		Overlay: moved(card.Front.Overlay),
	}}
	s, err := evolis.Encode(card2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Bytes, base.Bytes) {
		t.Error("stream differs when the images' bounds are moved")
	}
}
