package magicard_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/magicard"
)

// instantPoll makes the driver poll at once and never time out by the
// clock: the emulator runs on a fake clock, so nothing needs to wait.
func instantPoll(d time.Duration) <-chan time.Time {
	if d >= time.Minute {
		return nil
	}
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

// newRig returns an emulated Magicard (model names "Enduro" for the
// Enduro format) and a driver on it.
func newRig(t *testing.T, model string, plan emulator.FaultPlan, opts magicard.Opts) (*emulator.Emulator, *magicard.Dev) {
	t.Helper()
	lang, err := emulator.LanguageByName("magicard")
	if err != nil {
		t.Fatal(err)
	}
	id := emulator.MagicardIdentity()
	if model != "" {
		id.Model = model
	}
	emu, err := emulator.New(lang, &emulator.Options{
		Identity: id,
		Clock:    emulator.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)),
		Faults:   plan,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := emu.Transport()
	t.Cleanup(func() { tr.Close() })
	opts.After = instantPoll
	return emu, magicard.New(tr, &opts, nil)
}

// checkSide compares a decoded side with its source: colour within 6-bit
// quantisation (exactly the quantised value), K and overlay bit for bit.
func checkSide(t *testing.T, name string, got, want *printer.Side, g printer.Geometry) {
	t.Helper()
	if want.Color != nil {
		if got.Color == nil {
			t.Fatalf("%s: colour panel lost", name)
		}
		bad := 0
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				s := want.Color.RGBAAt(want.Color.Rect.Min.X+x, want.Color.Rect.Min.Y+y)
				d := got.Color.RGBAAt(got.Color.Rect.Min.X+x, got.Color.Rect.Min.Y+y)
				for i, pair := range [][2]uint8{{s.R, d.R}, {s.G, d.G}, {s.B, d.B}} {
					q := printer.Quantize(pair[0], 6)
					diff := int(pair[0]) - int(pair[1])
					if pair[1] != q || diff < -4 || diff > 4 {
						if bad++; bad < 5 {
							t.Errorf("%s: (%d,%d) channel %d: got %d, source %d (6-bit %d)", name, x, y, i, pair[1], pair[0], q)
						}
					}
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%s: %d channel values off", name, bad)
		}
	} else if got.Color != nil {
		t.Errorf("%s: colour panel appeared", name)
	}
	for _, p := range []struct {
		n         string
		got, want *printer.Mono
	}{{"K", got.K, want.K}, {"overlay", got.Overlay, want.Overlay}} {
		if p.want == nil {
			continue
		}
		if p.got == nil {
			t.Fatalf("%s: %s panel lost", name, p.n)
		}
		diff := 0
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				if p.got.BitAt(p.got.Rect.Min.X+x, p.got.Rect.Min.Y+y) != p.want.BitAt(p.want.Rect.Min.X+x, p.want.Rect.Min.Y+y) {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %s panel differs in %d dots", name, p.n, diff)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		model  string
		opts   magicard.Opts
		card   func() *printer.Card
		panels int
	}{
		{"simplex", "", magicard.Opts{}, func() *printer.Card { return magicard.SampleCard(false, false) }, 5},
		{"duplex mag", "", magicard.Opts{}, func() *printer.Card { return magicard.SampleCard(true, true) }, 7},
		{"k only", "", magicard.Opts{}, func() *printer.Card {
			c := magicard.SampleCard(false, false)
			c.Front.Color, c.Front.Overlay = nil, nil
			return c
		}, 1},
		{"duplex colour both sides", "", magicard.Opts{}, func() *printer.Card {
			c := magicard.SampleCard(true, false)
			c.Back.Color = c.Front.Color
			return c
		}, 10},
		{"enduro simplex", "Enduro 3E", magicard.Opts{Format: magicard.FormatEnduro}, func() *printer.Card { return magicard.SampleCard(false, false) }, 5},
		{"enduro auto-detected", "Pronto", magicard.Opts{AutoFormat: true}, func() *printer.Card { return magicard.SampleCard(false, false) }, 5},
		{"enduro duplex", "Enduro 3E", magicard.Opts{Format: magicard.FormatEnduro}, func() *printer.Card { return magicard.SampleCard(true, true) }, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu, dev := newRig(t, tc.model, emulator.FaultPlan{}, tc.opts)
			card := tc.card()
			res, err := dev.Print(context.Background(), card)
			if err != nil {
				t.Fatalf("Print: %v", err)
			}
			if res.Outcome != printer.OutcomePrinted {
				t.Fatalf("outcome %s, want printed", res.Outcome)
			}
			out := emu.Printed()
			if len(out) != 1 {
				t.Fatalf("%d cards out, want 1", len(out))
			}
			got := out[0].Card
			if got.Geometry != card.Geometry {
				t.Fatalf("geometry %+v, want %+v", got.Geometry, card.Geometry)
			}
			checkSide(t, "front", &got.Front, &card.Front, card.Geometry)
			if card.Back != nil {
				if got.Back == nil {
					t.Fatal("back lost")
				}
				checkSide(t, "back", got.Back, card.Back, card.Geometry)
			} else if got.Back != nil {
				t.Error("back appeared")
			}
			if got.Mag != card.Mag {
				t.Errorf("mag tracks %q, want %q", got.Mag, card.Mag)
			}
			if st := emu.State(); st.PanelsPrinted != tc.panels || st.CardsPrinted != 1 {
				t.Errorf("emulator counted %d panels, %d cards; want %d, 1", st.PanelsPrinted, st.CardsPrinted, tc.panels)
			}
			if res.Status.Consumables.CardsPrinted != 1 {
				t.Errorf("result status counts %d cards", res.Status.Consumables.CardsPrinted)
			}
		})
	}
}

// TestRoundTripOffset checks calibration: content moves by the offset.
func TestRoundTripOffset(t *testing.T) {
	t.Parallel()
	emu, dev := newRig(t, "", emulator.FaultPlan{}, magicard.Opts{OffsetX: 2.54, OffsetY: -0.254, BackOffsetX: -0.254, BackOffsetY: 0.508})
	c := magicard.SampleCard(true, false)
	if _, err := dev.Print(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	out := emu.Printed()[0].Card
	for _, s := range []struct {
		name     string
		got, src *printer.Mono
		dx, dy   int
	}{
		{"front", out.Front.K, c.Front.K, 30, -3}, // 2.54 mm, -0.254 mm at 300 dpi
		{"back", out.Back.K, c.Back.K, -3, 6},
	} {
		bad := 0
		for y := 10; y < 600; y++ {
			for x := 40; x < 980; x++ {
				if s.got.BitAt(x+s.dx, y+s.dy) != s.src.BitAt(x, y) {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s K panel not shifted by (%d,%d): %d dots differ", s.name, s.dx, s.dy, bad)
		}
	}
}

func TestPrintFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		plan    emulator.FaultPlan
		is      error
		reason  printer.Reason
		outcome printer.Outcome
		fix     emulator.Fault
	}{
		{"cover open", emulator.FaultPlan{CoverOpen: true}, printer.ErrCoverOpen, printer.ReasonCoverOpen, printer.OutcomeNotFed, emulator.FaultCoverOpen},
		{"feeder empty", emulator.FaultPlan{FeederEmpty: true}, printer.ErrFeederEmpty, printer.ReasonFeederEmpty, printer.OutcomeNotFed, emulator.FaultFeederEmpty},
		{"hopper full", emulator.FaultPlan{HopperFull: true}, printer.ErrHopperFull, printer.ReasonHopperFull, printer.OutcomeNotFed, emulator.FaultHopperFull},
		{"ribbon out mid-card", emulator.FaultPlan{RibbonOutAfter: 3}, printer.ErrRibbonOut, printer.ReasonRibbonOut, printer.OutcomeUnknown, emulator.FaultRibbonOut},
		{"jam", emulator.FaultPlan{JamAtCard: 1}, printer.ErrCardJam, printer.ReasonCardJam, printer.OutcomeUnknown, emulator.FaultJam},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu, dev := newRig(t, "", tc.plan, magicard.Opts{})
			ctx := context.Background()
			res, err := dev.Print(ctx, magicard.SampleCard(false, false))
			if !errors.Is(err, tc.is) {
				t.Fatalf("Print error %v, want %v", err, tc.is)
			}
			var se *printer.StatusError
			if !errors.As(err, &se) || !slices.Contains(se.Reasons, tc.reason) || se.Raw == "" {
				t.Errorf("error %v: want a *printer.StatusError with %s and the raw reply", err, tc.reason)
			}
			if res.Outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", res.Outcome, tc.outcome)
			}
			if len(emu.Printed()) != 0 {
				t.Error("a card came out")
			}
			st, err := dev.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != printer.StateError || !slices.Contains(st.Reasons, tc.reason) {
				t.Errorf("status %s %v, want error with %s", st.State, st.Reasons, tc.reason)
			}
			// Clearing without fixing keeps reporting a sensed fault;
			// after the operator's fix, it clears.
			if err := emu.Fix(tc.fix); err != nil {
				t.Fatal(err)
			}
			if err := dev.ClearError(ctx); err != nil {
				t.Fatalf("ClearError after fix: %v", err)
			}
			if tc.outcome == printer.OutcomeUnknown {
				// The spoiled card is still inside: cancel it out.
				if err := dev.Cancel(ctx); err != nil {
					t.Fatal(err)
				}
			}
			res, err = dev.Print(ctx, magicard.SampleCard(false, false))
			if err != nil || res.Outcome != printer.OutcomePrinted {
				t.Fatalf("print after fix: %s, %v", res.Outcome, err)
			}
		})
	}
}

func TestClearErrorKeepsSensedFault(t *testing.T) {
	t.Parallel()
	_, dev := newRig(t, "", emulator.FaultPlan{CoverOpen: true}, magicard.Opts{})
	err := dev.ClearError(context.Background())
	if !errors.Is(err, printer.ErrCoverOpen) {
		t.Fatalf("ClearError with the cover open: %v, want ErrCoverOpen", err)
	}
}

func TestDisconnectMidCard(t *testing.T) {
	t.Parallel()
	emu, dev := newRig(t, "", emulator.FaultPlan{DisconnectAtByte: 300_000}, magicard.Opts{})
	res, err := dev.Print(context.Background(), magicard.SampleCard(true, false))
	if !errors.Is(err, printer.ErrNoDevice) {
		t.Fatalf("Print error %v, want ErrNoDevice", err)
	}
	if res.Outcome != printer.OutcomeUnknown {
		t.Fatalf("outcome %s after a disconnect mid-card, want unknown", res.Outcome)
	}
	if len(emu.Printed()) != 0 {
		t.Error("a card came out")
	}
}

func TestDisconnectBeforeJob(t *testing.T) {
	t.Parallel()
	emu, dev := newRig(t, "", emulator.FaultPlan{}, magicard.Opts{ReplyTimeout: time.Second})
	emu.Disconnect()
	res, err := dev.Print(context.Background(), magicard.SampleCard(false, false))
	if !errors.Is(err, printer.ErrNoDevice) || res.Outcome != printer.OutcomeNotFed {
		t.Fatalf("Print on a dead link: %s, %v; want not-fed, ErrNoDevice", res.Outcome, err)
	}
}

func TestIdentifyAndQuery(t *testing.T) {
	t.Parallel()
	_, dev := newRig(t, "", emulator.FaultPlan{}, magicard.Opts{})
	ctx := context.Background()
	info, err := dev.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := emulator.MagicardIdentity()
	if info.Model != id.Model || info.Serial != id.Serial || info.Firmware != id.Firmware ||
		!info.Caps.Duplex || !info.Caps.Magnetic || info.Caps.DPI != 300 || len(info.Caps.Panels) != 3 {
		t.Errorf("Identify = %+v", info)
	}
	for key, want := range map[string]string{"MSR": id.Serial, "VRS": id.Firmware, "TCQ": "0", "VID": "3103"} {
		got, err := dev.Query(ctx, key)
		if err != nil || got != want {
			t.Errorf("Query(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := dev.Query(ctx, "TOOLONG"); err == nil {
		t.Error("Query accepted a bad key")
	}
	if err := dev.TestCard(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := dev.Status(ctx)
	if err != nil || st.Consumables.CardsPrinted != 1 || st.State != printer.StateIdle {
		t.Errorf("after test card: %+v, %v", st, err)
	}
	if err := dev.Eject(ctx, true); !errors.Is(err, printer.ErrUnsupported) {
		t.Errorf("Eject(reject) = %v, want ErrUnsupported", err)
	}
	if err := dev.Eject(ctx, false); err != nil {
		t.Errorf("Eject = %v", err)
	}
}

func TestPrintRefusesUV(t *testing.T) {
	t.Parallel()
	emu, dev := newRig(t, "", emulator.FaultPlan{}, magicard.Opts{})
	c := magicard.SampleCard(false, false)
	c.Front.UV = printer.NewMono(image.Rect(0, 0, 1016, 648))
	res, err := dev.Print(context.Background(), c)
	if !errors.Is(err, printer.ErrUnsupported) || res.Outcome != printer.OutcomeNotFed {
		t.Fatalf("Print with UV: %s, %v", res.Outcome, err)
	}
	if emu.State().CardsFed != 0 {
		t.Error("a card was fed")
	}
}

func BenchmarkEmulatorDecodeDuplex(b *testing.B) {
	lang, _ := emulator.LanguageByName("magicard")
	c := magicard.SampleCard(true, true)
	c.Back.Color = c.Front.Color
	job, err := magicard.AppendJob(nil, c, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	emu, err := emulator.New(lang, &emulator.Options{Clock: emulator.NewFakeClock(time.Time{}), FeederCards: 1 << 30, HopperCapacity: 1 << 30, RibbonPanels: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	tr := emu.Transport()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(job)))
	for b.Loop() {
		if _, err := tr.Write(ctx, job); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := len(emu.Printed()); n == 0 {
		b.Fatal(fmt.Sprint("no card printed"))
	}
}
