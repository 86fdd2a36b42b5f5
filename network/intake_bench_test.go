package network_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
