package facility

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/network"
)

// BenchmarkHubOps prices, one kind at a time, the hub operations a
// forwarded request costs on the 3-node cluster (three replicas), 16 at
// once as the central hosts' workers do: "request" stores a request
// (a sample portrait) from an office, "take" delivers a queued request to
// the central hosts' consumer and acks it (the message leaves the work
// queue), "claim" creates a taken record, "event" stores a "received"
// event. hub-cpu-ns/op is the three servers' CPU per operation; it shows
// where the hub's share of BenchmarkForwardClaim goes.
//
//	go test -run '^$' -bench BenchmarkHubOps -benchtime 2000x -cpu 1 ./internal/facility
func BenchmarkHubOps(b *testing.B) {
	for _, kind := range []string{"request", "take", "claim", "event"} {
		b.Run(kind, func(b *testing.B) { hubOps(b, kind) })
	}
}

func hubOps(b *testing.B, kind string) {
	ctx := b.Context()
	c := startHubCluster(b, ctx)
	central := connectSite(b, ctx, c.ClientURLs(), "central")
	office := connectSite(b, ctx, c.ClientURLs(), "office-a")
	maker := newRequestMaker(b, 8)
	kv, err := central.JS.KeyValue(ctx, network.BucketTaken)
	if err != nil {
		b.Fatal(err)
	}
	publish := func(i int) error {
		id, data := maker.request(b, "office-a", i)
		_, err := office.JS.Publish(ctx, network.RequestSubject("office-a", id), data, jetstream.WithMsgID(network.MsgID("office-a", id)))
		return err
	}
	var op func(i int) error
	switch kind {
	case "request":
		op = publish
	case "claim":
		op = func(i int) error {
			rec := fmt.Sprintf(`{"host":"c1","state":"claimed","time":%q,"seq":%d}`, time.Now().UTC().Format(time.RFC3339Nano), i+1)
			_, err := kv.Create(ctx, network.TakenKey("office-a", fmt.Sprintf("REQ-%07d", i)), []byte(rec))
			return err
		}
	case "event":
		pub := network.NewEventPublisher(central, "c1")
		op = func(i int) error {
			id := fmt.Sprintf("REQ-%07d", i)
			return pub.Publish(ctx, &network.Event{Office: "office-a", Job: id, Kind: network.EventReceived,
				Reason: "in the spool of c1 as job " + network.CentralJobID("office-a", id), Time: time.Now()})
		}
	case "take":
		parallel(b, b.N, publish)
		cons, err := central.JS.Consumer(ctx, network.StreamRequests, network.TakerConsumer)
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(32))
		if err != nil {
			b.Fatal(err)
		}
		defer it.Stop()
		var mu sync.Mutex
		op = func(int) error {
			mu.Lock()
			m, err := it.Next()
			mu.Unlock()
			if err != nil {
				return err
			}
			return m.DoubleAck(ctx)
		}
	}
	hub0, cpu0 := hubCPU(b, c), benchcpu.Process()
	b.ResetTimer()
	start := time.Now()
	parallel(b, b.N, op)
	elapsed := time.Since(start)
	b.StopTimer()
	benchcpu.ReportProcess(b, cpu0)
	b.ReportMetric(float64((hubCPU(b, c)-hub0).Nanoseconds())/float64(b.N), "hub-cpu-ns/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "op/s")
}

// parallel runs op(0) … op(n-1) on 16 goroutines; an error fails b.
func parallel(b *testing.B, n int, op func(i int) error) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				if err := op(i); err != nil {
					b.Error(err)
					cancel()
				}
			}
		})
	}
	defer func() { close(next); wg.Wait() }()
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}

// BenchmarkEngineCeiling is what JetStream alone does with the traffic of
// BenchmarkForwardClaim, with nothing of cardd's around it: two offices
// publish b.N requests (the same sample portraits and encoding, 64 in
// flight each, deduplicated by message id) into the 3-node cluster's
// three-replica work queue while three central hosts (16 workers each)
// pull them from the takers' consumer and ack them (DoubleAck). There is
// no outbox, claim, event or spool: the figure is the ceiling any design
// on this stream can reach on this machine, and BenchmarkForwardClaim's
// distance from it is cardd's own cost.
//
//	go test -run '^$' -bench BenchmarkEngineCeiling -benchtime 3000x -cpu 2 ./internal/facility
func BenchmarkEngineCeiling(b *testing.B) {
	ctx := b.Context()
	c := startHubCluster(b, ctx)
	maker := newRequestMaker(b, 32)
	type req struct {
		office, id string
		data       []byte
	}
	queued := make([][]req, len(offices))
	for i := range b.N {
		office := offices[i%len(offices)]
		id, data := maker.request(b, office, i)
		queued[i%len(offices)] = append(queued[i%len(offices)], req{office, id, data})
	}
	var conns []*network.Conn
	for _, office := range offices {
		conns = append(conns, connectSite(b, ctx, c.ClientURLs(), office))
	}
	var centrals []jetstream.MessagesContext
	for range 3 {
		conn := connectSite(b, ctx, c.ClientURLs(), "central")
		cons, err := conn.JS.Consumer(ctx, network.StreamRequests, network.TakerConsumer)
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(32))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(it.Stop)
		centrals = append(centrals, it)
	}
	// A message delivered again (its ack lost) is acked again but
	// counted once.
	var mu sync.Mutex
	seen := map[uint64]bool{}
	all := make(chan struct{})
	hub0, cpu0 := hubCPU(b, c), benchcpu.Process()
	b.ResetTimer()
	start := time.Now()
	for _, it := range centrals {
		for range 16 {
			go func() {
				for {
					m, err := it.Next()
					if err != nil {
						return // stopped at cleanup
					}
					if err := m.DoubleAck(ctx); err != nil {
						if ctx.Err() == nil {
							b.Error(err)
						}
						continue
					}
					md, err := m.Metadata()
					if err != nil {
						b.Error(err)
						continue
					}
					mu.Lock()
					if !seen[md.Sequence.Stream] {
						seen[md.Sequence.Stream] = true
						if len(seen) == b.N {
							close(all)
						}
					}
					mu.Unlock()
				}
			}()
		}
	}
	var published sync.WaitGroup
	for k, conn := range conns {
		published.Go(func() {
			window := make(chan jetstream.PubAckFuture, 64)
			wait := func(f jetstream.PubAckFuture) {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Error(err)
				}
			}
			go func() {
				for _, r := range queued[k] {
					f, err := conn.JS.PublishAsync(network.RequestSubject(r.office, r.id), r.data,
						jetstream.WithMsgID(network.MsgID(r.office, r.id)), jetstream.WithExpectStream(network.StreamRequests))
					if err != nil {
						b.Error(err)
						break
					}
					window <- f
				}
				close(window)
			}()
			for f := range window {
				wait(f)
			}
		})
	}
	published.Wait()
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		b.Fatal("the requests were not all taken within 10 minutes")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	benchcpu.ReportProcess(b, cpu0)
	b.ReportMetric(float64((hubCPU(b, c)-hub0).Nanoseconds())/float64(b.N), "hub-cpu-ns/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
