package emulator

import (
	"bytes"
	"context"
	"errors"
	"image"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newEvolis(t testing.TB, o *Options) (*Emulator, *FakeClock) {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	clk := NewFakeClock(epoch)
	o.Clock = clk
	e, err := New(evolisLang(), o)
	if err != nil {
		t.Fatal(err)
	}
	return e, clk
}

// evolisLang returns the Evolis language entry.
func evolisLang() Language {
	l, err := LanguageByName("evolis")
	if err != nil {
		panic(err)
	}
	return l
}

// cmd frames an Evolis command.
func cmd(s string) []byte { return append(append([]byte{evolis.ESC}, s...), evolis.CR) }

// readReply reads one CR-terminated reply.
func readReply(t testing.TB, tr printer.Transport) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	var got []byte
	b := make([]byte, 1)
	for {
		n, err := tr.Read(ctx, b)
		if err != nil {
			t.Fatalf("read reply (have %q): %v", got, err)
		}
		if n == 1 && b[0] == evolis.CR {
			return string(got)
		}
		got = append(got, b[:n]...)
	}
}

// do writes p and returns the one reply it gets.
func do(t testing.TB, tr printer.Transport, p []byte) string {
	t.Helper()
	if _, err := tr.Write(context.Background(), p); err != nil {
		t.Fatalf("write %q: %v", p[:min(len(p), 20)], err)
	}
	return readReply(t, tr)
}

// kDownload returns an uncompressed K download of the landscape mono k.
func kDownload(t testing.TB, k *printer.Mono) []byte {
	t.Helper()
	wire, err := printer.MonoToWire(k, printer.Transform{Rotate: evolis.WireRotate})
	if err != nil {
		t.Fatal(err)
	}
	out := []byte{evolis.ESC}
	out = append(out, "Db;k;2;"...)
	out = append(out, wire.Pix...)
	return append(out, evolis.CR)
}

func testK() *printer.Mono {
	k := printer.NewMono(printer.CR80(300).Bounds())
	k.Fill(image.Rect(100, 50, 400, 300), true)
	k.SetBit(1015, 647, true)
	return k
}

func TestTransportQueryAndTimeout(t *testing.T) {
	e, _ := newEvolis(t, nil)
	tr := e.Transport()
	defer tr.Close()
	if got := do(t, tr, cmd("Rtp")); got != EvolisIdentity().Model {
		t.Errorf("Rtp = %q", got)
	}
	// Several commands in one write, split anywhere, with NUL padding.
	stream := append(append(cmd("Rsn"), 0, 0, 0), cmd("Rse;f")...)
	for _, b := range stream {
		if _, err := tr.Write(context.Background(), []byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if got := readReply(t, tr); got != "EMU0000001" {
		t.Errorf("Rsn = %q", got)
	}
	if got := readReply(t, tr); got != "5,00 Volts" {
		t.Errorf("Rse;f = %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tr.Read(ctx, make([]byte, 8)); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("read with nothing to say: %v, want ErrTimeout", err)
	}
}

func TestStrictParser(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"unknown command", cmd("Zz;1"), []string{evolis.ReplyUnknownCmd}},
		{"download outside job", append([]byte("\x1bDbc;k;2;1;"), 0, evolis.CR), []string{evolis.ReplySequence}},
		{"bad levels", append([]byte("\x1bDb;y;100;"), evolis.CR), []string{evolis.ReplyParam}},
		{"bad panel", []byte("\x1bDb;q;2;\r"), []string{evolis.ReplyParam}},
		{"garbage before ESC", []byte("xx\r\x1bRsn\r"), []string{evolis.ReplyUnknownCmd, "EMU0000001"}},
		{"missing parameter", cmd("Rlr"), []string{evolis.ReplyParam}},
		{"unknown ribbon", cmd("Pr;zzz"), []string{evolis.ReplyParam}},
		{"wrong ribbon", cmd("Pr;kb"), []string{evolis.ReplyBadRibbon}},
		{"download of a panel the ribbon lacks", append(cmd("Ss"), "\x1bDbc;y;128;2;\x80\x00\r"...), []string{"OK", evolis.ReplyBadRibbon}},
		{"bad track", append(cmd("Ss"), cmd("Dm;2;ABC")...), []string{"OK", evolis.ReplyParam}},
		{"ESC optional after CR", []byte("\x1bRsn\rRfv\r"), []string{"EMU0000001", "1.0.0-emu"}},
		{"empty lines between commands", []byte("\x1bRsn\r\n\rRfv\r"), []string{"EMU0000001", "1.0.0-emu"}},
		{"too long", append(append([]byte{evolis.ESC}, bytes.Repeat([]byte("P"), 600)...), append([]byte{evolis.CR}, cmd("Rsn")...)...), []string{evolis.ReplyUnknownCmd, "EMU0000001"}},
		{"compressed data too long for its count", append(append(cmd("Ss"), "\x1bDbc;k;2;3;\x00\x00\x00\x00\r"...), cmd("Rsn")...), []string{"OK", evolis.ReplyParam, "EMU0000001"}},
		{"compressed data wrong lines", append(append(cmd("Ss"), "\x1bDbc;k;2;3;\x00\x00\x00\r"...), cmd("Rlr;p")...), []string{"OK", evolis.ReplyParam, "NO CARD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := EvolisIdentity()
			if strings.Contains(tc.name, "ribbon lacks") {
				id.Ribbon = "KO"
			}
			e, _ := newEvolis(t, &Options{Identity: id})
			tr := e.Transport()
			if _, err := tr.Write(context.Background(), tc.in); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if got := readReply(t, tr); got != w {
					t.Errorf("reply %q, want %q", got, w)
				}
			}
		})
	}
}

func TestPrintOneCardMechanics(t *testing.T) {
	dir := t.TempDir()
	e, clk := newEvolis(t, &Options{OutDir: dir})
	tr := e.Transport()
	k := testK()
	for _, c := range [][]byte{cmd("Pem;2"), cmd("Pr;ymcko"), cmd("Ss"), cmd("Sr"), kDownload(t, k), cmd("Se")} {
		if got := do(t, tr, c); got != "OK" {
			t.Fatalf("%q: reply %q", c[:min(len(c), 10)], got)
		}
	}
	pr := e.Printed()
	if len(pr) != 1 {
		t.Fatalf("printed %d cards", len(pr))
	}
	pc := pr[0]
	if pc.Outcome != printer.OutcomePrinted || pc.Seq != 1 || pc.Back != nil {
		t.Errorf("card %+v", pc)
	}
	if !bytes.Equal(pc.Card.Front.K.Pix, k.Pix) {
		t.Error("decoded K differs from source")
	}
	tim := DefaultTiming()
	if got, want := clk.Now().Sub(epoch), tim.Feed+tim.Panel+tim.Eject; got != want {
		t.Errorf("modelled time %v, want %v", got, want)
	}
	if pc.Done.Sub(pc.Fed) != tim.Feed+tim.Panel+tim.Eject {
		t.Errorf("card timeline %v..%v", pc.Fed, pc.Done)
	}
	st := e.State()
	if st.CardsFed != 1 || st.CardsPrinted != 1 || st.PanelsPrinted != 1 || st.RibbonLeft != 999 || st.FeederCards != 99 || st.HopperCards != 1 {
		t.Errorf("state %+v", st)
	}
	if len(pc.Files) != 2 {
		t.Fatalf("files %v", pc.Files)
	}
	for _, f := range pc.Files {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if filepath.Base(pc.Files[0]) != "card-0001-front.png" {
		t.Errorf("file name %s", pc.Files[0])
	}
	if got := do(t, tr, cmd("Rco;c")); got != "1" {
		t.Errorf("Rco;c = %q", got)
	}
	if got := do(t, tr, cmd("Rco;l")); got != "199" {
		t.Errorf("Rco;l = %q", got)
	}
}

func TestSpeedFactor(t *testing.T) {
	e, clk := newEvolis(t, &Options{Speed: 4})
	tr := e.Transport()
	for _, c := range [][]byte{cmd("Ss"), kDownload(t, testK()), cmd("Se")} {
		do(t, tr, c)
	}
	tim := DefaultTiming()
	if got, want := clk.Now().Sub(epoch), (tim.Feed+tim.Panel+tim.Eject)/4; got != want {
		t.Errorf("time at speed 4: %v, want %v", got, want)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		plan   FaultPlan
		inject Fault
		reply  string // reply to the K download
		reason printer.Reason
		fed    bool
	}{
		{name: "cover open", plan: FaultPlan{CoverOpen: true}, reply: evolis.ReplyCoverOpen, reason: printer.ReasonCoverOpen},
		{name: "feeder empty", plan: FaultPlan{FeederEmpty: true}, reply: evolis.ReplyFeederEmpty, reason: printer.ReasonFeederEmpty},
		{name: "hopper full", plan: FaultPlan{HopperFull: true}, reply: evolis.ReplyHopperFull, reason: printer.ReasonHopperFull},
		{name: "jam", plan: FaultPlan{JamAtCard: 1}, reply: evolis.ReplyMechanical, reason: printer.ReasonCardJam, fed: true},
		{name: "ribbon out injected", inject: FaultRibbonOut, reply: evolis.ReplyRibbon, reason: printer.ReasonRibbonOut, fed: true},
		{name: "cover opened at run time", inject: FaultCoverOpen, reply: evolis.ReplyCoverOpen, reason: printer.ReasonCoverOpen},
		{name: "jam injected", inject: FaultJam, reply: evolis.ReplyMechanical, reason: printer.ReasonCardJam, fed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEvolis(t, &Options{Faults: tc.plan})
			if tc.inject != "" {
				if err := e.Inject(tc.inject); err != nil {
					t.Fatal(err)
				}
			}
			tr := e.Transport()
			do(t, tr, cmd("Ss"))
			if got := do(t, tr, kDownload(t, testK())); got != tc.reply {
				t.Errorf("download reply %q, want %q", got, tc.reply)
			}
			st := e.State()
			found := false
			for _, r := range st.Reasons() {
				found = found || r == tc.reason
			}
			if !found {
				t.Errorf("reasons %v lack %v", st.Reasons(), tc.reason)
			}
			if st.CardInside != tc.fed {
				t.Errorf("card inside = %v, want %v", st.CardInside, tc.fed)
			}
			// The job was abandoned: a download is out of sequence.
			if got := do(t, tr, kDownload(t, testK())); got != evolis.ReplySequence {
				t.Errorf("download after fault: %q", got)
			}
			if len(e.Printed()) != 0 {
				t.Error("a card was recorded as printed")
			}
		})
	}
}

func TestRibbonOutAfterPanels(t *testing.T) {
	e, _ := newEvolis(t, &Options{Faults: FaultPlan{RibbonOutAfter: 2}})
	tr := e.Transport()
	do(t, tr, cmd("Ss"))
	for i, want := range []string{"OK", "OK", evolis.ReplyRibbon} {
		if got := do(t, tr, kDownload(t, testK())); got != want {
			t.Errorf("panel %d: %q, want %q", i+1, got, want)
		}
	}
	if got := do(t, tr, cmd("Rcr")); got != evolis.ReplyRibbon {
		t.Errorf("Rcr = %q", got)
	}
	// The spoiled card goes to the reject box.
	if got := do(t, tr, cmd("Ser")); got != "OK" {
		t.Errorf("Ser = %q", got)
	}
	pr := e.Printed()
	if len(pr) != 1 || pr[0].Outcome != printer.OutcomeRejected {
		t.Errorf("printed %+v", pr)
	}
	if err := e.Fix(FaultRibbonOut); err != nil {
		t.Fatal(err)
	}
	if got := do(t, tr, cmd("Rcr")); got != "OK" {
		t.Errorf("Rcr after new ribbon = %q", got)
	}
}

func TestDisconnectAndComeBack(t *testing.T) {
	e, _ := newEvolis(t, &Options{Faults: FaultPlan{DisconnectAtByte: 1000}})
	tr := e.Transport()
	do(t, tr, cmd("Ss"))
	errc := make(chan error, 1)
	go func() {
		_, err := tr.Read(context.Background(), make([]byte, 10))
		errc <- err
	}()
	n, err := tr.Write(context.Background(), kDownload(t, testK()))
	if !errors.Is(err, printer.ErrNoDevice) {
		t.Fatalf("write across the disconnect: n=%d err=%v", n, err)
	}
	if n != 1000-len(cmd("Ss")) {
		t.Errorf("accepted %d bytes", n)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, printer.ErrNoDevice) {
			t.Errorf("blocked read: %v", err)
		}
	case <-time.After(testwait.Limit()):
		t.Fatal("blocked read did not end on disconnect")
	}
	if _, err := tr.Write(context.Background(), cmd("Rsn")); !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("write while down: %v", err)
	}
	if r := e.State().Reasons(); len(r) == 0 || r[0] != printer.ReasonOffline {
		t.Errorf("reasons while down: %v", r)
	}
	e.Reconnect()
	if _, err := tr.Write(context.Background(), cmd("Rsn")); !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("stale transport after reconnect: %v", err)
	}
	tr2 := e.Transport()
	if got := do(t, tr2, cmd("Rsn")); got != "EMU0000001" {
		t.Errorf("after reconnect: %q", got)
	}
	// The download never completed, so no card was fed and none printed.
	if got := do(t, tr2, cmd("Rlr;p")); got != "NO CARD" {
		t.Errorf("Rlr;p = %q", got)
	}
	if len(e.Printed()) != 0 {
		t.Error("card printed across a disconnect")
	}
}

func TestServeTCP(t *testing.T) {
	e, _ := newEvolis(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, ln) }()
	for i := 0; i < 2; i++ { // the second connection after the first closed
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testwait.Limit()))
		if _, err := c.Write(cmd("Rfv")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "1.0.0-emu\r" {
			t.Errorf("reply %q %v", buf[:n], err)
		}
		c.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(testwait.Limit()):
		t.Fatal("Serve did not stop")
	}
}

func TestParseFault(t *testing.T) {
	var p FaultPlan
	for _, s := range []string{"cover-open", "feeder-empty", "hopper-full", "ribbon-out-after=7", "jam-at=3", "disconnect-at=5000"} {
		if err := p.ParseFault(s); err != nil {
			t.Fatal(err)
		}
	}
	want := FaultPlan{CoverOpen: true, FeederEmpty: true, HopperFull: true, RibbonOutAfter: 7, JamAtCard: 3, DisconnectAtByte: 5000}
	if p != want {
		t.Errorf("plan %+v", p)
	}
	for _, bad := range []string{"jam-at", "jam-at=-1", "cover-open=1", "smoke"} {
		if err := p.ParseFault(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := LanguageByName("zebra"); err == nil || !strings.Contains(err.Error(), "evolis") {
		t.Errorf("LanguageByName: %v", err)
	}
}

// FuzzEvolisParser feeds arbitrary bytes to the front end in arbitrary
// chunks: it must never panic, and every reply must be CR-terminated text.
func FuzzEvolisParser(f *testing.F) {
	f.Add([]byte("\x1bRsn\r\x1bSs\r\x1bDbc;k;2;2;\x01\x80\r\x1bSe\r"), uint8(3))
	f.Add([]byte("\x1bSs\r\x1bDbc;y;32;4;\x80\x00\x85\x10\r\x1bSv\r\x1bDm;1;ABC\r\x1bSmw\r\x1bSe\r"), uint8(1))
	f.Add([]byte("\x00\x00Pem;2\rRlr;p\r\x1bDb;k;2;\r"), uint8(7))
	f.Add([]byte("\x1bSi\r\x1bSis\r\x1bSs\r\x1bDm;1;AB\r\x1bSmw\r\x1bSmr;1\r\x1bWcb;o;255\r\x1bSe\r\x1bSc\r\x1bSs\r\x1bSsd;o\r\x1bSe\r\x1bStt;m\r\x1bSie\r"), uint8(4))
	f.Add([]byte("\x1bPr;k\r\x1bMr;s\r\x1bSs\r\x1bDbp;y;32;2;1;\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\r\x1bDbpc;c;32;0;2;4;\x80\x00\x80\x00\r\x1bSe;1\r"), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		e, _ := newEvolis(t, &Options{Geometry: printer.Geometry{DPI: 300, Width: 16, Height: 8}})
		tr := e.Transport()
		step := int(chunk%16) + 1
		for len(in) > 0 {
			k := min(step, len(in))
			if _, err := tr.Write(context.Background(), in[:k]); err != nil {
				t.Fatalf("write: %v", err)
			}
			in = in[k:]
		}
		e.mu.Lock()
		out := e.replies
		e.mu.Unlock()
		if len(out) > 0 && out[len(out)-1] != evolis.CR {
			t.Fatalf("reply not CR-terminated: %q", out)
		}
	})
}

func TestDisconnectEndsMechanismWait(t *testing.T) {
	tim := DefaultTiming()
	tim.Panel = time.Hour
	e, err := New(evolisLang(), &Options{Timing: tim}) // wall clock
	if err != nil {
		t.Fatal(err)
	}
	tr := e.Transport()
	do(t, tr, cmd("Ss"))
	// The link drops once the card is fed and the mechanism is waiting on
	// its (hour-long) panel: an event, not a moment, so a busy machine
	// that parses the download slowly cannot drop the link before the feed.
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for deadline := time.Now().Add(testwait.Limit()); !e.State().CardInside && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond) // polling the mechanism's state
		}
		e.Disconnect()
	}()
	start := time.Now()
	_, err = tr.Write(context.Background(), kDownload(t, testK()))
	if !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("write during a disconnect: %v", err)
	}
	if d := time.Since(start); d > testwait.Limit() {
		t.Errorf("write returned after %v", d)
	}
	<-fed
	if !e.State().CardInside {
		t.Error("the card being printed should stay inside")
	}
}

func TestServeDisconnectFault(t *testing.T) {
	e, _ := newEvolis(t, &Options{Faults: FaultPlan{DisconnectAtByte: 10}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Serve(ctx, ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testwait.Limit()))
	c.Write(append(cmd("Rsn"), cmd("Rfv")...)) // the link drops inside Rfv
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break // the printer hung up
		}
	}
	c.Close()
	if strings.Contains(string(got), "1.0.0-emu") {
		t.Errorf("a reply arrived from after the drop: %q", got)
	}
	// The printer is back for the next connection.
	c, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testwait.Limit()))
	c.Write(cmd("Rfv"))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "1.0.0-emu\r" {
		t.Errorf("after the drop: %q %v", buf[:n], err)
	}
}
