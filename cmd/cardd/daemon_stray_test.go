package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// TestDaemonStrayCardSpoiled: the link drops mid-card, so the card stays
// inside the emulated printer and its job is held, outcome unknown. After
// the link is back, the next job's print first sends that card to the
// reject box: the daemon counts it per printer in /status, in
// cardd_cards_spoiled_total and as a spoiled audit record naming the held
// job's serial (which is then denied).
func TestDaemonStrayCardSpoiled(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The link drops a third of the way into the first card.
	emu, stopEmu := serveEvolisEmulator(t, ln, emulator.Options{Speed: 1000, Faults: emulator.FaultPlan{DisconnectAtByte: 600_000}})
	defer stopEmu()
	work := t.TempDir()
	cfg, err := config.Parse(filepath.Join(work, "station.toml"), []byte(crashConfig(ln.Addr().String())))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	p := &cfg.Printers[0]
	st, httpAddr := startDaemon(t, cfg)
	jobs, photos, err := demoJobs("temporary", "temporary", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Submit(cfg.Paths.Spool, jobs[0], photos[0]); err != nil {
		t.Fatal(err)
	}
	var held spool.Job
	waitFor(t, "the first job to be held, outcome unknown", func() bool {
		held, _ = st.Spool().Job(jobs[0].ID)
		return held.State == spool.StateHeld
	})
	if !emu.State().CardInside {
		t.Fatal("emulator: no card inside after the disconnect")
	}
	rejected := emu.State().RejectCards
	if _, err := spool.Submit(cfg.Paths.Spool, jobs[1], photos[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second job to print", func() bool {
		j, err := st.Spool().Job(jobs[1].ID)
		return err == nil && j.State == spool.StateCompleted
	})
	if n := emu.State().RejectCards; n != rejected+1 {
		t.Errorf("reject box %d → %d, want one more", rejected, n)
	}
	if n := st.Scheduler().Status().Printers[0].StrayRejected; n != 1 {
		t.Errorf("Status: %d stray cards rejected, want 1", n)
	}
	if n := httpStatus(t, httpAddr).Printers[0].StrayRejected; n != 1 {
		t.Errorf("/status: %d stray cards rejected, want 1", n)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("cardd_cards_spoiled_total{printer=%q} 1", p.Name)
	if !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q", want)
	}
	f, err := os.Open(cfg.Security.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var spoiled []audit.Record
	if _, err := audit.Read(f, func(r audit.Record) error {
		if r.Event == audit.EventSpoiled {
			spoiled = append(spoiled, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(spoiled) != 1 || spoiled[0].Serial != held.Serial || !strings.HasPrefix(spoiled[0].Reason, spool.StrayReason) {
		t.Fatalf("spoiled records %+v; want one for the held job's serial %s", spoiled, held.Serial)
	}
	deny, err := security.LoadDenyList(cfg.Security.DenyList)
	if err != nil || !deny.Contains(held.Serial) {
		t.Errorf("deny list %v (err %v): want %s denied", deny, err, held.Serial)
	}
}
