package network_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
)

// serial is the serial P-CODE-SEQ with its check character.
func serial(code string, seq uint32) string {
	return security.Serial{Issuer: "P", Station: code, Sequence: seq}.String()
}

// memBatches is a host's batches held in memory (the station's real
// source, its spool, is tested in package station).
type memBatches struct {
	mu      sync.Mutex
	order   []string
	reports map[string]*spool.BatchReport
	broken  map[string]error // batches whose report cannot be read
}

func (m *memBatches) breakReport(id string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken == nil {
		m.broken = map[string]error{}
	}
	m.broken[id] = err
}

func (m *memBatches) set(r spool.BatchReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reports == nil {
		m.reports = map[string]*spool.BatchReport{}
	}
	if m.reports[r.Batch.ID] == nil {
		m.order = append(m.order, r.Batch.ID)
	}
	m.reports[r.Batch.ID] = &r
}

func (m *memBatches) Batches() []spool.Batch {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []spool.Batch
	for _, id := range m.order {
		out = append(out, m.reports[id].Batch)
	}
	return out
}

func (m *memBatches) BatchReports(ids []string) ([]*spool.BatchReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*spool.BatchReport, len(ids))
	var errs []error
	for i, id := range ids {
		if err := m.broken[id]; err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
			continue
		}
		r := *m.reports[id]
		out[i] = &r
	}
	return out, errors.Join(errs...)
}

// batchReport is a sound batch report: every job printed once, spoiled
// cards fed again.
func batchReport(id string, state spool.BatchState, jobs, spoiled int, firstSerial, lastSerial string) spool.BatchReport {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	b := spool.Batch{ID: id, Key: "permanent", State: state, Opened: t0}
	if state != spool.BatchOpen {
		b.Closed = t0.Add(time.Minute)
	}
	if state == spool.BatchDone {
		b.Done = t0.Add(time.Hour)
	}
	r := spool.BatchReport{Batch: b, Jobs: jobs, Printed: jobs, Spoiled: spoiled, BlanksExpected: jobs, BlanksUsed: jobs + spoiled,
		Printers: []spool.PrinterUsage{{Name: "p1", Printed: jobs, Spoiled: spoiled, BlanksUsed: jobs + spoiled, StockLoaded: 100}}}
	if firstSerial != "" {
		r.Manifest = []spool.ManifestEntry{{Job: 1, ID: "J1", Serial: firstSerial}, {Job: 2, ID: "J2", Serial: lastSerial}}
	}
	return r
}

// TestBatchSummariesFacilityReport: two central hosts publish their
// batches' summaries; the facility report's totals are the sum of the
// hosts' own reports, one row per batch per host; the figures stay when
// the outcome events are gone (the events stream purged, as its age limit
// would); a restarted host does not publish its done batches again; a
// malformed value is flagged by key and field and counted nowhere; a
// batch whose blanks do not add up and a host that stopped publishing are
// flagged; a BATCH shows that batch across hosts.
func TestBatchSummariesFacilityReport(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	ctx := testCtx(t)
	c := connect(t, h.ClientURL(), "central", network.RoleCentral)
	if err := network.EnsureStreams(ctx, c.JS, network.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	var host1, host2 memBatches
	host1.set(batchReport("B000001", spool.BatchDone, 3, 1, serial("C1", 1), serial("C1", 4)))
	host1.set(batchReport("B000002", spool.BatchOpen, 2, 0, "", ""))
	host2.set(batchReport("B000001", spool.BatchDone, 5, 2, "", ""))
	now := time.Now()
	clock := func() time.Time { return now }
	start := func(name, code string, src *memBatches) (*network.BatchPublisher, context.CancelFunc) {
		p := network.NewBatchPublisher(c, name, "central", code, src, logger(t))
		p.Every, p.Now = 20*time.Millisecond, clock
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); p.Run(pctx) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return p, stop
	}
	_, stop1 := start("central-1", "C1", &host1)
	start("central-2", "C2", &host2)
	// An event by each host: the events part knows them.
	for _, e := range []network.Event{
		{Office: "north", Job: "N-1", Kind: network.EventPrinted, Host: "central-1", Serial: "P-C1-0000001-1", Time: now},
		{Office: "north", Job: "N-2", Kind: network.EventPrinted, Host: "central-2", Serial: "P-C2-0000001-2", Time: now},
	} {
		data, _ := network.EncodeEvent(&e)
		if _, err := c.JS.Publish(ctx, network.EventSubject(e.Office, e.Job), data); err != nil {
			t.Fatal(err)
		}
	}
	var rep *network.FacilityReport
	read := func(o network.ReportOptions) *network.FacilityReport {
		t.Helper()
		r, err := network.ReadFacilityReport(ctx, c, now, o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	waitFor(t, "three batches and two hosts on the hub", func() bool {
		rep = read(network.ReportOptions{})
		return len(rep.Batches) == 3 && len(rep.BatchHosts) == 2 && !rep.BatchHosts[0].Updated.IsZero() && !rep.BatchHosts[1].Updated.IsZero()
	})
	t.Logf("report:\n%s", rep.Text())
	// The totals are the sum of the hosts' own reports.
	var want network.BatchCounts
	for _, src := range []*memBatches{&host1, &host2} {
		for _, b := range src.Batches() {
			rs, _ := src.BatchReports([]string{b.ID})
			r := rs[0]
			want.Jobs += r.Jobs
			want.Expected += r.BlanksExpected
			want.Printed += r.Printed
			want.Spoiled += r.Spoiled
			want.BlanksUsed += r.BlanksUsed
		}
	}
	got := rep.BatchTotals
	if got.Jobs != want.Jobs || got.Expected != want.Expected || got.Printed != want.Printed || got.Spoiled != want.Spoiled || got.BlanksUsed != want.BlanksUsed ||
		got.Batches != 3 || got.Open != 1 || got.Hosts != 2 {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
	if len(rep.Flags) != 0 {
		t.Fatalf("flags in a sound facility: %+v", rep.Flags)
	}
	if s := rep.Batches[0]; s.Host != "central-1" || s.Batch != "B000001" || s.Code != "C1" || s.Counts.Loaded != 100 || s.Serials == nil || s.Serials.Last != serial("C1", 4) {
		t.Fatalf("first row %+v", s)
	}
	// The events go (the stream's age limit, here a purge): the cards stay.
	st, err := c.JS.Stream(ctx, network.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	after := read(network.ReportOptions{})
	if after.Events != 0 || after.BatchTotals != rep.BatchTotals || len(after.Batches) != 3 || len(after.Flags) != 0 {
		t.Fatalf("after the events were purged: events %d, totals %+v (were %+v), flags %+v", after.Events, after.BatchTotals, rep.BatchTotals, after.Flags)
	}

	// A restarted host does not publish its done batch again.
	kv, err := c.JS.KeyValue(ctx, network.BucketBatches)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, network.BatchSummaryKey("central-1", "B000001"))
	if err != nil {
		t.Fatal(err)
	}
	stop1()
	host1.set(batchReport("B000002", spool.BatchDone, 2, 0, "", ""))
	start("central-1", "C1", &host1)
	waitFor(t, "central-1's second batch done on the hub", func() bool {
		e, err := kv.Get(ctx, network.BatchSummaryKey("central-1", "B000002"))
		return err == nil && strings.Contains(string(e.Value()), `"state":"done"`)
	})
	if e2, err := kv.Get(ctx, network.BatchSummaryKey("central-1", "B000001")); err != nil || e2.Revision() != e.Revision() {
		t.Fatalf("done batch published again: revision %d, was %d (%v)", e2.Revision(), e.Revision(), err)
	}

	// A batch whose report the host cannot read: its host record says so.
	host2.set(batchReport("B000002", spool.BatchOpen, 1, 0, "", ""))
	host2.breakReport("B000002", errors.New("report.json: unexpected end of JSON input"))
	waitFor(t, "central-2's problem flagged", func() bool {
		for _, f := range read(network.ReportOptions{}).Flags {
			if f.Host == "central-2" && strings.Contains(f.Problem, "cannot publish a summary: batch B000002: report.json: unexpected end") {
				return true
			}
		}
		return false
	})
	host2.breakReport("B000002", nil)
	waitFor(t, "central-2's batch published once readable, and its problem gone", func() bool {
		r := read(network.ReportOptions{Batch: "B000002"})
		return len(r.Batches) == 2 && len(r.Flags) == 0
	})

	// Bad data: a malformed summary, a batch that does not add up, a
	// host that stopped publishing long ago.
	if _, err := kv.Put(ctx, network.BatchSummaryKey("central-9", "B000001"), []byte(`{"host":"central-9","batch":"B000001","counts":{"printed":"many"}}`)); err != nil {
		t.Fatal(err)
	}
	bad := batchReport("B000003", spool.BatchClosed, 4, 0, serial("C1", 2), serial("C1", 3))
	bad.BlanksUsed = 7
	data, err := network.EncodeBatchSummary(network.SummariseBatch("central-3", "central", "C3", &bad, now.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, network.BatchSummaryKey("central-3", "B000003"), data); err != nil {
		t.Fatal(err)
	}
	beat, _ := json.Marshal(network.HostBeat{Host: "central-3", Site: "central", Code: "C3", Batches: 1, Open: 1, Updated: now.Add(-time.Hour)})
	if _, err := kv.Put(ctx, network.HostBeatKey("central-3"), beat); err != nil {
		t.Fatal(err)
	}
	rep = read(network.ReportOptions{})
	t.Logf("report with bad data:\n%s", rep.Text())
	var flags []string
	for _, f := range rep.Flags {
		flags = append(flags, f.Host+" "+f.Batch+": "+f.Problem)
	}
	all := strings.Join(flags, "\n")
	for _, w := range []string{
		"batch.central-9.B000001: field counts.printed",
		"central-3 B000003: blanks used 7, but printed 4 + spoiled 0 + outcome unknown 0 = 4",
		"central-3 : stale: 1 batch(es) not done, last published 1h0m0s ago",
		"central-1 B000001: serials " + serial("C1", 1) + "…" + serial("C1", 4) + " overlap those of central-3 batch B000003",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("flags lack %q:\n%s", w, all)
		}
	}
	if rep.BatchTotals.Batches != 5 {
		t.Errorf("batches counted %d, want 5 (the malformed one not counted)", rep.BatchTotals.Batches)
	}
	// One batch across hosts.
	one := read(network.ReportOptions{Batch: "B000001"})
	if len(one.Batches) != 2 || one.BatchTotals.Printed != 8 || one.Events != 0 || len(one.Offices) != 0 {
		t.Fatalf("B000001 across hosts: %+v", one)
	}
	if txt := one.Text(); !strings.Contains(txt, "batch B000001") || strings.Contains(txt, "outcome events") {
		t.Fatalf("B000001 text:\n%s", txt)
	}
}

// TestBatchSummaryDecodeErrors: each bad summary is refused with an error
// naming the key and the field.
func TestBatchSummaryDecodeErrors(t *testing.T) {
	r := batchReport("B000001", spool.BatchDone, 2, 0, serial("C1", 1), serial("C1", 2))
	good, err := network.EncodeBatchSummary(network.SummariseBatch("central-1", "central", "C1", &r, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	key := network.BatchSummaryKey("central-1", "B000001")
	if _, err := network.DecodeBatchSummary(key, good); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, c := range []struct {
		name, key string
		data      []byte
		field     string
	}{
		{"wrong host", key, edit(func(m map[string]any) { m["host"] = "central-2" }), "field host"},
		{"wrong batch", key, edit(func(m map[string]any) { m["batch"] = "B000002" }), "field batch"},
		{"bad state", key, edit(func(m map[string]any) { m["state"] = "lost" }), "field state"},
		{"negative count", key, edit(func(m map[string]any) { m["counts"].(map[string]any)["spoiled"] = -1 }), "field counts.spoiled"},
		{"count of the wrong type", key, edit(func(m map[string]any) { m["counts"].(map[string]any)["printed"] = "3" }), "field counts.printed"},
		{"bad serial", key, edit(func(m map[string]any) { m["serials"].(map[string]any)["last"] = serial("C1", 2)[:13] + "Q" }), "field serials.last"},
		{"bad code", key, edit(func(m map[string]any) { m["code"] = "c-1" }), "field code"},
		{"no update time", key, edit(func(m map[string]any) { delete(m, "updated") }), "field updated"},
		{"bad key", "batch.central-1", good, "not batch.HOST.BATCH"},
		{"not JSON", key, []byte("{"), key},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := network.DecodeBatchSummary(c.key, c.data)
			if err == nil || !errors.Is(err, network.ErrInvalid) || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v, want one naming %s and %q", err, c.key, c.field)
			}
		})
	}
}

// FuzzDecodeBatchSummary: whatever the hub holds, decoding never panics,
// and a summary it accepts encodes and decodes to the same.
func FuzzDecodeBatchSummary(f *testing.F) {
	r := batchReport("B000001", spool.BatchDone, 2, 1, serial("C1", 1), serial("C1", 2))
	good, _ := network.EncodeBatchSummary(network.SummariseBatch("central-1", "central", "C1", &r, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
	key := network.BatchSummaryKey("central-1", "B000001")
	f.Add(key, good)
	f.Add(key, []byte(`{"host":"central-1","batch":"B000001","counts":{"printed":1e99}}`))
	f.Add("batch.x.y", []byte(`null`))
	f.Add(network.HostBeatKey("central-1"), []byte(`{"host":"central-1","site":"central","code":"C1","batches":1,"open":2,"updated":"2026-12-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		if _, err := network.DecodeHostBeat(key, data); err != nil && !errors.Is(err, network.ErrInvalid) {
			t.Fatalf("host record error without ErrInvalid: %v", err)
		}
		s, err := network.DecodeBatchSummary(key, data)
		if err != nil {
			if !errors.Is(err, network.ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		again, err := network.EncodeBatchSummary(s)
		if err != nil {
			t.Fatalf("accepted summary does not encode: %v", err)
		}
		s2, err := network.DecodeBatchSummary(key, again)
		if err != nil {
			t.Fatalf("re-encoded summary does not decode: %v", err)
		}
		if string(mustJSON(t, s)) != string(mustJSON(t, s2)) {
			t.Fatalf("round trip changed the summary:\n%s\n%s", mustJSON(t, s), mustJSON(t, s2))
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBatchPublisherFlushesOnStop: a batch that finished just before the
// host stops (no check due for an hour) still reaches the hub as done.
func TestBatchPublisherFlushesOnStop(t *testing.T) {
	h := startHub(t, t.TempDir(), 0)
	ctx := testCtx(t)
	c := connect(t, h.ClientURL(), "central", network.RoleCentral)
	if err := network.EnsureStreams(ctx, c.JS, network.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	kv, err := c.JS.KeyValue(ctx, network.BucketBatches)
	if err != nil {
		t.Fatal(err)
	}
	var src memBatches
	src.set(batchReport("B000001", spool.BatchOpen, 2, 0, "", ""))
	p := network.NewBatchPublisher(c, "central-1", "central", "C1", &src, logger(t))
	p.Every = time.Hour
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(pctx) }()
	defer func() { cancel(); <-done }()
	key := network.BatchSummaryKey("central-1", "B000001")
	waitFor(t, "the open batch on the hub", func() bool {
		_, err := kv.Get(ctx, key)
		return err == nil
	})
	src.set(batchReport("B000001", spool.BatchDone, 2, 0, "", ""))
	cancel()
	<-done
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.Value()), `"state":"done"`) {
		t.Fatalf("after the stop the hub holds %s, want the done batch", e.Value())
	}
}
