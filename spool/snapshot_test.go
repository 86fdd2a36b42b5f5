package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// spoolView is a spool's state in comparable form: times in UTC, every
// job's history decoded.
type spoolView struct {
	Jobs       map[uint64]Job
	Audits     map[uint64][]Record
	EvSeq      map[uint64]uint64
	ByID       map[string]uint64
	NextNum    uint64
	Batches    map[string]Batch
	BatchOrder []string
}

func utcEvidence(e *printer.Evidence) *printer.Evidence {
	if e == nil {
		return nil
	}
	c := *e
	c.At = c.At.UTC()
	return &c
}

func viewOf(sp *Spool) spoolView {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	v := spoolView{Jobs: map[uint64]Job{}, Audits: map[uint64][]Record{}, EvSeq: map[uint64]uint64{}, ByID: map[string]uint64{},
		NextNum: sp.nextNum, Batches: map[string]Batch{}, BatchOrder: append([]string(nil), sp.batchOrder...)}
	for n, j := range sp.jobs {
		c := *j
		c.Created, c.Updated, c.NotBefore = c.Created.UTC(), c.Updated.UTC(), c.NotBefore.UTC()
		c.Evidence, c.EvidenceAfter = utcEvidence(c.Evidence), utcEvidence(c.EvidenceAfter)
		if len(c.Voided) == 0 {
			c.Voided = nil
		}
		j.loadHistory()
		c.History = append([]Record(nil), j.History...)
		c.raw, c.rawN = "", 0
		v.Audits[n] = append([]Record(nil), j.audits...)
		c.audits = nil
		v.EvSeq[n] = j.evidenceSeq
		v.Jobs[n] = c
	}
	for k, n := range sp.byID {
		v.ByID[k] = n
	}
	for k, b := range sp.batches {
		c := *b
		c.Opened, c.Closed, c.Done = c.Opened.UTC(), c.Closed.UTC(), c.Done.UTC()
		v.Batches[k] = c
	}
	return v
}

// replayed opens the journal at path read-only without its snapshot (a
// copy of the journal alone): the state a full replay gives.
func replayed(t *testing.T, journal string) *Spool {
	t.Helper()
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cp := filepath.Join(dir, "journal")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := Open(dir, Options{ReadOnly: true, Journal: cp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// fromSnapshot opens the spool at root read-only, loading its snapshot,
// and checks the snapshot was used (it covers part of the journal).
func fromSnapshot(t *testing.T, root string) *Spool {
	t.Helper()
	var logs bytes.Buffer
	sp, err := Open(root, Options{ReadOnly: true}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "journal snapshot loaded") {
		t.Fatalf("snapshot not loaded: %s", logs.String())
	}
	lazy := 0
	for _, j := range sp.jobs {
		if j.raw != "" {
			lazy++
		}
	}
	if lazy == 0 {
		t.Fatal("no job's history kept undecoded from the snapshot")
	}
	return sp
}

func wantSameState(t *testing.T, got, want *Spool) {
	t.Helper()
	g, w := viewOf(got), viewOf(want)
	if len(w.Jobs) == 0 {
		t.Fatal("no jobs to compare")
	}
	for n, wj := range w.Jobs {
		if gj, ok := g.Jobs[n]; !ok || !reflect.DeepEqual(gj, wj) {
			t.Errorf("job %d:\n got %+v\nwant %+v", n, gj, wj)
		}
	}
	if len(g.Jobs) != len(w.Jobs) {
		t.Errorf("%d jobs, want %d", len(g.Jobs), len(w.Jobs))
	}
	g.Jobs, w.Jobs = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("spool state:\n got %+v\nwant %+v", g, w)
	}
}

// snapshotScenario runs a station's life that leaves every kind of job: printed
// and folded, spoiled and reprinted, settled from evidence, held with
// outcome unknown, in an open batch, held by an operator, waiting.
func snapshotScenario(t *testing.T) (*env, *evPrinter) {
	t.Helper()
	ctx := context.Background()
	var ep *evPrinter
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		if ep == nil {
			ep = &evPrinter{fakePrinter: c.Printers[0].Printer.(*fakePrinter)}
			ep.emu.serial = "EVO-1"
		}
		c.Printers[0].Printer = ep
		c.Batching = Batching{Size: 2, Window: time.Hour}
	})
	p := ep.fakePrinter
	p.script = []step{{printer.OutcomeRejected, nil}, {printer.OutcomePrinted, nil}}
	e.submit("A-1", nil) // spoiled, then printed: a voided serial
	e.drain()
	e.clock.Advance(time.Second)
	e.drain()
	e.submit("A-2", nil)
	e.drain()
	crashInPrint(t, e, ep, "A-3", func() {}) // left inside: settled spoiled, reprinted
	e.drain()
	crashInPrint(t, e, ep, "A-4", func() {
		ep.emu.Lock()
		ep.emu.serial = "EVO-2" // another printer: held for a person
		ep.emu.Unlock()
	})
	e.drain()
	e.wantState("A-4", StateHeld, ReasonOutcomeUnknown)
	e.submit("A-5", func(j *jobfile.Job) { j.Mode = jobfile.ModePermanent }) // an open batch
	e.submit("A-6", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Hold(ctx, "A-6", "wait"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if _, err := e.s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	return e, ep
}

func TestSnapshotMatchesReplay(t *testing.T) {
	t.Parallel()
	e, _ := snapshotScenario(t)
	if err := e.sp.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if lag := e.sp.SnapshotLag(); lag != 0 {
		t.Errorf("lag after a snapshot: %d bytes", lag)
	}
	journal := filepath.Join(e.root, fileJournal)
	full := replayed(t, journal)
	defer full.Close()
	snap := fromSnapshot(t, e.root)
	defer snap.Close()
	wantSameState(t, snap, full)

	// Life goes on: the journal's tail after the snapshot is replayed on
	// top of it after a crash.
	ctx := context.Background()
	e.submit("A-7", nil)
	if err := e.s.Release(ctx, "A-6"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if e.sp.SnapshotLag() == 0 {
		t.Fatal("no journal after the snapshot")
	}
	e.crash()
	e.wantState("A-7", StateCompleted, "")
	e.wantState("A-6", StateCompleted, "")
	full2 := replayed(t, journal)
	defer full2.Close()
	wantSameState(t, e.sp, full2)
	// The restart's own records (recovery) are a tail too.
	snap2 := fromSnapshot(t, e.root)
	defer snap2.Close()
	wantSameState(t, snap2, full2)
	// A duplicate id is still refused with the state loaded from a
	// snapshot (byID).
	e.submit("A-1", nil)
	e.drain()
	if jobs := e.sp.Jobs(); jobs[len(jobs)-1].State != StateAborted {
		t.Errorf("duplicate after a snapshot load: %+v", jobs[len(jobs)-1])
	}
}

// TestSnapshotIgnored: a snapshot that cannot be trusted is ignored with
// its reason logged, and the whole journal replayed.
func TestSnapshotIgnored(t *testing.T) {
	t.Parallel()
	e, _ := snapshotScenario(t)
	if err := e.sp.Snapshot(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(e.root, fileJournal)
	good, err := os.ReadFile(snapshotPath(journal))
	if err != nil {
		t.Fatal(err)
	}
	jdata, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	full := replayed(t, journal)
	defer full.Close()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	versioned := bytes.Clone(good)
	versioned[len(snapshotMagic)] = snapshotVersion + 1
	for _, tc := range []struct {
		name    string
		snap    []byte
		journal []byte // replaces the journal when set
		reason  string
	}{
		{"torn", good[:len(good)/2], nil, "checksum"},
		{"empty", nil, nil, "bad magic"},
		{"bit flipped in a job", flip(len(good) - 40), nil, "checksum"},
		{"bit flipped in the magic", flip(3), nil, "bad magic"},
		{"another version", versioned, nil, "version"},
		{"journal shorter than covered", good, jdata[:len(jdata)-10], "covers"},
		{"journal replaced (compacted after the snapshot)", good, append([]byte("00000000 {}\n"), jdata[12:]...), "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			jpath := filepath.Join(dir, "journal")
			jd := jdata
			if tc.journal != nil {
				jd = tc.journal
			}
			if err := os.WriteFile(jpath, jd, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(snapshotPath(jpath), tc.snap, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			sp, err := Open(dir, Options{ReadOnly: true, Journal: jpath}, slog.New(slog.NewTextHandler(&logs, nil)))
			if tc.journal != nil && err != nil {
				// A journal damaged on purpose may itself be refused:
				// never silently taken from the snapshot.
				if !strings.Contains(logs.String(), "snapshot ignored") {
					t.Errorf("journal refused (%v) without the snapshot's reason logged: %s", err, logs.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			if !strings.Contains(logs.String(), "journal snapshot ignored") || !strings.Contains(logs.String(), tc.reason) {
				t.Errorf("log %q does not give the reason %q", logs.String(), tc.reason)
			}
			if tc.journal == nil {
				wantSameState(t, sp, full)
			}
		})
	}
}

// TestSnapshotKeepsEveryJobField: a folded job comes back from a snapshot
// with every field it had (a field added to Job and forgotten by the
// snapshot fails here, instead of being lost at a restart).
func TestSnapshotKeepsEveryJobField(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 3, 2, 1, 987654321, time.UTC)
	ev := &printer.Evidence{Serial: "EVO-9", Fed: 7, Printed: 6, Rejected: 1, Panels: 42, Inside: printer.PresenceNone, At: at, CardPanels: 5}
	j := &Job{Num: 5}
	v := reflect.ValueOf(j).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		if !f.CanSet() || name == "History" || name == "PendingAudits" || name == "Num" {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + "-value")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(3)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"V-1", "V-2"}))
		case reflect.Pointer:
			f.Set(reflect.ValueOf(ev))
		case reflect.Struct:
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Hour)))
		default:
			t.Fatalf("field %s of kind %s: teach this test (and the snapshot) about it", name, f.Kind())
		}
	}
	j.State = StateCompleted
	j.evidenceSeq = 77
	evv := reflect.ValueOf(ev).Elem()
	for i := range evv.NumField() {
		if evv.Field(i).IsZero() {
			t.Fatalf("evidence field %s left zero: give it a value", evv.Type().Field(i).Name)
		}
	}
	var e snapEnc
	e.job(j)
	d := &snapDec{s: string(e.b), intern: map[string]string{}}
	got := d.job()
	if d.err != nil || d.i != len(e.b) {
		t.Fatalf("decode: %v (%d of %d bytes)", d.err, d.i, len(e.b))
	}
	got.Num = j.Num
	if !reflect.DeepEqual(got, j) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, j)
	}
}

// FuzzSnapshot: a snapshot file is read at start from the disk; damage
// must be an error, never a panic or an allocation beyond its size.
func FuzzSnapshot(f *testing.F) {
	sp, err := Open(f.TempDir(), Options{NoSync: true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer sp.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := &printer.Evidence{Serial: "E", Fed: 1, Printed: -1, Rejected: -1, Panels: 5, Inside: printer.PresenceNone, At: now}
	put := func(r Record) {
		if err := sp.journal.write(&r, false); err != nil {
			f.Fatal(err)
		}
		sp.replayOne(&r)
	}
	for n := uint64(1); n <= 3; n++ {
		id := "F-" + numName(n)
		put(Record{Time: now, Job: n, ID: id, State: StatePending, Template: "temporary"})
		put(Record{Time: now, Job: n, State: StateProcessing, Sub: SubPrinting, Serial: "S" + id, Printer: "p1", Evidence: ev})
		if n < 3 {
			put(Record{Time: now, Job: n, State: StateCompleted, Outcome: printer.OutcomePrinted})
		}
	}
	put(Record{Time: now, Batch: "B000001", BatchState: BatchOpen})
	sp.mu.Lock()
	good := sp.encodeSnapshot()
	sp.mu.Unlock()
	if _, err := decodeSnapshot(good); err != nil {
		f.Fatalf("a good snapshot: %v", err)
	}
	f.Add(good, false)
	f.Add(good[:len(good)-5], true)
	f.Add([]byte(snapshotMagic), true)
	f.Fuzz(func(t *testing.T, data []byte, fixSum bool) {
		if len(data) > 1<<20 {
			return
		}
		if fixSum && len(data) >= 4 {
			// Past the checksum, into the decoder.
			body := data[:len(data)-4]
			data = binary.LittleEndian.AppendUint32(body[:len(body):len(body)], crc32.Checksum(body, castagnoli))
		}
		st, err := decodeSnapshot(data)
		if err != nil {
			return
		}
		for n, j := range st.jobs {
			j.loadHistory()
			if n == 0 || j.Num != n || n >= st.nextNum {
				t.Fatalf("job %d decoded inconsistent: %+v (next %d)", n, j, st.nextNum)
			}
			for _, r := range j.History {
				if r.Job != n {
					t.Fatalf("job %d has a record of job %d", n, r.Job)
				}
			}
		}
		for id, n := range st.byID {
			if j := st.jobs[n]; j == nil || j.ID != id {
				t.Fatalf("id %q indexed to job %d: %+v", id, n, j)
			}
		}
	})
}
