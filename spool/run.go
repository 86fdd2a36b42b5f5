package spool

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/cardd/cardd/printer"
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
	// Composers is how many cards each printer's worker composes ahead
	// while the printer prints: that many goroutines per printer take
	// jobs, compose and verify them, and wait with the card for the
	// printer (default GOMAXPROCS, so composition uses every core).
	Composers int
	// CompactAbove compacts the journal (Spool.Compact) at start and on
	// the purge timer once it is larger than this many bytes (default
	// 8 MiB, about 7,000 jobs as written: a restart replays the whole
	// journal, and a compacted one three times faster, see
	// BenchmarkRecover10k; negative: never).
	CompactAbove int64
	// SnapshotAbove writes a snapshot of the spool's state (Spool.Snapshot)
	// once the journal has grown by more than this many bytes since the
	// last one, checked at start and on the rescan timer (default 256 KiB,
	// about 250 jobs as written: the most a restart after a crash replays
	// beyond the snapshot, see BenchmarkRecover10k; negative: only after a
	// compaction and at a clean stop). A clean stop always writes one.
	SnapshotAbove int64
}

// Run runs the scheduler until ctx is done: a rescan at start, on every
// watcher hint and on a timer; one worker per printer taking jobs as they
// become eligible, composing the next cards while it prints one
// (RunOptions.Composers); retention on its own timer. At shutdown a card in the
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
	if o.Composers <= 0 {
		o.Composers = runtime.GOMAXPROCS(0)
	}
	if o.CompactAbove == 0 {
		o.CompactAbove = 8 << 20
	}
	if o.SnapshotAbove == 0 {
		o.SnapshotAbove = 256 << 10
	}
	s.progress.beatLoop(s.now())
	s.compact(o.CompactAbove)
	s.snapshot(o.SnapshotAbove)
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
			s.snapshot(o.SnapshotAbove)
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
	// A clean stop: the next start replays nothing.
	s.snapshot(0)
	return nil
}

// snapshot writes a snapshot of the spool's state when the journal grew by
// more than above bytes since the last one (above < 0: never; 0: when it
// grew at all).
func (s *Scheduler) snapshot(above int64) {
	lag := s.sp.SnapshotLag()
	if above < 0 || lag <= above || lag == 0 {
		return
	}
	if err := s.sp.Snapshot(); err != nil {
		s.log.Error("journal snapshot (the next start replays more of the journal)", "err", err)
		return
	}
	s.log.Debug("journal snapshot written", "journal_bytes_since_last", lag)
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
	s.progress.beatLoop(s.now())
}

// worker drives one printer until ctx is done: o.Composers goroutines
// take jobs and compose (and verify) their cards while the printer prints
// the one before, each handing its card over an unbuffered channel, so at
// most o.Composers cards wait composed for the printer. Each composed card
// went through take (serial journaled, issued audit owed) like any other;
// one that is never printed (shutdown) returns to the queue with its
// serial, as a restart would do with it.
func (s *Scheduler) worker(ctx context.Context, name string, wake <-chan struct{}, o RunOptions) {
	p, err := s.printer(name)
	if err != nil {
		s.log.Error("worker", "err", err)
		return
	}
	log := s.log.With("printer", name)
	ready := make(chan prepared)
	kicks := make([]chan struct{}, o.Composers)
	var wg sync.WaitGroup
	for i := range kicks {
		kicks[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.composeLoop(ctx, p, kicks[i], ready, o, log)
		}()
	}
	kick := func() {
		for _, k := range kicks {
			select {
			case k <- struct{}{}:
			default:
			}
		}
	}
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	for {
		s.progress.beatWorker(name, s.now())
		select {
		case <-ctx.Done():
			// Composers finish or park what they hold; nothing new
			// goes to the printer.
			wg.Wait()
			return
		case pc := <-ready:
			if ctx.Err() != nil {
				if err := s.park(ctx, pc.c, "shutdown before the card was sent"); err != nil {
					log.Error("park", "job", pc.c.snap.Num, "err", err)
				}
				continue
			}
			p.mu.Lock()
			err := s.print(ctx, pc.c, pc.card)
			p.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				log.Error("process", "err", err)
			}
			if o.Processed != nil {
				o.Processed(name)
			}
			kick()
		case <-wake:
			s.sp.mu.Lock()
			stopped := p.stopped
			s.sp.mu.Unlock()
			if stopped {
				if _, err := s.Poll(ctx, name); err != nil && ctx.Err() == nil {
					log.Debug("printer still unavailable", "err", err)
				}
			}
			kick()
		case <-t.C:
			// Keep the printer's status fresh (and stop it on a
			// blocking fault before a card is sent).
			if _, err := s.Poll(ctx, name); err != nil && ctx.Err() == nil {
				log.Debug("poll", "err", err)
			}
			kick()
		}
	}
}

// prepared is a composed and verified card on its way to the printer.
type prepared struct {
	c    *claim
	card *printer.Card
}

// composeLoop takes jobs for printer p and composes them until ctx is
// done, handing each card to the printer's worker. It waits for a kick
// when nothing is eligible or the printer is stopped.
func (s *Scheduler) composeLoop(ctx context.Context, p *printerState, kick <-chan struct{}, ready chan<- prepared, o RunOptions, log *slog.Logger) {
	for ctx.Err() == nil {
		s.sp.mu.Lock()
		stopped := p.stopped
		s.sp.mu.Unlock()
		var c *claim
		var err error
		if !stopped {
			c, err = s.take(ctx, p)
			if c == nil && err == nil {
				err = s.finishBatches()
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Error("process", "err", err)
		}
		if c != nil {
			s.progress.composeStart(c.snap.Num, s.now())
			card, err := s.prepare(ctx, c)
			s.progress.composeEnd(c.snap.Num)
			if err != nil && ctx.Err() == nil {
				log.Error("process", "job", c.snap.Num, "err", err)
			}
			if card != nil {
				select {
				case ready <- prepared{c: c, card: card}:
				case <-ctx.Done():
					if err := s.park(ctx, c, "shutdown before the card was sent"); err != nil {
						log.Error("park", "job", c.snap.Num, "err", err)
					}
				}
				continue
			}
			if o.Processed != nil {
				o.Processed(p.cfg.Name)
			}
			if err == nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-kick:
		}
	}
}
