package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/magicard"
)

func newMagicard(t testing.TB, o *Options) *Emulator {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	o.Clock = NewFakeClock(epoch)
	l, err := LanguageByName("magicard")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(l, o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mcCard is a small test card: a colour ramp, K bars and an overlay with a
// hole; back adds a K-only back.
func mcCard(back bool) *printer.Card {
	g := printer.CR80(300)
	c := &printer.Card{Geometry: g}
	img := image.NewRGBA(g.Bounds())
	for y := 0; y < g.Height; y++ {
		for x := 0; x < g.Width; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(100, 100, 400, 120), true)
	o := printer.NewMono(g.Bounds())
	o.Fill(g.Bounds(), true)
	o.Fill(image.Rect(0, 420, g.Width, 591), false)
	c.Front = printer.Side{Color: img, K: k, Overlay: o}
	if back {
		bk := printer.NewMono(g.Bounds())
		bk.Fill(image.Rect(10, 10, 50, 600), true)
		c.Back = &printer.Side{K: bk}
	}
	return c
}

func mcJob(t testing.TB, c *printer.Card) []byte {
	t.Helper()
	b, err := magicard.AppendJob(nil, c, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mcReq frames a REQ command as the driver does.
func mcReq(args ...string) []byte {
	b := append(bytes.Repeat([]byte{magicard.ENQ}, 9), magicard.SOH)
	b = append(b, "REQ,"...)
	for _, a := range args {
		b = append(b, a...)
		b = append(b, ',')
	}
	return append(b, magicard.FS, magicard.ETX)
}

// mcInf asks INF and parses the reply.
func mcInf(t testing.TB, tr printer.Transport) magicard.Inf {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	if _, err := tr.Write(ctx, mcReq("INF")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 256)
	for !bytes.Contains(got, []byte{magicard.ETX}) {
		n, err := tr.Read(ctx, buf)
		if err != nil {
			t.Fatalf("INF reply (have %q): %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	inf, err := magicard.ParseINF(got)
	if err != nil {
		t.Fatal(err)
	}
	return inf
}

// replaceHeader swaps the first side's header text.
func replaceHeader(job []byte, old, new string) []byte {
	end := magicard.LeadIn + 2 + bytes.IndexByte(job[magicard.LeadIn+2:], magicard.FS)
	h := strings.Replace(string(job[magicard.LeadIn+2:end]), old, new, 1)
	out := append([]byte{}, job[:magicard.LeadIn+2]...)
	out = append(out, h...)
	return append(out, job[end:]...)
}

func TestMagicardStrictParser(t *testing.T) {
	t.Parallel()
	simplex := mcJob(t, mcCard(false))
	duplex := mcJob(t, mcCard(true))
	planeB := bytes.Index(simplex, []byte{magicard.FS, 'B', ':'})
	tests := []struct {
		name  string
		in    []byte
		minor int
	}{
		{"short lead-in", simplex[1:], magicard.MinorBadLeadIn},
		{"long lead-in", append([]byte{magicard.ENQ}, simplex...), magicard.MinorBadLeadIn},
		{"garbage", []byte("hello\x03"), magicard.MinorBadLeadIn},
		{"unknown header command", replaceHeader(simplex, "CPW50", "ZZZ50"), magicard.MinorBadHeader},
		{"NOC not first", replaceHeader(simplex, "NOC1,DPXOFF", "DPXOFF,NOC1"), magicard.MinorBadHeader},
		{"window", replaceHeader(simplex, "WID1016,HGT642", "WID642,HGT642"), magicard.MinorBadHeader},
		{"NCT without overcoat", replaceHeader(simplex, "OVRON,PCT", "OVROFF,NCT1,1,2,2,PCT"), magicard.MinorBadHeader},
		{"back without its lead-in", func() []byte {
			i := bytes.LastIndex(duplex, bytes.Repeat([]byte{magicard.ENQ}, magicard.LeadIn))
			return append(append([]byte{}, duplex[:i]...), duplex[i+magicard.LeadIn:]...)
		}(), magicard.MinorBadLeadIn},
		{"back without DPXON", func() []byte {
			i := bytes.LastIndex(duplex, []byte("DPXON,PAG2"))
			b := append([]byte{}, duplex[:i]...)
			b = append(b, "PAG2"...)
			return append(b, duplex[i+len("DPXON,PAG2"):]...)
		}(), magicard.MinorBadHeader},
		{"duplicate", replaceHeader(simplex, "CPW50", "CPW50,CPW50"), magicard.MinorBadHeader},
		{"power range", replaceHeader(simplex, "CPW50", "CPW0"), magicard.MinorBadHeader},
		{"no PAG", replaceHeader(simplex, ",PAG1", ""), magicard.MinorBadHeader},
		{"HGT", replaceHeader(simplex, "WID1016", "WID1000"), magicard.MinorBadHeader},
		{"PCT reversed", replaceHeader(simplex, "PCT0,0,1015,641", "PCT1015,0,0,641"), magicard.MinorBadHeader},
		{"SZ wrong", replaceHeader(simplex, "SZG512064", "SZG512000"), magicard.MinorBadLength},
		{"SZ missing", replaceHeader(simplex, "SZG512064,", ""), magicard.MinorBadLength},
		{"plane short", append(append([]byte{}, simplex[:planeB-1]...), simplex[planeB:]...), magicard.MinorBadLength},
		{"trailer letter", func() []byte {
			b := append([]byte{}, simplex...)
			b[planeB+1] = 'X'
			return b
		}(), magicard.MinorBadTrailer},
		{"no ETX", func() []byte {
			b := append([]byte{}, simplex...)
			b[len(b)-1] = 0
			return append(b, 0)
		}(), magicard.MinorBadEnd},
		{"BAC mismatch", replaceHeader(duplex, "BACK", "BACCK"), magicard.MinorBadHeader},
		{"MAG bad", replaceHeader(simplex, "CPW50", "MAG2,BPI75,MPC5,COEH,ABC"), magicard.MinorBadHeader},
		{"unknown command", mcReq("XYZ"), magicard.MinorUnknownCmd},
		{"unknown STA key", mcReq("STA", "QQQ"), magicard.MinorUnknownCmd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newMagicard(t, nil)
			tr := e.Transport()
			if _, err := tr.Write(context.Background(), tc.in); err != nil {
				t.Fatalf("write: %v", err)
			}
			inf := mcInf(t, tr)
			if inf.Major != magicard.MajorCommand || inf.Minor != tc.minor {
				t.Fatalf("INF error %d/%d, want %d/%d", inf.Major, inf.Minor, magicard.MajorCommand, tc.minor)
			}
			if st := e.State(); st.CardsFed != 0 {
				t.Fatalf("%d cards fed for a refused job", st.CardsFed)
			}
			// OKY clears the error; the printer takes the next good job.
			if _, err := tr.Write(context.Background(), mcReq("OKY")); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Write(context.Background(), simplex); err != nil {
				t.Fatal(err)
			}
			if inf := mcInf(t, tr); inf.Major != magicard.MajorNone || inf.TotalCards != 1 {
				t.Fatalf("after OKY and a good job: error %d/%d, %d cards", inf.Major, inf.Minor, inf.TotalCards)
			}
		})
	}
}

// TestMagicardChunked feeds a duplex job in awkward chunks: the result must
// be what one write gives.
func TestMagicardChunked(t *testing.T) {
	t.Parallel()
	c := mcCard(true)
	job := mcJob(t, c)
	for _, size := range []int{1 << 20, 65536, 4093} {
		e := newMagicard(t, nil)
		tr := e.Transport()
		for off := 0; off < len(job); off += size {
			if _, err := tr.Write(context.Background(), job[off:min(off+size, len(job))]); err != nil {
				t.Fatal(err)
			}
			if off+size < len(job) && len(e.Printed()) != 0 {
				t.Fatalf("chunk %d: printed before the job was complete", size)
			}
		}
		out := e.Printed()
		if len(out) != 1 || out[0].Card.Back == nil {
			t.Fatalf("chunks of %d: %d cards out", size, len(out))
		}
		if got, want := out[0].Card.Back.K.Count(), c.Back.K.Count(); got != want {
			t.Errorf("chunks of %d: back K has %d dots, want %d", size, got, want)
		}
		if n := len(out[0].Panels); n != 6 {
			t.Errorf("chunks of %d: %d panels, want 6 (YMCKO + back K)", size, n)
		}
	}
}

func TestMagicardFaultsReported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		plan  FaultPlan
		major magicard.Major
	}{
		{"cover", FaultPlan{CoverOpen: true}, magicard.MajorCoverOpen},
		{"feeder", FaultPlan{FeederEmpty: true}, magicard.MajorNoCard},
		{"hopper", FaultPlan{HopperFull: true}, magicard.MajorHopperFull},
		{"ribbon", FaultPlan{RibbonOutAfter: 2}, magicard.MajorRibbonOut},
		{"jam", FaultPlan{JamAtCard: 1}, magicard.MajorCardJam},
	}
	job := mcJob(t, mcCard(false))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newMagicard(t, &Options{Faults: tc.plan})
			tr := e.Transport()
			if _, err := tr.Write(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			inf := mcInf(t, tr)
			if inf.Major != tc.major {
				t.Fatalf("INF major %d, want %d", inf.Major, tc.major)
			}
			if r, _ := tc.major.Reason(); !strings.Contains(inf.Status("", time.Time{}).Err().Error(), string(r)) {
				t.Errorf("status does not name %s", r)
			}
		})
	}
}

func TestMagicardEnduroFormat(t *testing.T) {
	t.Parallel()
	e := newMagicard(t, &Options{Identity: Identity{Model: "Enduro 3E", Ribbon: "YMCKO", Duplex: true}})
	tr := e.Transport()
	inf := mcInf(t, tr)
	if inf.ModelFlags&magicard.ModelPronto == 0 || inf.HeadPosition != magicardHeadPos {
		t.Fatalf("Enduro INF: flags %b, head %d", inf.ModelFlags, inf.HeadPosition)
	}
	// A Rio-format job has the wrong plane sizes for an Enduro.
	if _, err := tr.Write(context.Background(), mcJob(t, mcCard(false))); err != nil {
		t.Fatal(err)
	}
	if inf := mcInf(t, tr); inf.Major != magicard.MajorCommand || inf.Minor != magicard.MinorBadLength {
		t.Fatalf("Rio job on an Enduro: %d/%d", inf.Major, inf.Minor)
	}
}

func FuzzMagicardParser(f *testing.F) {
	job := mcJob(f, mcCard(true))
	f.Add(job[:200], 0)
	f.Add(mcReq("INF"), 0)
	f.Add(mcReq("STA", "MSR"), 1)
	f.Add(append(bytes.Repeat([]byte{5}, 64), "\x01,NOC1,IMFK,SZK85344,WID648,HGT1016,OVROFF,PAG1\x1c"...), 0)
	f.Add(append(bytes.Repeat([]byte{5}, 64), "\x01,NOC1,VER5.3.4,KEE,RT2,DPXON,PAG1,BACC,IMFBGR,WID1016,HGT642,OVROFF,PCT0,0,1025,641,ICC1,X-GP-8,X-GP-RK,SZB682752,SZG682752,SZR682752\x1c\x00\x1cB:"...), 0)
	f.Add([]byte("\x05\x05\x05\x05\x05\x05\x05\x05\x05\x01EJT,\x1c\x03\x05\x05\x05\x05\x05\x05\x05\x05\x05\x01TST,\x1c\x03"), 1)
	f.Fuzz(func(t *testing.T, b []byte, fmtSel int) {
		format := magicard.FormatRio
		if fmtSel&1 == 1 {
			format = magicard.FormatEnduro
		}
		j, n, err := parseMagicardJob(b, format, 12, 648)
		switch {
		case errors.Is(err, errMagicardShort):
		case err != nil:
			var me *MagicardError
			if !errors.As(err, &me) || !errors.Is(err, printer.ErrProtocol) {
				t.Fatalf("error %v is not a *MagicardError", err)
			}
		default:
			if n <= 0 || n > len(b) || len(j.Sides) == 0 {
				t.Fatalf("parsed %d of %d bytes, %d sides", n, len(b), len(j.Sides))
			}
		}
		// The front end must take any bytes without breaking the link.
		fe := NewMagicard(newMachine(&Options{Clock: NewFakeClock(epoch), Geometry: printer.CR80(300), RibbonPanels: 10, FeederCards: 2, HopperCapacity: 2, RejectCapacity: 2, Log: slog.New(slog.DiscardHandler)})).(*magicardFE)
		if _, err := fe.Write(context.Background(), b); err != nil {
			t.Fatalf("front end Write: %v", err)
		}
	})
}

func BenchmarkMagicardDecodeDuplex(b *testing.B) {
	c := mcCard(true)
	c.Back.Color = c.Front.Color
	job := mcJob(b, c)
	b.ReportAllocs()
	b.SetBytes(int64(len(job)))
	done := benchcpu.ThreadMeter(b)
	for b.Loop() {
		if _, _, err := parseMagicardJob(job, magicard.FormatRio, 0, 648); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

func TestMagicardRefusesMissingHardware(t *testing.T) {
	t.Parallel()
	c := mcCard(true)
	c.Mag[1] = ";123=45?"
	for _, id := range []Identity{
		{Model: "Rio simplex", Ribbon: "YMCKO", Magnetic: true},
		{Model: "Rio no encoder", Ribbon: "YMCKO", Duplex: true},
	} {
		e := newMagicard(t, &Options{Identity: id})
		tr := e.Transport()
		if _, err := tr.Write(context.Background(), mcJob(t, c)); err != nil {
			t.Fatal(err)
		}
		if inf := mcInf(t, tr); inf.Major != magicard.MajorCommand || inf.Minor != magicard.MinorBadHeader {
			t.Errorf("%s: INF %d/%d", id.Model, inf.Major, inf.Minor)
		}
		if st := e.State(); st.CardsFed != 0 {
			t.Errorf("%s: a card was fed", id.Model)
		}
	}
}

// TestMagicardTakesGutenprintFilterOutput feeds the emulator a side the
// way Gutenprint's print filter writes it for its backend: its header
// commands, the window as WID1016,HGT642, PCT without overcoat, and 8-bit
// planes (X-GP-8) with resin black to extract (X-GP-RK).
func TestMagicardTakesGutenprintFilterOutput(t *testing.T) {
	t.Parallel()
	const n = magicard.CanvasDots * magicard.Lines
	hdr := fmt.Sprintf(",NOC1,VER5.3.4,LANENG,TDT6A5B4C3D,REJOFF,ESS1,KEE,RT2,DPXOFF,PAG1,SLWOFF,IMFBGR,XCO0,YCO0,WID1016,HGT642,OVROFF,NNNOFF,USFOFF,PCT0,0,1025,641,ICC0,DDD50,X-GP-8,X-GP-RK,SZB%d,SZG%d,SZR%d", n, n, n)
	job := append(bytes.Repeat([]byte{magicard.ENQ}, magicard.LeadIn), magicard.SOH)
	job = append(job, hdr...)
	job = append(job, magicard.FS)
	for _, l := range []byte("BGR") {
		plane := make([]byte, n)
		// Canvas dot 112 (card row 647 − 100, the card's bottom row at
		// dot 12), line 10 (card column 10): full dye in all three
		// planes, which is resin black; dot 113 (row 546) yellow only.
		plane[10*magicard.CanvasDots+112] = 0xff
		if l == 'B' {
			plane[10*magicard.CanvasDots+113] = 0xff
		}
		job = append(job, plane...)
		job = append(job, magicard.FS, l, ':')
	}
	job = append(job, magicard.ETX)
	j, used, err := parseMagicardJob(job, magicard.FormatRio, 0, 648)
	if err != nil {
		t.Fatal(err)
	}
	if used != len(job) {
		t.Fatalf("parsed %d of %d bytes", used, len(job))
	}
	c, err := j.landscape()
	if err != nil {
		t.Fatal(err)
	}
	s := c.Front
	if !s.K.BitAt(10, 547) || s.K.BitAt(10, 546) {
		t.Error("resin black not extracted where Y, M and C are full")
	}
	if r, g, b, _ := s.Color.At(10, 546).RGBA(); b>>8 != 0 || r>>8 != 0xff || g>>8 != 0xff {
		t.Errorf("yellow dot decoded as %x %x %x", r>>8, g>>8, b>>8)
	}
	if s.Overlay != nil {
		t.Error("overlay decoded from OVROFF")
	}
}

// TestMagicardCornerMapping hands the emulator a K panel set by hand (not
// by the driver's packing): one dot at line 0, canvas dot 659 and one at
// line 1015, dot 12, and an overcoat hole given in the header as
// Gutenprint's smart-card hole (NCT90,295,260,450). The emulator must show
// the dots at the card's top-left and bottom-right corners (never
// mirrored: see package printer/magicard) and the hole where an ISO 7816
// chip sits, left on the card, rows 194–349 (16–30 mm from the top).
func TestMagicardCornerMapping(t *testing.T) {
	t.Parallel()
	g := printer.CR80(300)
	ov := printer.NewMono(g.Bounds())
	ov.Fill(g.Bounds(), true)
	c := &printer.Card{Geometry: g, Front: printer.Side{K: printer.NewMono(g.Bounds()), Overlay: ov}}
	job := replaceHeader(mcJob(t, c), "PCT0,0,1015,641", "PCT0,0,1015,641,NCT90,295,260,450")
	const stripe = magicard.CanvasDots / 8
	k := bytes.Index(job, []byte{magicard.FS}) + 1 // the K plane follows the header
	job[k+0*stripe+659/8] |= 0x80 >> (659 % 8)
	job[k+(magicard.Lines-1)*stripe+12/8] |= 0x80 >> (12 % 8)
	j, _, err := parseMagicardJob(job, magicard.FormatRio, 0, g.Height)
	if err != nil {
		t.Fatal(err)
	}
	got, err := j.landscape()
	if err != nil {
		t.Fatal(err)
	}
	s := got.Front
	for y := range g.Height {
		for x := range g.Width {
			want := (x == 0 && y == 0) || (x == g.Width-1 && y == g.Height-1)
			if s.K.BitAt(x, y) != want {
				t.Fatalf("K at (%d, %d) is %v", x, y, !want)
			}
			hole := x >= 90 && x <= 260 && y >= 194 && y <= 349
			if s.Overlay.BitAt(x, y) == hole {
				t.Fatalf("overlay at (%d, %d) is %v, want %v", x, y, !hole, hole)
			}
		}
	}
}
