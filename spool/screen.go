package spool

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/cardd/cardd/spool/jobfile"
)

// ScreenRequest is a claimed job that passed the spool's own checks (job
// file rules, photo file, photo header within MaxPhotoPixels, an id the
// spool does not have yet, a reprint_of it may reprint), about to be
// queued. No serial exists for it yet.
type ScreenRequest struct {
	// Job is the parsed job file; Job.File is its name in Dir.
	Job *jobfile.Job
	// Dir is the job's directory (in active/).
	Dir string
	// Num is the spool job number.
	Num uint64
	// Photo holds the photo's bytes as read (and hashed) at intake, nil
	// when the job names none. A screener uses these and does not read
	// the file again.
	Photo []byte
	// PhotoSHA256 is the SHA-256 of Photo, computed by the spool on the
	// bytes it read (zero when the job names no photo), so that no
	// screener hashes the photo again.
	PhotoSHA256 [sha256.Size]byte
	// Held is the hold reason of an earlier screener of the chain ("" when
	// none has held the job so far). A screener whose work is for jobs
	// that will be queued (a field office forwarding the permanent
	// request) defers it while the job is held: the operator's release
	// (or cancel) decides.
	Held string
}

// PhotoSum is PhotoSHA256, or the SHA-256 of Photo computed now when the
// request carries none (one made by hand rather than by the spool).
func (r ScreenRequest) PhotoSum() [sha256.Size]byte {
	if r.PhotoSHA256 == ([sha256.Size]byte{}) {
		return sha256.Sum256(r.Photo)
	}
	return r.PhotoSHA256
}

// Verdict is a screener's decision on a job it does not refuse.
type Verdict struct {
	// Hold, when not empty, holds the job for an operator with this
	// reason instead of queueing it. An operator's release queues it
	// without screening it again: the release is the override.
	Hold string
}

// Screener is the pre-serial validation step: everything that can be
// checked about a job before a serial is allocated for it (the template
// exists, the photo decodes within the template's limits, a face is
// usable …), so that a job that cannot print never burns a serial.
//
// Screen returns an error to refuse the job: it is aborted into failed/
// with the error as its reason (name the job, file and field, as a
// *jobfile.Error does). Otherwise the Verdict says whether to hold the job
// for an operator. Screen must not block for long: it runs at intake, and
// it is given only the bytes the spool read.
//
// A Composer that implements Screener is screened first, then each of
// Config.Screeners in order. The first refusal decides; a hold is kept
// while the later screeners run, so a refusal still beats a hold.
type Screener interface {
	Screen(ctx context.Context, req ScreenRequest) (Verdict, error)
}

// ScreenerFunc adapts a function to a Screener.
type ScreenerFunc func(ctx context.Context, req ScreenRequest) (Verdict, error)

// Screen implements Screener.
func (f ScreenerFunc) Screen(ctx context.Context, req ScreenRequest) (Verdict, error) {
	return f(ctx, req)
}

// screeners returns the scheduler's screening chain.
func (s *Scheduler) screeners() []Screener {
	var out []Screener
	if sc, ok := s.cfg.Composer.(Screener); ok {
		out = append(out, sc)
	}
	return append(out, s.cfg.Screeners...)
}

// screen runs the screening chain on an admitted job: a refusal (the
// first) as an error, else the first hold reason ("" to queue the job).
func (s *Scheduler) screen(ctx context.Context, req ScreenRequest) (hold string, err error) {
	for _, sc := range s.screeners() {
		req.Held = hold
		v, err := s.screenOne(ctx, sc, req)
		if err != nil {
			return "", err
		}
		if hold == "" && v.Hold != "" {
			hold = v.Hold
		}
	}
	return hold, nil
}

// errScreenPanic: a screener panicked on the job; the job is refused
// instead of taking the daemon down (and down again at every restart).
var errScreenPanic = errors.New("screening the job crashed")

func (s *Scheduler) screenOne(ctx context.Context, sc Screener, req ScreenRequest) (v Verdict, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("screening panicked; job refused", "job", req.Num, "id", req.Job.ID, "panic", p, "stack", string(debug.Stack()))
			v = Verdict{}
			err = &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Err: fmt.Errorf("%w: %v", errScreenPanic, p)}
		}
	}()
	return sc.Screen(ctx, req)
}
