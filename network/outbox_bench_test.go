package network_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/netbench"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

// BenchmarkOutboxEnqueue is a field office's share of queueing a
// permanent request: Outbox.Enqueue of b.N requests (a 30 KiB photo each)
// by 4 concurrent callers. ns/op is wall time per request, cpu-ns/op this
// process's CPU per request.
//
//	go test -run '^$' -bench BenchmarkOutboxEnqueue -benchtime 2000x -cpu 1 ./network
func BenchmarkOutboxEnqueue(b *testing.B) {
	ob, err := network.OpenOutbox(b.TempDir(), "office-a", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	reqs := make([]*network.Request, b.N)
	for i := range reqs {
		reqs[i] = &network.Request{Office: "office-a", Sent: time.Now(), Photo: netbench.Photo,
			Job: &jobfile.Job{ID: fmt.Sprintf("B%d-%d", b.N, i), Template: "permanent", Permanent: true, Fields: map[string]string{"name": "Ada Lovelace"}, Photo: "photo.jpg"}}
	}
	netbench.Workers(b, 4, func(i int) error {
		_, err := ob.Enqueue(reqs[i])
		return err
	})
}
