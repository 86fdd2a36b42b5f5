package network_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/netbench"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

// BenchmarkSpoolIntakeTake is a central host's share of taking a request:
// SpoolIntake.Take of b.N requests (a 30 KiB photo each) into one spool
// directory by 16 concurrent takers, as a Taker's workers do. ns/op is
// wall time per request, cpu-ns/op this process's CPU per request.
//
//	go test -run '^$' -bench BenchmarkSpoolIntakeTake -benchtime 2000x -cpu 1 ./network
func BenchmarkSpoolIntakeTake(b *testing.B) {
	root := filepath.Join(b.TempDir(), "spool")
	if err := os.MkdirAll(filepath.Join(root, "incoming"), 0o770); err != nil {
		b.Fatal(err)
	}
	in := &network.SpoolIntake{Root: root, DefaultTemplate: "permanent"}
	reqs := make([]*network.Request, b.N)
	for i := range reqs {
		id := fmt.Sprintf("B%d-%d", b.N, i)
		reqs[i] = &network.Request{Office: "office-a", Sent: time.Now(), Photo: netbench.Photo,
			Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: map[string]string{"name": "Ada Lovelace"}, Photo: "photo.jpg"}}
	}
	netbench.Workers(b, 16, func(i int) error {
		r := reqs[i]
		return in.Take(context.Background(), network.CentralJobID(r.Office, r.Job.ID), r)
	})
}

// BenchmarkInboxTake is BenchmarkSpoolIntakeTake through an Inbox: Take
// appends a record and waits for a shared fsync, while the inbox's
// feeder moves the requests on into the spool. ns/op and cpu-ns/op are
// the takes'; feed-lag-req is how many requests the feeder had yet to
// move when the last take returned, fed-ns/op the wall time and
// fed-cpu-ns/op the CPU per request until every one was in the spool.
//
//	go test -run '^$' -bench BenchmarkInboxTake -benchtime 2000x -cpu 1 ./network
func BenchmarkInboxTake(b *testing.B) {
	dir := b.TempDir()
	root := filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(root, "incoming"), 0o770); err != nil {
		b.Fatal(err)
	}
	ib, err := network.OpenInbox(filepath.Join(dir, "inbox"), &network.SpoolIntake{Root: root, DefaultTemplate: "permanent"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ib.Close()
	reqs := make([]*network.Request, b.N)
	for i := range reqs {
		id := fmt.Sprintf("B%d-%d", b.N, i)
		reqs[i] = &network.Request{Office: "office-a", Sent: time.Now(), Photo: netbench.Photo,
			Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: map[string]string{"name": "Ada Lovelace"}, Photo: "photo.jpg"}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	fed := make(chan struct{})
	go func() { defer close(fed); _ = ib.Feed(ctx) }()
	defer func() { cancel(); <-fed }()
	cpu0, start := benchcpu.Process(), time.Now()
	netbench.Workers(b, 16, func(i int) error {
		r := reqs[i]
		return ib.Take(context.Background(), network.CentralJobID(r.Office, r.Job.ID), r)
	})
	lag := ib.Pending()
	if err := ib.WaitFed(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(lag), "feed-lag-req")
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "fed-ns/op")
	b.ReportMetric(float64((benchcpu.Process()-cpu0).Nanoseconds())/float64(b.N), "fed-cpu-ns/op")
}
