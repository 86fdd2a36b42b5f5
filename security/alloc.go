package security

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrSequenceExhausted is returned when a station has used every sequence
// number.
var ErrSequenceExhausted = errors.New("serial sequence exhausted")

// Allocator hands out card serials for one issuer and station. The last
// allocated sequence number is kept in a counter file in a state directory
// (see counter.go for its format): each allocation overwrites one of the
// file's two slots in place and flushes it with fdatasync before the serial
// is returned, so a serial is never handed out twice, across restarts and
// crashes (a crash may skip a number, never repeat one). The file is
// created (and a counter of the older one-line format converted) through a
// temporary file, fsync, rename and an fsync of the directory, once.
//
// An Allocator holds an exclusive flock on a lock file in the directory, so
// a second process opening the same counter fails instead of racing. It is
// safe for concurrent use by several goroutines.
type Allocator struct {
	issuer, station string
	dir             string
	path            string
	lock            *os.File

	mu   sync.Mutex
	f    *os.File // the counter file, open for writing in place
	last uint32
}

// OpenAllocator opens (creating if needed) the counter for issuer and
// station in dir. Close it to release the lock.
func OpenAllocator(dir, issuer, station string) (*Allocator, error) {
	if _, err := NewSerial(issuer, station, 1); err != nil {
		return nil, fmt.Errorf("serial allocator: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("serial allocator: state dir: %w", err)
	}
	name := "serial-" + issuer + "-" + station
	a := &Allocator{issuer: issuer, station: station, dir: dir, path: filepath.Join(dir, name+".counter")}
	lock, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serial allocator: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("serial allocator %s: counter in use by another process: %w", a.path, err)
	}
	a.lock = lock
	if err := a.openCounter(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openCounter reads the counter file, creating it (or converting one of
// the older format) when needed, and keeps it open in a.f.
func (a *Allocator) openCounter() error {
	f, err := os.OpenFile(a.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return a.rewriteCounter(0)
	}
	if err != nil {
		return fmt.Errorf("serial allocator: open counter: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, counterSize+1))
	if err != nil {
		f.Close()
		return fmt.Errorf("serial allocator: read counter %s: %w", a.path, err)
	}
	last, current, err := parseCounter(b, a.issuer, a.station)
	if err != nil {
		f.Close()
		return fmt.Errorf("serial allocator: counter file %s: %w; refusing to guess", a.path, err)
	}
	if !current {
		f.Close()
		return a.rewriteCounter(last)
	}
	a.f, a.last = f, last
	return nil
}

// rewriteCounter replaces the counter file with one whose slots both hold
// last, durably, and opens it.
func (a *Allocator) rewriteCounter(last uint32) error {
	if err := writeFileDurable(a.path, encodeCounter(a.issuer, a.station, last)); err != nil {
		return fmt.Errorf("serial allocator: %w", err)
	}
	f, err := os.OpenFile(a.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("serial allocator: open counter: %w", err)
	}
	a.f, a.last = f, last
	return nil
}

// Last returns the last sequence number handed out (0 if none).
func (a *Allocator) Last() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Next allocates the next serial. The counter is durable on disk before it
// returns.
func (a *Allocator) Next(ctx context.Context) (Serial, error) {
	if err := ctx.Err(); err != nil {
		return Serial{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lock == nil || a.f == nil {
		return Serial{}, fmt.Errorf("serial allocator %s: closed", a.path)
	}
	if a.last >= MaxSequence {
		return Serial{}, fmt.Errorf("serial allocator %s: %w", a.path, ErrSequenceExhausted)
	}
	next := a.last + 1
	// The slot of next holds next-2; the other one keeps next-1 (the last
	// number handed out) whatever becomes of this write. A failed write
	// hands out nothing: the next call writes next again.
	if _, err := a.f.WriteAt(encodeSlot(a.issuer, a.station, next), slotOffset(next)); err != nil {
		return Serial{}, fmt.Errorf("serial allocator: write counter %s: %w", a.path, err)
	}
	if err := datasync(a.f); err != nil {
		return Serial{}, fmt.Errorf("serial allocator: fdatasync counter %s: %w", a.path, err)
	}
	a.last = next
	return Serial{Issuer: a.issuer, Station: a.station, Sequence: next}, nil
}

// Close releases the allocator's lock.
func (a *Allocator) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lock == nil {
		return nil
	}
	var errs []error
	if a.f != nil {
		errs = append(errs, a.f.Close())
		a.f = nil
	}
	errs = append(errs, a.lock.Close()) // closing drops the flock
	a.lock = nil
	return errors.Join(errs...)
}

// WriteFileAtomic replaces path with data, durably: a temporary file in the
// same directory, fsync, chmod to perm, rename over path, fsync of the
// directory. Readers see the old or the new content, never a mix.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileMode(path, data, perm)
}

// writeFileDurable replaces path with data (mode 0600): temp file, fsync, rename, fsync
// of the directory.
func writeFileDurable(path string, data []byte) error {
	return writeFileMode(path, data, 0o600)
}

func writeFileMode(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Strings adapts the allocator to interfaces that take serials as text,
// such as the spool's Serials: Next returns the formatted serial.
func (a *Allocator) Strings() *SerialStrings { return &SerialStrings{a: a} }

// SerialStrings hands out an Allocator's serials as text.
type SerialStrings struct{ a *Allocator }

// Next allocates the next serial and formats it (IIII-SS-NNNNNNN-C).
func (s *SerialStrings) Next(ctx context.Context) (string, error) {
	v, err := s.a.Next(ctx)
	if err != nil {
		return "", err
	}
	return v.Format()
}
