package station

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"testing"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/printer"
)

// TestOpenPrinterBackOffsets prints a duplex K card through each driver
// built from config and checks that the back calibration offset moves the
// back, and only the back (the emulator decodes panels without undoing
// offsets).
func TestOpenPrinterBackOffsets(t *testing.T) {
	t.Parallel()
	for _, drv := range []config.Driver{config.DriverEvolis, config.DriverMagicard} {
		t.Run(string(drv), func(t *testing.T) {
			t.Parallel()
			print := func(cal config.Calibration) *printer.Card {
				t.Helper()
				p := config.DefaultPrinter()
				p.Name, p.Driver, p.Connection, p.Ribbon, p.Duplex = "x", drv, "emulator", "ymcko", true
				p.Calibration = cal
				p.Emulator = instantEmulator()
				op, err := OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer op.Close()
				g := printer.CR80(300)
				k := printer.NewMono(g.Bounds())
				k.Fill(image.Rect(400, 200, 600, 400), true)
				c := &printer.Card{Geometry: g, Front: printer.Side{K: k}, Back: &printer.Side{K: k}}
				if _, err := op.Dev.Print(context.Background(), c); err != nil {
					t.Fatal(err)
				}
				out := op.Emu.Printed()
				if len(out) != 1 || out[0].Card.Back == nil || out[0].Card.Back.K == nil || out[0].Card.Front.K == nil {
					t.Fatalf("printed %d cards, want 1 duplex card with K", len(out))
				}
				return &out[0].Card
			}
			plain := print(config.Calibration{})
			shifted := print(config.Calibration{BackXMM: 1, BackYMM: -0.5})
			if string(plain.Front.K.Pix) != string(shifted.Front.K.Pix) {
				t.Error("a back offset moved the front")
			}
			if string(plain.Back.K.Pix) == string(shifted.Back.K.Pix) {
				t.Error("the back offset did not reach the driver: back printed unshifted")
			}
		})
	}
}

// TestOpenPrinterEmulatorKeepsRecentCards checks that the in-process
// emulator of a long-running daemon or demo remembers only its latest
// cards (the emulator's own default keeps them all, for tests).
func TestOpenPrinterEmulatorKeepsRecentCards(t *testing.T) {
	t.Parallel()
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Connection, p.Ribbon = "x", config.DriverEvolis, "emulator", "ymcko"
	p.Emulator = instantEmulator()
	op, err := OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	g := printer.CR80(300)
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(10, 10, 90, 40), true)
	const cards = 20
	for i := range cards {
		if _, err := op.Dev.Print(context.Background(), &printer.Card{Geometry: g, Front: printer.Side{K: k}}); err != nil {
			t.Fatalf("card %d: %v", i+1, err)
		}
	}
	out := op.Emu.Printed()
	if len(out) == 0 || len(out) >= cards {
		t.Fatalf("emulator remembers %d of %d cards, want a bounded recent few", len(out), cards)
	}
	if last := out[len(out)-1].Seq; last != cards {
		t.Errorf("latest card remembered is %d, want %d", last, cards)
	}
}

// instantEmulator is the default emulator section on a virtual clock.
func instantEmulator() *config.Emulator {
	e := config.DefaultEmulator()
	e.Speed = 0
	return e
}

// TestOpenPrinterIPP builds the ipp driver from a configured queue: no
// transport is opened (the driver speaks HTTP itself), a queue nobody
// serves reads as offline, and a driver/connection mismatch is a
// configuration error.
func TestOpenPrinterIPP(t *testing.T) {
	t.Parallel()
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Connection = "q", config.DriverIPP, "ipp://127.0.0.1:1/printers/card"
	op, err := OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if op.Transport != nil || op.Emu != nil {
		t.Fatalf("opened %+v", op)
	}
	if _, err := op.Dev.Status(context.Background()); !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("Status of a queue nobody serves: %v", err)
	}
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	p.Driver = config.DriverMagicard
	if _, err := OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler)); !errors.As(err, new(ConfigError)) {
		t.Fatalf("magicard driver on an IPP queue: %v", err)
	}
}
