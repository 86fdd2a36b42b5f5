package security

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrSequenceExhausted is returned when a station has used every sequence
// number.
var ErrSequenceExhausted = errors.New("serial sequence exhausted")

// Allocator hands out card serials for one issuer and station. The last
// allocated sequence number is kept in a counter file in a state directory;
// each allocation writes the new value to a temporary file, fsyncs it,
// renames it over the counter file and fsyncs the directory before the
// serial is returned, so a serial is never handed out twice, across
// restarts and crashes (a crash may skip a number, never repeat one).
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
	last, err := readCounter(a.path)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.last = last
	return a, nil
}

func readCounter(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("serial allocator: read counter: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil || v > MaxSequence {
		return 0, fmt.Errorf("serial allocator: counter file %s is corrupt (%q); refusing to guess", path, strings.TrimSpace(string(b)))
	}
	return uint32(v), nil
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
	if a.lock == nil {
		return Serial{}, fmt.Errorf("serial allocator %s: closed", a.path)
	}
	if a.last >= MaxSequence {
		return Serial{}, fmt.Errorf("serial allocator %s: %w", a.path, ErrSequenceExhausted)
	}
	next := a.last + 1
	if err := writeFileDurable(a.path, []byte(strconv.FormatUint(uint64(next), 10)+"\n")); err != nil {
		return Serial{}, fmt.Errorf("serial allocator: %w", err)
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
	err := a.lock.Close() // closing drops the flock
	a.lock = nil
	return err
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
