package main

import (
	"bytes"
	"context"
	"image"
	"os"
	"path/filepath"
	"regexp"
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
	} {
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), args, nil, &stdout, &stderr); c != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, c, exitUsage, stderr.String())
		}
	}
}
