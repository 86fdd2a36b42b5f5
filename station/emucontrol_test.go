package station

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/spool"
)

// TestEmulatorControlEmptiesHopper is a long run on a station's in-process
// emulated printer with a small output hopper: the hopper fills, the
// scheduler stops the printer with output-hopper-full and the remaining
// jobs wait; the operator empties the hopper through the printer's control
// channel (printers.emulator.control) and printing resumes to the end.
func TestEmulatorControlEmptiesHopper(t *testing.T) {
	cfg := testConfig(t)
	p := &cfg.Printers[0]
	p.Emulator.HopperCapacity = 1
	p.Emulator.Control = "127.0.0.1:0"
	p.OnError.Backoff = 10 * time.Millisecond
	p.OnError.MaxBackoff = 10 * time.Millisecond
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	addr := st.EmulatorControlAddr(p.Name)
	if addr == nil {
		t.Fatal("no control channel address")
	}
	jobs, photos := sampleJobs(t, "temporary", 2)
	jobs, photos = jobs[:2], photos[:2] // the good ones
	for i, j := range jobs {
		if _, err := st.Submit(j, photos[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	start := time.Now()
	// until polls cond (the scheduler's and spool's state, not the clock)
	// with a generous deadline.
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Minute); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %v", what, time.Since(start))
			}
			time.Sleep(20 * time.Millisecond) // polling state, not waiting for it to happen
		}
		t.Logf("%s after %v", what, time.Since(start))
	}
	completed := func() int {
		n := 0
		for _, j := range jobs {
			if js, err := st.Spool().Job(j.ID); err == nil && js.State == spool.StateCompleted {
				n++
			}
		}
		return n
	}
	stoppedFull := func() bool {
		for _, pi := range st.Scheduler().Printers() {
			if pi.Name == p.Name {
				return pi.Stopped && slices.Contains(pi.Reasons, printer.ReasonHopperFull)
			}
		}
		return false
	}
	until("the printer stopped with its hopper full", stoppedFull)
	if n := completed(); n != 1 {
		t.Fatalf("%d jobs completed into a hopper of 1", n)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr.String()+"/empty?box=hopper", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r emulator.EmptyReply
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || r.Emptied.HopperCards != 1 || len(r.State.Reasons) != 0 {
		t.Fatalf("empty: %s %+v %v", resp.Status, r, err)
	}
	until("every job completed after emptying", func() bool { return completed() == len(jobs) })
	if s := st.Emulator(p.Name).State(); s.CardsPrinted != 2 || s.HopperCards != 1 {
		t.Errorf("emulator: %d printed, %d in the hopper; want 2 and 1", s.CardsPrinted, s.HopperCards)
	}
}
