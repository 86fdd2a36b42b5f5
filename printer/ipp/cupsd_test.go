package ipp

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/cupstest"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
)

// magicardQueue is a private cupsd with a queue printing through
// Gutenprint's Magicard Rio 2E driver to a Magicard emulator on TCP.
type magicardQueue struct {
	cups *cupstest.Server
	emu  *emulator.Emulator
	uri  string
	dev  *Dev
	// stopEmu stops the emulator and closes its port (the printer gone).
	stopEmu func()
}

// startMagicardQueue starts the emulator (Magicard language, strict) on a
// loopback port, a private cupsd, and a queue whose device is
// socket://127.0.0.1:PORT with Gutenprint's driver for a Magicard model
// (magicard-rio-2e, one-sided; magicard-tango-2e, two-sided).
func startMagicardQueue(t *testing.T, driver string, plan emulator.FaultPlan) *magicardQueue {
	return startMagicardQueueAt(t, "127.0.0.1", false, driver, plan)
}

// startMagicardQueueAt is startMagicardQueue with the emulator's address,
// and with its SNMP agent on that address's port 161 when snmp is set.
func startMagicardQueueAt(t *testing.T, host string, snmp bool, driver string, plan emulator.FaultPlan) *magicardQueue {
	t.Helper()
	cupstest.Need(t, true)
	lang, err := emulator.LanguageByName("magicard")
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(lang, &emulator.Options{Speed: 1000, Faults: plan, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 2)
	go func() { served <- emu.Serve(ctx, ln) }()
	if snmp {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "161"))
		if err != nil {
			cancel()
			t.Fatalf("SNMP agent on %s:161: %v", host, err)
		}
		go func() {
			if err := emu.ServeSNMP(ctx, pc); err != nil {
				t.Errorf("SNMP agent: %v", err)
			}
		}()
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-served
		})
	}
	t.Cleanup(stop)
	cups := cupstest.Start(t)
	model := cups.Model(t, "gutenprint", driver)
	uri := cups.AddQueue(t, "card", "socket://"+ln.Addr().String(), model)
	dev, err := New(uri, &Opts{PollInterval: 50 * time.Millisecond, Ribbon: "ymcko"}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return &magicardQueue{cups: cups, emu: emu, uri: uri, dev: dev, stopEmu: stop}
}

// testLog logs to the test at debug level when -v is given.
func testLog(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// quadrantCard is a card no turn or mirror leaves unchanged: four
// quadrants of different colours, and a resin-black bar near the top-left
// corner.
func quadrantCard() *printer.Card {
	g := printer.CR80(300)
	img := image.NewRGBA(g.Bounds())
	colours := []color.RGBA{{230, 40, 40, 255}, {40, 160, 230, 255}, {250, 220, 60, 255}, {60, 180, 80, 255}}
	for i, c := range colours {
		r := image.Rect((i%2)*g.Width/2, (i/2)*g.Height/2, (i%2+1)*g.Width/2, (i/2+1)*g.Height/2)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(60, 60, 360, 120), true)
	return &printer.Card{Geometry: g, Front: printer.Side{Color: img, K: k}}
}

// cells averages img over an n × m grid of cells inside r.
func cells(img image.Image, r image.Rectangle, n, m int) [][3]float64 {
	out := make([][3]float64, n*m)
	for j := range m {
		for i := range n {
			cr := image.Rect(r.Min.X+i*r.Dx()/n, r.Min.Y+j*r.Dy()/m, r.Min.X+(i+1)*r.Dx()/n, r.Min.Y+(j+1)*r.Dy()/m)
			var s [3]float64
			cnt := 0.0
			for y := cr.Min.Y; y < cr.Max.Y; y++ {
				for x := cr.Min.X; x < cr.Max.X; x++ {
					c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
					s[0] += float64(c.R)
					s[1] += float64(c.G)
					s[2] += float64(c.B)
					cnt++
				}
			}
			for k := range s {
				out[j*n+i][k] = s[k] / cnt
			}
		}
	}
	return out
}

// TestCardThroughCUPSAndGutenprint sends a card as cardd does through a
// real CUPS queue: cardd → IPP → cupsd → Gutenprint's Magicard filter →
// socket backend → the strict Magicard emulator, which must decode it. The
// decoded card must be the card sent, allowing for the filter's colour
// handling and dithering: the mean colour of every cell of a grid (away
// from the quadrant borders) is compared.
func TestCardThroughCUPSAndGutenprint(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-rio-2e", emulator.FaultPlan{})
	ctx := t.Context()
	info, err := q.dev.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Model, "Magicard") || info.Caps.DPI != 300 {
		t.Fatalf("Identify: %+v", info)
	}
	st, err := q.dev.Status(ctx)
	if err != nil || st.State != printer.StateIdle || len(st.Reasons) != 0 {
		t.Fatalf("Status: %+v, %v", st, err)
	}
	card := quadrantCard()
	start := time.Now()
	res, err := q.dev.Print(ctx, card)
	t.Logf("print: %s in %v (%v)", res.Outcome, time.Since(start).Round(time.Millisecond), err)
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print: %s, %v\n%s", res.Outcome, err, q.cups.LogTail(40))
	}
	testwait.For(t, "the emulator to print the card", func() bool { return len(q.emu.Printed()) == 1 })
	got := q.emu.Printed()[0]
	if got.Outcome != printer.OutcomePrinted {
		t.Fatalf("emulator: %s", got.Outcome)
	}
	want := sentAsDecoded(card, &card.Front)
	// An 8 × 4 grid whose cells each lie inside one quadrant; a 24-dot
	// inner margin keeps the cells off the quadrant borders.
	g := card.Geometry
	wc := cells(want, image.Rect(24, 24, g.Width-24, g.Height-24), 8, 4)
	gc := cells(got.Front, image.Rect(24, 24, g.Width-24, g.Height-24), 8, 4)
	for i := range wc {
		for k := range 3 {
			if d := wc[i][k] - gc[i][k]; d > 60 || d < -60 {
				t.Errorf("cell %d (%d, %d): sent %.0f, decoded %.0f (channel %d)", i, i%8, i/8, wc[i], gc[i], k)
				break
			}
		}
	}
	// The K bar (x 60–360, y 60–120, turned half a turn as
	// sentAsDecoded says): dark in the decoded card.
	bar := cells(got.Front, image.Rect(g.Width-340, g.Height-110, g.Width-80, g.Height-70), 1, 1)[0]
	if bar[0]+bar[1]+bar[2] > 3*80 {
		t.Errorf("the black bar decoded as %.0f", bar)
	}
}

// sentAsDecoded is the card side the emulator must decode from the page
// the driver sends: the side turned onto Gutenprint's portrait page as the
// driver turns it (a quarter anticlockwise, as IPP turns a landscape
// page), then read back as a Magicard reads Gutenprint's output, whose
// lines are the page's rows and whose dots are its columns
// (printer/magicard/doc.go: wire line = card column from the card's left
// edge, canvas dot 12 + 647 − y for card row y). The page's top row, the
// card's right edge, becomes line 0, so the emulator decodes the side sent
// turned half a turn — a turn, never a mirror: CUPS's landscape turn and
// Magicard's feed disagree only on which end goes first. The back goes
// the same way: the driver asks for two-sided-short-edge (Gutenprint then
// lays the back page out as the front, and a Magicard turns the card over
// its short edge, the back cardd composes), so both sides decode turned
// half a turn: the card is the native driver's card turned end for end.
func sentAsDecoded(c *printer.Card, s *printer.Side) *image.RGBA {
	return turnedHalf(printer.Flatten(s, c.Geometry))
}

// turnedHalf is an image turned half a turn.
func turnedHalf(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.Set(b.Dx()-1-x, b.Dy()-1-y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// TestDuplexRefusedByOneSidedQueue: Gutenprint's Magicard queue says
// sides-supported one-sided, so a two-sided card would print its back on a
// second card. The driver refuses it before anything is sent.
func TestDuplexRefusedByOneSidedQueue(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-rio-2e", emulator.FaultPlan{})
	c := quadrantCard()
	back := c.Front
	c.Back = &back
	res, err := q.dev.Print(t.Context(), c)
	if res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrUnsupported) || !strings.Contains(err.Error(), "one side only") {
		t.Fatalf("Print: %s, %v", res.Outcome, err)
	}
}

// TestQueueStatesReachCardd drives the real cupsd through the states an
// operator or a fault puts a queue in and checks what cardd reads: a queue
// rejecting jobs (cupsreject) is offline and a card is not fed; a stopped
// queue (cupsdisable) is offline with its reason; a printer that cannot be
// reached (the emulator's port closed) keeps the job processing with the
// socket backend's reason until the card times out, which cancels it and
// leaves the card unknown.
func TestQueueStatesReachCardd(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-rio-2e", emulator.FaultPlan{})
	ctx := t.Context()

	q.cups.Run(t, "/usr/sbin/cupsreject", "card")
	st, err := q.dev.Status(ctx)
	if err != nil || st.State != printer.StateOffline || !slices.Contains(st.Reasons, printer.ReasonOffline) {
		t.Fatalf("rejecting queue: %+v, %v", st, err)
	}
	res, err := q.dev.Print(ctx, quadrantCard())
	if res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("print to a rejecting queue: %s, %v", res.Outcome, err)
	}
	q.cups.Run(t, "/usr/sbin/cupsaccept", "card")

	q.cups.Run(t, "/usr/sbin/cupsdisable", "-r", "maintenance", "card")
	st, err = q.dev.Status(ctx)
	if err != nil || st.State != printer.StateOffline || !strings.Contains(st.Raw, "paused") || !strings.Contains(st.Raw, "maintenance") {
		t.Fatalf("disabled queue: %+v, %v", st, err)
	}
	res, err = q.dev.Print(ctx, quadrantCard())
	if res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("print to a disabled queue: %s, %v", res.Outcome, err)
	}
	q.cups.Run(t, "/usr/sbin/cupsenable", "card")
	if len(q.emu.Printed()) != 0 {
		t.Fatalf("the emulator printed %d cards", len(q.emu.Printed()))
	}
	_ = fmt.Sprint
	_ = os.Getenv
}

// TestDuplexCardThroughCUPSAndGutenprint: Gutenprint's Tango 2E driver
// prints both sides (sides-supported two-sided-long-edge), so a two-sided
// card goes as one two-page job and the emulator decodes one duplex card.
func TestDuplexCardThroughCUPSAndGutenprint(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-tango-2e", emulator.FaultPlan{})
	info, err := q.dev.Identify(t.Context())
	if err != nil || !info.Caps.Duplex {
		t.Fatalf("Identify: %+v, %v", info, err)
	}
	card := quadrantCard()
	back := printer.Side{Color: image.NewRGBA(card.Geometry.Bounds())}
	g := card.Geometry
	draw.Draw(back.Color, back.Color.Rect, image.White, image.Point{}, draw.Src)
	// A band in the top-left sixth: no turn or mirror leaves it in place.
	draw.Draw(back.Color, image.Rect(0, 0, g.Width/3, g.Height/2), &image.Uniform{color.RGBA{40, 60, 200, 255}}, image.Point{}, draw.Src)
	card.Back = &back
	res, err := q.dev.Print(t.Context(), card)
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print: %s, %v\n%s", res.Outcome, err, q.cups.LogTail(40))
	}
	testwait.For(t, "the emulator to print the card", func() bool { return len(q.emu.Printed()) == 1 })
	got := q.emu.Printed()[0]
	if got.Back == nil {
		t.Fatal("the emulator decoded a one-sided card")
	}
	for _, side := range []struct {
		name string
		sent *printer.Side
		got  *image.RGBA
	}{{"front", &card.Front, got.Front}, {"back", card.Back, got.Back}} {
		want := sentAsDecoded(card, side.sent)
		wc := cells(want, image.Rect(24, 24, g.Width-24, g.Height-24), 6, 4)
		gc := cells(side.got, image.Rect(24, 24, g.Width-24, g.Height-24), 6, 4)
		for i := range wc {
			for k := range 3 {
				if d := wc[i][k] - gc[i][k]; d > 60 || d < -60 {
					t.Errorf("%s cell %d: sent %.0f, decoded %.0f", side.name, i, wc[i], gc[i])
					break
				}
			}
		}
	}
}

// TestRawSocketQueueCannotSeeTheCover pins the limit the package
// documentation states: behind a raw socket device, the spooler learns
// nothing from the printer. With the emulator's cover open, Gutenprint's
// stream is written to the port, the printer refuses to feed a card, and
// CUPS still reports the job completed, its printer idle without reasons:
// "completed" is the spooler's word. (A queue whose backend reads the
// printer's state — a vendor backend, an IPP printer, SNMP — reports
// cover-open, which the driver maps; see TestStatusMapping.)
func TestRawSocketQueueCannotSeeTheCover(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-rio-2e", emulator.FaultPlan{CoverOpen: true})
	res, err := q.dev.Print(t.Context(), quadrantCard())
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print: %s, %v", res.Outcome, err)
	}
	if st := q.emu.State(); !st.CoverOpen || st.CardsFed != 0 {
		t.Fatalf("emulator: %+v", st)
	}
	st, err := q.dev.Status(t.Context())
	if err != nil || len(st.Reasons) != 0 {
		t.Fatalf("Status: %+v, %v", st, err)
	}
}

// TestUnreachablePrinter: with the printer's port closed, the socket
// backend keeps the job processing and says so in printer-state-message,
// which reaches cardd's status; when cardd gives up on the card (here its
// context ends, as when the daemon stops; Opts.JobTimeout does the same),
// it cancels the job so CUPS cannot print it later, and the card's outcome
// is unknown.
func TestUnreachablePrinter(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-rio-2e", emulator.FaultPlan{})
	q.stopEmu()
	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		res printer.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := q.dev.Print(ctx, quadrantCard())
		done <- result{res, err}
	}()
	var st printer.Status
	testwait.For(t, "the socket backend's message in cardd's status", func() bool {
		var err error
		st, err = q.dev.Status(t.Context())
		return err == nil && strings.Contains(st.Raw, "unavailable")
	})
	if st.State != printer.StatePrinting {
		t.Errorf("status while the printer is unreachable: %+v", st)
	}
	cancel()
	r := testwait.Recv(t, "Print to return", done)
	if r.res.Outcome != printer.OutcomeUnknown || !strings.Contains(fmtErr(r.err), "job cancelled") {
		t.Fatalf("Print: %s, %v", r.res.Outcome, r.err)
	}
	j, err := q.dev.getJob(t.Context(), 1)
	if err != nil || (j.state != jobCanceled && j.state != jobAborted) {
		t.Fatalf("job after cardd gave up: %+v, %v", j, err)
	}
}

// TestListQueues lists the private cupsd's queues with CUPS-Get-Printers,
// as "cardd printers list" does, and checks a queue's fitness for cards
// without printing (CheckCard, as "cardd doctor" does).
func TestListQueues(t *testing.T) {
	t.Parallel()
	cupstest.Need(t, true)
	cups := cupstest.Start(t)
	if qs, err := ListQueues(t.Context(), cups.Addr); err != nil || len(qs) != 0 {
		t.Fatalf("no queue yet: %+v, %v", qs, err)
	}
	uri := cups.AddQueue(t, "lobby", "socket://127.0.0.1:9", cups.Model(t, "gutenprint", "magicard-tango-2e"))
	cups.Run(t, "/usr/sbin/cupsreject", "lobby")
	qs, err := ListQueues(t.Context(), cups.Addr)
	if err != nil || len(qs) != 1 {
		t.Fatalf("ListQueues: %+v, %v", qs, err)
	}
	q := qs[0]
	if q.Name != "lobby" || q.URI != uri || !strings.Contains(q.MakeModel, "Tango 2E") || q.DeviceURI != "socket://127.0.0.1:9" || q.Accepting || q.State != "idle" {
		t.Fatalf("queue %+v, want URI %s", q, uri)
	}
	dev, err := New(uri, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.CheckCard(t.Context(), printer.CR80(300), true); err != nil {
		t.Fatalf("CheckCard 300 dpi duplex: %v", err)
	}
	if err := dev.CheckCard(t.Context(), printer.CR80(600), false); !errors.Is(err, printer.ErrUnsupported) {
		t.Fatalf("CheckCard 600 dpi: %v", err)
	}
	if _, err := ListQueues(t.Context(), "127.0.0.1:1"); !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("no server: %v", err)
	}
}

// TestCoverOpenReachesCarddBySNMP: the emulator answers SNMP on its
// address's port 161, as a network card printer does, and CUPS's socket
// backend reads the printer's condition from it during each job. With the
// cover open, the spooler still completes the job, but the queue now
// reports door-open-report: cardd keeps the card unknown (held for an
// operator) with the cover-open reason, and shows the report in the
// queue's status without stopping on it (it is refreshed only by the next
// job). With the cover closed and the printer's error acknowledged, the
// next card prints and the report clears.
// The agent needs port 161 of 127.0.0.2, so the test runs as root.
func TestCoverOpenReachesCarddBySNMP(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the emulator's SNMP agent must bind UDP port 161 (CUPS's backends ask that port only): run as root")
	}
	q := startMagicardQueueAt(t, "127.0.0.2", true, "magicard-rio-2e", emulator.FaultPlan{CoverOpen: true})
	res, err := q.dev.Print(t.Context(), quadrantCard())
	if res.Outcome != printer.OutcomeUnknown || !errors.Is(err, printer.ErrCoverOpen) || !strings.Contains(fmtErr(err), "completed while the printer reported") {
		t.Fatalf("Print with the cover open: %s, %v", res.Outcome, err)
	}
	if st := q.emu.State(); st.CardsFed != 0 {
		t.Fatalf("emulator fed %d cards", st.CardsFed)
	}
	st, err := q.dev.Status(t.Context())
	if err != nil || !strings.Contains(st.Raw, "door-open-report") || st.Blocked() || !strings.Contains(st.Raw, `"YMCKO ribbon"=100%`) {
		t.Fatalf("Status after the job: %+v, %v", st, err)
	}
	// The operator closes the cover and acknowledges the error the
	// printer shows.
	if err := q.emu.Fix(emulator.FaultCoverOpen); err != nil {
		t.Fatal(err)
	}
	q.emu.Acknowledge()
	res, err = q.dev.Print(t.Context(), quadrantCard())
	if err != nil || res.Outcome != printer.OutcomePrinted || strings.Contains(res.Status.Raw, "door-open") {
		t.Fatalf("Print with the cover closed: %s, %v (%s)", res.Outcome, err, res.Status.Raw)
	}
	testwait.For(t, "the emulator to print the card", func() bool { return len(q.emu.Printed()) == 1 })
}

// TestQueueOptionsReachTheFilter: the driver reads the queue's PPD and
// sets Gutenprint's options from the card, and the options reach the
// filter. A card with a resin black panel and an overlay goes with
// StpBlackType=Resin and StpLaminate=On: the emulator decodes a K panel
// (Gutenprint's X-GP-RK) with the black bar in it and an overcoat (OVRON);
// a card with neither goes Composite and Off: no K panel, no overcoat.
// Identify lists the panels the queue's options offer.
func TestQueueOptionsReachTheFilter(t *testing.T) {
	t.Parallel()
	q := startMagicardQueue(t, "magicard-tango-2e", emulator.FaultPlan{})
	info, err := q.dev.Identify(t.Context())
	if err != nil || !slices.Equal(info.Caps.Panels, []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}) {
		t.Fatalf("Identify: %+v, %v", info, err)
	}
	resin := quadrantCard()
	g := resin.Geometry
	resin.Front.Overlay = printer.NewMono(g.Bounds())
	resin.Front.Overlay.Fill(g.Bounds(), true)
	plain := quadrantCard()
	plain.Front.K = nil
	for i, c := range []*printer.Card{resin, plain} {
		res, err := q.dev.Print(t.Context(), c)
		if err != nil || res.Outcome != printer.OutcomePrinted {
			t.Fatalf("Print %d: %s, %v\n%s", i, res.Outcome, err, q.cups.LogTail(40))
		}
		testwait.For(t, "the emulator to print the card", func() bool { return len(q.emu.Printed()) == i+1 })
	}
	got := q.emu.Printed()
	k := got[0].Card.Front.K
	if k == nil || got[0].Card.Front.Overlay == nil {
		t.Fatalf("resin card: K panel %v, overcoat %v: the options did not reach the filter", k != nil, got[0].Card.Front.Overlay != nil)
	}
	// The bar (x 60–360, y 60–120) turned half a turn, as sentAsDecoded
	// says: resin in its middle, none far from it.
	if !k.BitAt(g.Width-1-200, g.Height-1-90) || k.BitAt(200, 90) || k.BitAt(g.Width/2, g.Height/2) {
		t.Error("the resin panel is not the black bar")
	}
	if got[1].Card.Front.K != nil || got[1].Card.Front.Overlay != nil {
		t.Errorf("plain card: K panel %v, overcoat %v", got[1].Card.Front.K != nil, got[1].Card.Front.Overlay != nil)
	}
}
