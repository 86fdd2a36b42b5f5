package network_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/network"
)

// startBareServer starts an embedded JetStream server without users on
// loopback and returns a connection to it.
func startBareServer(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(time.Minute) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// relay passes JetStream API requests from prefix.> to $JS.API.> and the
// replies back, except that it carries out the first request on each
// subject that lose accepts without replying (the reply lost, as when a
// cluster's meta leader changes under a request), or, with mute, answers
// nothing at all.
type relay struct {
	mu   sync.Mutex
	seen map[string]int
	lost []string // the API subjects of the requests left unanswered
	mute bool
	lose func(api string) bool
}

func startRelay(t *testing.T, nc *nats.Conn, prefix string, mute bool, lose func(api string) bool) *relay {
	t.Helper()
	r := &relay{seen: map[string]int{}, mute: mute, lose: lose}
	sub, err := nc.Subscribe(prefix+".>", func(m *nats.Msg) {
		api := "$JS.API." + strings.TrimPrefix(m.Subject, prefix+".")
		r.mu.Lock()
		r.seen[api]++
		first := r.seen[api] == 1 && r.lose != nil && r.lose(api)
		if first || r.mute {
			r.lost = append(r.lost, api)
		}
		mute := r.mute
		r.mu.Unlock()
		if mute {
			return
		}
		// The relay's own request must not block the subscription's
		// delivery of the client's next attempt.
		go func() {
			reply, err := nc.Request(api, m.Data, 30*time.Second)
			if err != nil || first {
				return
			}
			_ = m.Respond(reply.Data)
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

func (r *relay) lostReplies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lost)
}

// TestEnsureStreamsAfterLostReplies: every stream, bucket and the taker
// consumer are set up although the first reply to each API request about
// the requests stream, the taken bucket and the consumer is lost after the
// server carried the request out; a second run changes nothing.
func TestEnsureStreamsAfterLostReplies(t *testing.T) {
	nc := startBareServer(t)
	// A second per attempt: a busy machine's server answers well within
	// it, so only the lost replies make a step send its request again.
	lossy := []string{"STREAM.CREATE." + network.StreamRequests, "KV_" + network.BucketTaken, "CONSUMER."}
	r := startRelay(t, nc, "relay.api", false, func(api string) bool {
		return slices.ContainsFunc(lossy, func(p string) bool { return strings.Contains(api, p) })
	})
	js, err := jetstream.NewWithAPIPrefix(nc, "relay.api")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	opts := network.StreamOptions{APITimeout: time.Second}
	if err := network.EnsureStreams(ctx, js, opts); err != nil {
		t.Fatalf("EnsureStreams with lost replies: %v", err)
	}
	lost := r.lostReplies()
	for _, p := range lossy {
		if !slices.ContainsFunc(lost, func(api string) bool { return strings.Contains(api, p) }) {
			t.Errorf("no reply lost on %s (lost: %v): the step was not exercised", p, lost)
		}
	}
	direct, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range network.StreamConfigs(opts) {
		if _, err := direct.Stream(ctx, cfg.Name); err != nil {
			t.Errorf("stream %s: %v", cfg.Name, err)
		}
	}
	for _, cfg := range network.BucketConfigs(opts) {
		if _, err := direct.KeyValue(ctx, cfg.Bucket); err != nil {
			t.Errorf("bucket %s: %v", cfg.Bucket, err)
		}
	}
	if _, err := direct.Consumer(ctx, network.StreamRequests, network.TakerConsumer); err != nil {
		t.Errorf("consumer %s: %v", network.TakerConsumer, err)
	}
	if err := network.EnsureStreams(ctx, direct, opts); err != nil {
		t.Fatalf("EnsureStreams again: %v", err)
	}
}

// TestEnsureStreamsRefusalIsNotRetried: a configuration the server
// refuses for good (the requests stream exists with another storage type,
// which cannot be changed) is returned at once, naming the stream, not
// retried until the deadline.
func TestEnsureStreamsRefusalIsNotRetried(t *testing.T) {
	nc := startBareServer(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	cfg := network.StreamConfigs(network.StreamOptions{})[0]
	cfg.Storage = jetstream.MemoryStorage
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// An hour for each attempt: a retry would outlive the test's context.
	err = network.EnsureStreams(ctx, js, network.StreamOptions{APITimeout: time.Hour})
	var apiErr *jetstream.APIError
	if err == nil || !errors.As(err, &apiErr) || !strings.Contains(err.Error(), network.StreamRequests) {
		t.Fatalf("EnsureStreams over a memory stream: %v; want the server's refusal naming %s", err, network.StreamRequests)
	}
	if ctx.Err() != nil {
		t.Fatalf("EnsureStreams retried a refusal until the deadline: %v", err)
	}
}

// TestEnsureStreamsGivesUp: when nothing ever answers, EnsureStreams
// returns the last failure (for its caller to log and call again) instead
// of waiting for the end of a context without deadline.
func TestEnsureStreamsGivesUp(t *testing.T) {
	nc := startBareServer(t)
	r := startRelay(t, nc, "relay.api", true, nil)
	js, err := jetstream.NewWithAPIPrefix(nc, "relay.api")
	if err != nil {
		t.Fatal(err)
	}
	err = network.EnsureStreams(context.Background(), js, network.StreamOptions{APITimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "attempts") || !strings.Contains(err.Error(), network.StreamRequests) {
		t.Fatalf("EnsureStreams with no replies: %v; want its attempts on %s", err, network.StreamRequests)
	}
	if n := len(r.lostReplies()); n < 2 {
		t.Fatalf("%d requests; want the step sent again", n)
	}
}
