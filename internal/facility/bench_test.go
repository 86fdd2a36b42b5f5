package facility

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/natstest"
	"github.com/cardd/cardd/internal/netbench"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

// profileEnv names a directory: when set, the benchmarks record CPU
// profiles of the timed part of the run (the first profileSecondsEnv
// seconds, default 10) of this process (client.cpu.prof: offices and
// central hosts) and of each cluster node (n1.cpu.prof, …) into it:
//
//	CARDD_BENCH_PROFILE=/tmp/prof go test -run '^$' -bench 'BenchmarkForwardClaim$' -benchtime 8000x -cpu 1 ./internal/facility
//	go tool pprof -top /tmp/prof/client.cpu.prof
//	go tool pprof -top ~/.cache/cardd-natstest/*/nats-server /tmp/prof/n1.cpu.prof
const (
	profileEnv        = "CARDD_BENCH_PROFILE"
	profileSecondsEnv = "CARDD_BENCH_PROFILE_SECONDS"
)

// startProfile starts the profiles of profileEnv, if set, and returns a
// function that waits until they are written.
func startProfile(b *testing.B, c *natstest.Cluster) (wait func()) {
	dir := os.Getenv(profileEnv)
	if dir == "" || b.N == 1 {
		return func() {}
	}
	d := 10 * time.Second
	if v := os.Getenv(profileSecondsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a number of seconds", profileSecondsEnv, v)
		}
		d = time.Duration(n) * time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "client.cpu.prof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatalf("%v (do not combine %s with -cpuprofile)", err, profileEnv)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.ProfileCPU(context.Background(), d, dir); err != nil {
			b.Error(err)
		}
	}()
	t := time.AfterFunc(d, func() { pprof.StopCPUProfile(); f.Close() })
	return func() {
		<-done
		if t.Stop() {
			pprof.StopCPUProfile()
			f.Close()
		}
		b.Logf("CPU profiles of %v in %s", d, dir)
	}
}

// takenLog is a slog.Handler that sees the central takers' log: each
// "permanent request taken" record (written after the hub confirmed the
// ack) is a request claimed, and its time the end of the request's trip.
// Every other record is dropped.
type takenLog struct {
	attrs []slog.Attr
	seen  *takenSeen
}

type takenSeen struct {
	mu    sync.Mutex
	at    map[string]time.Time // office/job → when it was claimed
	all   chan struct{}        // closed when want requests were claimed
	want  int
	dupes int
}

func (h *takenLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *takenLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &takenLog{attrs: append(slices.Clone(h.attrs), as...), seen: h.seen}
}

func (h *takenLog) WithGroup(string) slog.Handler { return h }

func (h *takenLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "permanent request taken" {
		return nil
	}
	var office, job string
	pick := func(a slog.Attr) bool {
		switch a.Key {
		case "office":
			office = a.Value.String()
		case "job":
			job = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		pick(a)
	}
	r.Attrs(pick)
	s := h.seen
	s.mu.Lock()
	defer s.mu.Unlock()
	key := office + "/" + job
	if _, dup := s.at[key]; dup {
		s.dupes++
		return nil
	}
	s.at[key] = r.Time
	if len(s.at) == s.want {
		close(s.all)
	}
	return nil
}

// pipeline is two field offices (outbox and forwarder each) and three
// central hosts (taker and spool intake each), all in this process, on a
// 3-node cluster with three replicas.
type pipeline struct {
	cluster *natstest.Cluster
	outbox  map[string]*network.Outbox
	// forward starts the offices' forwarders.
	forward func()
	seen    *takenSeen
	sent    sync.Map // office/job → enqueue time
	maker   *requestMaker
	stop    func()
}

var offices = []string{"office-a", "office-b"}

func startPipeline(b *testing.B, want int, intake func(spoolDir string) network.Intake) *pipeline {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := startHubCluster(b, ctx)
	p := &pipeline{cluster: c, outbox: map[string]*network.Outbox{}, maker: newRequestMaker(b, 32),
		seen: &takenSeen{at: map[string]time.Time{}, all: make(chan struct{}), want: want}}
	dir := b.TempDir()
	var wg sync.WaitGroup
	var fwds []*network.Forwarder
	for _, office := range offices {
		ob, err := network.OpenOutbox(filepath.Join(dir, office), office, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		p.outbox[office] = ob
		fwds = append(fwds, network.NewForwarder(connectSite(b, ctx, c.ClientURLs(), office), ob, nil))
	}
	p.forward = func() {
		for _, f := range fwds {
			wg.Add(1)
			go func() { defer wg.Done(); _ = f.Run(ctx) }()
		}
	}
	log := slog.New(&takenLog{seen: p.seen})
	for _, host := range []string{"c1", "c2", "c3"} {
		conn := connectSite(b, ctx, c.ClientURLs(), "central")
		spoolDir := filepath.Join(dir, host, "spool")
		if err := os.MkdirAll(filepath.Join(spoolDir, "incoming"), 0o770); err != nil {
			b.Fatal(err)
		}
		origins, err := network.OpenOrigins(filepath.Join(dir, host, "origins"))
		if err != nil {
			b.Fatal(err)
		}
		tk, err := network.NewTaker(ctx, conn, network.TakerOptions{
			Host: host, Origins: origins, RetryDelay: time.Second,
			Intake: intake(spoolDir),
		}, log)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = tk.Run(ctx) }()
		b.Cleanup(func() { origins.Close() })
	}
	p.stop = func() {
		cancel()
		wg.Wait()
		for _, ob := range p.outbox {
			ob.Close()
		}
	}
	b.Cleanup(p.stop)
	return p
}

// enqueue queues request i at its office (alternating offices), as a field
// office does when a job asks for a permanent card.
func (p *pipeline) enqueue(b *testing.B, i int) {
	office := offices[i%len(offices)]
	k := i % len(p.maker.photos)
	id := "REQ-" + strconv.Itoa(i)
	now := time.Now()
	p.sent.Store(office+"/"+id, now)
	if _, err := p.outbox[office].Enqueue(&network.Request{
		Office: office, Sent: now, Photo: p.maker.photos[k],
		Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: p.maker.fields[k], Photo: "photo.jpg"},
	}); err != nil {
		b.Fatal(err)
	}
}

// wait waits until every request was claimed.
func (p *pipeline) wait(b *testing.B) {
	select {
	case <-p.seen.all:
	case <-time.After(10 * time.Minute):
		p.seen.mu.Lock()
		n := len(p.seen.at)
		p.seen.mu.Unlock()
		b.Fatalf("only %d of %d requests claimed after 10 minutes", n, p.seen.want)
	}
}

// checkOnce fails the benchmark if a request was claimed twice.
func (p *pipeline) checkOnce(b *testing.B) {
	p.seen.mu.Lock()
	defer p.seen.mu.Unlock()
	if p.seen.dupes > 0 {
		b.Errorf("%d requests claimed twice", p.seen.dupes)
	}
}

// report reports the enqueue → claimed latencies and checks that no
// request was claimed twice.
func (p *pipeline) report(b *testing.B) {
	p.checkOnce(b)
	p.seen.mu.Lock()
	defer p.seen.mu.Unlock()
	lat := make([]time.Duration, 0, len(p.seen.at))
	for key, at := range p.seen.at {
		v, ok := p.sent.Load(key)
		if !ok {
			b.Errorf("claimed %s, never enqueued", key)
			continue
		}
		lat = append(lat, at.Sub(v.(time.Time)))
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// hubCPU returns the CPU time the cluster's nodes have used.
func hubCPU(b *testing.B, c *natstest.Cluster) time.Duration {
	var sum time.Duration
	for _, n := range c.Nodes {
		d, err := n.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		sum += d
	}
	return sum
}

// BenchmarkForwardClaim is the network's throughput: b.N permanent
// requests (sample portraits, ~50 KB each) waiting in two field offices'
// outboxes (queued before the clock starts) are forwarded by the offices'
// forwarders and claimed by three central hosts' takers (into their
// spools) through the 3-node cluster's three-replica work queue. req/s is
// requests claimed per second; cpu-ns/op this process's CPU (offices and
// centrals) and hub-cpu-ns/op the three servers'.
//
//	go test -run '^$' -bench 'BenchmarkForwardClaim$' -benchtime 2000x -cpu 1 ./internal/facility
func BenchmarkForwardClaim(b *testing.B) { forwardClaim(b, spoolIntake) }

// BenchmarkForwardClaimNetwork is BenchmarkForwardClaim with the central
// hosts taking requests into memory instead of their spools: the
// network's own cost (outboxes, hub, taken records, events, acks)
// without the central spool's files and fsyncs.
//
//	go test -run '^$' -bench BenchmarkForwardClaimNetwork -benchtime 3000x -cpu 2 ./internal/facility
func BenchmarkForwardClaimNetwork(b *testing.B) {
	forwardClaim(b, func(string) network.Intake { return &memoryIntake{taken: map[string]bool{}} })
}

// spoolIntake is a central host's intake into its spool directory.
func spoolIntake(spoolDir string) network.Intake {
	return &network.SpoolIntake{Root: spoolDir, DefaultTemplate: "permanent"}
}

// memoryIntake takes requests into memory (idempotent, as Take must be).
type memoryIntake struct {
	mu    sync.Mutex
	taken map[string]bool
}

func (m *memoryIntake) Take(_ context.Context, centralID string, _ *network.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taken[centralID] = true
	return nil
}

func forwardClaim(b *testing.B, intake func(spoolDir string) network.Intake) {
	p := startPipeline(b, b.N, intake)
	for i := range b.N {
		p.enqueue(b, i)
	}
	hub0, cpu0 := hubCPU(b, p.cluster), benchcpu.Process()
	b.ResetTimer()
	start := time.Now()
	profiled := startProfile(b, p.cluster)
	p.forward()
	p.wait(b)
	elapsed := time.Since(start)
	b.StopTimer()
	benchcpu.ReportProcess(b, cpu0)
	b.ReportMetric(float64((hubCPU(b, p.cluster)-hub0).Nanoseconds())/float64(b.N), "hub-cpu-ns/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	profiled()
	p.checkOnce(b)
}

// rateEnv sets the arrival rate of BenchmarkForwardClaimLatency.
const rateEnv = "CARDD_BENCH_RATE"

// BenchmarkForwardClaimLatency is the trip of one request with the link
// up and the network not saturated: requests arrive at a steady rate
// (default 100/s across both offices, CARDD_BENCH_RATE to change) and
// p50/p99 are the times from the office's Enqueue call (which writes and
// fsyncs the outbox file) to the central host's confirmed ack.
//
//	go test -run '^$' -bench BenchmarkForwardClaimLatency -benchtime 1000x -cpu 1 ./internal/facility
func BenchmarkForwardClaimLatency(b *testing.B) {
	rate := 100
	if v := os.Getenv(rateEnv); v != "" {
		var err error
		if rate, err = strconv.Atoi(v); err != nil || rate < 1 {
			b.Fatalf("%s=%q: want a positive number", rateEnv, v)
		}
	}
	p := startPipeline(b, b.N, spoolIntake)
	p.forward()
	b.ResetTimer()
	profiled := startProfile(b, p.cluster)
	defer profiled()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range b.N {
		<-tick.C // the arrival schedule
		p.enqueue(b, i)
	}
	p.wait(b)
	b.StopTimer()
	p.report(b)
}

// clusterSites are netbench's office and central host on the 3-node
// cluster (three replicas), so that package network's embedded-hub
// figures and these compare.
func clusterSites(b *testing.B) netbench.Sites {
	b.Helper()
	c := startHubCluster(b, b.Context())
	site := func(name string) network.ConnOptions {
		for _, u := range facilityUsers {
			if u.Name == name {
				return network.ConnOptions{URLs: c.ClientURLs(), Site: name, Role: u.Role, User: name, Password: u.Password}
			}
		}
		b.Fatalf("no user %s", name)
		return network.ConnOptions{}
	}
	return netbench.Sites{Office: site("office-a"), Central: site("central"),
		Profile: func() func() { return startProfile(b, c) },
		HubCPU:  func() time.Duration { return hubCPU(b, c) }}
}

// BenchmarkClusterForwardClaim is netbench.Throughput (one office, one
// central host; into the spool, or into memory for the network's own
// cost) through the 3-node cluster.
//
//	go test -run '^$' -bench BenchmarkClusterForwardClaim -benchtime 2000x -cpu 1 ./internal/facility
func BenchmarkClusterForwardClaim(b *testing.B) {
	b.Run("spool", func(b *testing.B) { netbench.Throughput(b, clusterSites(b)) })
	b.Run("network", func(b *testing.B) {
		s := clusterSites(b)
		s.MemoryIntake = true
		netbench.Throughput(b, s)
	})
}

// BenchmarkClusterForwardLatency is netbench.Latency (one request at a
// time, Enqueue → durable in the central spool) through the 3-node
// cluster.
//
//	go test -run '^$' -bench BenchmarkClusterForwardLatency -benchtime 300x -cpu 1 ./internal/facility
func BenchmarkClusterForwardLatency(b *testing.B) { netbench.Latency(b, clusterSites(b)) }
