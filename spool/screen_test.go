package spool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cardd/cardd/spool/jobfile"
)

// TestScreenBeforeSerial: the pre-serial validation step refuses or holds
// a job before any serial is allocated, so a producer cannot burn serials;
// a held job prints (with its first serial) once an operator releases it.
func TestScreenBeforeSerial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	var seen []ScreenRequest
	e.composer.screenHook = func(req ScreenRequest) (Verdict, error) {
		seen = append(seen, req)
		switch req.Job.ID {
		case "refuse-1":
			return Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "photo", Err: errors.New("photo of 6000×6000 pixels exceeds the template's limit")}
		case "hold-1":
			return Verdict{Hold: "face not found in the photo; release to print anyway"}, nil
		case "panic-1":
			panic("decoder bug")
		}
		return Verdict{}, nil
	}
	for _, id := range []string{"refuse-1", "hold-1", "panic-1", "ok-1"} {
		e.submit(id, nil)
	}
	e.drain()
	e.wantState("refuse-1", StateAborted, "job file job.toml: job \"refuse-1\": field photo: photo of 6000×6000")
	e.wantState("hold-1", StateHeld, "face not found")
	e.wantState("panic-1", StateAborted, "screening the job crashed: decoder bug")
	e.wantState("ok-1", StateCompleted, "")
	for _, id := range []string{"refuse-1", "hold-1", "panic-1"} {
		if j := e.job(id); j.Serial != "" || len(j.Voided) > 0 {
			t.Errorf("job %s got a serial at intake: %q %v", id, j.Serial, j.Voided)
		}
	}
	if e.serials.n != 1 {
		t.Errorf("%d serials allocated, want 1 (only the good job's)", e.serials.n)
	}
	for _, r := range seen {
		if r.Job.ID == "ok-1" && (len(r.Photo) == 0 || r.Dir == "" || r.Num == 0) {
			t.Errorf("screen request without photo, dir or number: %+v", r)
		}
	}
	// The operator's override (a release with a reason) is audited and
	// not screened again; a plain release is refused.
	n := len(seen)
	if j := e.job("hold-1"); !j.Checked {
		t.Errorf("job held at intake is not marked checked: %+v", j)
	}
	if err := e.s.Release(ctx, "hold-1"); !errors.Is(err, ErrState) {
		t.Errorf("plain release of a job held by a check: %v, want ErrState", err)
	}
	if err := e.s.Override(ctx, "hold-1", ""); !errors.Is(err, ErrState) {
		t.Errorf("override without a reason: %v, want ErrState", err)
	}
	if err := e.s.Override(ctx, "ok-1", "why not"); !errors.Is(err, ErrState) {
		t.Errorf("override of a job not held by a check: %v, want ErrState", err)
	}
	if err := e.s.Override(ctx, "hold-1", "photo checked by the supervisor"); err != nil {
		t.Fatal(err)
	}
	if !e.audit.has(AuditOverride, "") {
		t.Error("override not audited")
	}
	if j := e.job("hold-1"); j.Checked || !strings.Contains(j.Reason, "photo checked by the supervisor") {
		t.Errorf("after the override: checked %v, reason %q", j.Checked, j.Reason)
	}
	e.drain()
	if j := e.wantState("hold-1", StateCompleted, ""); j.Serial != "S00002" {
		t.Errorf("released job printed with serial %q, want the next one, S00002", j.Serial)
	}
	if len(seen) != n {
		t.Errorf("released job screened again")
	}
}

// TestScreenChain: the Composer screens first, then Config.Screeners in
// order; a refusal beats a hold from an earlier screener.
func TestScreenChain(t *testing.T) {
	t.Parallel()
	var order []string
	holder := ScreenerFunc(func(_ context.Context, req ScreenRequest) (Verdict, error) {
		order = append(order, "holder")
		return Verdict{Hold: "check the face"}, nil
	})
	refuser := ScreenerFunc(func(_ context.Context, req ScreenRequest) (Verdict, error) {
		order = append(order, "refuser")
		if strings.HasPrefix(req.Job.ID, "r") {
			return Verdict{}, errors.New("refused by the second screener")
		}
		return Verdict{}, nil
	})
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) { c.Screeners = []Screener{holder, refuser} })
	e.composer.screenHook = func(ScreenRequest) (Verdict, error) {
		order = append(order, "composer")
		return Verdict{}, nil
	}
	e.submit("r-1", nil)
	e.drain()
	e.wantState("r-1", StateAborted, "refused by the second screener")
	if got := strings.Join(order, ","); got != "composer,holder,refuser" {
		t.Errorf("screening order %s", got)
	}
	e.submit("h-1", nil)
	e.drain()
	e.wantState("h-1", StateHeld, "check the face")
	if e.serials.n != 0 {
		t.Errorf("%d serials allocated", e.serials.n)
	}
}

// TestScreenCancelled: a stop during screening leaves the job claimed, to
// be screened again at the next start; it is not refused.
func TestScreenCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	ctx, cancel := context.WithCancel(context.Background())
	e.composer.screenHook = func(req ScreenRequest) (Verdict, error) {
		cancel()
		return Verdict{}, context.Canceled
	}
	e.submit("c-1", nil)
	if err := e.s.Rescan(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Rescan = %v, want cancelled", err)
	}
	if jobs := e.sp.Jobs(); len(jobs) != 0 {
		t.Fatalf("job admitted or refused while stopping: %+v", jobs)
	}
	e.composer.screenHook = nil
	e.crash()
	e.drain()
	e.wantState("c-1", StateCompleted, "")
}

// TestLeftWhenJobLeavesQueue: Config.Left hears of every job that leaves
// the queue (refused or held at intake, held or cancelled by an operator,
// printed), once a change of state (sorted by id here), and of none that
// is only queued.
func TestLeftWhenJobLeavesQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		left []string
	)
	got := func() string {
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(left)
		s := strings.Join(left, ",")
		left = nil
		return s
	}
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Left = func(id string) {
			mu.Lock()
			left = append(left, id)
			mu.Unlock()
		}
	})
	e.composer.screenHook = func(req ScreenRequest) (Verdict, error) {
		switch req.Job.ID {
		case "refuse-1":
			return Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "photo", Err: errors.New("no face")}
		case "hold-1":
			return Verdict{Hold: "face not found in the photo"}, nil
		}
		return Verdict{}, nil
	}
	for _, id := range []string{"refuse-1", "hold-1", "queued-1", "cancel-1", "hold-2"} {
		e.submit(id, nil)
	}
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if s := got(); s != "hold-1,refuse-1" {
		t.Errorf("left at intake: %q, want hold-1,refuse-1", s)
	}
	if err := e.s.Cancel(ctx, "cancel-1", "duplicate"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Hold(ctx, "hold-2", "wait"); err != nil {
		t.Fatal(err)
	}
	if s := got(); s != "cancel-1,hold-2" {
		t.Errorf("left by the operator's actions: %q, want cancel-1,hold-2", s)
	}
	e.drain()
	e.wantState("queued-1", StateCompleted, "")
	if s := got(); s != "queued-1" {
		t.Errorf("left after printing: %q, want queued-1", s)
	}
	if err := e.s.Release(ctx, "hold-2"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if s := got(); s != "hold-2" {
		t.Errorf("left after the release and printing: %q, want hold-2", s)
	}
}
