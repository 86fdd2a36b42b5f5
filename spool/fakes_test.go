package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSerials counts up.
type fakeSerials struct {
	mu  sync.Mutex
	n   int
	err error
}

func (f *fakeSerials) Next(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.n++
	return fmt.Sprintf("S%05d", f.n), nil
}

// fakeAudit keeps every event.
type fakeAudit struct {
	mu       sync.Mutex
	events   []AuditEvent
	err      error
	failKind AuditKind // events of this kind fail
}

func (a *fakeAudit) Record(_ context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if e.Kind == a.failKind {
		return errors.New("audit log unavailable")
	}
	a.events = append(a.events, e)
	return nil
}

func (a *fakeAudit) has(kind AuditKind, serial string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e.Kind == kind && e.Serial == serial {
			return true
		}
	}
	return false
}

func (a *fakeAudit) count(kind AuditKind, serial string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Kind == kind && e.Serial == serial {
			n++
		}
	}
	return n
}

func (a *fakeAudit) setFail(k AuditKind) {
	a.mu.Lock()
	a.failKind = k
	a.mu.Unlock()
}

func (a *fakeAudit) kinds(serial string) []AuditKind {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditKind
	for _, e := range a.events {
		if e.Serial == serial {
			out = append(out, e.Kind)
		}
	}
	return out
}

// fakeComposer makes a small card and remembers which serial it is for.
// Template "unknown" is refused by its Screen (before a serial);
// "uncomposable" is a bad job only Compose finds; "broken" an internal
// failure; a hook can block to simulate a crash mid-compose, screenHook
// replaces the screening.
type fakeComposer struct {
	mu         sync.Mutex
	serials    map[*printer.Card]string
	hook       func(req ComposeRequest)
	screenHook func(req ScreenRequest) (Verdict, error)
}

// Screen implements Screener: the template must exist.
func (c *fakeComposer) Screen(ctx context.Context, req ScreenRequest) (Verdict, error) {
	if c.screenHook != nil {
		return c.screenHook(req)
	}
	if req.Job.Template == "unknown" {
		return Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "template", Err: fmt.Errorf("%w: no such template %q", ErrBadJob, req.Job.Template)}
	}
	return Verdict{}, nil
}

func (c *fakeComposer) Compose(ctx context.Context, req ComposeRequest) (*printer.Card, error) {
	if c.hook != nil {
		c.hook(req)
	}
	switch req.Job.Template {
	case "unknown", "uncomposable":
		return nil, fmt.Errorf("template %q: %w: no such template", req.Job.Template, ErrBadJob)
	case "broken":
		return nil, errors.New("font cache unreadable")
	}
	if req.Job.Photo != "" {
		if _, err := req.Job.ReadPhoto(req.Dir, 1<<20); err != nil {
			return nil, err
		}
	}
	card := &printer.Card{Geometry: printer.CR80(300)}
	c.mu.Lock()
	if c.serials == nil {
		c.serials = map[*printer.Card]string{}
	}
	c.serials[card] = req.Serial
	c.mu.Unlock()
	return card, nil
}

func (c *fakeComposer) serial(card *printer.Card) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serials[card]
}

// step is one scripted print attempt.
type step struct {
	out printer.Outcome
	err error
}

// fakePrinter prints per script (then "printed"), checks that each card's
// serial was audited before printing, and reports a settable status.
type fakePrinter struct {
	t        testing.TB
	composer *fakeComposer
	audit    *fakeAudit

	mu      sync.Mutex
	script  []step
	status  printer.Status
	printed []string // serials physically printed (printed or unknown)
	hook    func()   // called inside Print (crash simulation)
	// strayNext makes the next Print report a stray card rejected
	// before its card (printer.Result.StrayRejected).
	strayNext bool
}

func (p *fakePrinter) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	serial := p.composer.serial(c)
	if serial == "" || !p.audit.has(AuditIssued, serial) {
		p.t.Errorf("card reached the printer without an audited serial (%q)", serial)
	}
	if p.hook != nil {
		p.hook()
	}
	if err := ctx.Err(); err != nil {
		// A driver whose context is cancelled mid-card loses the card.
		return printer.Result{Outcome: printer.OutcomeUnknown}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := step{out: printer.OutcomePrinted}
	if len(p.script) > 0 {
		s, p.script = p.script[0], p.script[1:]
	}
	if s.out == printer.OutcomePrinted || s.out == printer.OutcomeUnknown {
		p.printed = append(p.printed, serial)
	}
	stray := p.strayNext
	p.strayNext = false
	return printer.Result{Outcome: s.out, StrayRejected: stray}, s.err
}

func (p *fakePrinter) Status(context.Context) (printer.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, nil
}

func (p *fakePrinter) setStatus(r ...printer.Reason) {
	p.mu.Lock()
	p.status = printer.Status{State: printer.StateIdle, Reasons: r}
	if len(r) > 0 {
		p.status.State = printer.StateError
	}
	p.mu.Unlock()
}

func (p *fakePrinter) printedSerials() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.printed...)
}

// env is a spool with a scheduler and fakes.
type env struct {
	t        testing.TB
	root     string
	clock    *fakeClock
	serials  *fakeSerials
	audit    *fakeAudit
	composer *fakeComposer
	printers map[string]*fakePrinter
	policy   ErrorPolicy
	cfgMod   func(*Config)
	sp       *Spool
	s        *Scheduler
}

func newEnv(t testing.TB, policy ErrorPolicy, printers ...string) *env {
	t.Helper()
	return newEnvConfig(t, policy, nil, printers...)
}

// newEnvConfig is newEnv with a change to the scheduler's Config.
func newEnvConfig(t testing.TB, policy ErrorPolicy, mod func(*Config), printers ...string) *env {
	t.Helper()
	if len(printers) == 0 {
		printers = []string{"p1"}
	}
	e := &env{
		t:        t,
		root:     filepath.Join(t.TempDir(), "spool"),
		clock:    &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)},
		serials:  &fakeSerials{},
		audit:    &fakeAudit{},
		composer: &fakeComposer{},
		printers: map[string]*fakePrinter{},
		policy:   policy,
		cfgMod:   mod,
	}
	for _, n := range printers {
		e.printers[n] = &fakePrinter{t: t, composer: e.composer, audit: e.audit}
	}
	e.open()
	return e
}

// open opens (or reopens after a simulated crash) spool and scheduler.
func (e *env) open() {
	e.t.Helper()
	// A simulated restart (crash) closes the lock file and opens the spool
	// again at once. A parallel test forking a child process (which holds
	// a copy of every descriptor until it execs) can keep the lock a moment
	// longer than a real dead daemon would: wait for it, not fail.
	var sp *Spool
	testwait.For(e.t, "the spool's lock to be free", func() bool {
		var err error
		sp, err = Open(e.root, Options{Now: e.clock.Now, StableAfter: time.Second}, nil)
		if err != nil && !errors.Is(err, ErrLocked) {
			e.t.Fatalf("Open: %v", err)
		}
		return err == nil
	})
	e.t.Cleanup(func() { sp.Close() })
	var pcs []PrinterConfig
	for _, n := range sortedNames(e.printers) {
		pcs = append(pcs, PrinterConfig{Name: n, Printer: e.printers[n], Policy: e.policy, Backoff: time.Second, MaxAttempts: 3, StockLoaded: 100})
	}
	cfg := Config{Composer: e.composer, Serials: e.serials, Audit: e.audit, Printers: pcs, Retention: time.Hour}
	if e.cfgMod != nil {
		e.cfgMod(&cfg)
	}
	s, err := NewScheduler(context.Background(), sp, cfg, nil)
	if err != nil {
		e.t.Fatalf("NewScheduler: %v", err)
	}
	e.sp, e.s = sp, s
}

func sortedNames(m map[string]*fakePrinter) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	for i := range out {
		for k := i + 1; k < len(out); k++ {
			if out[k] < out[i] {
				out[i], out[k] = out[k], out[i]
			}
		}
	}
	return out
}

// drain rescans and lets every printer take jobs until none takes one.
func (e *env) drain() {
	e.t.Helper()
	ctx := context.Background()
	if err := e.s.Rescan(ctx); err != nil {
		e.t.Fatalf("Rescan: %v", err)
	}
	for {
		any := false
		for _, n := range sortedNames(e.printers) {
			took, err := e.s.ProcessNext(ctx, n)
			if err != nil {
				e.t.Fatalf("ProcessNext(%s): %v", n, err)
			}
			any = any || took
		}
		if !any {
			return
		}
	}
}

// submit commits a good job with a photo.
func (e *env) submit(id string, mod func(j *jobfile.Job)) {
	e.t.Helper()
	j := &jobfile.Job{ID: id, Template: "temporary", Photo: "photo.png", Fields: map[string]string{"surname": "Doe", "given_names": "Jane"}}
	if mod != nil {
		mod(j)
	}
	var photo []byte
	if j.Photo != "" {
		photo = pngPhoto(e.t, 8, 10)
	}
	if _, err := Submit(e.root, j, photo); err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
}

func (e *env) job(ref string) Job {
	e.t.Helper()
	j, err := e.sp.Job(ref)
	if err != nil {
		e.t.Fatalf("Job(%s): %v", ref, err)
	}
	return j
}

func (e *env) wantState(ref string, st State, reasonHas string) Job {
	e.t.Helper()
	j := e.job(ref)
	if j.State != st || !strings.Contains(j.Reason, reasonHas) {
		e.t.Fatalf("job %s: state %s (%q), want %s (containing %q)", ref, j.State, j.Reason, st, reasonHas)
	}
	if _, err := os.Stat(filepath.Join(e.root, dirFor(st), numName(j.Num))); err != nil && !j.Purged {
		e.t.Errorf("job %s: directory not in %s: %v", ref, dirFor(st), err)
	}
	return j
}

// pngPhoto returns a small PNG portrait.
func pngPhoto(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
