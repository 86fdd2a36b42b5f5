package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
)

// benchStation opens a station on the embedded default in a temporary
// directory: one instant in-process emulator that keeps no PNG files, no
// HTTP endpoint, the real journal with fsync, and face detection with the
// pigo module's cascades (the photo gate checks every photo at intake and
// the shipped templates crop the portrait from the eyes, fit = "face").
func benchStation(b *testing.B, o station.Options, printers int) (*station.Station, *config.Config) {
	b.Helper()
	cfg, err := config.Embedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	cfg.HTTP.Listen = ""
	cfg.Portrait.Cascades = cascades.Dir(b)
	for i := 1; i < printers; i++ {
		p := cfg.Printers[0]
		em := *p.Emulator
		p.Emulator = &em
		p.Name = fmt.Sprintf("emulator-%d", i+1)
		cfg.Printers = append(cfg.Printers, p)
	}
	for i := range cfg.Printers {
		p := &cfg.Printers[i]
		p.Emulator.Output = ""
		p.Emulator.Speed = 0
		p.Emulator.CardsLoaded = 1 << 20
		p.Emulator.RibbonPanels = 1 << 20
		p.Duplex = false
	}
	o.Run = spool.RunOptions{Rescan: time.Second, Poll: time.Second}
	st, err := station.Open(b.Context(), cfg, slog.New(slog.DiscardHandler), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, cfg
}

// runStation runs the station's scheduler until the benchmark ends.
func runStation(b *testing.B, st *station.Station) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.Context()))
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

// BenchmarkDaemonCards measures cards per second end to end through the
// real wiring with an instant emulator: spool claim and journal (fsync),
// serial allocation, audit records, template render with the signed QR,
// the pre-print QR check, the Evolis driver's encoding and the emulator
// decoding it. Jobs are committed first, then the daemon prints them all,
// on one printer (one worker: compose and print in turn) or two.
func BenchmarkDaemonCards(b *testing.B) {
	jobs, photos, err := demoJobs("temporary", "temporary", 16)
	if err != nil {
		b.Fatal(err)
	}
	for _, printers := range []int{1, 2} {
		b.Run(fmt.Sprintf("printers=%d", printers), func(b *testing.B) {
			benchCards(b, printers, jobs, photos)
		})
	}
}

func benchCards(b *testing.B, printers int, jobs []*jobfile.Job, photos [][]byte) {
	st, cfg := benchStation(b, station.Options{}, printers)
	for i := range b.N {
		j := *jobs[i%16]
		j.ID = fmt.Sprintf("BENCH-%06d", i)
		if _, err := spool.Submit(cfg.Paths.Spool, &j, photos[i%16]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := benchcpu.Process()
	runStation(b, st)
	for st.Spool().Counts()[spool.StateCompleted] < b.N {
		if n := st.Spool().Counts()[spool.StateHeld] + st.Spool().Counts()[spool.StateAborted]; n > 0 {
			b.Fatalf("%d jobs held or aborted", n)
		}
		emptyHoppers(b, st)
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cards/s")
	// CPU per card tells a slower machine (or a busy one: cards/s falls
	// with the load of other processes) from more work per card.
	b.ReportMetric((benchcpu.Process()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/card")
}

// BenchmarkCommitToFirstByte measures, in temporary mode, the time from a
// job's commit (spool.Submit's rename into incoming/) to the card going to
// the printer (the driver's Print call, before its first byte), one job at
// a time with the daemon idle in between; it reports the median and the
// 90th percentile.
func BenchmarkCommitToFirstByte(b *testing.B) {
	var mu sync.Mutex
	sent := map[string]time.Time{}
	got := make(chan struct{}, 1)
	st, cfg := benchStation(b, station.Options{OnPrint: func(_, id string) {
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		got <- struct{}{}
	}}, 1)
	runStation(b, st)
	jobs, photos, err := demoJobs("temporary", "temporary", 16)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := *jobs[i%16]
		j.ID = fmt.Sprintf("LAT-%06d", i)
		if j.Mode != jobfile.ModeTemporary {
			b.Fatal("not temporary")
		}
		committed := time.Now()
		if _, err := spool.Submit(cfg.Paths.Spool, &j, photos[i%16]); err != nil {
			b.Fatal(err)
		}
		// Measured from before Submit: the producer's own writes and
		// fsyncs before the committing rename count too (an upper
		// bound).
		select {
		case <-got:
		case <-time.After(30 * time.Second):
			b.Fatalf("job %s never reached the printer", j.ID)
		}
		mu.Lock()
		lat = append(lat, sent[j.ID].Sub(committed))
		mu.Unlock()
		// Let the card finish before the next commit.
		for st.Spool().Counts()[spool.StateCompleted] < i+1 {
			time.Sleep(time.Millisecond)
		}
		emptyHoppers(b, st)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms-p90")
}

// emptyHoppers empties the emulators' output hoppers (as in the demo) and
// fails on a printer that stopped.
func emptyHoppers(b *testing.B, st *station.Station) {
	b.Helper()
	if err := st.EmptyEmulatorHoppers(); err != nil {
		b.Fatal(err)
	}
	for _, p := range st.Scheduler().Printers() {
		if p.Stopped {
			b.Fatalf("printer %s stopped: %v %s", p.Name, p.Reasons, p.Err)
		}
	}
}
