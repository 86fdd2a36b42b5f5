package magicard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
)

// fakePrinter is a scripted transport: it answers every INF with inf and
// can fail reads once a job has been written.
type fakePrinter struct {
	mu        sync.Mutex
	inf       Inf
	out       []byte
	jobs      int
	ejects    int // EJT commands, and jobs sent after the last one
	jobsAfter int
	failReads bool // after a job
}

func (f *fakePrinter) Write(ctx context.Context, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if bytes.HasPrefix(p, bytes.Repeat([]byte{ENQ}, LeadIn)) {
		f.jobs++
		f.jobsAfter++
		return len(p), nil
	}
	if bytes.Contains(p, []byte("\x01EJT,\x1c\x03")) {
		f.ejects++
		f.jobsAfter = 0
	}
	if bytes.Contains(p, []byte("REQ,INF,")) {
		f.out = AppendINF(f.out, f.inf)
	}
	return len(p), nil
}

func (f *fakePrinter) Read(ctx context.Context, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReads && f.jobs > 0 {
		return 0, fmt.Errorf("fake: %w", printer.ErrNoDevice)
	}
	if len(f.out) == 0 {
		return 0, fmt.Errorf("fake: nothing to read: %w", printer.ErrTimeout)
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

func (f *fakePrinter) Close() error   { return nil }
func (f *fakePrinter) String() string { return "fake" }

func TestPrintNeverConfirmed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fake    *fakePrinter
		is      error
		outcome printer.Outcome
	}{
		// The counter never moves: the wait times out, outcome unknown.
		{"silent printer", &fakePrinter{inf: Inf{FilmName: "YMCKO"}}, printer.ErrTimeout, printer.OutcomeUnknown},
		// The link fails after the job went out.
		{"link lost after job", &fakePrinter{inf: Inf{FilmName: "YMCKO"}, failReads: true}, printer.ErrNoDevice, printer.OutcomeUnknown},
		// The printer refused the job: nothing was fed.
		{"job refused", &fakePrinter{inf: Inf{Major: MajorCommand, Minor: MinorBadLength}}, printer.ErrProtocol, printer.OutcomeNotFed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := DefaultOpts
			o.After = func(d time.Duration) <-chan time.Time {
				if d == o.PrintTimeout {
					c := make(chan time.Time, 1)
					c <- time.Time{}
					return c
				}
				return nil // polls never come round: the deadline decides
			}
			if tc.name == "job refused" {
				// The refusal is read after the job; before it the printer is
				// fine.
				f := tc.fake
				f.inf = Inf{}
				wrapped := &flipAfterJob{fakePrinter: f, after: Inf{Major: MajorCommand, Minor: MinorBadLength}}
				d := New(wrapped, &o, nil)
				res, err := d.Print(context.Background(), SampleCard(false, false))
				if !errors.Is(err, tc.is) || res.Outcome != tc.outcome {
					t.Fatalf("Print = %s, %v; want %s, %v", res.Outcome, err, tc.outcome, tc.is)
				}
				return
			}
			d := New(tc.fake, &o, nil)
			res, err := d.Print(context.Background(), SampleCard(false, false))
			if !errors.Is(err, tc.is) || res.Outcome != tc.outcome {
				t.Fatalf("Print = %s, %v; want %s, %v", res.Outcome, err, tc.outcome, tc.is)
			}
		})
	}
}

// flipAfterJob reports after once a job has been written.
type flipAfterJob struct {
	*fakePrinter
	after Inf
}

func (f *flipAfterJob) Write(ctx context.Context, p []byte) (int, error) {
	n, err := f.fakePrinter.Write(ctx, p)
	f.mu.Lock()
	if f.jobs > 0 {
		f.inf = f.after
	}
	f.mu.Unlock()
	return n, err
}

func TestReplyFraming(t *testing.T) {
	t.Parallel()
	// Noise before SOH is dropped; two replies in one read are split.
	f := &fakePrinter{}
	f.out = append([]byte("\x00\xffjunk"), AppendSTA(nil, "MSR", "A1")...)
	f.out = AppendSTA(f.out, "VRS", "2.0")
	d := New(f, nil, nil)
	d.mu.Lock()
	r1, err1 := d.reply(context.Background(), "t")
	r2, err2 := d.reply(context.Background(), "t")
	d.mu.Unlock()
	if err1 != nil || err2 != nil || string(r1) != "\x01STA,MSRA1,\x03" || string(r2) != "\x01STA,VRS2.0,\x03" {
		t.Fatalf("replies %q %v, %q %v", r1, err1, r2, err2)
	}
	if _, err := d.reply(context.Background(), "t"); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("empty line: %v, want ErrTimeout", err)
	}
}

// busyPrinter stays silent for the first polls after a job, then reports
// the card out.
type busyPrinter struct {
	fakePrinter
	silent int // INF requests left unanswered after the job
}

func (b *busyPrinter) Write(ctx context.Context, p []byte) (int, error) {
	b.mu.Lock()
	if b.jobs > 0 && bytes.Contains(p, []byte("REQ,INF,")) {
		if b.silent > 0 {
			b.silent--
			b.mu.Unlock()
			return len(p), nil
		}
		b.inf.TotalCards = 1
	}
	b.mu.Unlock()
	return b.fakePrinter.Write(ctx, p)
}

func TestPrintToleratesSilentPolls(t *testing.T) {
	t.Parallel()
	f := &busyPrinter{silent: 3}
	o := DefaultOpts
	o.ReplyTimeout = 50 * time.Millisecond
	o.After = func(d time.Duration) <-chan time.Time {
		if d == o.PrintTimeout {
			return nil
		}
		c := make(chan time.Time, 1)
		c <- time.Time{}
		return c
	}
	res, err := New(f, &o, nil).Print(context.Background(), SampleCard(false, false))
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print = %s, %v; want printed after silent polls", res.Outcome, err)
	}
}

// TestStrayEjectedBeforeNextCard: after a card whose outcome is unknown,
// the next print ejects whatever is inside (EJT) before sending its job,
// unless the card counter shows the interrupted card came out.
func TestStrayEjectedBeforeNextCard(t *testing.T) {
	t.Parallel()
	f := &fakePrinter{inf: Inf{Model: "Rio Pro", TotalCards: 7}, failReads: true}
	o := DefaultOpts
	o.PrintTimeout = time.Minute
	d := New(f, &o, nil)
	card := SampleCard(false, false)
	res, err := d.Print(context.Background(), card)
	if err == nil || res.Outcome != printer.OutcomeUnknown {
		t.Fatalf("first print: %v %v", res.Outcome, err)
	}
	f.mu.Lock()
	f.failReads, f.jobs, f.out = false, 0, nil
	f.inf.TotalCards = 7 // the counter did not move: the card may be inside
	f.mu.Unlock()
	// The fake never confirms a card, so the second print ends unknown
	// too; what matters is what it sent first.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.Print(ctx, card)
	f.mu.Lock()
	ejects, after := f.ejects, f.jobsAfter
	f.mu.Unlock()
	if ejects != 1 || after != 1 {
		t.Fatalf("%d EJT sent, %d jobs after it; want EJT then the job", ejects, after)
	}
	// The counter moved past the interrupted card: nothing to eject.
	f.mu.Lock()
	f.inf.TotalCards, f.out = 9, nil
	f.mu.Unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	d.Print(ctx2, card)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ejects != 1 {
		t.Errorf("EJT sent though the card counter moved (%d EJT)", f.ejects)
	}
}
