package network

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Shelf is a durable set of per-job records a station keeps until it can
// act on them: one file per job id (named by its JobToken) in one
// directory, written to a temporary name, fsynced, renamed and the
// directory fsynced; taking a record off removes its file. A field office
// keeps on shelves the permanent requests of jobs held at intake (they go
// to the outbox once the job is released) and the temporary cards still
// to be voided once their permanent card printed.
type Shelf struct {
	dir string
}

// shelfSuffix ends every record's file name.
const shelfSuffix = ".rec"

// OpenShelf opens (creating) the shelf in dir. Temporary files of writes
// a crash interrupted are removed: their records were never put.
func OpenShelf(dir string) (*Shelf, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network: shelf: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("network: shelf: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return &Shelf{dir: dir}, nil
}

// Put records data for job id durably, replacing a record it had.
func (s *Shelf) Put(id string, data []byte) error {
	if err := writeAtomic(s.dir, JobToken(id)+shelfSuffix, data); err != nil {
		return fmt.Errorf("network: shelf %s: job %q: %w", s.dir, id, err)
	}
	return nil
}

// Get returns the record of job id; ok is false when there is none.
func (s *Shelf) Get(id string) (data []byte, ok bool, err error) {
	data, err = os.ReadFile(filepath.Join(s.dir, JobToken(id)+shelfSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("network: shelf %s: job %q: %w", s.dir, id, err)
	}
	return data, true, nil
}

// Has reports whether job id has a record.
func (s *Shelf) Has(id string) bool {
	_, err := os.Stat(filepath.Join(s.dir, JobToken(id)+shelfSuffix))
	return err == nil
}

// Remove takes the record of job id off the shelf (none: nothing to do).
// The removal is made durable before Remove returns.
func (s *Shelf) Remove(id string) error {
	err := os.Remove(filepath.Join(s.dir, JobToken(id)+shelfSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("network: shelf %s: job %q: %w", s.dir, id, err)
	}
	return nil
}

// IDs returns the job ids on the shelf, sorted. A file whose name is not
// a job's token is skipped.
func (s *Shelf) IDs() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("network: shelf: %w", err)
	}
	var ids []string
	for _, e := range ents {
		tok, ok := strings.CutSuffix(e.Name(), shelfSuffix)
		if !ok || strings.HasPrefix(tok, ".") {
			continue
		}
		id, err := JobIDOfToken(tok)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}
