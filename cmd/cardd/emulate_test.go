package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
	"github.com/cardd/cardd/printer/tcp"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestEmulateServesEvolis(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"emulate", "--model", "evolis", "--listen", "127.0.0.1:0", "--out", out, "--speed", "10000"}, nil, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`emulating evolis on (\S+)`)
	var addr string
	testwait.For(t, "the emulator to start", func() bool {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	conn, err := tcp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dev := evolis.New(conn, nil, nil)
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(10, 10, 500, 60), true)
	res, err := dev.Print(ctx, &printer.Card{Geometry: g, Front: printer.Side{K: k}})
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("print: %v %v", res.Outcome, err)
	}
	for _, f := range []string{"card-0001-front.png", "card-0001-front-k.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	cancel()
	if c := testwait.Recv(t, "emulate to stop on cancel", code); c != exitOK {
		t.Errorf("exit %d: %s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "cards_printed=1") {
		t.Errorf("summary missing: %s", stderr.String())
	}
}

func TestEmulateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"emulate", "--model", "zebra"},
		{"emulate", "--fault", "smoke"},
		{"emulate", "--speed", "0"},
		{"emulate", "extra"},
		{"emulate", "--hopper-capacity", "0"},
		{"emulate", "--reject-capacity", "-1"},
		{"emulate", "empty", "drawer"},
		{"emulate", "empty", "hopper", "reject"},
	} {
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), args, nil, &stdout, &stderr); c != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, c, exitUsage, stderr.String())
		}
	}
}

// TestEmulateHopperFillsAndIsEmptied is a long run on "cardd emulate" with
// a small output hopper: it fills, the printer stops with hopper-full
// (in its status and as the next card's error), "cardd emulate empty"
// empties it through the control channel, and printing resumes.
func TestEmulateHopperFillsAndIsEmptied(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"emulate", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
			"--hopper-capacity", "3", "--reject-capacity", "2", "--speed", "10000"}, nil, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`(?s)emulating evolis on (\S+)\ncontrol channel on (\S+) `)
	var addr, control string
	testwait.For(t, "the emulator and its control channel to start", func() bool {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			addr, control = m[1], m[2]
		}
		return addr != ""
	})
	conn, err := tcp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dev := evolis.New(conn, nil, nil)
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(10, 10, 500, 60), true)
	card := &printer.Card{Geometry: g, Front: printer.Side{K: k}}
	printCard := func() (printer.Result, error) { return dev.Print(ctx, card) }
	hopperFull := func() bool {
		st, err := dev.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(st.Reasons, printer.ReasonHopperFull)
	}
	// Cards go out until the hopper is full.
	printed := 0
	for !hopperFull() {
		res, err := printCard()
		if err != nil || res.Outcome != printer.OutcomePrinted {
			t.Fatalf("card %d: %v %v", printed+1, res.Outcome, err)
		}
		if printed++; printed > 3 {
			t.Fatalf("%d cards printed into a hopper of 3", printed)
		}
	}
	if printed != 3 {
		t.Fatalf("hopper full after %d cards, want 3", printed)
	}
	res, err := printCard()
	if !errors.Is(err, printer.ErrHopperFull) || res.Outcome != printer.OutcomeNotFed {
		t.Fatalf("card into a full hopper: %v %v, want not fed, ErrHopperFull", res.Outcome, err)
	}
	// The operator empties it.
	var out, errOut bytes.Buffer
	if c := run(ctx, []string{"emulate", "empty", "--control", control, "hopper"}, nil, &out, &errOut); c != exitOK {
		t.Fatalf("emulate empty: exit %d: %s", c, errOut.String())
	}
	if want := "output hopper: took out 3 cards (holds 3)\nprinter: ready\n"; out.String() != want {
		t.Errorf("emulate empty printed %q, want %q", out.String(), want)
	}
	if hopperFull() {
		t.Fatal("status still reports the hopper full after emptying")
	}
	for i := range 2 {
		if res, err := printCard(); err != nil || res.Outcome != printer.OutcomePrinted {
			t.Fatalf("card %d after emptying: %v %v", i+1, res.Outcome, err)
		}
	}
	out.Reset()
	if c := run(ctx, []string{"emulate", "empty", "--control", control}, nil, &out, &errOut); c != exitOK {
		t.Fatalf("emulate empty: exit %d: %s", c, errOut.String())
	}
	if want := "output hopper: took out 2 cards (holds 3)\nreject box: took out 0 cards (holds 2)\nprinter: ready\n"; out.String() != want {
		t.Errorf("emulate empty printed %q, want %q", out.String(), want)
	}
	cancel()
	if c := testwait.Recv(t, "emulate to stop on cancel", code); c != exitOK {
		t.Errorf("exit %d: %s", c, stderr.String())
	}
	if s := stderr.String(); !strings.Contains(s, "cards_printed=5") || !strings.Contains(s, "emptied by the operator") {
		t.Errorf("log lacks the summary or the emptying: %s", s)
	}
	// Nothing answers on the control address once the emulator stopped.
	if c := run(context.Background(), []string{"emulate", "empty", "--control", control, "--timeout", "30s"}, nil, &out, &errOut); c == exitOK {
		t.Error("emulate empty with no emulator running: exit 0")
	}
}
