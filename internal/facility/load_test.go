package facility

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/internal/natstest"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/spool/jobfile"
)

// loadEnv turns on the load measurements (they write gigabytes).
const loadEnv = "CARDD_LOAD"

// queuedEnv overrides the number of requests TestHubQueuedLoad queues.
const queuedEnv = "CARDD_HUB_QUEUED"

// sampleRequests returns n distinct permanent requests of office, made
// from the shipped sample generator (realistic fields and portrait JPEGs);
// the photos repeat every len(photos) requests.
type requestMaker struct {
	fields []map[string]string
	photos [][]byte
}

func newRequestMaker(tb testing.TB, variety int) *requestMaker {
	tb.Helper()
	data, err := samples.Generate("permanent", variety, 11)
	if err != nil {
		tb.Fatal(err)
	}
	m := &requestMaker{}
	for _, d := range data {
		m.fields = append(m.fields, d.Fields)
		m.photos = append(m.photos, d.Photo)
	}
	return m
}

// request returns the encoded request i of office.
func (m *requestMaker) request(tb testing.TB, office string, i int) (id string, data []byte) {
	k := i % len(m.photos)
	id = fmt.Sprintf("REQ-%07d", i)
	data, err := network.EncodeRequest(&network.Request{
		Office: office, Sent: time.Now(), Photo: m.photos[k],
		Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: m.fields[k], Photo: "photo.jpg"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id, data
}

// facilityUsers are the hub users of the measurements: two offices and the
// central site.
var facilityUsers = []hub.User{
	{Name: "office-a", Role: network.RoleFieldOffice, Password: "pa"},
	{Name: "office-b", Role: network.RoleFieldOffice, Password: "pb"},
	{Name: "central", Role: network.RoleCentral, Password: "pc"},
}

// startHubCluster starts the 3-node cluster with the network's users and
// sets up its streams with three replicas.
func startHubCluster(tb testing.TB, ctx context.Context) *natstest.Cluster {
	tb.Helper()
	frag, err := hub.RenderConfig(facilityUsers)
	if err != nil {
		tb.Fatal(err)
	}
	c := natstest.StartT(tb, natstest.Options{Config: string(frag), Profile: os.Getenv(profileEnv) != ""})
	central := connectSite(tb, ctx, c.ClientURLs(), "central")
	// Healthy nodes may not all be known to the meta leader yet ("no
	// suitable peers for placement", a create that times out on a busy
	// machine): EnsureStreams changes nothing when run again, so it is
	// repeated until it succeeds.
	ectx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		err := network.EnsureStreams(ectx, central.JS, network.StreamOptions{Replicas: 3})
		if err == nil {
			break
		}
		if ectx.Err() != nil {
			tb.Fatal(err)
		}
		tb.Logf("setting up the streams, again: %v", err)
		select {
		case <-ectx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return c
}

// connectSite connects one of facilityUsers.
func connectSite(tb testing.TB, ctx context.Context, urls []string, site string) *network.Conn {
	tb.Helper()
	for _, u := range facilityUsers {
		if u.Name != site {
			continue
		}
		c, err := network.Connect(ctx, network.ConnOptions{URLs: urls, Site: site, Role: u.Role, User: u.Name, Password: u.Password, ReconnectWait: 50 * time.Millisecond}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Close)
		if err := c.WaitConnected(ctx); err != nil {
			tb.Fatal(err)
		}
		return c
	}
	tb.Fatalf("no user %s", site)
	return nil
}

// TestHubQueuedLoad measures the hub with many requests queued (default
// 100,000; CARDD_HUB_QUEUED to change): two offices forward them into the
// 3-node cluster's three-replica work queue, nobody takes them, and the
// test reports each node's resident memory and store size on disk, before
// and after. Run with CARDD_LOAD=1 (it writes several gigabytes):
//
//	CARDD_LOAD=1 go test -run TestHubQueuedLoad -v -timeout 30m ./internal/facility
func TestHubQueuedLoad(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skipf("load measurement; run with %s=1", loadEnv)
	}
	n := 100_000
	if v := os.Getenv(queuedEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", queuedEnv, v)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()
	c := startHubCluster(t, ctx)
	report := func(when string) {
		for _, node := range c.Nodes {
			rss, err1 := node.RSS()
			du, err2 := node.StoreBytes()
			cpu, err3 := node.CPUTime()
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatal(err1, err2, err3)
			}
			t.Logf("%s: node %s RSS %.1f MiB, store %.1f MiB, CPU %v", when, node.Name, float64(rss)/(1<<20), float64(du)/(1<<20), cpu.Round(time.Millisecond))
		}
	}
	report("empty")
	maker := newRequestMaker(t, 32)
	var photoBytes int
	for _, p := range maker.photos {
		photoBytes += len(p)
	}
	t.Logf("requests carry sample portraits of %d bytes on average", photoBytes/len(maker.photos))

	start := time.Now()
	var wg sync.WaitGroup
	var bytesSent [2]int64
	errs := make(chan error, 4)
	for k, office := range []string{"office-a", "office-b"} {
		conn := connectSite(t, ctx, c.ClientURLs(), office)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var failed atomic.Int64
			js, err := jetstream.New(conn.NC, jetstream.WithPublishAsyncMaxPending(256),
				jetstream.WithPublishAsyncTimeout(time.Minute),
				jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
					if failed.Add(1) == 1 {
						errs <- fmt.Errorf("%s: %w", m.Subject, err)
					}
				}))
			if err != nil {
				errs <- err
				return
			}
			for i := k; i < n; i += 2 {
				id, data := maker.request(t, office, i)
				bytesSent[k] += int64(len(data))
				if _, err := js.PublishAsync(network.RequestSubject(office, id), data, jetstream.WithMsgID(network.MsgID(office, id)), jetstream.WithStallWait(time.Minute)); err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				errs <- ctx.Err()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	central := connectSite(t, ctx, c.ClientURLs(), "central")
	stream, err := central.JS.Stream(ctx, network.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("%d requests (%.1f MiB of messages) queued in %v (%.0f/s); stream holds %d messages, %.1f MiB",
		n, float64(bytesSent[0]+bytesSent[1])/(1<<20), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		info.State.Msgs, float64(info.State.Bytes)/(1<<20))
	if info.State.Msgs != uint64(n) {
		t.Errorf("stream holds %d requests, want %d (some lost or refused)", info.State.Msgs, n)
	}
	report("queued")
}

// claimedEnv overrides the number of requests TestCentralClaimedRSS has a
// central host claim.
const claimedEnv = "CARDD_CENTRAL_CLAIMED"

// TestCentralClaimedRSS measures a central host ("cardd run", a separate
// process) holding many claimed requests (default 10,000;
// CARDD_CENTRAL_CLAIMED to change): its printer's cover is open, so the
// requests are taken into its spool and wait there. It reports the
// daemon's resident memory once the hub's queue is empty. Run with
// CARDD_LOAD=1:
//
//	CARDD_LOAD=1 go test -run TestCentralClaimedRSS -v -timeout 30m ./internal/facility
func TestCentralClaimedRSS(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skipf("load measurement; run with %s=1", loadEnv)
	}
	n := 10_000
	if v := os.Getenv(claimedEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", claimedEnv, v)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildCardd(t, dir)
	keyDir := filepath.Join(dir, "nkeys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	roles := map[string]network.Role{"office-a": network.RoleFieldOffice, "central": network.RoleCentral}
	keys := map[string]siteKey{}
	for site := range roles {
		keys[site] = newSiteKey(t, keyDir, site)
	}
	frag, err := hubRender(hubUsers(keys, roles))
	if err != nil {
		t.Fatal(err)
	}
	cluster := natstest.StartT(t, natstest.Options{Config: frag})
	s := &facilitySite{id: "c1", site: "central", code: "C1", role: network.RoleCentral, dir: filepath.Join(dir, "c1")}
	s.cfgPath = filepath.Join(s.dir, "station.toml")
	s.printer = servePrinter(t, 40, true)
	if err := s.printer.emu.Inject(emulator.FaultCoverOpen); err != nil {
		t.Fatal(err)
	}
	s.writeConfig(t, cluster.ClientURLs(), keys["central"].seedFile)
	s.daemon = newDaemon(t, bin, s.id, s.cfgPath, filepath.Join(dir, "logs"))
	s.daemon.start(t, ctx)
	rss0, err := natstest.ProcessRSS(s.daemon.pid())
	if err != nil {
		t.Fatal(err)
	}

	office, err := network.Connect(ctx, network.ConnOptions{URLs: cluster.ClientURLs(), Site: "office-a", Role: network.RoleFieldOffice, NKeySeedFile: keys["office-a"].seedFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer office.Close()
	if err := office.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(office.NC, jetstream.WithPublishAsyncMaxPending(256), jetstream.WithPublishAsyncTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	maker := newRequestMaker(t, 32)
	start := time.Now()
	for i := range n {
		id, data := maker.request(t, "office-a", i)
		if _, err := js.PublishAsync(network.RequestSubject("office-a", id), data, jetstream.WithMsgID(network.MsgID("office-a", id)), jetstream.WithStallWait(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	t.Logf("%d requests forwarded in %v", n, time.Since(start).Round(time.Millisecond))
	var peak int64
	waitFor(t, ctx, fmt.Sprintf("central host claims %d requests", n), func() (bool, error) {
		if rss, err := natstest.ProcessRSS(s.daemon.pid()); err == nil {
			peak = max(peak, rss)
		}
		jobs, err := s.jobsOf()
		if err != nil {
			return false, nil
		}
		return len(jobs) >= n, nil
	})
	rss, err := natstest.ProcessRSS(s.daemon.pid())
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := natstest.ProcessCPU(s.daemon.pid())
	t.Logf("central host with %d claimed requests: RSS %.1f MiB (%.1f MiB at start, peak seen %.1f MiB), CPU %v; %v after the first forward",
		n, float64(rss)/(1<<20), float64(rss0)/(1<<20), float64(peak)/(1<<20), cpu.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
