package network

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// Origins remembers, at a central host, which office and job each
// forwarded request came from, by the id it has in the host's spool
// (CentralJobID), so that the host's outcomes find their way back. It is
// an append-only file of "CENTRAL-ID OFFICE JOB-ID" lines, fsynced before
// the request enters the spool.
type Origins struct {
	mu      sync.Mutex
	f       *os.File
	m       map[string]Origin
	written uint64 // lines written

	// Group commit: one fsync covers every line written before it.
	syncMu sync.Mutex
	synced uint64 // lines known durable
}

// Origin is where a central job came from.
type Origin struct {
	Office string
	Job    string
}

// OpenOrigins opens (creating) the origins file at path.
func OpenOrigins(path string) (*Origins, error) {
	o := &Origins{m: map[string]Origin{}}
	f, err := os.Open(path)
	switch {
	case err == nil:
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Fields(sc.Text())
			if len(parts) == 3 {
				o.m[parts[0]] = Origin{Office: parts[1], Job: parts[2]}
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("network: origins %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("network: origins: %w", err)
	}
	if o.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("network: origins: %w", err)
	}
	return o, nil
}

// Add records that centralID came from office's job id, durably, before
// it returns (a repeat is not written again). Concurrent Adds share one
// fsync.
func (o *Origins) Add(centralID, office, id string) error {
	o.mu.Lock()
	if cur, ok := o.m[centralID]; ok && cur.Office == office && cur.Job == id {
		o.mu.Unlock()
		return o.sync(o.written)
	}
	if o.f == nil {
		o.mu.Unlock()
		return fmt.Errorf("network: origins closed")
	}
	if _, err := fmt.Fprintf(o.f, "%s %s %s\n", centralID, office, id); err != nil {
		o.mu.Unlock()
		return fmt.Errorf("network: origins: %w", err)
	}
	o.written++
	mine := o.written
	o.m[centralID] = Origin{Office: office, Job: id}
	o.mu.Unlock()
	return o.sync(mine)
}

// sync makes the first n lines durable.
func (o *Origins) sync(n uint64) error {
	o.syncMu.Lock()
	defer o.syncMu.Unlock()
	if o.synced >= n {
		return nil // an fsync that started after line n was written
	}
	o.mu.Lock()
	upTo, f := o.written, o.f
	o.mu.Unlock()
	if f == nil {
		return fmt.Errorf("network: origins closed")
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("network: origins: %w", err)
	}
	o.synced = upTo
	return nil
}

// Lookup returns where centralID came from.
func (o *Origins) Lookup(centralID string) (Origin, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[centralID]
	return v, ok
}

// Close closes the file.
func (o *Origins) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
