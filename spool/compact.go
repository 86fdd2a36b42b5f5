package spool

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
)

// JournalSize returns the journal's length in bytes (0 read-only).
func (s *Spool) JournalSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return 0
	}
	return s.journal.size
}

// Compact rewrites the journal so that every job whose story is over (a
// final state, and its batch, if any, done) is one snapshot record instead
// of its whole history; other jobs and all batch records are kept as they
// are. The new journal is written beside the old one, fsynced and renamed
// over it, so a crash leaves either journal whole. It returns the sizes
// before and after.
//
// The daemon calls it at start-up or from its retention timer when the
// journal has grown; nothing else may run on the spool meanwhile (it holds
// the spool's lock throughout). A snapshot of the compacted journal is
// written after it (see Snapshot); should that fail, the next start
// replays the compacted journal.
func (s *Spool) Compact() (before, after int64, err error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return 0, 0, fmt.Errorf("spool: compact: opened read-only or closed")
	}
	if s.journal.err != nil {
		return 0, 0, s.journal.err
	}
	before = s.journal.size
	path := s.journal.path
	nums := make([]uint64, 0, len(s.jobs))
	for n := range s.jobs {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(a, b int) bool { return nums[a] < nums[b] })

	var recs []Record
	for _, id := range s.batchOrder {
		// Batch records are few: keep them, rebuilt from the state.
		b := s.batches[id]
		recs = append(recs, Record{Time: b.Opened, Batch: id, BatchState: BatchOpen, Template: b.Key})
		if !b.Closed.IsZero() {
			recs = append(recs, Record{Time: b.Closed, Batch: id, BatchState: BatchClosed, Reason: b.Reason})
		}
		if !b.Done.IsZero() {
			recs = append(recs, Record{Time: b.Done, Batch: id, BatchState: BatchDone, Reason: b.Reason})
		}
	}
	for _, n := range nums {
		j := s.jobs[n]
		if !s.over(j) {
			j.loadHistory()
			recs = append(recs, j.History...)
			continue
		}
		recs = append(recs, foldedRecord(n, j))
	}
	tmp := path + ".compact"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return before, 0, fmt.Errorf("spool: compact: %w", err)
	}
	fail := func(err error) (int64, int64, error) {
		f.Close()
		os.Remove(tmp)
		return before, 0, fmt.Errorf("spool: compact: %w", err)
	}
	var size int64
	var crc uint32
	for i := range recs {
		r := recs[i]
		r.Seq = uint64(i + 1)
		line, err := encodeRecord(&r)
		if err != nil {
			return fail(err)
		}
		if _, err := f.Write(line); err != nil {
			return fail(err)
		}
		size += int64(len(line))
		crc = crc32.Update(crc, castagnoli, line)
		recs[i] = r
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	// Switch: from here the new file is the journal.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return before, 0, fmt.Errorf("spool: compact: %w", err)
	}
	if err := syncDirs(filepath.Dir(path)); err != nil {
		s.journal.err = fmt.Errorf("spool: compact: %w", err)
		return before, 0, s.journal.err
	}
	nf, err := os.OpenFile(path, os.O_RDWR, filePerm)
	if err == nil {
		_, err = nf.Seek(size, 0)
	}
	if err != nil {
		// The old handle points at the replaced file: refuse to go on.
		s.journal.err = fmt.Errorf("spool: compact: reopen %s: %w", path, err)
		return before, 0, s.journal.err
	}
	s.journal.f.Close()
	s.journal.f, s.journal.size, s.journal.nextSeq, s.journal.crc = nf, size, uint64(len(recs))+1, crc
	s.snapSize = 0 // the old snapshot is of the old journal
	for _, j := range s.jobs {
		j.History, j.raw, j.rawN = nil, "", 0
	}
	for _, r := range recs {
		if r.Job != 0 {
			j := s.jobs[r.Job]
			j.History = append(j.History, r)
		}
	}
	data, ssize, spath, err := s.prepareSnapshot()
	if err == nil {
		err = writeSnapshotFile(spath, data, s.journal.sync)
	}
	if err != nil {
		s.log.Warn("journal compacted but its snapshot not written: the next start replays the compacted journal", "err", err)
	} else {
		s.snapSize = ssize
	}
	return before, size, nil
}
