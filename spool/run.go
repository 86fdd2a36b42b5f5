package spool

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher delivers hints that something changed in incoming/. Events are
// only hints: the scheduler rescans on each one and on a timer, so a lost
// event costs at most one rescan interval.
type Watcher interface {
	// Events delivers a value per change (coalescing is fine).
	Events() <-chan struct{}
	// Close stops the watcher.
	Close() error
}

// FSWatcher is a Watcher on a directory through fsnotify.
type FSWatcher struct {
	w      *fsnotify.Watcher
	events chan struct{}
	done   chan struct{}
}

// NewFSWatcher watches directories (normally the spool's WatchDirs).
func NewFSWatcher(dirs ...string) (*FSWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("spool: watch: %w", err)
	}
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil {
			w.Close()
			return nil, fmt.Errorf("spool: watch %s: %w", dir, err)
		}
	}
	fw := &FSWatcher{w: w, events: make(chan struct{}, 1), done: make(chan struct{})}
	go fw.loop()
	return fw, nil
}

func (fw *FSWatcher) loop() {
	defer close(fw.done)
	for {
		select {
		case _, ok := <-fw.w.Events:
			if !ok {
				return
			}
		case _, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			// An overflow or error: a rescan is the answer too.
		}
		select {
		case fw.events <- struct{}{}:
		default:
		}
	}
}

// Events implements Watcher.
func (fw *FSWatcher) Events() <-chan struct{} { return fw.events }

// Close implements Watcher.
func (fw *FSWatcher) Close() error {
	err := fw.w.Close()
	<-fw.done
	return err
}

// WatchDirs returns the directories a Watcher should watch: incoming/ and
// control/.
func (sp *Spool) WatchDirs() []string {
	return []string{filepath.Join(sp.root, dirIncoming), filepath.Join(sp.root, dirControl)}
}

// RunOptions time the daemon loop.
type RunOptions struct {
	// Watcher gives change hints; nil means rescans on the timer only.
	Watcher Watcher
	// Rescan is the rescan interval (default 5s).
	Rescan time.Duration
	// Poll is how often an idle or stopped printer is polled and the
	// queue re-checked for back-offs that expired (default 2s).
	Poll time.Duration
	// Purge is how often retention runs (default 1h).
	Purge time.Duration
	// Processed, when set, is called after each job a printer took (for
	// metrics and tests).
	Processed func(printer string)
	// CompactAbove compacts the journal (Spool.Compact) at start and on
	// the purge timer once it is larger than this many bytes (default
	// 64 MiB; negative: never).
	CompactAbove int64
}

// Run runs the scheduler until ctx is done: a rescan at start, on every
// watcher hint and on a timer; one worker per printer taking jobs as they
// become eligible; retention on its own timer. At shutdown a card in the
// printer is allowed to finish (ProcessNext does not cancel a print) and
// no new card is started.
func (s *Scheduler) Run(ctx context.Context, o RunOptions) error {
	if o.Rescan <= 0 {
		o.Rescan = 5 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Purge <= 0 {
		o.Purge = time.Hour
	}
	if o.CompactAbove == 0 {
		o.CompactAbove = 64 << 20
	}
	s.compact(o.CompactAbove)
	s.scan(ctx)
	var wg sync.WaitGroup
	wakes := make([]chan struct{}, len(s.prs))
	for i, p := range s.prs {
		wakes[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, p.cfg.Name, wakes[i], o)
		}()
	}
	fanout := func() {
		for _, w := range wakes {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
	var hints <-chan struct{}
	if o.Watcher != nil {
		hints = o.Watcher.Events()
	}
	rescan := time.NewTicker(o.Rescan)
	purge := time.NewTicker(o.Purge)
	defer rescan.Stop()
	defer purge.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hints:
			s.scan(ctx)
		case <-rescan.C:
			s.scan(ctx)
		case <-purge.C:
			if n, err := s.Purge(ctx); err != nil {
				s.log.Error("purge", "err", err)
			} else if n > 0 {
				s.log.Info("personal data purged", "jobs", n)
			}
			s.compact(o.CompactAbove)
		case <-s.wake:
			fanout()
		}
	}
	wg.Wait()
	return nil
}

// compact compacts the journal when it is larger than above bytes.
func (s *Scheduler) compact(above int64) {
	if above < 0 || s.sp.JournalSize() <= above {
		return
	}
	before, after, err := s.sp.Compact()
	if err != nil {
		s.log.Error("journal compaction", "err", err)
		return
	}
	s.log.Info("journal compacted", "bytes_before", before, "bytes_after", after)
}

// scan claims new jobs and serves operator requests.
func (s *Scheduler) scan(ctx context.Context) {
	if err := s.Rescan(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("rescan", "err", err)
	}
	if _, err := s.ServeControl(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("control", "err", err)
	}
}

// worker takes jobs for one printer until ctx is done.
func (s *Scheduler) worker(ctx context.Context, name string, wake <-chan struct{}, o RunOptions) {
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	log := s.log.With("printer", name)
	for {
		took, err := s.ProcessNext(ctx, name)
		if err != nil && ctx.Err() == nil {
			log.Error("process", "err", err)
		}
		if took {
			if o.Processed != nil {
				o.Processed(name)
			}
			if err == nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
			// Keep the printer's status fresh (and stop it on a
			// blocking fault before a card is sent).
			if _, err := s.Poll(ctx, name); err != nil && ctx.Err() == nil {
				log.Debug("poll", "err", err)
			}
		}
	}
}
