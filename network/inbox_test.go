package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardd/cardd/spool/jobfile"
)

// inboxFixture is an inbox over a spool directory (incoming/ only: the
// spool daemon is not running, so fed jobs stay in incoming/).
type inboxFixture struct {
	t     *testing.T
	dir   string // the inbox
	spool string
	into  *SpoolIntake
}

func newInboxFixture(t *testing.T) *inboxFixture {
	t.Helper()
	root := t.TempDir()
	f := &inboxFixture{t: t, dir: filepath.Join(root, "inbox"), spool: filepath.Join(root, "spool")}
	if err := os.MkdirAll(filepath.Join(f.spool, "incoming"), 0o770); err != nil {
		t.Fatal(err)
	}
	f.into = &SpoolIntake{Root: f.spool, DefaultTemplate: "permanent"}
	return f
}

func (f *inboxFixture) open(log *slog.Logger) *Inbox {
	f.t.Helper()
	ib, err := OpenInbox(f.dir, f.into, log)
	if err != nil {
		f.t.Fatal(err)
	}
	return ib
}

// feed runs ib's feeder until every request is in the spool.
func (f *inboxFixture) feed(ib *Inbox) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(f.t.Context())
	done := make(chan error, 1)
	go func() { done <- ib.Feed(ctx) }()
	wctx, wcancel := context.WithTimeout(f.t.Context(), time.Minute)
	defer wcancel()
	err := ib.WaitFed(wctx)
	cancel()
	if ferr := <-done; ferr != nil {
		f.t.Fatal(ferr)
	}
	if err != nil {
		f.t.Fatalf("inbox not fed: %v (%d pending)", err, ib.Pending())
	}
}

// incoming returns the names in the spool's incoming/ (hidden ones too).
func (f *inboxFixture) incoming() []string {
	f.t.Helper()
	ents, err := os.ReadDir(filepath.Join(f.spool, "incoming"))
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// wantIncoming checks that incoming/ holds exactly the jobs of ids, each
// with its job file naming it and its photo.
func (f *inboxFixture) wantIncoming(ids ...string) {
	f.t.Helper()
	var want []string
	for _, id := range ids {
		want = append(want, "net-"+JobToken(CentralJobID("office-a", id)))
	}
	slices.Sort(want)
	got := f.incoming()
	if !slices.Equal(got, want) {
		f.t.Fatalf("incoming/ = %v, want %v", got, want)
	}
	for _, id := range ids {
		dir := filepath.Join(f.spool, "incoming", "net-"+JobToken(CentralJobID("office-a", id)))
		data, err := os.ReadFile(filepath.Join(dir, "job.json"))
		if err != nil {
			f.t.Fatal(err)
		}
		j, err := jobfile.Parse("job.json", data)
		if err != nil {
			f.t.Fatal(err)
		}
		if j.ID != CentralJobID("office-a", id) || j.Mode != jobfile.ModePermanent {
			f.t.Fatalf("job %s: %+v", id, j)
		}
		photo, err := os.ReadFile(filepath.Join(dir, "photo.jpg"))
		if err != nil || !slices.Equal(photo, testRequest(id, 3000).Photo) {
			f.t.Fatalf("job %s: photo %d bytes, %v", id, len(photo), err)
		}
	}
}

// records returns the tokens of the records in the inbox's segments.
func (f *inboxFixture) records() []string {
	f.t.Helper()
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	var toks []string
	for _, e := range ents {
		if _, ok := parseSegName(e.Name()); !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		recs, damaged, torn := scanSegment(b)
		if len(damaged) > 0 || torn > 0 {
			f.t.Fatalf("segment %s: damaged %v, torn %d", e.Name(), damaged, torn)
		}
		for _, r := range recs {
			toks = append(toks, r.tok)
		}
	}
	return toks
}

// inboxRecord is the record Take writes for office-a's job id.
func inboxRecord(t testing.TB, id string) []byte {
	tok := JobToken(CentralJobID("office-a", id))
	rec, err := encodeRequest(testRequest(id, 3000), recordHeader+len(tok))
	if err != nil {
		t.Fatal(err)
	}
	putRecordHeader(rec, tok)
	return rec
}

func take(t *testing.T, ib *Inbox, id string) {
	t.Helper()
	if err := ib.Take(t.Context(), CentralJobID("office-a", id), testRequest(id, 3000)); err != nil {
		t.Fatal(err)
	}
}

func TestInboxTakeFeedReopen(t *testing.T) {
	f := newInboxFixture(t)
	ib := f.open(nil)
	ids := []string{"J1", "J2", "J3"}
	for _, id := range ids {
		take(t, ib, id)
	}
	take(t, ib, "J2") // pending: not recorded twice
	if got := len(f.records()); got != 3 {
		t.Fatalf("%d records, want 3", got)
	}
	if len(f.incoming()) != 0 || ib.Pending() != 3 {
		t.Fatalf("before feeding: incoming %v, %d pending", f.incoming(), ib.Pending())
	}
	f.feed(ib)
	f.wantIncoming(ids...)
	take(t, ib, "J1") // fed: not recorded twice
	if got := len(f.records()); got != 3 {
		t.Fatalf("%d records after a repeat, want 3", got)
	}
	if err := ib.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: nothing to feed, the fed segment is gone, and a repeat
	// finds the job in incoming/.
	ib = f.open(nil)
	defer ib.Close()
	if n := ib.Pending(); n != 0 {
		t.Fatalf("%d pending after reopening", n)
	}
	if recs := f.records(); len(recs) != 0 {
		t.Fatalf("records left after reopening: %v", recs)
	}
	take(t, ib, "J3")
	if recs := f.records(); len(recs) != 0 {
		t.Fatalf("a request in incoming/ was recorded again: %v", recs)
	}
	take(t, ib, "J4")
	f.feed(ib)
	f.wantIncoming("J1", "J2", "J3", "J4")
}

func TestInboxTornTail(t *testing.T) {
	f := newInboxFixture(t)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Two records, then a third cut short (a crash during its Take).
	var b []byte
	for _, id := range []string{"J1", "J2", "J3"} {
		b = append(b, inboxRecord(t, id)...)
	}
	full := len(b)
	last := len(inboxRecord(t, "J3"))
	b = b[:full-last+last/2]
	if err := os.WriteFile(filepath.Join(f.dir, "0000000000000007.log"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	ib := f.open(nil)
	defer ib.Close()
	if n := ib.Pending(); n != 2 {
		t.Fatalf("%d pending, want 2", n)
	}
	take(t, ib, "J5") // appended to a new segment, not after the torn bytes
	if _, err := os.Stat(filepath.Join(f.dir, "0000000000000008.log")); err != nil {
		t.Fatal(err)
	}
	f.feed(ib)
	f.wantIncoming("J1", "J2", "J5")
	// The hub redelivers J3 (never acknowledged): taken now.
	take(t, ib, "J3")
	f.feed(ib)
	f.wantIncoming("J1", "J2", "J3", "J5")
}

// TestInboxFedListLost is a crash after the spool's commit and before the
// fed list's fsync: the records are fed again, and the spool intake finds
// them in incoming/ (no second job).
func TestInboxFedListLost(t *testing.T) {
	f := newInboxFixture(t)
	ib := f.open(nil)
	for _, id := range []string{"J1", "J2", "J3"} {
		take(t, ib, id)
	}
	f.feed(ib)
	if err := ib.Close(); err != nil {
		t.Fatal(err)
	}
	// The fed list as the crash left it: J1's line, half of J2's.
	line1 := JobToken(CentralJobID("office-a", "J1")) + "\n"
	half := JobToken(CentralJobID("office-a", "J2"))[:3]
	if err := os.WriteFile(filepath.Join(f.dir, fedFile), []byte(line1+half), 0o600); err != nil {
		t.Fatal(err)
	}
	ib = f.open(nil)
	defer ib.Close()
	if n := ib.Pending(); n != 2 {
		t.Fatalf("%d pending, want 2 (J2, J3)", n)
	}
	f.feed(ib)
	f.wantIncoming("J1", "J2", "J3")
	if ib.Pending() != 0 {
		t.Fatal("still pending")
	}
	// Fed now: the segment goes at the next start.
	ib.Close()
	ib = f.open(nil)
	if recs := f.records(); len(recs) != 0 {
		t.Fatalf("records left: %v", recs)
	}
}

func TestInboxConcurrentTakes(t *testing.T) {
	f := newInboxFixture(t)
	ib := f.open(nil)
	defer ib.Close()
	ib.segMax = 64 << 10 // several segments
	const ids, copies = 40, 4
	var wg sync.WaitGroup
	errs := make(chan error, ids*copies)
	for c := range copies {
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("J%d", (i+c)%ids)
				errs <- ib.Take(context.Background(), CentralJobID("office-a", id), testRequest(id, 3000))
			}()
		}
	}
	// Feeding meanwhile.
	ctx, cancel := context.WithCancel(t.Context())
	fed := make(chan error, 1)
	go func() { fed <- ib.Feed(ctx) }()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wctx, wcancel := context.WithTimeout(t.Context(), time.Minute)
	defer wcancel()
	if err := ib.WaitFed(wctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-fed; err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range ids {
		want = append(want, fmt.Sprintf("J%d", i))
	}
	f.wantIncoming(want...)
	// Each request recorded once; fed segments removed (only the
	// current one may be left).
	seen := map[string]bool{}
	for _, tok := range f.records() {
		if seen[tok] {
			t.Fatalf("%s recorded twice", tok)
		}
		seen[tok] = true
	}
	if len(seen) >= ids {
		t.Fatalf("fed segments not removed: %d records left", len(seen))
	}
}

// TestInboxCompactFedList: the fed list keeps the tokens of segments on
// disk only, and what it forgets is not fed again.
func TestInboxCompactFedList(t *testing.T) {
	f := newInboxFixture(t)
	ib := f.open(nil)
	ib.segMax = 8 << 10 // a record or two a segment
	ib.compactAt = 8
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("J%d", i)
		ids = append(ids, id)
		take(t, ib, id)
		if i%5 == 4 {
			f.feed(ib)
		}
	}
	lines := func() int {
		b, err := os.ReadFile(filepath.Join(f.dir, fedFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	if n := lines(); n > 20 {
		t.Fatalf("fed list of %d lines after compaction", n)
	}
	ib.Close()
	ib = f.open(nil)
	defer ib.Close()
	if n := ib.Pending(); n != 0 {
		t.Fatalf("%d pending after reopening", n)
	}
	if n := lines(); n > 2 {
		t.Fatalf("fed list of %d lines after reopening", n)
	}
	f.wantIncoming(ids...)
}

// TestInboxSetAside: a request the spool refuses for good when it is fed
// is kept in bad/ with its reason, and not fed again.
func TestInboxSetAside(t *testing.T) {
	f := newInboxFixture(t)
	var refuse atomic.Bool
	f.into.Check = func(_ context.Context, j *jobfile.Job, _ []byte) error {
		if refuse.Load() && strings.HasSuffix(j.ID, ".J2") {
			return &jobfile.Error{JobID: j.ID, Field: "permanent_template", Err: errors.New("template gone")}
		}
		return nil
	}
	ib := f.open(nil)
	take(t, ib, "J1")
	take(t, ib, "J2")
	refuse.Store(true)
	f.feed(ib)
	f.wantIncoming("J1")
	bad, err := filepath.Glob(filepath.Join(f.dir, badDir, "*"))
	if err != nil || len(bad) != 2 {
		t.Fatalf("bad/ = %v, %v", bad, err)
	}
	reason, err := os.ReadFile(bad[0])
	if err != nil || !strings.Contains(string(reason), "template gone") {
		t.Fatalf("reason %q, %v", reason, err)
	}
	req, err := os.ReadFile(bad[1])
	if err != nil {
		t.Fatal(err)
	}
	if r, err := decodeStoredRequest(CentralJobID("office-a", "J2"), req); err != nil || r.Job.ID != "J2" {
		t.Fatalf("set aside request: %v", err)
	}
	ib.Close()
	ib = f.open(nil)
	defer ib.Close()
	if n := ib.Pending(); n != 0 {
		t.Fatalf("%d pending after reopening", n)
	}
}

// signalLog closes a channel at the first record with message msg.
type signalLog struct {
	msg  string
	once *sync.Once
	ch   chan struct{}
}

func (h signalLog) Enabled(context.Context, slog.Level) bool { return true }
func (h signalLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h signalLog) WithGroup(string) slog.Handler            { return h }
func (h signalLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}

// TestInboxFeedRetries: while the spool cannot take requests, the feeder
// keeps them and tries again.
func TestInboxFeedRetries(t *testing.T) {
	f := newInboxFixture(t)
	failed := make(chan struct{})
	ib := f.open(slog.New(signalLog{msg: "retrying", once: new(sync.Once), ch: failed}))
	defer ib.Close()
	take(t, ib, "J1")
	incoming := filepath.Join(f.spool, "incoming")
	if err := os.Rename(incoming, incoming+".away"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fed := make(chan error, 1)
	go func() { fed <- ib.Feed(ctx) }()
	<-failed
	if ib.Pending() != 1 {
		t.Fatal("a request the spool did not take is not pending")
	}
	if err := os.Rename(incoming+".away", incoming); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(t.Context(), time.Minute)
	defer wcancel()
	if err := ib.WaitFed(wctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-fed
	f.wantIncoming("J1")
}

// FuzzOpenInbox: whatever a segment and the fed list hold, opening the
// inbox neither fails nor panics, and a record it finds is fed or set
// aside.
func FuzzOpenInbox(f *testing.F) {
	rec := inboxRecord(f, "J1")
	f.Add(rec, []byte(""))
	f.Add(rec, []byte(JobToken(CentralJobID("office-a", "J1"))+"\n"))
	f.Add(append(append([]byte("junk"), rec...), rec[:20]...), []byte("-x\n\n"))
	f.Fuzz(func(t *testing.T, seg, fed []byte) {
		fx := newInboxFixture(t)
		if err := os.MkdirAll(fx.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fx.dir, "0000000000000001.log"), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fx.dir, fedFile), fed, 0o600); err != nil {
			t.Fatal(err)
		}
		ib := fx.open(nil)
		defer ib.Close()
		fx.feed(ib)
	})
}
