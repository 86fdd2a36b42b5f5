package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrStalled: the scheduler has made no progress for longer than allowed
// while work is waiting (Scheduler.Health).
var ErrStalled = errors.New("spool: scheduler stalled")

// progress keeps the scheduler's heartbeats: the main loop's (claiming,
// admitting, operator requests), each printer worker's, and the start of
// each composition in flight.
type progress struct {
	mu        sync.Mutex
	loop      time.Time            // main loop: last pass finished (or start)
	workers   map[string]time.Time // printer → last turn of its worker
	composing map[uint64]time.Time // job → composition started
}

func (pr *progress) beatLoop(t time.Time) {
	pr.mu.Lock()
	pr.loop = t
	pr.mu.Unlock()
}

func (pr *progress) beatWorker(name string, t time.Time) {
	pr.mu.Lock()
	pr.workers[name] = t
	pr.mu.Unlock()
}

func (pr *progress) composeStart(num uint64, t time.Time) {
	pr.mu.Lock()
	pr.composing[num] = t
	pr.mu.Unlock()
}

func (pr *progress) composeEnd(num uint64) {
	pr.mu.Lock()
	delete(pr.composing, num)
	pr.mu.Unlock()
}

// Health reports whether the scheduler is making progress: nil, or an
// error wrapping ErrStalled when, while work is waiting (a job queued or
// in progress or claimed and not admitted yet, an entry in incoming/,
// an operator request in control/),
// the main loop has not finished a pass, a printer's worker has not
// turned (beyond the print timeout while it prints) or a card has been
// composing for longer than limit. A limit of 0 or less disables the
// check. The daemon's /healthz serves it (config http.stall_after).
func (s *Scheduler) Health(limit time.Duration) error {
	if limit <= 0 {
		return nil
	}
	waiting := s.workWaiting()
	if waiting == "" {
		return nil
	}
	now := s.now()
	pr := &s.progress
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var errs []error
	if d := now.Sub(pr.loop); d > limit {
		errs = append(errs, fmt.Errorf("%w: no pass of the scheduler loop (claiming, admitting, operator requests) for %s while %s", ErrStalled, d.Round(time.Second), waiting))
	}
	for _, p := range s.prs {
		allow := limit
		s.sp.mu.Lock()
		if p.busy {
			allow += s.cfg.PrintTimeout
		}
		s.sp.mu.Unlock()
		if t, ok := pr.workers[p.cfg.Name]; ok {
			if d := now.Sub(t); d > allow {
				errs = append(errs, fmt.Errorf("%w: printer %s: its worker has not turned for %s while %s", ErrStalled, p.cfg.Name, d.Round(time.Second), waiting))
			}
		}
	}
	for num, t := range pr.composing {
		if d := now.Sub(t); d > limit {
			errs = append(errs, fmt.Errorf("%w: job %d: composing for %s", ErrStalled, num, d.Round(time.Second)))
		}
	}
	return errors.Join(errs...)
}

// workWaiting describes the work waiting for the scheduler, "" when there
// is none.
func (s *Scheduler) workWaiting() string {
	var parts []string
	counts := s.sp.Counts()
	if n := counts[StatePending] + counts[StateProcessing] + counts[StateStopped]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d jobs are queued or in progress", n))
	}
	if nums, err := s.sp.Unadmitted(); err == nil && len(nums) > 0 {
		parts = append(parts, fmt.Sprintf("%d claimed jobs wait to be admitted", len(nums)))
	}
	if n := countEntries(filepath.Join(s.sp.root, dirIncoming), ""); n > 0 {
		parts = append(parts, fmt.Sprintf("%d entries wait in incoming/", n))
	}
	if n := countEntries(filepath.Join(s.sp.root, dirControl), ".req"); n > 0 {
		parts = append(parts, fmt.Sprintf("%d operator requests wait in control/", n))
	}
	return strings.Join(parts, ", ")
}

// countEntries counts the visible entries of dir with the suffix.
func countEntries(dir, suffix string) int {
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(4096) // a bound: this runs on every /healthz
	n := 0
	for _, name := range names {
		if !strings.HasPrefix(name, ".") && strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}
