package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cardd/cardd/spool/jobfile"
)

// jobFileExt reports whether name is a job file by its extension.
func jobFileExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".toml" || ext == ".json"
}

// Claim scans incoming/ once and claims every complete job it finds,
// moving it into active/ under a new spool job number (see the package
// documentation for what counts as complete). It returns the numbers
// claimed, in order. The jobs are not yet read: Admit does that.
func (s *Spool) Claim(ctx context.Context) ([]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil, errors.New("spool: opened read-only or closed")
	}
	in := filepath.Join(s.root, dirIncoming)
	ents, err := os.ReadDir(in)
	if err != nil {
		return nil, fmt.Errorf("spool: scan %s: %w", in, err)
	}
	names := make(map[string]bool, len(ents))
	for _, e := range ents {
		names[e.Name()] = true
	}
	now := s.opts.Now()
	var claimed []uint64
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return claimed, err
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			s.dropStale(in, name, now)
			continue
		}
		src := filepath.Join(in, name)
		fi, err := os.Lstat(src)
		if err != nil {
			continue // gone since ReadDir
		}
		switch {
		case fi.IsDir() || !fi.Mode().IsRegular():
			// A committed job directory, or a symlink, FIFO, socket or
			// device, which is claimed so that Admit refuses it
			// (without following or opening it) and it lands in
			// failed/ with a reason instead of lying in incoming/.
			n, err := s.claimDir(src)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			claimed = append(claimed, n)
		case fi.Mode().IsRegular() && jobFileExt(name):
			if !names[name+".ready"] && !s.stable(name, fi, now) {
				continue
			}
			n, err := s.claimFile(in, name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			delete(s.seen, name)
			claimed = append(claimed, n)
		}
	}
	// The claims are durable before anyone acts on them: one fsync of
	// each directory for the whole scan, not one per job.
	if len(claimed) > 0 {
		if err := s.syncDirs(in, filepath.Join(s.root, dirActive)); err != nil {
			errs = append(errs, fmt.Errorf("spool: claim: %w", err))
		}
	}
	// Forget files that disappeared.
	for name := range s.seen {
		if !names[name] {
			delete(s.seen, name)
		}
	}
	return claimed, errors.Join(errs...)
}

// staleAfter is how old a "cardd submit" staging directory left by a
// crashed submitter must be before the daemon removes it.
const staleAfter = 24 * time.Hour

// dropStale removes an abandoned staging directory of Submit (named
// ".submit-…") once it is staleAfter old. Other hidden names belong to
// producers and are left alone.
func (s *Spool) dropStale(in, name string, now time.Time) {
	if !strings.HasPrefix(name, ".submit-") {
		return
	}
	p := filepath.Join(in, name)
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() || now.Sub(fi.ModTime()) < staleAfter {
		return
	}
	if err := os.RemoveAll(p); err != nil {
		s.log.Warn("stale submit directory not removed", "dir", name, "err", err)
		return
	}
	s.log.Warn("removed a submit directory abandoned by a crashed submitter", "dir", name, "age", now.Sub(fi.ModTime()).String())
}

// stable reports whether a plain job file has stayed unchanged for
// StableAfter, recording what it saw.
func (s *Spool) stable(name string, fi fs.FileInfo, now time.Time) bool {
	cur := seenFile{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi), first: now}
	prev, ok := s.seen[name]
	if !ok || prev.size != cur.size || !prev.mtime.Equal(cur.mtime) || prev.ino != cur.ino {
		s.seen[name] = cur
		return false
	}
	return now.Sub(prev.first) >= s.opts.StableAfter && now.Sub(fi.ModTime()) >= s.opts.StableAfter
}

// claimDir renames a job directory into active/.
func (s *Spool) claimDir(src string) (uint64, error) {
	n := s.nextNum
	dst := filepath.Join(s.root, dirActive, numName(n))
	if err := os.Rename(src, dst); err != nil {
		return 0, fmt.Errorf("spool: claim %s: %w", filepath.Base(src), err)
	}
	s.nextNum++
	s.sources[n] = filepath.Base(src)
	s.log.Info("claimed job", "job", n, "source", filepath.Base(src))
	return n, nil // Claim fsyncs incoming/ and active/ once per scan
}

// claimFile moves a plain job file, its .ready marker and the photo it
// names (when that photo is a regular file in incoming/) into a new
// directory in active/.
func (s *Spool) claimFile(in, name string) (uint64, error) {
	n := s.nextNum
	dir := filepath.Join(s.root, dirActive, numName(n))
	if err := os.Mkdir(dir, privatePerm); err != nil {
		return 0, fmt.Errorf("spool: claim %s: %w", name, err)
	}
	s.nextNum++
	s.sources[n] = name
	if err := os.Rename(filepath.Join(in, name), filepath.Join(dir, name)); err != nil {
		os.Remove(dir)
		return 0, fmt.Errorf("spool: claim %s: %w", name, err)
	}
	// The photo: parse what we now own; errors are Admit's to report.
	if j, err := jobfile.Load(filepath.Join(dir, name)); err == nil && j.Photo != "" {
		p := filepath.Join(in, j.Photo)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			if err := os.Rename(p, filepath.Join(dir, j.Photo)); err != nil {
				s.log.Warn("claim: photo not moved", "job", n, "source", name, "photo", j.Photo, "err", err)
			}
		}
	}
	_ = os.Remove(filepath.Join(in, name+".ready"))
	if err := s.syncDirs(dir); err != nil {
		return n, fmt.Errorf("spool: claim %s: %w", name, err)
	}
	s.log.Info("claimed job file", "job", n, "source", name)
	return n, nil
}

// Unadmitted returns the numbers of job directories in active/ that the
// journal does not know: claimed before a crash, or just claimed.
func (s *Spool) Unadmitted() ([]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ents, err := os.ReadDir(filepath.Join(s.root, dirActive))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		if n, ok := parseNum(e.Name()); ok && s.jobs[n] == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out, nil
}

// findJobFile returns the job file of a claimed directory: job.toml or
// job.json, else the only *.toml/*.json file in it.
func findJobFile(dir string) (string, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("job directory: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("job directory: %w", jobfile.ErrSymlink)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("job directory: %w: the entry is a %s, not a directory or a job file", jobfile.ErrNotRegular, entryType(fi.Mode()))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("job directory: %w", err)
	}
	var cands, named []string
	for _, e := range ents {
		switch n := e.Name(); {
		case n == "job.toml" || n == "job.json":
			named = append(named, n)
		case jobFileExt(n) && !strings.HasPrefix(n, "."):
			cands = append(cands, n)
		}
	}
	switch len(named) {
	case 1:
		return filepath.Join(dir, named[0]), nil
	case 2:
		// Picking one silently could print a card the producer did
		// not mean.
		return "", fmt.Errorf("%w: both job.toml and job.json: ambiguous, keep only one", jobfile.ErrInvalid)
	}
	switch len(cands) {
	case 0:
		return "", fmt.Errorf("%w: no job file (job.toml or job.json) in the job directory", jobfile.ErrMissing)
	case 1:
		return filepath.Join(dir, cands[0]), nil
	}
	return "", fmt.Errorf("%w: %d candidate job files %v, name one job.toml", jobfile.ErrInvalid, len(cands), cands)
}

// entryType names the type of an incoming entry for a reason.
func entryType(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "FIFO"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t == 0:
		return "regular file"
	}
	return "special file"
}
