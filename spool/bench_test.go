package spool

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkSpoolOverhead measures what the spool adds per job with an
// instant composer and printer: claim by rename, admission (read job file
// and photo, hash, header check), four journal records with fsync, the
// move to done/ and the directory fsyncs. Submitting (the producer's
// side) is outside the timer.
func BenchmarkSpoolOverhead(b *testing.B) {
	e := newEnv(b, PolicyRetryJob)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.submit("B-"+numName(uint64(i+1)), nil)
		b.StartTimer()
		if err := e.s.Rescan(ctx); err != nil {
			b.Fatal(err)
		}
		took, err := e.s.ProcessNext(ctx, "p1")
		if err != nil || !took {
			b.Fatalf("ProcessNext = %v, %v", took, err)
		}
	}
}

// BenchmarkSpoolOverheadNoSync is BenchmarkSpoolOverhead without any
// fsync: the CPU and file-system cost alone, which separates the spool's
// own work from the disk's fsync latency (five fsyncs per job).
func BenchmarkSpoolOverheadNoSync(b *testing.B) {
	e := newEnv(b, PolicyRetryJob)
	e.sp.opts.NoSync = true
	e.sp.journal.sync = false
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.submit("B-"+numName(uint64(i+1)), nil)
		b.StartTimer()
		if err := e.s.Rescan(ctx); err != nil {
			b.Fatal(err)
		}
		if took, err := e.s.ProcessNext(ctx, "p1"); err != nil || !took {
			b.Fatalf("ProcessNext = %v, %v", took, err)
		}
	}
}

// BenchmarkJournalAppend measures one durable journal record.
func BenchmarkJournalAppend(b *testing.B) {
	j, _, err := openJournal(b.TempDir()+"/journal", true)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := Record{Job: uint64(i), ID: "J", State: StateProcessing, Sub: SubPrinting, Serial: "S00001", Printer: "p1"}
		if err := j.append(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitToPrint measures, in a running scheduler with the real
// fsnotify watcher, the time from a job committed to incoming/ (Submit
// returned) to its card reaching the printer (Print called); the median
// is reported as median-ms. Composer and printer are instant fakes.
func BenchmarkCommitToPrint(b *testing.B) {
	e := newEnv(b, PolicyRetryJob)
	w, err := NewFSWatcher(e.sp.WatchDirs()...)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	at := make(chan time.Time, 1)
	e.printers["p1"].hook = func() { at <- time.Now() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- e.s.Run(ctx, RunOptions{Watcher: w, Rescan: time.Minute, Poll: time.Minute, Purge: time.Hour})
	}()
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		e.submit("L-"+numName(uint64(i+1)), nil)
		t0 := time.Now()
		select {
		case t1 := <-at:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(30 * time.Second):
			b.Fatal("job never reached the printer")
		}
	}
	b.StopTimer()
	cancel()
	<-done
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkOpen10k replays a journal of 10,000 queued jobs (two records
// each) and reports the heap the spool holds for them (heap-MB).
func BenchmarkOpen10k(b *testing.B) {
	root := b.TempDir()
	j, _, err := openJournal(root+"/"+fileJournal, false)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for n := uint64(1); n <= 10000; n++ {
		recs := []Record{
			{Time: now, Job: n, ID: "CASE-2026-" + numName(n), State: StatePending, Template: "temporary", Source: "CASE-" + numName(n) + "-abcd1234", Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			{Time: now, Job: n, State: StateHeld, Reason: "held by operator: check photo (by alice)"},
		}
		for i := range recs {
			if err := j.append(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	j.Close()
	b.ReportAllocs()
	var heap float64
	for i := 0; i < b.N; i++ {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		sp, err := Open(root, Options{ReadOnly: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)
		if len(sp.jobs) != 10000 {
			b.Fatalf("%d jobs", len(sp.jobs))
		}
		runtime.KeepAlive(sp)
	}
	b.ReportMetric(heap, "heap-MB")
}

// BenchmarkSpoolBurst is BenchmarkSpoolOverhead for bursts of 50 jobs
// claimed in one scan (directory fsyncs shared); ms/job is the figure.
func BenchmarkSpoolBurst(b *testing.B) {
	e := newEnv(b, PolicyRetryJob)
	ctx := context.Background()
	b.ReportAllocs()
	var total time.Duration
	jobs := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k := 0; k < 50; k++ {
			jobs++
			e.submit("B-"+numName(uint64(jobs)), nil)
		}
		b.StartTimer()
		t0 := time.Now()
		if err := e.s.Rescan(ctx); err != nil {
			b.Fatal(err)
		}
		for {
			took, err := e.s.ProcessNext(ctx, "p1")
			if err != nil {
				b.Fatal(err)
			}
			if !took {
				break
			}
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(jobs), "ms/job")
}
