package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
)

// printOne takes a card through the mechanism to the hopper (or the reject
// box).
func printOne(ctx context.Context, m *Machine, reject bool) error {
	if err := m.Feed(ctx); err != nil {
		return err
	}
	if err := m.PrintPanel(ctx, "front", "k"); err != nil {
		return err
	}
	if reject {
		return m.Reject(ctx)
	}
	return m.Eject(ctx, nil)
}

func TestEmptyHopperAndRejectBox(t *testing.T) {
	ctx := context.Background()
	e, _ := newEvolis(t, &Options{HopperCapacity: 2, RejectCapacity: 1})
	m := e.Machine()
	for i := range 2 {
		if err := printOne(ctx, m, false); err != nil {
			t.Fatalf("card %d: %v", i+1, err)
		}
	}
	if err := printOne(ctx, m, false); !errors.Is(err, printer.ErrHopperFull) {
		t.Fatalf("third card into a hopper of 2: %v, want ErrHopperFull", err)
	}
	if !slices.Contains(e.State().Reasons(), printer.ReasonHopperFull) {
		t.Fatalf("reasons %v lack hopper full", e.State().Reasons())
	}
	got, err := m.EmptyBoxes(BoxHopper)
	if err != nil || got != (Emptied{HopperCards: 2}) {
		t.Fatalf("empty hopper = %+v, %v", got, err)
	}
	if r := e.State().Reasons(); len(r) != 0 {
		t.Fatalf("reasons after emptying: %v", r)
	}
	// The reject box fills the same way; emptying the hopper leaves it.
	if err := printOne(ctx, m, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.State().Reasons(), printer.ReasonRejectFull) {
		t.Fatalf("reasons %v lack reject box full", e.State().Reasons())
	}
	if err := m.Feed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Reject(ctx); !errors.Is(err, printer.ErrRejectFull) {
		t.Fatalf("reject into a full box: %v", err)
	}
	if got, _ := m.EmptyBoxes(BoxHopper); got != (Emptied{}) {
		t.Fatalf("empty hopper = %+v", got)
	}
	if got, _ := m.EmptyBoxes(BoxBoth); got != (Emptied{RejectCards: 1}) {
		t.Fatalf("empty both = %+v", got)
	}
	if err := m.Reject(ctx); err != nil {
		t.Fatalf("reject after emptying: %v", err)
	}
	st := e.State()
	if st.CardsPrinted != 2 || st.CardsFed != 4 || st.HopperCards != 0 || st.RejectCards != 1 {
		t.Errorf("state %+v: want 2 printed, 4 fed, hopper 0, reject 1", st)
	}
	if _, err := m.EmptyBoxes("drawer"); err == nil {
		t.Error("empty drawer: no error")
	}
}

func TestParseBox(t *testing.T) {
	for in, want := range map[string]Box{"": BoxBoth, "hopper": BoxHopper, " reject ": BoxReject, "both": BoxBoth} {
		if got, err := ParseBox(in); err != nil || got != want {
			t.Errorf("ParseBox(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseBox("Hopper"); err == nil {
		t.Error("ParseBox(Hopper): no error")
	}
}

// TestControlChannel serves the control channel on loopback and drives it
// as "cardd emulate empty" and curl do.
func TestControlChannel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _ := newEvolis(t, &Options{HopperCapacity: 1, Faults: FaultPlan{HopperFull: true}})
	var open atomic.Bool // the machine behind the second handler is not open yet
	var lc net.ListenConfig
	serve := func(h http.Handler) (string, chan error) {
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- ServeControl(ctx, ln, h, nil) }()
		return "http://" + ln.Addr().String(), done
	}
	url, done := serve(e.ControlHandler())
	lazy, lazyDone := serve(ControlHandler(func() *Machine {
		if !open.Load() {
			return nil
		}
		return e.Machine()
	}))
	call := func(method, u string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	code, body := call("GET", url+"/state")
	var st ControlState
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.HopperCards != 1 || !slices.Contains(st.Reasons, printer.ReasonHopperFull) {
		t.Fatalf("GET /state = %d %s", code, body)
	}
	if code, body := call("POST", url+"/empty?box=drawer"); code != http.StatusBadRequest || !strings.Contains(body, "drawer") {
		t.Errorf("box=drawer: %d %s", code, body)
	}
	if code, _ := call("GET", url+"/empty"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /empty: %d, want 405", code)
	}
	if code, body := call("POST", lazy+"/empty"); code != http.StatusServiceUnavailable {
		t.Errorf("POST /empty before the printer is open: %d %s", code, body)
	}
	open.Store(true)
	code, body = call("POST", lazy+"/empty?box=hopper")
	var r EmptyReply
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.Emptied.HopperCards != 1 || len(r.State.Reasons) != 0 {
		t.Fatalf("POST /empty?box=hopper = %d %s", code, body)
	}
	if s := e.State(); s.HopperCards != 0 {
		t.Errorf("hopper holds %d after emptying", s.HopperCards)
	}
	cancel()
	for _, d := range []chan error{done, lazyDone} {
		if err := testwait.Recv(t, "the control channel to stop", d); err != nil {
			t.Errorf("ServeControl: %v", err)
		}
	}
}

// TestTakeCardOutPartPrinted: a card fed and printed in part (two panels)
// is pulled out by hand: it reaches neither box, and the counters keep what
// happened — the card fed, the two panels printed — as a real printer's do,
// so the cards-fed counter alone cannot tell it from a delivered card and
// the panel counter can.
func TestTakeCardOutPartPrinted(t *testing.T) {
	ctx := context.Background()
	e, _ := newEvolis(t, nil)
	m := e.Machine()
	before := m.State()
	if err := m.Feed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"y", "m"} {
		if err := m.PrintPanel(ctx, "front", p); err != nil {
			t.Fatal(err)
		}
	}
	if !m.TakeCardOut() {
		t.Fatal("no card inside to take out")
	}
	st := m.State()
	if st.CardInside || st.CardsFed != before.CardsFed+1 || st.PanelsPrinted != before.PanelsPrinted+2 ||
		st.CardsPrinted != before.CardsPrinted || st.HopperCards != before.HopperCards || st.RejectCards != before.RejectCards {
		t.Fatalf("after the card was taken out: %+v (before %+v)", st, before)
	}
	if m.TakeCardOut() {
		t.Error("a second card taken out of an empty printer")
	}
	// A card printed whole advances the panel counter by all its panels.
	if err := printOne(ctx, m, false); err != nil {
		t.Fatal(err)
	}
	if st2 := m.State(); st2.PanelsPrinted != st.PanelsPrinted+1 || st2.CardsFed != st.CardsFed+1 || st2.HopperCards != st.HopperCards+1 {
		t.Fatalf("after a whole card: %+v", st2)
	}
}
