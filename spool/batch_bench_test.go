package spool

import (
	"fmt"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
)

// batchedSpool opens (read-only) a spool of 10,000 permanent jobs queued
// in 200 closed batches of 50: a central host with a large backlog.
func batchedSpool(b *testing.B) (*Spool, []string) {
	b.Helper()
	root := b.TempDir()
	j, _, err := openJournal(root+"/"+fileJournal, false)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for n := uint64(1); n <= 10000; n++ {
		batch := fmt.Sprintf("B%06d", (n-1)/50+1)
		recs := []Record{{Time: now, Job: n, ID: "CASE-2026-" + numName(n), State: StatePending, Template: "permanent",
			Source: "CASE-" + numName(n) + "-abcd1234", Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Batch: batch}}
		if (n-1)%50 == 0 {
			recs = append([]Record{{Time: now, Batch: batch, BatchState: BatchOpen, Template: "permanent"}}, recs...)
		}
		if n%50 == 0 {
			recs = append(recs, Record{Time: now, Batch: batch, BatchState: BatchClosed, Reason: "full (50 jobs)"})
		}
		for i := range recs {
			if err := j.append(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	j.Close()
	sp, err := Open(root, Options{ReadOnly: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sp.Close() })
	var ids []string
	for _, x := range sp.Batches() {
		ids = append(ids, x.ID)
	}
	return sp, ids
}

// BenchmarkBatchReports10k: the reports of 200 batches over 10,000 jobs
// (what a central host's batch summaries compute at each check), one
// BatchReport per batch against BatchReports in one pass; one op is all
// 200 reports.
func BenchmarkBatchReports10k(b *testing.B) {
	b.Run("each", func(b *testing.B) {
		sp, ids := batchedSpool(b)
		b.ReportAllocs()
		b.ResetTimer()
		done := benchcpu.ThreadMeter(b)
		for i := 0; i < b.N; i++ {
			for _, id := range ids {
				if _, err := sp.BatchReport(id, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
	})
	b.Run("one-pass", func(b *testing.B) {
		sp, ids := batchedSpool(b)
		b.ReportAllocs()
		b.ResetTimer()
		done := benchcpu.ThreadMeter(b)
		for i := 0; i < b.N; i++ {
			if _, err := sp.BatchReports(ids, nil); err != nil {
				b.Fatal(err)
			}
		}
		done()
	})
}
