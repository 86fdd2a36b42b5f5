package spool

import (
	"context"
	"testing"
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
