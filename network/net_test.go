package network_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

var users = []hub.User{
	{Name: "office-a", Role: network.RoleFieldOffice, Password: "pa"},
	{Name: "office-b", Role: network.RoleFieldOffice, Password: "pb"},
	{Name: "central", Role: network.RoleCentral, Password: "pc"},
}

func password(site string) string {
	for _, u := range users {
		if u.Name == site {
			return u.Password
		}
	}
	return ""
}

func logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startHub starts an embedded hub on loopback (port 0: any) with store.
func startHub(t testing.TB, store string, port int) *hub.Hub {
	t.Helper()
	h, err := hub.Start(testCtx(t), hub.Options{StoreDir: store, Port: port, Users: users}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func connect(t testing.TB, url, site string, role network.Role) *network.Conn {
	t.Helper()
	c, err := network.Connect(testCtx(t), network.ConnOptions{URLs: []string{url}, Site: site, Role: role, User: site, Password: password(site), ReconnectWait: 20 * time.Millisecond}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitFor polls cond until it holds (deadline: minutes) and logs how long
// it took.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting for it to happen
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

// run starts f in a goroutine stopped at cleanup.
func run(t testing.TB, f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f(ctx); err != nil {
			t.Errorf("background: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func photoBytes(id string) []byte { return []byte("\xff\xd8\xff photo of " + id) }

func request(id string) *network.Request {
	return &network.Request{Job: testJob(id), Photo: photoBytes(id)}
}

// office is a field office's network side: outbox, forwarder, status.
type office struct {
	c     *network.Conn
	ob    *network.Outbox
	store *network.StatusStore
	dir   string
}

func newOffice(t testing.TB, url, site, dir string) *office {
	t.Helper()
	o := &office{c: connect(t, url, site, network.RoleFieldOffice), dir: dir}
	var err error
	if o.ob, err = network.OpenOutbox(dir, site, nil, logger(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.ob.Close() })
	if o.store, err = network.OpenStatusStore(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.store.Close() })
	return o
}

func (o *office) forward(t testing.TB) {
	f := network.NewForwarder(o.c, o.ob, logger(t))
	run(t, f.Run)
}

func (o *office) receive(t testing.TB) {
	r := network.NewEventReceiver(o.c, o.store, logger(t))
	run(t, r.Run)
}

// central is a central host: spool directory, taker, event queue.
type central struct {
	c       *network.Conn
	root    string
	origins *network.Origins
	queue   *network.PubQueue
}

func newCentral(t testing.TB, url, host string, wrap func(network.Intake) network.Intake) *central {
	t.Helper()
	dir := t.TempDir()
	ce := &central{c: connect(t, url, "central", network.RoleCentral), root: filepath.Join(dir, "spool")}
	if err := os.MkdirAll(filepath.Join(ce.root, "incoming"), 0o770); err != nil {
		t.Fatal(err)
	}
	var err error
	if ce.origins, err = network.OpenOrigins(filepath.Join(dir, "origins")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ce.origins.Close() })
	if ce.queue, err = network.OpenPubQueue(filepath.Join(dir, "queue"), logger(t)); err != nil {
		t.Fatal(err)
	}
	var intake network.Intake = &network.SpoolIntake{Root: ce.root, DefaultTemplate: "permanent"}
	if wrap != nil {
		intake = wrap(intake)
	}
	tk, err := network.NewTaker(testCtx(t), ce.c, network.TakerOptions{Host: host, Intake: intake, Origins: ce.origins, RetryDelay: 50 * time.Millisecond}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, tk.Run)
	run(t, func(ctx context.Context) error { return ce.queue.Run(ctx, ce.c.JS) })
	return ce
}

// incoming lists the job directories in the central spool's incoming/.
func (ce *central) incoming(t testing.TB) []string {
	ents, err := os.ReadDir(filepath.Join(ce.root, "incoming"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func streamMsgs(t testing.TB, c *network.Conn, name string) uint64 {
	t.Helper()
	st, err := c.JS.Stream(testCtx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestForwardTakeAndStatus(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	b := newOffice(t, h.ClientURL(), "office-b", t.TempDir())
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	a.forward(t)
	b.forward(t)
	a.receive(t)
	b.receive(t)
	const n = 10
	for i := range n {
		for _, o := range []*office{a, b} {
			if queued, err := o.ob.Enqueue(request(fmt.Sprintf("CASE.%d", i))); err != nil || !queued {
				t.Fatalf("enqueue: %v %v", queued, err)
			}
		}
	}
	// Queued twice: still one request.
	if queued, err := a.ob.Enqueue(request("CASE.0")); err != nil || queued {
		t.Fatalf("second enqueue of CASE.0: queued=%v err=%v", queued, err)
	}
	waitFor(t, "every request in the central spool", func() bool { return len(ce.incoming(t)) == 2*n })
	waitFor(t, "the hub's request queue empty", func() bool { return streamMsgs(t, ce.c, network.StreamRequests) == 0 })
	// Each job went in once, as OFFICE.ID, permanent, with its photo.
	for _, name := range ce.incoming(t) {
		dir := filepath.Join(ce.root, "incoming", name)
		j, err := jobfile.Load(filepath.Join(dir, "job.json"))
		if err != nil {
			t.Fatal(err)
		}
		if j.Mode != jobfile.ModePermanent || j.Template != "permanent" || !strings.HasPrefix(j.ID, "office-") {
			t.Fatalf("central job %+v", j)
		}
		_, id, _ := strings.Cut(j.ID, ".")
		p, err := os.ReadFile(filepath.Join(dir, j.Photo))
		if err != nil || string(p) != string(photoBytes(id)) {
			t.Fatalf("photo of %s: %q %v", j.ID, p, err)
		}
		if o, ok := ce.origins.Lookup(j.ID); !ok || o.Job != id {
			t.Fatalf("origin of %s: %+v", j.ID, o)
		}
	}
	// Each office hears "received" for its own requests only.
	for _, o := range []*office{a, b} {
		waitFor(t, o.c.Site+" sees every request received", func() bool {
			last := o.store.Last()
			if len(last) != n {
				return false
			}
			for _, e := range last {
				if e.Kind != string(network.EventReceived) || e.Host != "host-1" {
					return false
				}
			}
			return true
		})
		st, err := network.ReadStatus(o.dir)
		if err != nil || len(st) != n {
			t.Fatalf("ReadStatus: %d %v", len(st), err)
		}
	}
	if len(a.ob.Pending()) != 0 || !a.ob.Sent("CASE.3") {
		t.Fatalf("outbox pending %v", a.ob.Pending())
	}

	// Outcomes at the central host go back to the right office.
	aud := &network.Audit{Next: nopAudit{}, Site: "central", Host: "host-1", Role: network.RoleCentral, Queue: ce.queue, Origins: ce.origins}
	ctx := testCtx(t)
	if err := aud.Record(ctx, spool.AuditEvent{Kind: spool.AuditPrinted, Time: time.Now(), Serial: "CARD-01-0000001-7", JobID: network.CentralJobID("office-a", "CASE.1")}); err != nil {
		t.Fatal(err)
	}
	if err := aud.Record(ctx, spool.AuditEvent{Kind: spool.AuditUnknown, Time: time.Now(), Serial: "CARD-01-0000002-5", JobID: network.CentralJobID("office-b", "CASE.2")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "office A sees its card printed", func() bool {
		e := a.store.Last()["CASE.1"]
		return e.Kind == string(network.EventPrinted) && e.Serial == "CARD-01-0000001-7"
	})
	waitFor(t, "office B sees its card's outcome unknown", func() bool {
		return b.store.Last()["CASE.2"].Kind == string(network.EventUnknown)
	})
	if e := a.store.Last()["CASE.2"]; e.Kind != string(network.EventReceived) {
		t.Fatalf("office A got B's event: %+v", e)
	}
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, spool.AuditEvent) error { return nil }

// TestOutboxAcrossOutages queues requests while the hub is down and the
// office restarts; they reach the hub once it is back, in order, once.
func TestOutboxAcrossOutages(t *testing.T) {
	store, officeDir := t.TempDir(), t.TempDir()
	h := startHub(t, store, 0)
	port := h.Port()
	url := h.ClientURL()
	h.Close()

	// The hub is down: the office queues and keeps going.
	o1 := newOffice(t, url, "office-a", officeDir)
	o1.forward(t)
	for i := range 3 {
		if _, err := o1.ob.Enqueue(request(fmt.Sprintf("J%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// The office restarts (a second outbox on the same directory) and
	// queues more, still without a hub.
	o1.ob.Close()
	o1.c.Close()
	o2 := newOffice(t, url, "office-a", officeDir)
	if got := o2.ob.Pending(); strings.Join(got, ",") != "J0,J1,J2" {
		t.Fatalf("pending after restart = %v", got)
	}
	for i := 3; i < 6; i++ {
		if _, err := o2.ob.Enqueue(request(fmt.Sprintf("J%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	o2.forward(t)
	// The hub comes back on the same port and store.
	h2 := startHub(t, store, port)
	ce := connect(t, h2.ClientURL(), "central", network.RoleCentral)
	waitFor(t, "six requests on the hub", func() bool { return streamMsgs(t, ce, network.StreamRequests) == 6 })
	waitFor(t, "outbox empty", func() bool { return len(o2.ob.Pending()) == 0 })
	// In order: stream sequence follows the queue.
	st, _ := ce.JS.Stream(testCtx(t), network.StreamRequests)
	for i := range 6 {
		m, err := st.GetMsg(testCtx(t), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := network.RequestSubject("office-a", fmt.Sprintf("J%d", i)); m.Subject != want {
			t.Fatalf("message %d is %s, want %s", i+1, m.Subject, want)
		}
	}

	// The hub restarts; an office that lost its outbox state sends
	// everything again: the hub still holds one copy of each.
	h2.Close()
	h3 := startHub(t, store, port)
	o3 := newOffice(t, h3.ClientURL(), "office-a", t.TempDir())
	for i := range 6 {
		if _, err := o3.ob.Enqueue(request(fmt.Sprintf("J%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	o3.forward(t)
	waitFor(t, "the resent outbox drained", func() bool { return len(o3.ob.Pending()) == 0 })
	ce3 := connect(t, h3.ClientURL(), "central", network.RoleCentral)
	if n := streamMsgs(t, ce3, network.StreamRequests); n != 6 {
		t.Fatalf("requests on the hub after resending = %d, want 6", n)
	}
}

// gatedIntake holds each Take until released and fails the first call.
type gatedIntake struct {
	next    network.Intake
	gate    chan struct{}
	entered chan string
	mu      sync.Mutex
	calls   int
}

func (g *gatedIntake) Take(ctx context.Context, id string, r *network.Request) error {
	g.mu.Lock()
	g.calls++
	first := g.calls == 1
	g.mu.Unlock()
	if first {
		return errors.New("disk busy (transient)")
	}
	g.entered <- id
	<-g.gate
	return g.next.Take(ctx, id, r)
}

func TestTakerAcksAfterDurableAndTerminatesDuplicates(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	a.forward(t)
	a.receive(t)
	g := &gatedIntake{gate: make(chan struct{}), entered: make(chan string, 1)}
	ce := newCentral(t, h.ClientURL(), "host-1", func(in network.Intake) network.Intake { g.next = in; return g })
	if _, err := a.ob.Enqueue(request("J1")); err != nil {
		t.Fatal(err)
	}
	var id string
	select {
	case id = <-g.entered:
	case <-testCtx(t).Done():
		t.Fatal("the taker never retried after the transient failure")
	}
	// While the spool works, the request is still on the hub, unacked,
	// and claimed by this host.
	cons, err := ce.c.JS.Consumer(testCtx(t), network.StreamRequests, network.TakerConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 1 || streamMsgs(t, ce.c, network.StreamRequests) != 1 {
		t.Fatalf("during intake: ack pending %d", info.NumAckPending)
	}
	kv, _ := ce.c.JS.KeyValue(testCtx(t), network.BucketTaken)
	e, err := kv.Get(testCtx(t), network.TakenKey("office-a", "J1"))
	if err != nil || !strings.Contains(string(e.Value()), `"claimed"`) || !strings.Contains(string(e.Value()), "host-1") {
		t.Fatalf("taken record during intake: %v %v", e, err)
	}
	close(g.gate)
	waitFor(t, "request acked and gone", func() bool { return streamMsgs(t, ce.c, network.StreamRequests) == 0 })
	if id != "office-a.J1" || len(ce.incoming(t)) != 1 {
		t.Fatalf("central id %q, spool %v", id, ce.incoming(t))
	}
	// The record is written once: it names the message claimed, which
	// the ack removed from the queue, so the hub tells the request was
	// taken for good.
	e, _ = kv.Get(testCtx(t), network.TakenKey("office-a", "J1"))
	var rec network.TakenRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Host != "host-1" || rec.State != network.TakenClaimed || rec.Seq != 1 {
		t.Fatalf("taken record after ack: %s %v", e.Value(), err)
	}
	requests, err := ce.c.JS.Stream(testCtx(t), network.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	events, err := ce.c.JS.Stream(testCtx(t), network.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if done, err := network.TakenForGood(testCtx(t), requests, events, rec, 0, "office-a", "J1"); err != nil || !done {
		t.Fatalf("taken for good after ack: %v %v", done, err)
	}

	// A late duplicate arrives after the ack and after the hub's
	// duplicate window (simulated by another message id): the hub stores
	// it, since the work queue forgot the request when it was acked; the
	// taker terminates it.
	data, err := network.EncodeRequest(&network.Request{Office: "office-a", Job: testJob("J1"), Photo: photoBytes("J1"), Sent: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", "J1"), data, jetstream.WithMsgID("office-a/J1 after the window"))
	if err != nil || ack.Duplicate {
		t.Fatalf("late duplicate not stored: %+v %v", ack, err)
	}
	// Within the window the hub drops a repeat itself.
	ack, err = a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", "J1"), data, jetstream.WithMsgID(network.MsgID("office-a", "J1")))
	if err != nil || !ack.Duplicate {
		t.Fatalf("repeat inside the window: %+v %v", ack, err)
	}
	waitFor(t, "duplicate terminated", func() bool {
		info, err := cons.Info(testCtx(t))
		return err == nil && streamMsgs(t, ce.c, network.StreamRequests) == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= 2
	})
	g.mu.Lock()
	calls := g.calls
	g.mu.Unlock()
	if calls != 2 || len(ce.incoming(t)) != 1 {
		t.Fatalf("intake calls %d, spool %v: the duplicate reached the spool", calls, ce.incoming(t))
	}
}

func TestBadRequestFailsWithEvent(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	a.receive(t)
	newCentral(t, h.ClientURL(), "host-1", nil)
	// A request whose photo does not match its hash, published raw.
	data, err := network.EncodeRequest(&network.Request{Office: "office-a", Job: testJob("BAD.1"), Photo: []byte("photo"), Sent: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if _, err := a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", "BAD.1"), data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "office A told the request failed", func() bool {
		e := a.store.Last()["BAD.1"]
		return e.Kind == string(network.EventFailed) && e.Field == "photo_sha256"
	})
}

func TestRevocationsMerge(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := connect(t, h.ClientURL(), "office-a", network.RoleFieldOffice)
	b := connect(t, h.ClientURL(), "office-b", network.RoleFieldOffice)
	qa, err := network.OpenPubQueue(filepath.Join(t.TempDir(), "q"), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, func(ctx context.Context) error { return qa.Run(ctx, a.JS) })
	aud := &network.Audit{Next: nopAudit{}, Site: "office-a", Host: "office-a", Role: network.RoleFieldOffice, Queue: qa}
	if err := aud.Record(testCtx(t), spool.AuditEvent{Kind: spool.AuditVoid, Time: time.Now(), Serial: "TEMP-0A-0000001-*", JobID: "J1", Reason: "voided by operator"}); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	rb, err := network.OpenRevocations(dirB, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 10)
	rb.OnChange = func() { changed <- struct{}{} }
	run(t, func(ctx context.Context) error { return rb.Watch(ctx, b) })
	select {
	case <-changed:
	case <-testCtx(t).Done():
		t.Fatal("office B never saw office A's revocation")
	}
	if got := rb.Serials(); len(got) != 1 || got[0] != "TEMP-0A-0000001-*" {
		t.Fatalf("B's shared deny list = %v", got)
	}
	// B restarting without the hub still knows it.
	again, err := network.OpenRevocations(dirB, nil)
	if err != nil || len(again.Serials()) != 1 {
		t.Fatalf("reloaded: %v %v", again.Serials(), err)
	}
	// B cannot put an entry under A's name.
	subj, data, _ := network.EncodeRevocation(&network.Revocation{Serial: "X-1-0000001-1", Station: "office-a", Time: time.Now()})
	ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
	defer cancel()
	if _, err := b.JS.Publish(ctx, subj, data); err == nil {
		t.Fatal("office B published a revocation as office A")
	}
}

func TestStationCodeRegistration(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	c := connect(t, h.ClientURL(), "central", network.RoleCentral)
	ctx := testCtx(t)
	if err := network.RegisterStationCode(ctx, c, "01", "host-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := network.RegisterStationCode(ctx, c, "01", "host-1", time.Now()); err != nil {
		t.Fatalf("same host again: %v", err)
	}
	if err := network.RegisterStationCode(ctx, c, "02", "host-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	err := network.RegisterStationCode(ctx, c, "01", "host-2", time.Now())
	if !errors.Is(err, network.ErrCodeInUse) || !strings.Contains(err.Error(), "host-1") {
		t.Fatalf("host-2 taking host-1's code: %v", err)
	}
	// Field offices register their codes too, with their own users.
	a := connect(t, h.ClientURL(), "office-a", network.RoleFieldOffice)
	b := connect(t, h.ClientURL(), "office-b", network.RoleFieldOffice)
	for range 2 {
		if err := network.RegisterStationCode(ctx, a, "OA", "office-a", time.Now()); err != nil {
			t.Fatalf("office A registering its code: %v", err)
		}
	}
	for _, tc := range []struct {
		conn         *network.Conn
		code, host   string
		holder, site string
	}{
		{b, "OA", "office-b", "office-a", "office-a"}, // an office taking another's
		{b, "01", "office-b", "host-1", "central"},    // an office taking a central host's
		{c, "OA", "host-3", "office-a", "office-a"},   // a central host taking an office's
	} {
		err := network.RegisterStationCode(ctx, tc.conn, tc.code, tc.host, time.Now())
		if !errors.Is(err, network.ErrCodeInUse) || !strings.Contains(err.Error(), "host "+tc.holder+" of site "+tc.site) {
			t.Errorf("%s taking code %s: %v", tc.host, tc.code, err)
		}
	}
	if err := network.RegisterStationCode(ctx, b, "OB", "office-b", time.Now()); err != nil {
		t.Fatalf("office B registering its own code: %v", err)
	}
	// An office writes only its own registrations.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := b.JS.Publish(pctx, "$KV."+network.BucketStations+"."+network.StationCodeKey("01", "central"), []byte(`{"host":"office-b"}`)); err == nil {
		t.Fatal("office B overwrote the central host's registration")
	}
	// A registration whose value names another site than its key's is
	// forged and does not count.
	if _, err := b.JS.Publish(ctx, "$KV."+network.BucketStations+"."+network.StationCodeKey("C7", "office-b"), []byte(`{"host":"central-7","site":"central"}`)); err != nil {
		t.Fatal(err)
	}
	if err := network.RegisterStationCode(ctx, c, "C7", "central-8", time.Now()); err != nil {
		t.Fatalf("a forged registration blocked code C7: %v", err)
	}
	// Two offices registering one code at the same moment: one holds it,
	// the other is refused and leaves nothing behind.
	for i := range 5 {
		code := fmt.Sprintf("R%d", i)
		errs := make(chan error, 2)
		for _, o := range []*network.Conn{a, b} {
			go func() { errs <- network.RegisterStationCode(ctx, o, code, o.Site, time.Now()) }()
		}
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) || !errors.Is(errors.Join(e1, e2), network.ErrCodeInUse) {
			t.Fatalf("code %s registered at once by two offices: %v, %v", code, e1, e2)
		}
		if hs, err := network.StationCodeHolders(ctx, c, code); err != nil || len(hs) != 1 {
			t.Fatalf("code %s: registrations %+v, %v", code, hs, err)
		}
	}
	all, err := network.StationCodeHolders(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.Code+"="+r.Host+"@"+r.Site)
	}
	got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "R") })
	if want := "01=host-1@central 02=host-2@central OA=office-a@office-a OB=office-b@office-b C7=central-8@central"; strings.Join(got, " ") != want {
		t.Errorf("registrations %q, want %q", strings.Join(got, " "), want)
	}
}

func TestCheckpointWitness(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := connect(t, h.ClientURL(), "office-a", network.RoleFieldOffice)
	b := connect(t, h.ClientURL(), "office-b", network.RoleFieldOffice)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	al, err := audit.Open(logPath, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for i := range 5 {
		if _, err := al.Voided(ctx, fmt.Sprintf("S-1-%07d-1", i+1), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := network.LatestCheckpoint(ctx, a, "office-a"); !errors.Is(err, network.ErrNoCheckpoint) {
		t.Fatalf("before any checkpoint: %v", err)
	}
	cp, err := network.LogCheckpoint(logPath, "office-a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	q, err := network.OpenPubQueue(filepath.Join(dir, "q"), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, func(ctx context.Context) error { return q.Run(ctx, a.JS) })
	if err := network.QueueCheckpoint(q, cp); err != nil {
		t.Fatal(err)
	}
	var got *network.Checkpoint
	waitFor(t, "checkpoint on the hub", func() bool {
		got, err = network.LatestCheckpoint(ctx, a, "office-a")
		return err == nil
	})
	if got.Records != 5 || got.Head != cp.Head {
		t.Fatalf("hub's checkpoint %+v, want %+v", got, cp)
	}
	// The log grows: still consistent with the witness.
	if _, err := al.Voided(ctx, "S-1-0000099-1", "later"); err != nil {
		t.Fatal(err)
	}
	al.Close()
	if _, err := network.VerifyLog(logPath, got); err != nil {
		t.Fatalf("grown log: %v", err)
	}
	// Truncated to 3 records (a valid chain, shorter than witnessed).
	data, _ := os.ReadFile(logPath)
	lines := strings.SplitAfter(string(data), "\n")
	trunc := filepath.Join(dir, "truncated.log")
	os.WriteFile(trunc, []byte(strings.Join(lines[:3], "")), 0o600)
	if _, err := network.VerifyLog(trunc, got); !errors.Is(err, network.ErrWitness) {
		t.Fatalf("truncated log: %v", err)
	}
	// Rewritten: a different but valid chain of the same length.
	rew := filepath.Join(dir, "rewritten.log")
	l2, err := audit.Open(rew, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		l2.Voided(ctx, fmt.Sprintf("S-1-%07d-2", i+1), "rewritten")
	}
	l2.Close()
	if _, err := network.VerifyLog(rew, got); !errors.Is(err, network.ErrWitness) {
		t.Fatalf("rewritten log: %v", err)
	}
	// Office B cannot read or write office A's checkpoints.
	if _, err := network.LatestCheckpoint(ctx, b, "office-b"); !errors.Is(err, network.ErrNoCheckpoint) {
		t.Fatalf("office B's own: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := network.LatestCheckpoint(sctx, b, "office-a"); err == nil {
		t.Fatal("office B read office A's checkpoint")
	}
}

// TestTwoCentralHosts: two hosts share the queue; each request is taken
// by exactly one of them; a request claimed by a host that died mid-take
// stays on the hub (handed back, never lost) until an operator releases
// the claim.
func TestTwoCentralHosts(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	admin := connect(t, h.ClientURL(), "central", network.RoleCentral)
	kv, err := admin.JS.KeyValue(testCtx(t), network.BucketTaken)
	if err != nil {
		t.Fatal(err)
	}
	// A claim left by a host that died between claim and spool.
	if _, err := kv.Create(testCtx(t), network.TakenKey("office-a", "DEAD"), []byte(`{"host":"host-dead","state":"claimed","time":"2026-12-02T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	h1 := newCentral(t, h.ClientURL(), "host-1", nil)
	h2 := newCentral(t, h.ClientURL(), "host-2", nil)
	a.forward(t)
	const n = 40
	for i := range n {
		if _, err := a.ob.Enqueue(request(fmt.Sprintf("R%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.ob.Enqueue(request("DEAD")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every live request taken", func() bool { return len(h1.incoming(t))+len(h2.incoming(t)) == n })
	seen := map[string]string{}
	for _, ce := range []*central{h1, h2} {
		for _, name := range ce.incoming(t) {
			if prev, dup := seen[name]; dup {
				t.Fatalf("%s taken by %s and %s", name, prev, ce.root)
			}
			seen[name] = ce.root
		}
	}
	t.Logf("host-1 took %d, host-2 took %d", len(h1.incoming(t)), len(h2.incoming(t)))
	waitFor(t, "every request on the hub", func() bool { return len(a.ob.Pending()) == 0 })
	// The live hosts ack each request once it is durable in their spool,
	// which can come a moment after it shows in incoming/: wait for the
	// hub to have dropped those, leaving the dead host's claim (were it
	// lost, the count would reach 0 and this wait would fail).
	waitFor(t, "only the request claimed by the dead host left on the hub", func() bool {
		return streamMsgs(t, admin, network.StreamRequests) == 1
	})
	// A request taken for good is never released.
	if _, err := network.ReleaseClaim(testCtx(t), admin, "office-a", "R1"); !errors.Is(err, network.ErrNotClaimed) {
		t.Fatalf("release of a taken request: %v", err)
	}
	// The operator releases the dead host's claim: a live host takes it.
	rec, err := network.ReleaseClaim(testCtx(t), admin, "office-a", "DEAD")
	if err != nil || rec.Host != "host-dead" {
		t.Fatalf("release: %+v %v", rec, err)
	}
	waitFor(t, "the released request taken", func() bool { return len(h1.incoming(t))+len(h2.incoming(t)) == n+1 })
}

// TestLargePhoto: a request with a photo far above NATS's default 1 MiB
// max_payload (up to the spool's 8 MiB) goes through the hub.
func TestLargePhoto(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	a.forward(t)
	big := make([]byte, network.MaxPhotoBytes)
	copy(big, "\xff\xd8\xff")
	big[len(big)-1] = 0xd9
	if _, err := a.ob.Enqueue(&network.Request{Job: testJob("BIG"), Photo: big}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 8 MiB request in the central spool", func() bool { return len(ce.incoming(t)) == 1 })
	got, err := os.ReadFile(filepath.Join(ce.root, "incoming", ce.incoming(t)[0], "photo.jpg"))
	if err != nil || len(got) != len(big) {
		t.Fatalf("photo: %d bytes, %v", len(got), err)
	}
}

// A request file of the earlier outbox layout (one file per request)
// that was in the outbox before a restart is checked before it is
// published: a damaged one is set aside for an operator and the queue
// behind it moves on, in order.
func TestOutboxSetsAsideDamagedFile(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "outbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	var damaged string
	for i, id := range []string{"J1", "J2", "J3"} {
		r := request(id)
		r.Office, r.Sent = "office-a", time.Now()
		data, err := network.EncodeRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%016d-%s.req", i+1, network.JobToken(id))
		if id == "J2" {
			// Damaged on disk while the office was down.
			damaged, data = name, []byte("{\"v\":1,\"office\":\"office-a\"\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "outbox", name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := newOffice(t, h.ClientURL(), "office-a", dir)
	if got := o.ob.Pending(); strings.Join(got, ",") != "J1,J2,J3" {
		t.Fatalf("pending = %v", got)
	}
	if _, err := o.ob.Enqueue(request("J4")); err != nil {
		t.Fatal(err)
	}
	o.forward(t)
	ce := connect(t, h.ClientURL(), "central", network.RoleCentral)
	waitFor(t, "the outbox drained", func() bool { return len(o.ob.Pending()) == 0 })
	wantStream(t, ce, "J1", "J3", "J4")
	if _, err := os.Stat(filepath.Join(dir, "outbox", "bad", damaged)); err != nil {
		t.Fatalf("damaged file not set aside: %v", err)
	}
	if o.ob.Sent("J2") {
		t.Fatal("the damaged request counts as sent")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.req")); len(left) != 0 {
		t.Fatalf("request files left after draining: %v", left)
	}
}

// A record of the outbox log damaged on disk while the office was down is
// copied to outbox/bad for an operator; the requests around it are
// forwarded, in order.
func TestOutboxSetsAsideDamagedRecord(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	dir := t.TempDir()
	first := newOffice(t, h.ClientURL(), "office-a", dir)
	for _, id := range []string{"J1", "J2", "J3"} {
		if _, err := first.ob.Enqueue(request(id)); err != nil {
			t.Fatal(err)
		}
	}
	first.ob.Close()
	segs, err := filepath.Glob(filepath.Join(dir, "outbox", "*.log"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("outbox segments %v, %v", segs, err)
	}
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, photoBytes("J2"))
	if i < 0 {
		t.Fatal("J2's photo not in the log")
	}
	data[i+5] ^= 0x20
	if err := os.WriteFile(segs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	o := newOffice(t, h.ClientURL(), "office-a", dir)
	if got := o.ob.Pending(); strings.Join(got, ",") != "J1,J3" {
		t.Fatalf("pending = %v", got)
	}
	if _, err := o.ob.Enqueue(request("J4")); err != nil {
		t.Fatal(err)
	}
	o.forward(t)
	ce := connect(t, h.ClientURL(), "central", network.RoleCentral)
	waitFor(t, "the outbox drained", func() bool { return len(o.ob.Pending()) == 0 })
	wantStream(t, ce, "J1", "J3", "J4")
	bad, err := filepath.Glob(filepath.Join(dir, "outbox", "bad", "*.damaged"))
	if err != nil || len(bad) != 1 {
		t.Fatalf("damaged bytes set aside: %v, %v", bad, err)
	}
	if got, _ := os.ReadFile(bad[0]); !bytes.Contains(got, data[i:i+len(photoBytes("J2"))]) {
		t.Fatalf("set-aside bytes do not hold J2's record: %q", got)
	}
	if o.ob.Sent("J2") {
		t.Fatal("the damaged request counts as sent")
	}
	// Once everything in them was sent, the segments are gone.
	waitFor(t, "the log removed", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.log"))
		return len(segs) <= 1 // the current segment stays
	})
}

// wantStream checks the requests on the hub's stream, in order.
func wantStream(t *testing.T, ce *network.Conn, ids ...string) {
	t.Helper()
	if n := streamMsgs(t, ce, network.StreamRequests); n != uint64(len(ids)) {
		t.Fatalf("requests on the hub = %d, want %d (%v)", n, len(ids), ids)
	}
	st, _ := ce.JS.Stream(testCtx(t), network.StreamRequests)
	for i, id := range ids {
		m, err := st.GetMsg(testCtx(t), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := network.RequestSubject("office-a", id); m.Subject != want {
			t.Fatalf("message %d is %s, want %s", i+1, m.Subject, want)
		}
	}
}

// A copy of a request whose taken record says durable is terminated, and
// the taker repeats the "received" event of the host that took it (same
// event id): had that event failed after the record was marked durable,
// the office still hears it, once.
func TestDurableDuplicateRepeatsReceived(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	a.receive(t)
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	kv, err := ce.c.JS.KeyValue(testCtx(t), network.BucketTaken)
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rec := fmt.Sprintf(`{"host":"host-9","state":"durable","time":%q}`, taken.Format(time.RFC3339Nano))
	if _, err := kv.Create(testCtx(t), network.TakenKey("office-a", "J1"), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	data, err := network.EncodeRequest(&network.Request{Office: "office-a", Job: testJob("J1"), Photo: photoBytes("J1"), Sent: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", "J1"), data, jetstream.WithMsgID(fmt.Sprintf("copy %d", i))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the copy terminated", func() bool { return streamMsgs(t, ce.c, network.StreamRequests) == 0 })
	}
	waitFor(t, "office-a hears host-9's received", func() bool {
		e, ok := a.store.Last()["J1"]
		return ok && e.Kind == string(network.EventReceived) && e.Host == "host-9" && e.Time.Equal(taken)
	})
	st, err := network.ReadStatus(a.dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st["J1"]); n != 1 {
		t.Fatalf("office-a's status of J1 has %d entries, want 1: %+v", n, st["J1"])
	}
	if got := ce.incoming(t); len(got) != 0 {
		t.Fatalf("a durable duplicate reached the spool: %v", got)
	}
}

// TestTakenForGoodFromTheHub: a taken record is written once (no durable
// mark); whether the claiming host took the request for good is read from
// the hub. A copy of a request whose claimed message is gone from the queue
// (acked long ago) is terminated, as is a redelivery of the claimed message
// itself once the claiming host's event is stored (its ack was lost); a
// claim with neither is left to its host and can be released; none of
// those taken for good can be released.
func TestTakenForGoodFromTheHub(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	admin := connect(t, h.ClientURL(), "central", network.RoleCentral)
	kv, err := admin.JS.KeyValue(testCtx(t), network.BucketTaken)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(id string, seq uint64) {
		t.Helper()
		rec := fmt.Sprintf(`{"host":"host-9","state":"claimed","time":%q,"seq":%d}`, time.Now().UTC().Format(time.RFC3339Nano), seq)
		if _, err := kv.Create(testCtx(t), network.TakenKey("office-a", id), []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(id string) uint64 {
		t.Helper()
		data, err := network.EncodeRequest(&network.Request{Office: "office-a", Job: testJob(id), Photo: photoBytes(id), Sent: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", id), data, jetstream.WithMsgID(network.MsgID("office-a", id)))
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	// LATE: host-9 claimed message 1000 (acked, gone); a copy comes.
	claim("LATE", 1000)
	// LOST: host-9 claimed the message now on the queue, stored its
	// event, and its ack was lost.
	claim("LOST", publish("LOST"))
	if err := network.NewEventPublisher(admin, "host-9").Publish(testCtx(t), &network.Event{Office: "office-a", Job: "LOST", Kind: network.EventReceived, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// BUSY: host-9 claimed the message on the queue and has not finished.
	claim("BUSY", publish("BUSY"))
	publish("LATE")
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	cons, err := admin.JS.Consumer(testCtx(t), network.StreamRequests, network.TakerConsumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the copies of requests taken for good terminated, BUSY handed back", func() bool {
		info, err := cons.Info(testCtx(t))
		return err == nil && streamMsgs(t, admin, network.StreamRequests) == 1 && info.NumRedelivered >= 1
	})
	if got := ce.incoming(t); len(got) != 0 {
		t.Fatalf("requests of host-9 reached host-1's spool: %v", got)
	}
	for _, id := range []string{"LATE", "LOST"} {
		if _, err := network.ReleaseClaim(testCtx(t), admin, "office-a", id); !errors.Is(err, network.ErrNotClaimed) {
			t.Fatalf("release of %s, taken for good: %v", id, err)
		}
	}
	if _, err := network.ReleaseClaim(testCtx(t), admin, "office-a", "BUSY"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host-1 takes the released request", func() bool { return len(ce.incoming(t)) == 1 })
}

// TestEventActedOnLater: an office whose OnEvent says ErrLater (its
// temporary card still printing when the permanent card's news comes)
// gets the event again and acts on it then, with no warning logged.
func TestEventActedOnLater(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	var logs syncBuffer
	r := network.NewEventReceiver(a.c, a.store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var mu sync.Mutex
	calls := 0
	r.OnEvent = func(_ context.Context, e *network.Event) error {
		if e.Kind != network.EventPrinted {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return fmt.Errorf("job %s: the temporary card is still processing: %w", e.Job, network.ErrLater)
		}
		return nil
	}
	run(t, r.Run)
	a.forward(t)
	if queued, err := a.ob.Enqueue(request("CASE.1")); err != nil || !queued {
		t.Fatalf("enqueue: %v %v", queued, err)
	}
	waitFor(t, "the request in the central spool", func() bool { return len(ce.incoming(t)) == 1 })
	aud := &network.Audit{Next: nopAudit{}, Site: "central", Host: "host-1", Role: network.RoleCentral, Queue: ce.queue, Origins: ce.origins}
	if err := aud.Record(testCtx(t), spool.AuditEvent{Kind: spool.AuditPrinted, Time: time.Now(), Serial: "CARD-01-0000001-7", JobID: network.CentralJobID("office-a", "CASE.1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the printed event acted on the second time", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 2
	})
	if s := logs.String(); s != "" {
		t.Errorf("warned while waiting:\n%s", s)
	}
}

// syncBuffer is a strings.Builder safe for a logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStagedOnlyUnderOwnClaim: a central host writes a request while the
// hub confirms its claim, but commits it into incoming/ only under its own
// claim: while another host holds the claim nothing reaches the spool and
// the staged copies are dropped; once the claim is released the host
// takes the request, and only the committed job is left.
func TestStagedOnlyUnderOwnClaim(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	a := newOffice(t, h.ClientURL(), "office-a", t.TempDir())
	ce := newCentral(t, h.ClientURL(), "host-1", nil)
	kv, err := ce.c.JS.KeyValue(testCtx(t), network.BucketTaken)
	if err != nil {
		t.Fatal(err)
	}
	rec := fmt.Sprintf(`{"host":"host-9","state":"claimed","time":%q}`, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := kv.Create(testCtx(t), network.TakenKey("office-a", "J1"), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	data, err := network.EncodeRequest(&network.Request{Office: "office-a", Job: testJob("J1"), Photo: photoBytes("J1"), Sent: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.JS.Publish(testCtx(t), network.RequestSubject("office-a", "J1"), data, jetstream.WithMsgID("J1")); err != nil {
		t.Fatal(err)
	}
	all := func() []string {
		ents, err := os.ReadDir(filepath.Join(ce.root, "incoming"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	cons, err := ce.c.JS.Consumer(testCtx(t), network.StreamRequests, network.TakerConsumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host-1 handed the request back three times", func() bool {
		if got := ce.incoming(t); len(got) != 0 {
			t.Fatalf("a request claimed by host-9 reached host-1's spool: %v", got)
		}
		if n := len(all()); n > 1 {
			t.Fatalf("staged copies pile up in incoming/: %v", all())
		}
		info, err := cons.Info(testCtx(t))
		return err == nil && info.NumRedelivered >= 1 && info.Delivered.Consumer >= 3
	})
	if _, err := network.ReleaseClaim(testCtx(t), ce.c, "office-a", "J1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host-1 takes the released request", func() bool { return streamMsgs(t, ce.c, network.StreamRequests) == 0 })
	want := "net-" + network.JobToken(network.CentralJobID("office-a", "J1"))
	if got := all(); len(got) != 1 || got[0] != want {
		t.Fatalf("incoming/ = %v, want only %s", got, want)
	}
}
