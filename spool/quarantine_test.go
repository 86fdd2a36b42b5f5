package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kill simulates the death of the daemon: its journal and lock are gone,
// whatever its goroutines are doing.
func (e *env) kill(sp *Spool) {
	e.t.Helper()
	sp.mu.Lock()
	if sp.journal != nil {
		sp.journal.f.Close()
		sp.journal.err = errors.New("process dead")
	}
	sp.admitFile.Close()
	sp.lock.Close()
	sp.mu.Unlock()
}

// startAsync opens spool and scheduler as e.open does, in a goroutine, and
// returns the spool once opened (the scheduler may still be recovering).
func (e *env) startAsync() (*Spool, <-chan *Scheduler) {
	e.t.Helper()
	sp, err := Open(e.root, Options{Now: e.clock.Now, StableAfter: time.Second}, nil)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	var pcs []PrinterConfig
	for _, n := range sortedNames(e.printers) {
		pcs = append(pcs, PrinterConfig{Name: n, Printer: e.printers[n], Policy: e.policy, Backoff: time.Second, MaxAttempts: 3, StockLoaded: 100})
	}
	cfg := Config{Composer: e.composer, Serials: e.serials, Audit: e.audit, Printers: pcs, Retention: time.Hour}
	out := make(chan *Scheduler, 1)
	go func() {
		s, err := NewScheduler(context.Background(), sp, cfg, nil)
		if err != nil {
			out <- nil
			return
		}
		out <- s
	}()
	return sp, out
}

// TestQuarantineAdmission: a job whose admission kills the daemon (here
// the screener never returns, as a decoder that exhausts memory would
// never return) kills it once, twice, and is then quarantined into
// failed/ without being read again; the station comes up and prints the
// next job.
func TestQuarantineAdmission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	var calls atomic.Int32
	entered := make(chan struct{}, 4)
	block := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(block) }) })
	e.composer.screenHook = func(req ScreenRequest) (Verdict, error) {
		if req.Job.ID == "poison-1" {
			calls.Add(1)
			entered <- struct{}{}
			<-block // the daemon "dies" here
		}
		return Verdict{}, nil
	}
	e.submit("poison-1", nil)
	go e.s.Rescan(context.Background())
	<-entered
	e.kill(e.sp) // crash 1
	sp2, _ := e.startAsync()
	<-entered   // the restart admits it again and dies again
	e.kill(sp2) // crash 2
	if got := readAdmitMarker(e.root); got.attempts != 2 {
		t.Fatalf("admission marker %+v, want 2 attempts", got)
	}
	e.submit("next-1", nil)
	e.open() // third start: quarantined, not read
	if n := calls.Load(); n != 2 {
		t.Errorf("poison job screened %d times, want 2 (never after the second crash)", n)
	}
	// Never read again, so known by its number only.
	e.wantState("1", StateAborted, "quarantined: the daemon stopped 2 times while admitting this job")
	if b, err := os.ReadFile(filepath.Join(e.root, dirFailed, numName(1), "job.toml")); err != nil || len(b) == 0 {
		t.Errorf("the quarantined job's files were not kept in failed/: %v", err)
	}
	e.drain()
	e.wantState("next-1", StateCompleted, "")
	if got := readAdmitMarker(e.root); got != (admitMarker{}) {
		t.Errorf("admission marker left behind: %+v", got)
	}
}

// TestQuarantineCompose: a job found composing at two restarts is
// quarantined (its serial voided); one restart only requeues it
// (TestRestartMidCompose).
func TestQuarantineCompose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	entered := make(chan struct{}, 4)
	block := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(block) }) })
	e.composer.hook = func(req ComposeRequest) {
		if req.Job.ID == "poison-2" {
			entered <- struct{}{}
			<-block
		}
	}
	e.submit("poison-2", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	go e.s.ProcessNext(ctx, "p1")
	<-entered
	serial := e.job("poison-2").Serial
	e.crash() // crash 1: requeued with its serial
	e.wantState("poison-2", StatePending, "requeued after restart (it was the only card composing)")
	go e.s.ProcessNext(ctx, "p1")
	<-entered
	e.crash() // crash 2: quarantined
	j := e.wantState("poison-2", StateAborted, "quarantined: the daemon stopped 2 times while composing this job")
	if j.Serial != "" || len(j.Voided) != 1 || j.Voided[0] != serial {
		t.Errorf("serial %q voided %v, want %s voided", j.Serial, j.Voided, serial)
	}
	if err := e.s.RetryAudits(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.audit.has(AuditVoid, serial) {
		t.Errorf("serial %s of the quarantined job not voided in the audit", serial)
	}
	e.submit("next-2", nil)
	e.drain()
	e.wantState("next-2", StateCompleted, "")
}

// TestQuarantineSuspectsAlone: a crash that catches two cards composing
// blames neither; the suspects are then composed one at a time, so the
// job that really crashes the daemon is caught alone and quarantined while
// the innocent one prints. (Claims go in name order: p3 before q3.)
func TestQuarantineSuspectsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob, "p1", "p2")
	entered := make(chan string, 8)
	block := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(block) }) })
	var innocentFree atomic.Bool
	e.composer.hook = func(req ComposeRequest) {
		if req.Job.ID == "p3-poison" || req.Job.ID == "q3-innocent" && !innocentFree.Load() {
			entered <- req.Job.ID
			<-block
		}
	}
	e.submit("p3-poison", nil)
	e.submit("q3-innocent", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	go e.s.ProcessNext(ctx, "p1")
	go e.s.ProcessNext(ctx, "p2")
	<-entered
	<-entered
	e.crash() // both caught: neither counted
	e.wantState("p3-poison", StatePending, "requeued after restart")
	if j := e.job("q3-innocent"); j.Reason != reasonRequeued {
		t.Fatalf("innocent job: %q, want plain requeue", j.Reason)
	}
	innocentFree.Store(true)
	for crash := 1; crash <= 2; crash++ {
		res := make(chan error, 1)
		go func() {
			took, err := e.s.ProcessNext(ctx, "p1")
			if !took {
				err = fmt.Errorf("nothing taken: %v (%+v)", err, e.sp.Jobs())
			}
			res <- err
		}()
		select {
		case id := <-entered:
			if id != "p3-poison" {
				t.Fatalf("composing %s first", id)
			}
		case err := <-res:
			for _, j := range e.sp.Jobs() {
				t.Logf("%s %s %q", j.ID, j.State, j.Reason)
			}
			t.Fatalf("ProcessNext returned: %v", err)
		}
		// The other suspect waits while one is in flight.
		if took, err := e.s.ProcessNext(ctx, "p2"); took || err != nil {
			t.Fatalf("a second suspect was taken while one composes: %v %v", took, err)
		}
		e.crash()
	}
	e.wantState("p3-poison", StateAborted, "quarantined: the daemon stopped 2 times while composing")
	e.drain()
	e.wantState("q3-innocent", StateCompleted, "")
}

// FuzzAdmitMarker: the admission marker parser takes any bytes (a torn
// write, a damaged disk) without panicking, and what it accepts it wrote.
func FuzzAdmitMarker(f *testing.F) {
	for _, s := range []string{"7 1\n", "12 2", "", "x y", "1 -1", "18446744073709551615 9", "3  4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseAdmitMarker(b)
		if m.attempts < 0 {
			t.Fatalf("negative attempts from %q", b)
		}
		if m != (admitMarker{}) {
			if again := parseAdmitMarker([]byte(fmt.Sprintf("%d %d\n", m.job, m.attempts))); again != m {
				t.Fatalf("%q → %+v, round trip %+v", b, m, again)
			}
		}
	})
}

// TestAdmitMarkerFormat: the marker, overwritten in place, reads back as
// the last one written, a blank one as none; a marker of the older
// format (a bare line, the file removed when idle) still counts, and a
// file longer than a marker is cut when the spool opens.
func TestAdmitMarkerFormat(t *testing.T) {
	for _, m := range []admitMarker{{job: 1, attempts: 1}, {job: 12345678, attempts: 2}, {job: 1<<64 - 1, attempts: 99}, {}} {
		b := encodeAdmitMarker(m)
		if len(b) != markerLen {
			t.Errorf("%+v: %d bytes, want %d", m, len(b), markerLen)
		}
		if got := parseAdmitMarker(b); got != m {
			t.Errorf("%+v reads back as %+v", m, got)
		}
	}
	if got := parseAdmitMarker([]byte("7 1\n")); got != (admitMarker{job: 7, attempts: 1}) {
		t.Errorf("older marker reads as %+v", got)
	}
	root := t.TempDir()
	long := append(encodeAdmitMarker(admitMarker{job: 3, attempts: 1}), "and then something else entirely"...)
	if err := os.WriteFile(filepath.Join(root, fileAdmitting), long, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readAdmitMarker(root); got != (admitMarker{}) {
		t.Errorf("a long file reads as marker %+v", got)
	}
	f, err := openAdmitMarker(root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := readAdmitMarker(root); got != (admitMarker{job: 3, attempts: 1}) {
		t.Errorf("after the cut: %+v", got)
	}
}

// FuzzParseAdmitMarker: whatever a crash leaves in ROOT/admitting, the
// parser does not panic, and a marker it accepts writes back the same.
func FuzzParseAdmitMarker(f *testing.F) {
	f.Add(encodeAdmitMarker(admitMarker{job: 42, attempts: 1}))
	f.Add(encodeAdmitMarker(admitMarker{}))
	f.Add([]byte("7 1\n"))
	f.Add([]byte("7 1\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseAdmitMarker(b)
		if m == (admitMarker{}) || m.attempts > 1<<20 {
			return
		}
		if got := parseAdmitMarker(encodeAdmitMarker(m)); got != m {
			t.Fatalf("%q: %+v writes back as %+v", b, m, got)
		}
	})
}
