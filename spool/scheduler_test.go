package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

func TestTemporaryFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob, "p1", "p2")
	for _, id := range []string{"A-1", "A-2", "A-3"} {
		e.submit(id, nil)
	}
	e.drain()
	seen := map[string]bool{}
	for _, id := range []string{"A-1", "A-2", "A-3"} {
		j := e.wantState(id, StateCompleted, "")
		if j.Serial == "" || seen[j.Serial] {
			t.Errorf("job %s: serial %q missing or reused", id, j.Serial)
		}
		seen[j.Serial] = true
		if got := e.audit.kinds(j.Serial); !slices.Equal(got, []AuditKind{AuditIssued, AuditPrinted}) {
			t.Errorf("job %s: audit %v", id, got)
		}
		if j.Hash == "" || j.Outcome != printer.OutcomePrinted {
			t.Errorf("job %s: hash %q outcome %q", id, j.Hash, j.Outcome)
		}
		var subs []Sub
		for _, r := range j.History {
			subs = append(subs, r.Sub)
		}
		if !slices.Contains(subs, SubComposing) || !slices.Contains(subs, SubPrinting) {
			t.Errorf("job %s: history sub-states %v", id, subs)
		}
	}
	total := len(e.printers["p1"].printedSerials()) + len(e.printers["p2"].printedSerials())
	if total != 3 {
		t.Errorf("printed %d cards, want 3", total)
	}
	if st := e.s.Status(); st.Queue[StateCompleted] != 3 || len(st.Printers) != 2 || st.Printers[0].Busy {
		t.Errorf("status %+v", st)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, dirIncoming)); len(ents) != 0 {
		t.Errorf("incoming not empty: %v", ents)
	}
}

func TestBadJobs(t *testing.T) {
	t.Parallel()
	goodJob := "id = \"%s\"\ntemplate = \"temporary\"\nphoto = \"photo.png\"\n"
	bomb := func() []byte {
		// A PNG header claiming 100000×100000 pixels, no data.
		b := []byte("\x89PNG\r\n\x1a\n")
		ihdr := make([]byte, 13)
		binary.BigEndian.PutUint32(ihdr[0:], 100000)
		binary.BigEndian.PutUint32(ihdr[4:], 100000)
		ihdr[8], ihdr[9] = 8, 6
		chunk := append([]byte("IHDR"), ihdr...)
		b = binary.BigEndian.AppendUint32(b, 13)
		b = append(b, chunk...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
	}
	type file struct {
		name string
		data string
		link string // a symlink target instead of data
	}
	tests := []struct {
		name   string
		id     string
		files  []file
		reason string
	}{
		{"malformed toml", "", []file{{"job.toml", "id = \"x\ntemplate", ""}}, "malformed job file"},
		{"malformed json", "", []file{{"job.json", `{"id": "x",`, ""}}, "malformed job file"},
		{"zero-byte job file", "", []file{{"job.toml", "", ""}}, "empty file"},
		{"no job file", "", []file{{"photo.png", "x", ""}}, "no job file"},
		{"two job files", "", []file{{"a.toml", "", ""}, {"b.toml", "", ""}}, "candidate job files"},
		{"missing photo", "m-1", []file{{"job.toml", "id = \"m-1\"\ntemplate = \"t\"\nphoto = \"photo.png\"\n", ""}}, "file missing"},
		{"corrupt photo", "c-1", []file{{"job.toml", strings.Replace(goodJob, "%s", "c-1", 1), ""}, {"photo.png", "\x89PNG\r\n\x1a\ngarbage", ""}}, "corrupt or unsupported photo"},
		{"corrupt jpeg", "c-2", []file{{"job.toml", "id = \"c-2\"\ntemplate = \"t\"\nphoto = \"p.jpg\"\n", ""}, {"p.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00trunc", ""}}, "corrupt or unsupported photo"},
		{"decompression bomb", "b-1", []file{{"job.toml", strings.Replace(goodJob, "%s", "b-1", 1), ""}, {"photo.png", string(bomb()), ""}}, "exceeds the limit"},
		{"10k field", "f-1", []file{{"job.toml", "id = \"f-1\"\ntemplate = \"t\"\n[fields]\nname = \"" + strings.Repeat("x", 10000) + "\"\n", ""}}, "fields.name"},
		{"non-utf8", "", []file{{"job.toml", "id = \"u-1\"\ntemplate = \"t\"\n[fields]\nname = \"\xff\xfe\"\n", ""}}, "UTF-8"},
		{"dotdot photo", "d-1", []file{{"job.toml", "id = \"d-1\"\ntemplate = \"t\"\nphoto = \"../../journal\"\n", ""}}, "path escapes"},
		{"absolute photo", "d-2", []file{{"job.toml", "id = \"d-2\"\ntemplate = \"t\"\nphoto = \"/etc/passwd\"\n", ""}}, "path escapes"},
		{"symlink photo", "s-1", []file{{"job.toml", strings.Replace(goodJob, "%s", "s-1", 1), ""}, {"photo.png", "", "/etc/passwd"}}, "symbolic link"},
		{"symlink job file", "", []file{{"job.toml", "", "/etc/hostname"}}, "symbolic link"},
		{"unknown template", "t-1", []file{{"job.toml", "id = \"t-1\"\ntemplate = \"unknown\"\n", ""}}, "no such template"},
		{"template the composer refuses", "t-2", []file{{"job.toml", "id = \"t-2\"\ntemplate = \"uncomposable\"\n", ""}}, "no such template"},
		{"reprint of unknown", "r-1", []file{{"job.toml", "id = \"r-1\"\ntemplate = \"t\"\nreprint_of = \"nope\"\nreprint_reason = \"lost\"\n", ""}}, "no such job"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, PolicyRetryJob)
			stage := filepath.Join(e.root, dirIncoming, ".stage")
			if err := os.Mkdir(stage, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				p := filepath.Join(stage, f.name)
				if f.link != "" {
					if err := os.Symlink(f.link, p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(p, []byte(f.data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Rename(stage, filepath.Join(e.root, dirIncoming, "bad")); err != nil {
				t.Fatal(err)
			}
			e.submit("good-1", nil) // the daemon keeps going
			e.drain()
			e.wantState("good-1", StateCompleted, "")
			var bad *Job
			for _, j := range e.sp.Jobs() {
				if j.ID != "good-1" {
					bad = &j
				}
			}
			if bad == nil {
				t.Fatal("bad job not journaled")
			}
			if bad.State != StateAborted || !strings.Contains(bad.Reason, tc.reason) {
				t.Fatalf("bad job: %s %q, want aborted with %q", bad.State, bad.Reason, tc.reason)
			}
			if bad.ID != tc.id {
				t.Errorf("bad job id %q, want %q", bad.ID, tc.id)
			}
			reason, err := os.ReadFile(filepath.Join(e.root, dirFailed, numName(bad.Num), fileReason))
			if err != nil || !strings.Contains(string(reason), tc.reason) {
				t.Errorf("reason file: %v %q", err, reason)
			}
			if bad.Serial != "" {
				t.Errorf("bad job keeps serial %s", bad.Serial)
			}
			if len(bad.Voided) > 0 && tc.name != "template the composer refuses" {
				t.Errorf("a job refused at intake burnt serials %v", bad.Voided)
			}
			for _, s := range bad.Voided {
				if !e.audit.has(AuditVoid, s) {
					t.Errorf("serial %s of the bad job not voided in the audit", s)
				}
			}
		})
	}
}

func TestSymlinkJobDir(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "job.toml"), []byte("id = \"x\"\ntemplate = \"t\"\n"), 0o600)
	if err := os.Symlink(outside, filepath.Join(e.root, dirIncoming, "evil")); err != nil {
		t.Fatal(err)
	}
	e.drain()
	jobs := e.sp.Jobs()
	if len(jobs) != 1 || jobs[0].State != StateAborted || !strings.Contains(jobs[0].Reason, "symbolic link") {
		t.Fatalf("jobs %+v", jobs)
	}
	if _, err := os.Stat(filepath.Join(outside, "job.toml")); err != nil {
		t.Errorf("the target outside the spool was touched: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("something was written outside the spool: %v", ents)
	}
	fi, err := os.Lstat(filepath.Join(e.root, dirFailed, numName(jobs[0].Num), "entry"))
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink is not kept as failed/N/entry: %v %v", fi, err)
	}
}

func TestDuplicateAndReprint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	e.submit("D-1", nil)
	e.drain()
	orig := e.wantState("D-1", StateCompleted, "")
	e.submit("D-1", nil)
	e.drain()
	var dup *Job
	for _, j := range e.sp.Jobs() {
		if j.ID == "D-1" && j.Num != orig.Num {
			dup = &j
		}
	}
	if dup == nil || dup.State != StateAborted || !strings.Contains(dup.Reason, "duplicate job id") {
		t.Fatalf("duplicate: %+v", dup)
	}
	if got := e.job("D-1"); got.Num != orig.Num {
		t.Errorf("id lookup found job %d, want the live %d", got.Num, orig.Num)
	}
	// A reprint needs a reason and a new id; the old serial is voided.
	if _, err := e.s.Reprint(context.Background(), "D-1", "D-1-r1", "card lost"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	rp := e.wantState("D-1-r1", StateCompleted, "")
	if rp.Serial == orig.Serial || rp.ReprintOf != "D-1" {
		t.Errorf("reprint serial %s (orig %s) reprint_of %q", rp.Serial, orig.Serial, rp.ReprintOf)
	}
	o := e.job("D-1")
	if o.Serial != "" || !slices.Contains(o.Voided, orig.Serial) || !e.audit.has(AuditVoid, orig.Serial) {
		t.Errorf("original serial not voided: %+v", o)
	}
	// Two reprints of one card at once: the second is refused.
	e.submit("D-1-r1-a", func(j *jobfile.Job) { j.ReprintOf, j.ReprintReason = "D-1-r1", "stolen" })
	e.submit("D-1-r1-b", func(j *jobfile.Job) { j.ReprintOf, j.ReprintReason = "D-1-r1", "stolen" })
	e.drain()
	e.wantState("D-1-r1-a", StateCompleted, "")
	e.wantState("D-1-r1-b", StateAborted, "already reprints it")
	// The replaced card cannot be reprinted again: the reprint can.
	e.submit("D-1-r2", func(j *jobfile.Job) { j.ReprintOf, j.ReprintReason = "D-1", "lost again" })
	e.drain()
	e.wantState("D-1-r2", StateAborted, "void already")
	// Reprinting an unfinished job is refused.
	e.submit("P-1", func(j *jobfile.Job) { j.ReprintOf, j.ReprintReason = "D-1-r1-a", "damaged" })
	e.submit("P-2", func(j *jobfile.Job) { j.ReprintOf, j.ReprintReason = "P-1", "damaged" })
	e.drain()
	e.wantState("P-1", StateCompleted, "")
	e.wantState("P-2", StateAborted, "not completed")
}

func TestOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	p := e.printers["p1"]
	p.script = []step{{printer.OutcomeUnknown, printer.ErrTimeout}, {printer.OutcomeUnknown, errors.New("usb reset")}}
	e.submit("U-1", nil)
	e.submit("U-2", nil)
	e.drain()
	u1 := e.wantState("U-1", StateHeld, ReasonOutcomeUnknown)
	if !e.audit.has(AuditUnknown, u1.Serial) {
		t.Error("unknown outcome not audited")
	}
	// The printer stopped; its status is fine, so it resumes after its
	// back-off (not before) and the second job meets the same fate.
	e.drain()
	e.wantState("U-2", StatePending, "")
	e.clock.Advance(time.Second)
	e.drain()
	u2 := e.wantState("U-2", StateHeld, ReasonOutcomeUnknown)
	// Never printed again automatically.
	e.drain()
	if n := len(p.printedSerials()); n != 2 {
		t.Fatalf("printer got %d cards, want 2", n)
	}
	if err := e.s.Release(ctx, "U-1"); !errors.Is(err, ErrState) {
		t.Errorf("Release of an unknown outcome: %v", err)
	}
	if err := e.s.Cancel(ctx, "U-1", "x"); !errors.Is(err, ErrState) {
		t.Errorf("Cancel of an unknown outcome: %v", err)
	}
	if err := e.s.Confirm(ctx, "U-1", "seen in hopper"); err != nil {
		t.Fatal(err)
	}
	e.wantState("U-1", StateCompleted, "confirmed")
	if !e.audit.has(AuditPrinted, u1.Serial) {
		t.Error("confirm not audited")
	}
	if err := e.s.Void(ctx, "U-2", "card mangled"); err != nil {
		t.Fatal(err)
	}
	v := e.wantState("U-2", StateHeld, "voided")
	if v.Serial != "" || !e.audit.has(AuditVoid, u2.Serial) {
		t.Errorf("void: %+v", v)
	}
	if err := e.s.Release(ctx, "U-2"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	e.drain()
	done := e.wantState("U-2", StateCompleted, "")
	if done.Serial == u2.Serial || done.Serial == "" {
		t.Errorf("reprinted with serial %q (voided %q)", done.Serial, u2.Serial)
	}
	if err := e.s.Confirm(ctx, "U-2", ""); !errors.Is(err, ErrState) {
		t.Errorf("Confirm of a completed job: %v", err)
	}
}

func TestErrorPolicies(t *testing.T) {
	t.Parallel()
	feeder := &printer.StatusError{Reasons: []printer.Reason{printer.ReasonFeederEmpty}, Op: "print"}
	t.Run("stop-printer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyStopPrinter)
		p := e.printers["p1"]
		p.script = []step{{printer.OutcomeNotFed, feeder}}
		p.setStatus(printer.ReasonFeederEmpty)
		e.submit("E-1", nil)
		e.drain()
		j := e.wantState("E-1", StateStopped, "feeder-empty")
		if pi := e.s.Printers()[0]; !pi.Stopped || !slices.Contains(pi.Reasons, printer.ReasonFeederEmpty) {
			t.Errorf("printer %+v", pi)
		}
		e.drain() // still blocked: nothing happens
		e.wantState("E-1", StateStopped, "")
		p.setStatus() // cards loaded
		e.clock.Advance(time.Second)
		e.drain()
		done := e.wantState("E-1", StateCompleted, "")
		if done.Serial != j.Serial {
			t.Errorf("serial changed from %s to %s though no card was fed", j.Serial, done.Serial)
		}
	})
	t.Run("stop-printer without a fault is not hammered", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyStopPrinter)
		p := e.printers["p1"]
		p.script = []step{{printer.OutcomeNotFed, nil}, {printer.OutcomeNotFed, nil}}
		e.submit("E-7", nil)
		e.drain()
		e.drain()
		if n := e.job("E-7").Attempt; n != 1 {
			t.Fatalf("%d attempts before the back-off passed", n)
		}
		e.clock.Advance(time.Second)
		e.drain()
		e.clock.Advance(time.Second)
		e.drain()
		if j := e.wantState("E-7", StateCompleted, ""); j.Attempt != 3 {
			t.Errorf("completed after %d attempts, want 3", j.Attempt)
		}
	})
	t.Run("hold-job", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyHoldJob)
		e.printers["p1"].script = []step{{printer.OutcomeNotFed, printer.ErrCardJam}}
		e.submit("E-2", nil)
		e.drain()
		e.wantState("E-2", StateHeld, "card jam")
		if err := e.s.Release(context.Background(), "E-2"); err != nil {
			t.Fatal(err)
		}
		e.drain()
		e.wantState("E-2", StateCompleted, "")
	})
	t.Run("retry-job with back-off", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		p := e.printers["p1"]
		p.script = []step{{printer.OutcomeNotFed, errors.New("busy")}, {printer.OutcomeRejected, errors.New("bad card")}, {printer.OutcomeNotFed, errors.New("busy")}}
		e.submit("E-3", nil)
		e.drain()
		first := e.wantState("E-3", StatePending, "busy")
		e.drain() // back-off not over
		if n := e.job("E-3").Attempt; n != 1 {
			t.Fatalf("attempted %d times during the back-off", n)
		}
		e.clock.Advance(time.Second)
		e.drain()
		// Rejected: the spoiled card's serial is void, the next gets a new one.
		spoiled := e.job("E-3")
		if !slices.Contains(spoiled.Voided, first.Serial) || !e.audit.has(AuditSpoiled, first.Serial) {
			t.Errorf("spoiled serial not voided: %+v", spoiled)
		}
		e.clock.Advance(2 * time.Second)
		e.drain()
		// Third attempt failed: max attempts reached, held.
		e.wantState("E-3", StateHeld, "after 3 attempts")
		if err := e.s.Release(context.Background(), "E-3"); err != nil {
			t.Fatal(err)
		}
		e.drain()
		done := e.wantState("E-3", StateCompleted, "")
		if done.Serial == first.Serial {
			t.Error("spoiled serial reused")
		}
	})
	t.Run("blocked before printing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		p := e.printers["p1"]
		p.setStatus(printer.ReasonCoverOpen)
		if ok, err := e.s.Poll(context.Background(), "p1"); ok || err != nil {
			t.Fatalf("Poll = %v, %v", ok, err)
		}
		e.submit("E-4", nil)
		e.drain()
		e.wantState("E-4", StatePending, "")
		if len(p.printedSerials()) != 0 {
			t.Fatal("printed while the cover was open")
		}
		p.setStatus()
		e.drain()
		e.wantState("E-4", StateCompleted, "")
	})
	t.Run("audit failure blocks printing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		e.audit.err = errors.New("disk full")
		e.submit("E-5", nil)
		e.drain()
		e.wantState("E-5", StatePending, "audit")
		if len(e.printers["p1"].printedSerials()) != 0 {
			t.Fatal("printed without an audit record")
		}
		e.audit.mu.Lock()
		e.audit.err = nil
		e.audit.mu.Unlock()
		e.clock.Advance(time.Second)
		e.drain()
		e.wantState("E-5", StateCompleted, "")
	})
	t.Run("compose failure holds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		e.submit("E-6", func(j *jobfile.Job) { j.Template = "broken" })
		e.drain()
		e.wantState("E-6", StateHeld, "font cache")
	})
}

func TestOperatorActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("O-1", nil)
	e.submit("O-2", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Hold(ctx, "O-1", "check photo"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Cancel(ctx, "O-2", "duplicate request"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.wantState("O-1", StateHeld, "check photo")
	e.wantState("O-2", StateCancelled, "duplicate request")
	if n := len(e.printers["p1"].printedSerials()); n != 0 {
		t.Fatalf("printed %d", n)
	}
	if err := e.s.Hold(ctx, "O-2", ""); !errors.Is(err, ErrState) {
		t.Errorf("Hold of a cancelled job: %v", err)
	}
	if err := e.s.Hold(ctx, "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Hold of an unknown job: %v", err)
	}
	if err := e.s.Release(ctx, "O-1"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.wantState("O-1", StateCompleted, "")
	// A cancelled id may be submitted again (no card was made).
	e.submit("O-2", nil)
	e.drain()
	e.wantState("O-2", StateCompleted, "")
}

// crash abandons the running scheduler without closing anything cleanly
// except the lock (the kernel drops a dead process's flock) and opens a
// new one on the same directories.
func (e *env) crash() {
	e.t.Helper()
	e.sp.mu.Lock()
	if e.sp.journal != nil {
		e.sp.journal.f.Close()
		e.sp.journal.err = errors.New("process dead")
	}
	e.sp.admitFile.Close()
	e.sp.lock.Close()
	e.sp.mu.Unlock()
	e.open()
}

func TestRestartReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	p := e.printers["p1"]
	e.submit("R-1", nil)
	e.submit("R-2", nil)
	e.submit("R-3", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ProcessNext(ctx, "p1"); err != nil { // R-1 printed
		t.Fatal(err)
	}
	// R-2 dies in the printer: the process is killed mid-card.
	inPrint := make(chan struct{})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	p.hook = func() { close(inPrint); <-block }
	go e.s.ProcessNext(ctx, "p1")
	<-inPrint
	old := e.s
	// A job claimed but never journaled, as if the crash hit between
	// rename and journal.
	if err := os.Rename(mustClaimable(t, e), filepath.Join(e.root, dirActive, numName(50))); err != nil {
		t.Fatal(err)
	}
	e.crash()
	p.hook = nil
	if e.s == old {
		t.Fatal("no new scheduler")
	}
	r2 := e.wantState("R-2", StateHeld, ReasonOutcomeUnknown)
	if !e.audit.has(AuditUnknown, r2.Serial) {
		t.Error("restart did not audit the unknown outcome")
	}
	e.wantState("R-1", StateCompleted, "")
	e.wantState("R-3", StatePending, "")
	e.wantState("L-1", StatePending, "")
	e.drain()
	e.wantState("R-3", StateCompleted, "")
	e.wantState("L-1", StateCompleted, "")
	e.wantState("R-2", StateHeld, ReasonOutcomeUnknown)
	count := func(xs []string, x string) (n int) {
		for _, v := range xs {
			if v == x {
				n++
			}
		}
		return n
	}
	if got := p.printedSerials(); len(got) != 3 || count(got, r2.Serial) != 0 {
		t.Errorf("printed %v: R-2's card printed twice or counts wrong", got)
	}
	// A further restart changes nothing.
	e.crash()
	e.wantState("R-2", StateHeld, ReasonOutcomeUnknown)
	e.wantState("R-3", StateCompleted, "")
	if n := e.sp.nextNum; n <= 50 {
		t.Errorf("next job number %d reuses a claimed directory's", n)
	}
}

// mustClaimable stages a good job directory and returns its path.
func mustClaimable(t *testing.T, e *env) string {
	t.Helper()
	dir := filepath.Join(e.root, dirIncoming, ".late")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "job.toml"), []byte("id = \"L-1\"\ntemplate = \"t\"\n"), 0o600)
	return dir
}

func TestRestartMidCompose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("C-1", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	inCompose := make(chan struct{})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	e.composer.hook = func(ComposeRequest) { close(inCompose); <-block }
	go e.s.ProcessNext(ctx, "p1")
	<-inCompose
	serial := e.job("C-1").Serial
	e.composer.hook = nil
	e.crash()
	j := e.wantState("C-1", StatePending, "restart")
	if j.Serial != serial {
		t.Errorf("serial %q after restart, want the unprinted %q kept", j.Serial, serial)
	}
	e.drain()
	if j := e.wantState("C-1", StateCompleted, ""); j.Serial != serial {
		t.Errorf("printed with %s, want %s", j.Serial, serial)
	}
}

func TestPlainFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	in := filepath.Join(e.root, dirIncoming)
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(in, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("photo-a.png", string(pngPhoto(t, 4, 4)))
	write("a.toml", "id = \"F-A\"\ntemplate = \"t\"\nphoto = \"photo-a.png\"\n")
	write("a.toml.ready", "")
	write("b.json", `{"id":"F-B","template":"t"}`)
	write(".c.toml", "id = \"F-C\"\ntemplate = \"t\"\n") // hidden: never claimed
	// A staging directory of a crashed "cardd submit", a day old: removed.
	stale := filepath.Join(in, ".submit-X-1-abcd")
	os.Mkdir(stale, 0o700)
	dayAgo := e.clock.Now().Add(-25 * time.Hour)
	os.Chtimes(stale, dayAgo, dayAgo)
	fresh := filepath.Join(in, ".submit-X-2-abcd")
	os.Mkdir(fresh, 0o700)
	hour := e.clock.Now().Add(-time.Hour)
	os.Chtimes(fresh, hour, hour)
	claimed, err := e.sp.Claim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 {
		t.Fatalf("first scan claimed %v, want only the .ready job", claimed)
	}
	// b.json is seen once; it must stay unchanged for StableAfter.
	if claimed, _ = e.sp.Claim(ctx); len(claimed) != 0 {
		t.Fatalf("claimed %v before StableAfter", claimed)
	}
	e.clock.Advance(2 * time.Second)
	write("b.json", `{"id":"F-B","template":"t","fields":{"x":"grew"}}`) // still being written
	if claimed, _ = e.sp.Claim(ctx); len(claimed) != 0 {
		t.Fatalf("claimed a file that changed: %v", claimed)
	}
	e.clock.Advance(2 * time.Second)
	// The file's mtime is real time; make it old enough.
	old := e.clock.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(in, "b.json"), old, old)
	if claimed, _ = e.sp.Claim(ctx); len(claimed) != 0 {
		t.Fatalf("claimed right after an mtime change: %v", claimed)
	}
	e.clock.Advance(2 * time.Second)
	if claimed, _ = e.sp.Claim(ctx); len(claimed) != 1 {
		t.Fatalf("stable file not claimed: %v", claimed)
	}
	e.drain()
	e.wantState("F-A", StateCompleted, "")
	b := e.wantState("F-B", StateCompleted, "")
	_ = b
	ents, _ := os.ReadDir(in)
	var left []string
	for _, en := range ents {
		left = append(left, en.Name())
	}
	if !slices.Equal(left, []string{".c.toml", ".submit-X-2-abcd"}) {
		t.Errorf("incoming holds %v, want only the hidden file and the fresh staging directory", left)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("G-1", nil)
	e.drain()
	j := e.wantState("G-1", StateCompleted, "")
	if n, err := e.s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge before the window = %d, %v", n, err)
	}
	e.clock.Advance(2 * time.Hour)
	if n, err := e.s.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(e.root, dirDone, numName(j.Num))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("personal data still there: %v", err)
	}
	e.crash()
	p := e.wantState("G-1", StateCompleted, "")
	if !p.Purged || p.Serial != j.Serial || p.Hash != j.Hash {
		t.Errorf("after purge and replay: %+v", p)
	}
	if _, err := e.s.Reprint(ctx, "G-1", "G-2", "lost"); !errors.Is(err, ErrState) {
		t.Errorf("Reprint of purged job: %v", err)
	}
}

func TestLocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	if _, err := Open(e.root, Options{}, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	ro, err := Open(e.root, Options{ReadOnly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Claim(context.Background()); err == nil {
		t.Error("read-only spool claimed")
	}
	if got := len(ro.Jobs()); got != 0 {
		t.Errorf("read-only spool sees %d jobs", got)
	}
}

// fakeWatcher is a Watcher the test drives.
type fakeWatcher struct{ ch chan struct{} }

func (w *fakeWatcher) Events() <-chan struct{} { return w.ch }
func (w *fakeWatcher) Close() error            { return nil }

func TestRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	ctx, cancel := context.WithCancel(context.Background())
	w := &fakeWatcher{ch: make(chan struct{}, 1)}
	processed := make(chan string, 10)
	done := make(chan error)
	go func() {
		done <- e.s.Run(ctx, RunOptions{Watcher: w, Rescan: time.Hour, Poll: time.Hour, Purge: time.Hour, Processed: func(p string) { processed <- p }})
	}()
	e.submit("W-1", nil)
	w.ch <- struct{}{}
	testwait.Recv(t, "the job processed after the watcher's hint", processed)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.wantState("W-1", StateCompleted, "")
}

func TestRecoveryRepairs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("V-1", nil)
	e.submit("V-2", nil)
	e.drain()
	v1 := e.wantState("V-1", StateCompleted, "")
	// A move to done/ lost in a crash: the directory is back in active/.
	if err := os.Rename(filepath.Join(e.root, dirDone, numName(v1.Num)), filepath.Join(e.root, dirActive, numName(v1.Num))); err != nil {
		t.Fatal(err)
	}
	// V-4's directory vanishes while it is queued (a crash of the disk,
	// a person): start-up refuses it instead of failing.
	e.submit("V-4", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	v4 := e.job("V-4")
	if err := os.RemoveAll(filepath.Join(e.root, dirActive, numName(v4.Num))); err != nil {
		t.Fatal(err)
	}
	// V-3's admission record (written without fsync) lost in a crash.
	e.submit("V-3", nil)
	journal := filepath.Join(e.root, fileJournal)
	before, err := os.Stat(journal)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	v3 := e.job("V-3")
	e.crash()
	after, _ := os.Stat(journal)
	if err := os.Truncate(journal, before.Size()); err != nil {
		t.Fatal(err)
	}
	e.crash() // start-up admits V-3 again from active/
	if after.Size() <= before.Size() {
		t.Fatalf("journal did not grow (%d -> %d): nothing was lost", before.Size(), after.Size())
	}
	e.wantState("V-1", StateCompleted, "") // checks the directory is in done/ again
	if j := e.wantState("V-3", StatePending, ""); len(j.History) != 1 {
		t.Errorf("V-3 history %+v", j.History)
	}
	if j := e.job("V-4"); j.State != StateAborted || !strings.Contains(j.Reason, "directory missing") {
		t.Errorf("V-4: %s %q", j.State, j.Reason)
	}
	e.drain()
	if j := e.wantState("V-3", StateCompleted, ""); j.Num != v3.Num {
		t.Errorf("re-admitted as job %d, was %d", j.Num, v3.Num)
	}
}

// ctxComposer fails with the context's error, as a real composer does when
// cancelled.
type ctxComposer struct {
	*fakeComposer
	cancel context.CancelFunc
}

func (c ctxComposer) Compose(ctx context.Context, req ComposeRequest) (*printer.Card, error) {
	c.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	t.Run("mid-compose requeues", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		ctx, cancel := context.WithCancel(context.Background())
		e.s.cfg.Composer = ctxComposer{e.composer, cancel}
		e.submit("Z-1", nil)
		if err := e.s.Rescan(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ProcessNext(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		j := e.wantState("Z-1", StatePending, "shutdown while composing")
		if j.Serial == "" {
			t.Error("the unprinted serial was dropped")
		}
	})
	t.Run("mid-print finishes the card", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, PolicyRetryJob)
		ctx, cancel := context.WithCancel(context.Background())
		p := e.printers["p1"]
		var printCtxErr error
		p.hook = func() { cancel(); printCtxErr = ctx.Err() }
		e.submit("Z-2", nil)
		if err := e.s.Rescan(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ProcessNext(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if printCtxErr == nil {
			t.Fatal("the hook did not cancel")
		}
		e.wantState("Z-2", StateCompleted, "")
		if !e.audit.has(AuditPrinted, e.job("Z-2").Serial) {
			t.Error("printed card not audited after shutdown began")
		}
		if took, err := e.s.ProcessNext(ctx, "p1"); took || err == nil {
			t.Errorf("ProcessNext after shutdown = %v, %v", took, err)
		}
		if d := e.sp.JobDir(e.job("Z-2").Num); filepath.Base(filepath.Dir(d)) != dirDone {
			t.Errorf("JobDir = %s", d)
		}
	})
}

// verifyingComposer adds a Verify step that fails for template "badqr".
type verifyingComposer struct{ *fakeComposer }

func (verifyingComposer) Verify(_ context.Context, req ComposeRequest, c *printer.Card) error {
	if req.Job.Template == "badqr" {
		return errors.New("QR does not decode")
	}
	return nil
}

func TestVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	e.s.cfg.Composer = verifyingComposer{e.composer}
	e.submit("Y-1", nil)
	e.submit("Y-2", func(j *jobfile.Job) { j.Template = "badqr" })
	e.drain()
	j := e.wantState("Y-1", StateCompleted, "")
	var subs []Sub
	for _, r := range j.History {
		if r.Ack == 0 {
			subs = append(subs, r.Sub)
		}
	}
	if !slices.Equal(subs, []Sub{"", SubComposing, SubVerifying, SubPrinting, ""}) {
		t.Errorf("sub-states %v", subs)
	}
	bad := e.wantState("Y-2", StateHeld, "QR does not decode")
	if n := len(e.printers["p1"].printedSerials()); n != 1 {
		t.Errorf("%d cards printed; the unverified one must not be", n)
	}
	if bad.Serial == "" {
		t.Error("held job lost its unprinted serial")
	}
}

func TestAuditAtLeastOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.audit.setFail(AuditPrinted)
	e.submit("AU-1", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	// The card prints; its "printed" event cannot be written.
	if took, err := e.s.ProcessNext(ctx, "p1"); !took || err == nil {
		t.Fatalf("ProcessNext = %v, %v; want the audit failure reported", took, err)
	}
	j := e.wantState("AU-1", StateCompleted, "")
	if j.PendingAudits != 1 || e.audit.has(AuditPrinted, j.Serial) {
		t.Fatalf("pending audits %d", j.PendingAudits)
	}
	if err := e.s.Rescan(ctx); err == nil {
		t.Error("Rescan hid the failing audit")
	}
	// The daemon dies and starts while the audit log is still down: it
	// starts anyway; the event stays owed.
	e.crash()
	if e.audit.has(AuditPrinted, j.Serial) || e.job("AU-1").PendingAudits != 1 {
		t.Fatal("event delivered or dropped while the audit log was down")
	}
	// The audit log comes back; the next start delivers.
	e.audit.setFail("")
	e.crash()
	if n := e.audit.count(AuditPrinted, j.Serial); n != 1 {
		t.Fatalf("printed event delivered %d times", n)
	}
	if j := e.job("AU-1"); j.PendingAudits != 0 {
		t.Errorf("pending audits %d after delivery", j.PendingAudits)
	}
	// Acknowledged: later restarts and rescans do not send it again.
	e.crash()
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.audit.count(AuditPrinted, j.Serial); n != 1 {
		t.Errorf("printed event delivered %d times after acknowledgement", n)
	}
	if n := e.audit.count(AuditIssued, j.Serial); n != 1 {
		t.Errorf("issued event delivered %d times", n)
	}
}

func TestSupersede(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("T-1", nil)
	e.submit("T-2", nil)
	e.drain()
	j := e.wantState("T-1", StateCompleted, "")
	if err := e.s.Supersede(ctx, "T-1", "permanent card CARD-01-0000001-7 printed"); err != nil {
		t.Fatal(err)
	}
	s := e.wantState("T-1", StateCompleted, "superseded")
	if s.Serial != "" || len(s.Voided) != 1 || s.Voided[0] != j.Serial || !e.audit.has(AuditVoid, j.Serial) {
		t.Fatalf("superseded job %+v", s)
	}
	// Again: nothing more happens.
	if err := e.s.Supersede(ctx, "T-1", "again"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Spool().Job("T-1"); len(got.Voided) != 1 {
		t.Fatalf("voided twice: %v", got.Voided)
	}
	if err := e.s.Supersede(ctx, "NOPE", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}
