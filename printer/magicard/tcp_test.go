package magicard_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/magicard"
	"github.com/cardd/cardd/printer/tcp"
)

// TestOverTCP prints a duplex card through the emulator served on a
// loopback TCP port, as "cardd emulate --model magicard" serves it: the job
// reaches the front end in network-sized chunks.
func TestOverTCP(t *testing.T) {
	t.Parallel()
	lang, err := emulator.LanguageByName("magicard")
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(lang, &emulator.Options{Clock: emulator.NewFakeClock(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	conn, err := tcp.Dial(ctx, ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dev := magicard.New(conn, &magicard.Opts{PollInterval: 5 * time.Millisecond}, nil)
	c := magicard.SampleCard(true, true)
	res, err := dev.Print(ctx, c)
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print over TCP: %s, %v", res.Outcome, err)
	}
	out := emu.Printed()
	if len(out) != 1 || out[0].Card.Back == nil || out[0].Card.Mag != c.Mag {
		t.Fatalf("emulator printed %d cards", len(out))
	}
	checkSide(t, "front", &out[0].Card.Front, &c.Front, c.Geometry)
}
