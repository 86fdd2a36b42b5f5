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
// inside the emulated printer and its job is held, outcome unknown. When
// the link is back the printer's evidence (cards fed +1, a card inside)
// settles it: that card goes to the reject box, counted per printer in
// cardd_cards_spoiled_total and as a spoiled audit record naming the held
// job's serial (which is then denied), and the job prints on a new card.
// The card was the job's own, settled, so no stray is counted.
func TestDaemonStrayCardSpoiled(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The link drops in the first card's second panel: the card was fed
	// when the first panel (about 576 KB) arrived, and is not finished. The
	// count includes the status polls before the job, every 100 ms for as
	// long as the job takes to compose (tens of KB on a loaded machine), so
	// the drop is placed far from the first panel's end: about 300 KB of
	// polls would be needed to move the first panel past it.
	emu, stopEmu := serveEvolisEmulator(t, ln, emulator.Options{Speed: 1000, Faults: emulator.FaultPlan{DisconnectAtByte: 900_000}})
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
	// One job at a time: the link drops in the first card sent.
	var first spool.Job
	for i := range 2 { // the two good jobs (demoJobs adds a bad one)
		if _, err := spool.Submit(cfg.Paths.Spool, jobs[i], photos[i]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("job %s to print", jobs[i].ID), func() bool {
			j, err := st.Spool().Job(jobs[i].ID)
			return err == nil && j.State == spool.StateCompleted
		})
	}
	first, _ = st.Spool().Job(jobs[0].ID)
	var held spool.Record
	for _, r := range first.History {
		if r.State == spool.StateHeld && r.Outcome == "unknown" && held.Job == 0 {
			held = r
		}
	}
	var settled spool.Record
	for _, r := range first.History {
		if r.Settled != "" {
			settled = r
		}
	}
	if held.Job == 0 || !strings.HasPrefix(settled.Settled, string(spool.SettleReject)) || !settled.Void {
		t.Fatalf("first job's history: want held (outcome unknown) then settled with its card rejected and serial voided: %+v", first.History)
	}
	if len(first.Voided) != 1 || first.Voided[0] == first.Serial {
		t.Fatalf("first job voided %v, printed %s: want its first serial voided and a new one printed", first.Voided, first.Serial)
	}
	heldSerial := first.Voided[0]
	if st := emu.State(); st.RejectCards != 1 || st.CardInside {
		t.Errorf("emulator: reject box %d, card inside %v; want the settled card in the reject box", st.RejectCards, st.CardInside)
	}
	if n := st.Scheduler().Status().Printers[0].StrayRejected; n != 0 {
		t.Errorf("Status: %d stray cards rejected, want 0 (the card was the held job's, settled)", n)
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
	if len(spoiled) != 1 || spoiled[0].Serial != heldSerial || !strings.Contains(spoiled[0].Reason, "settled from the printer's evidence") {
		t.Fatalf("spoiled records %+v; want one settled for the held job's serial %s", spoiled, heldSerial)
	}
	deny, err := security.LoadDenyList(cfg.Security.DenyList)
	if err != nil || !deny.Contains(heldSerial) {
		t.Errorf("deny list %v (err %v): want %s denied", deny, err, heldSerial)
	}
}
