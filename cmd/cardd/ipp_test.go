package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cupstest"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer/usb"
)

// TestPrintersIPPQueue runs the printer commands against a real queue of
// a private cupsd (Gutenprint's Magicard Tango 2E driver): "printers list"
// lists it among the local CUPS queues ($CUPS_SERVER), "printers status"
// shows what the queue says and what a queue cannot promise, and the
// doctor checks that the queue answers, accepts jobs and can take the
// station's cards.
func TestPrintersIPPQueue(t *testing.T) {
	cupstest.Need(t, true)
	cups := cupstest.Start(t)
	t.Setenv("CUPS_SERVER", cups.Addr)
	uri := cups.AddQueue(t, "lobby", "socket://127.0.0.1:9", cups.Model(t, "gutenprint", "magicard-tango-2e"))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "station.toml")
	text := "[station]\nid = \"t1\"\n\n[[printers]]\nname = \"q\"\ndriver = \"ipp\"\nconnection = \"" + uri + "\"\nduplex = true\n"
	if err := os.WriteFile(cfg, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	deps := testDeps(nil, usb.ErrUnavailable)
	deps.listCUPS = listLocalCUPS
	out, _, err := runP(t, deps, "list", "--config", cfg, "--timeout", "1m")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, want := range []string{"CUPS queues (" + cups.Addr + ")", "lobby", uri, "Magicard Tango 2E", "socket://127.0.0.1:9",
		"q", "ok: Magicard Tango 2E"} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runP(t, deps, "status", "--config", cfg, "--timeout", "1m", "q")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"printer-state=idle", "spooler's word", "panel separation", "duplex true, magnetic false, 300 dpi"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}

	log := slog.New(slog.DiscardHandler)
	d := newTestDoctor()
	d.timeout = testwait.Limit()
	d.probe = func(ctx context.Context, p *config.Printer) (string, error) { return probePrinter(ctx, p, log) }
	p := &config.Printer{Name: "q", Driver: config.DriverIPP, Connection: uri, Resolution: 300, Duplex: true}
	assertCheck(t, d.checkPrinter(context.Background(), p), levelOK, "q (ipp, "+uri+"): idle")
	cups.Run(t, "/usr/sbin/cupsreject", "lobby")
	r := d.checkPrinter(context.Background(), p)
	assertCheck(t, r, levelFail, "printer-is-accepting-jobs=false")
	if !strings.Contains(r.fix, "cupsaccept") {
		t.Errorf("fix %q", r.fix)
	}
	cups.Run(t, "/usr/sbin/cupsaccept", "lobby")
	p.Resolution = 600
	r = d.checkPrinter(context.Background(), p)
	assertCheck(t, r, levelFail, "600 dpi")
	if !strings.Contains(r.fix, "resolution") {
		t.Errorf("fix %q", r.fix)
	}
}
