package natstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publish publishes one message with a message id, retrying while the
// stream has no leader (a node just died), until ctx ends.
func publish(ctx context.Context, js jetstream.JetStream, subj, id string) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.Publish(pctx, subj, []byte(id), jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish %s: %w (last error: %v)", id, ctx.Err(), err)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// TestClusterSurvivesNodeLoss starts a real 3-node JetStream cluster,
// creates a work-queue stream replicated on all three, kills the stream's
// leader with SIGKILL, and checks that publishing and consuming go on with
// two nodes, that the restarted node catches up, and that nothing was lost
// or delivered twice.
func TestClusterSurvivesNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server; skipped with -short")
	}
	c := StartT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:      "REQ",
		Subjects:  []string{"req.>"},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		Replicas:  3,
	})
	if err != nil {
		t.Fatal(err)
	}
	const before, after = 50, 50
	for i := range before {
		if err := publish(ctx, js, "req.a", fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream cluster info %+v, want a leader and 2 replicas", info.Cluster)
	}
	victim := c.Node(info.Cluster.Leader)
	if victim == nil {
		t.Fatalf("stream leader %q is not a node of the cluster", info.Cluster.Leader)
	}
	victim.Kill()
	if victim.Running() {
		t.Fatal("killed node still running")
	}
	killed := time.Now()
	for i := before; i < before+after; i++ {
		if err := publish(ctx, js, "req.a", fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d messages published with leader %s dead, %v after the kill", after, victim.Name, time.Since(killed).Round(time.Millisecond))

	// A JetStream API request sent while the cluster elects new leaders
	// can go unanswered: each attempt gets its own deadline and is retried,
	// as a client does, until the test's overall limit.
	var cons jetstream.Consumer
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, 15*time.Second)
		cons, err = js.CreateOrUpdateConsumer(actx, "REQ", jetstream.ConsumerConfig{
			Durable:   "central",
			AckPolicy: jetstream.AckExplicitPolicy,
			AckWait:   30 * time.Second,
		})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create consumer, attempt %d: %v", attempt, err)
		}
		t.Logf("create consumer, attempt %d: %v; trying again", attempt, err)
	}
	seen := map[string]int{}
	for len(seen) < before+after && ctx.Err() == nil {
		batch, err := cons.Fetch(20, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			continue // leader moving; try again
		}
		for m := range batch.Messages() {
			seen[string(m.Data())]++
			if err := m.DoubleAck(ctx); err != nil {
				t.Logf("ack %s: %v", m.Data(), err)
			}
		}
	}
	if len(seen) != before+after {
		t.Fatalf("consumed %d distinct messages, want %d", len(seen), before+after)
	}
	t.Logf("%d messages consumed %v after the kill", len(seen), time.Since(killed).Round(time.Millisecond))

	start := time.Now()
	if err := victim.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s restarted and healthy in %v", victim.Name, time.Since(start).Round(time.Millisecond))
	// The restarted node rejoins as a current replica (or leader).
	for {
		info, err = stream.Info(ctx)
		if err == nil && allCurrent(info.Cluster, 3) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("replicas not current after the restart: %+v (%v)", info.Cluster, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the stream's state
	}
	t.Logf("replicas current %v after the restart", time.Since(start).Round(time.Millisecond))
	if info.State.Msgs != 0 {
		t.Errorf("work queue holds %d messages after all were acknowledged", info.State.Msgs)
	}
	// A duplicate inside the dedupe window is refused by the restarted
	// cluster too.
	ack, err := js.Publish(ctx, "req.a", []byte("again"), jetstream.WithMsgID("m000"))
	if err != nil || !ack.Duplicate {
		t.Errorf("republish of m000: ack %+v, err %v; want a duplicate", ack, err)
	}
}

// allCurrent reports whether the stream has a leader and want-1 replicas,
// all online and current.
func allCurrent(ci *jetstream.ClusterInfo, want int) bool {
	if ci == nil || ci.Leader == "" || len(ci.Replicas) != want-1 {
		return false
	}
	for _, r := range ci.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

// TestConfigError: a node whose configuration the server refuses fails
// Start with the server's own complaint, instead of a timeout.
func TestConfigError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	bin, err := Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(ctx, bin, Options{Nodes: 1, Dir: t.TempDir(), Config: "no_such_option_at_all { x: 1 }"})
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "no_such_option_at_all") {
		t.Fatalf("Start with a bad config: %v", err)
	}
}

// TestFreePorts: ports are distinct, free and below the ephemeral range.
func TestFreePorts(t *testing.T) {
	ports, err := freePorts(30)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p < 1024 || p >= ephemeralLow() && ephemeralLow() > 21000 {
			t.Errorf("port %d (ephemeral from %d) repeated or out of range", p, ephemeralLow())
		}
		seen[p] = true
	}
}

func TestBinaryEnv(t *testing.T) {
	t.Setenv(BinaryEnv, "/nonexistent/nats-server")
	if _, err := Binary(t.Context()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Binary with a missing %s: %v", BinaryEnv, err)
	}
}

// TestProxyCutAndRestore: a NATS client through a proxy loses its
// connection when the link is cut, cannot reconnect while it is cut, and
// comes back after Restore.
func TestProxyCutAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server; skipped with -short")
	}
	c := StartT(t, Options{Nodes: 1})
	p, err := NewProxy(fmt.Sprintf("127.0.0.1:%d", c.Nodes[0].ClientPort))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	disc := make(chan struct{}, 10)
	reconn := make(chan struct{}, 10)
	nc, err := nats.Connect(p.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disc <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { reconn <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	select {
	case <-disc:
	case <-time.After(2 * time.Minute):
		t.Fatal("no disconnect after the cut")
	}
	// While cut, no round trip gets through and the client stays
	// disconnected (it keeps retrying every 20ms).
	if err := nc.FlushTimeout(200 * time.Millisecond); err == nil {
		t.Fatal("flush succeeded through a cut link")
	}
	if nc.IsConnected() {
		t.Fatal("connected through a cut link")
	}
	p.Restore()
	select {
	case <-reconn:
	case <-time.After(2 * time.Minute):
		t.Fatal("no reconnect after the restore")
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestProcessStats reads this test process's own figures and a node's.
func TestProcessStats(t *testing.T) {
	rss, err := ProcessRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("ProcessRSS(self) = %d, %v", rss, err)
	}
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Errorf("ProcessCPU(self): %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/f", make([]byte, 100<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if du, err := DiskUsage(dir); err != nil || du < 100<<10 {
		t.Errorf("DiskUsage = %d, %v; want ≥ 100 KiB", du, err)
	}
	if _, err := ProcessRSS(0); err == nil {
		t.Error("ProcessRSS(0) succeeded")
	}
}
