// Package netbench measures the issuance network: requests forwarded by a
// field office and claimed by a central host per second, and the latency
// from forwarding a request to its being durable in the central spool.
// The same functions run against an embedded hub (package network's
// benchmarks) and a three-node cluster (the cluster benchmarks), so the
// figures compare.
//
// Only benchmarks import this package.
package netbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

// Sites says how the office and the central host connect to the hub
// (their URLs and credentials; Site and Role are set here).
type Sites struct {
	Office  network.ConnOptions
	Central network.ConnOptions
	// Host is the central host's name (default "bench-host").
	Host string
	// MemoryIntake takes requests into memory instead of a spool
	// directory: the network's own cost (outbox, hub, taken record,
	// events, ack) without the central spool's file writes.
	MemoryIntake bool
	// Profile, when set, is called when the clock starts; the function
	// it returns is called when the clock stops (it may record CPU
	// profiles of the timed part).
	Profile func() (stop func())
	// HubCPU, when set, returns the CPU time the hub's servers have used
	// so far (when they run as processes of their own); Throughput then
	// reports hub-cpu-ns/op as well.
	HubCPU func() time.Duration
}

// memIntake keeps taken requests in memory.
type memIntake struct {
	mu sync.Mutex
	m  map[string]bool
}

func (m *memIntake) Take(_ context.Context, id string, _ *network.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[id] = true
	return nil
}

// Photo is a request photo of typical size (about 30 KiB).
var Photo = func() []byte {
	p := make([]byte, 30<<10)
	copy(p, "\xff\xd8\xff")
	return p
}()

// notifyIntake is a SpoolIntake that reports each job once it is durable.
type notifyIntake struct {
	next network.Intake
	done chan string
}

func (n *notifyIntake) Take(ctx context.Context, id string, r *network.Request) error {
	if err := n.next.Take(ctx, id, r); err != nil {
		return err
	}
	n.done <- id
	return nil
}

// rig is one office and one central host on the hub.
type rig struct {
	office, central *network.Conn
	ob              *network.Outbox
	intake          *notifyIntake
	prefix          string
	stop            func()
}

func setup(b *testing.B, s Sites) *rig {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := b.TempDir()
	r := &rig{}
	var err error
	if r.office, err = network.Connect(ctx, s.Office, nil); err != nil {
		b.Fatal(err)
	}
	if r.central, err = network.Connect(ctx, s.Central, nil); err != nil {
		b.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := r.central.WaitConnected(wctx); err != nil {
		b.Fatal(err)
	}
	if r.ob, err = network.OpenOutbox(filepath.Join(dir, "office"), s.Office.Site, nil, nil); err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(root, "incoming"), 0o770); err != nil {
		b.Fatal(err)
	}
	origins, err := network.OpenOrigins(filepath.Join(dir, "origins"))
	if err != nil {
		b.Fatal(err)
	}
	var in network.Intake = &network.SpoolIntake{Root: root, DefaultTemplate: "permanent"}
	if s.MemoryIntake {
		in = &memIntake{m: map[string]bool{}}
	}
	r.intake = &notifyIntake{next: in, done: make(chan string, 1024)}
	host := s.Host
	if host == "" {
		host = "bench-host"
	}
	tk, err := network.NewTaker(ctx, r.central, network.TakerOptions{Host: host, Intake: r.intake, Origins: origins}, nil)
	if err != nil {
		b.Fatal(err)
	}
	fw := network.NewForwarder(r.office, r.ob, nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = tk.Run(ctx) }()
	go func() { defer wg.Done(); _ = fw.Run(ctx) }()
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	r.prefix = "B" + hex.EncodeToString(rnd)
	r.stop = func() {
		cancel()
		wg.Wait()
		r.ob.Close()
		origins.Close()
		r.office.Close()
		r.central.Close()
	}
	return r
}

func (r *rig) request(i int) *network.Request {
	return &network.Request{Job: &jobfile.Job{ID: fmt.Sprintf("%s-%d", r.prefix, i), Template: "temporary", Permanent: true,
		Photo: "photo.jpg", Fields: map[string]string{"surname": "Bench", "given_names": "Mark"}}, Photo: Photo}
}

func (r *rig) wait(b *testing.B) string {
	select {
	case id := <-r.intake.done:
		return id
	case <-time.After(5 * time.Minute):
		b.Fatal("a request never reached the central spool")
		return ""
	}
}

// Throughput queues b.N requests at the office and waits until the
// central host has taken every one into its spool (fsynced). It reports
// requests/s and the process's CPU time per request (the hub, the office
// and the central host, when they run in the benchmark's process).
func Throughput(b *testing.B, s Sites) {
	r := setup(b, s)
	defer r.stop()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Process()
	var hub0 time.Duration
	if s.HubCPU != nil {
		hub0 = s.HubCPU()
	}
	start := time.Now()
	profiled := func() {}
	if s.Profile != nil {
		profiled = s.Profile()
	}
	// Several producers, as several jobs arrive at once (each Enqueue
	// waits for its own fsyncs).
	const producers = 8
	for p := range producers {
		go func() {
			for i := p; i < b.N; i += producers {
				if _, err := r.ob.Enqueue(r.request(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for range b.N {
		r.wait(b)
	}
	el := time.Since(start)
	b.StopTimer()
	benchcpu.ReportProcess(b, cpu)
	if s.HubCPU != nil {
		b.ReportMetric(float64((s.HubCPU()-hub0).Nanoseconds())/float64(b.N), "hub-cpu-ns/op")
	}
	profiled()
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
}

// Latency forwards one request at a time and measures from the office's
// Enqueue to the request being durable in the central spool; it reports
// the 50th and 99th percentiles in milliseconds.
func Latency(b *testing.B, s Sites) {
	r := setup(b, s)
	defer r.stop()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := r.ob.Enqueue(r.request(i)); err != nil {
			b.Fatal(err)
		}
		r.wait(b)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// Workers runs op(i) for every i in [0, b.N) on n goroutines, each taking
// the next index as it finishes one, and times only that: it resets the
// timer first and reports the process's CPU time per op (cpu-ns/op) after.
// An error of op fails the benchmark.
func Workers(b *testing.B, n int, op func(i int) error) {
	next := make(chan int)
	var wg sync.WaitGroup
	cpu0 := benchcpu.Process()
	b.ResetTimer()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := op(i); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	benchcpu.ReportProcess(b, cpu0)
}
