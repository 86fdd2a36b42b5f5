package network

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Inbox is a central host's durable log of the requests it has claimed:
// the Intake of its taker. Taking a request costs one record appended to
// the log (the outbox's record format, see putRecordHeader) and an fsync
// that concurrent takes share, instead of a job directory of its own
// (several files and fsyncs) per request; Feed then moves the requests
// into the spool in batches, off the taker's path.
//
// Its Take is not a StagingIntake's: the taker calls it only once the
// hub confirmed this host's claim, so the inbox only ever holds requests
// this host has claimed, and feeding any of them into the spool, again
// after a crash, is the host's to do.
//
// In DIR, the log is segments NNNNNNNNNNNNNNNN.log; DIR/fed lists the job
// tokens of the records the spool holds (fsynced after the spool's
// commit, and "-TOKEN" for a record set aside in DIR/bad for an
// operator). A segment is removed once every record in it is fed. A
// record's request is not kept in memory after Take: the feeder reads it
// back from its segment.
type Inbox struct {
	dir  string
	into *SpoolIntake
	log  *slog.Logger

	mu sync.Mutex
	// recs holds the records of the segments on disk, fed or not, by
	// token: a request in it is not appended again.
	recs map[string]*inboxRec
	// fed lists the tokens in the fed list of records of segments on
	// disk (those of removed segments are forgotten: the spool knows
	// them).
	fed     map[string]bool
	fedF    *os.File
	fedLine int // lines in the fed list
	// fedMu serialises the writes to the fed list (held before mu).
	fedMu   sync.Mutex
	pending int // records not fed
	order   uint64
	// queue holds the pending records in the order the feeder takes
	// them; queue[head:] are not handed out yet.
	queue []*inboxRec
	head  int
	wake  chan struct{}
	// fedSig is closed (and replaced) whenever records are fed.
	fedSig chan struct{}

	// The log: cur is the segment appended to (nil: the next Take
	// starts one), segNext numbers the next one.
	cur     *segment
	segNext uint64
	segMax  int64
	written uint64
	// compactAt is the length of the fed list beyond which it is
	// rewritten to the tokens of segments still on disk.
	compactAt int
	// syncMu serialises the log's fsyncs (group commit).
	syncMu sync.Mutex
}

// inboxRec is a request recorded in the inbox.
type inboxRec struct {
	tok   string
	order uint64
	seg   *segment
	off   int64
	n     int
	num   uint64 // the record's number in its segment's group commit
	ready bool   // durable (false while its Take waits for the fsync)
	fed   bool
}

const (
	fedFile = "fed"
	// inboxSegMax is the size at which the inbox's log moves on to a
	// new segment: small, so that fed segments are removed soon.
	inboxSegMax = 4 << 20
	// feedBatch is how many requests the feeder moves into the spool at
	// once (one fsync of incoming/ and one of the fed list for all).
	feedBatch = 64
	// feedLinger is how long the feeder, woken by a take after it ran
	// out of work, waits for more before it feeds.
	feedLinger = 20 * time.Millisecond
)

// OpenInbox opens (creating) the inbox in dir; into is the spool that Take
// checks requests against and Feed fills.
func OpenInbox(dir string, into *SpoolIntake, log *slog.Logger) (*Inbox, error) {
	if into == nil {
		return nil, errors.New("network: inbox needs a spool intake")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ib := &Inbox{dir: dir, into: into, log: log.With("part", "inbox"), recs: map[string]*inboxRec{}, fed: map[string]bool{},
		wake: make(chan struct{}, 1), fedSig: make(chan struct{}), segNext: 1, segMax: inboxSegMax, compactAt: 4096}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network: inbox: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, fedFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network: inbox: %w", err)
	}
	fed := parseFedList(data)
	if err := ib.load(fed); err != nil {
		ib.Close()
		return nil, err
	}
	// The fed list keeps only the tokens of segments still on disk.
	if err := ib.rewriteFedLocked(); err != nil {
		ib.Close()
		return nil, err
	}
	ib.rewind()
	return ib, nil
}

// parseFedList reads a fed list: tokens, one a line ("-TOKEN": set aside).
// An incomplete last line (a crash during its write, before its fsync
// returned) names a record not known fed, which is fed again.
func parseFedList(data []byte) map[string]bool {
	fed := map[string]bool{}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		tok := strings.TrimPrefix(strings.TrimSpace(sc.Text()), string(asideMark))
		if tok != "" {
			fed[tok] = true
		}
	}
	return fed
}

// load reads the log's segments in order: records not fed are pending;
// segments whose records are all fed are removed.
func (ib *Inbox) load(fed map[string]bool) error {
	ents, err := os.ReadDir(ib.dir)
	if err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	for _, e := range ents { // sorted by name: by sequence
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			os.Remove(filepath.Join(ib.dir, name)) // a fed list rewrite that never finished
			continue
		}
		n, ok := parseSegName(name)
		if !ok {
			continue
		}
		ib.segNext = max(ib.segNext, n+1)
		if err := ib.loadSegment(name, fed); err != nil {
			return err
		}
	}
	return nil
}

// loadSegment reads one segment. Bytes between records that are not
// records (damage) are copied to bad/ for an operator; an incomplete
// record at the end is a Take a crash cut short (it had not returned, so
// the request was not acknowledged and the hub delivers it again) and is
// dropped.
func (ib *Inbox) loadSegment(name string, fed map[string]bool) error {
	path := filepath.Join(ib.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	recs, damaged, torn := scanSegment(data)
	for _, d := range damaged {
		bad := fmt.Sprintf("%s-%d.damaged", strings.TrimSuffix(name, segSuffix), d.off)
		ib.log.Error("damaged bytes in the inbox log are not a request; copied for an operator", "segment", name, "offset", d.off,
			"bytes", d.n, "file", filepath.Join(ib.dir, badDir, bad))
		if err := ib.putBad(bad, data[d.off:d.off+int64(d.n)]); err != nil {
			return fmt.Errorf("network: inbox: set aside damaged bytes of %s: %w", name, err)
		}
	}
	if torn > 0 {
		ib.log.Warn("an unfinished write at the end of the inbox log (a crash cut it short) is dropped", "segment", name, "bytes", torn)
	}
	seg := &segment{name: name, size: int64(len(data)), synced: int64(len(data))}
	for _, r := range recs {
		if ib.recs[r.tok] != nil {
			continue
		}
		ib.order++
		rec := &inboxRec{tok: r.tok, order: ib.order, seg: seg, off: r.off, n: r.n, ready: true, fed: fed[r.tok]}
		ib.recs[r.tok] = rec
		if rec.fed {
			ib.fed[r.tok] = true
		} else {
			seg.live++
			ib.pending++
		}
	}
	if seg.live == 0 {
		// Every request in it is in the spool (or set aside).
		for _, r := range recs {
			if rec := ib.recs[r.tok]; rec != nil && rec.seg == seg {
				delete(ib.recs, r.tok)
				delete(ib.fed, r.tok)
			}
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("network: inbox: %w", err)
		}
		return nil
	}
	if seg.f, err = os.Open(path); err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	return nil
}

// rewriteFedLocked replaces the fed list by the tokens of fed records
// still in the log (the removals of segments made durable first: a
// segment that came back after a crash must find its tokens listed), and
// opens it for appending; ib.fedMu and ib.mu are held, or the inbox is
// not yet shared.
func (ib *Inbox) rewriteFedLocked() error {
	if err := syncDir(ib.dir); err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	var b strings.Builder
	for tok := range ib.fed {
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	if ib.fedF != nil {
		ib.fedF.Close()
		ib.fedF = nil
	}
	if err := writeAtomic(ib.dir, fedFile, []byte(b.String())); err != nil {
		return fmt.Errorf("network: inbox: fed list: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(ib.dir, fedFile), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	ib.fedF, ib.fedLine = f, len(ib.fed)
	return nil
}

// putBad writes data to bad/name.
func (ib *Inbox) putBad(name string, data []byte) error {
	bad := filepath.Join(ib.dir, badDir)
	if err := os.MkdirAll(bad, 0o700); err != nil {
		return err
	}
	return writeAtomic(bad, name, data)
}

// rewind puts every pending record back in the feeder's queue, oldest
// first (after a feed failed, the feeder starts again from the oldest).
func (ib *Inbox) rewind() {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	clear(ib.queue)
	ib.queue = ib.queue[:0]
	for _, r := range ib.recs {
		if r.ready && !r.fed {
			ib.queue = append(ib.queue, r)
		}
	}
	slices.SortFunc(ib.queue, func(a, b *inboxRec) int { return int(a.order - b.order) })
	ib.head = 0
}

// Close closes the log and the fed list. Feed must have returned.
func (ib *Inbox) Close() error {
	ib.fedMu.Lock()
	defer ib.fedMu.Unlock()
	ib.mu.Lock()
	defer ib.mu.Unlock()
	var err error
	if ib.fedF != nil {
		err = ib.fedF.Close()
		ib.fedF = nil
	}
	closed := map[*segment]bool{}
	for _, r := range ib.recs {
		if s := r.seg; s.f != nil && !closed[s] {
			closed[s] = true
			err = errors.Join(err, s.f.Close())
			s.f = nil
		}
	}
	if s := ib.cur; s != nil && s.f != nil {
		err = errors.Join(err, s.f.Close())
		s.f = nil
	}
	ib.cur = nil
	ib.recs = map[string]*inboxRec{}
	return err
}

// Take implements Intake: it runs the spool intake's checks (a job the
// spool has already is not taken again; one it refused or cancelled, or
// that fails the checks, is a BadRequestError), appends the request to
// the log and returns once the record is fsynced (concurrent takes share
// the fsync). A request in the inbox already, fed or not, is not
// recorded twice.
func (ib *Inbox) Take(ctx context.Context, centralID string, r *Request) error {
	tok := JobToken(centralID)
	if len(tok) > maxRecordToken {
		return &BadRequestError{Field: "job", Err: fmt.Errorf("central job id %q too long", centralID)}
	}
	if err := ib.recorded(tok); err != errNotRecorded {
		return err
	}
	_, st, err := ib.into.screen(ctx, centralID, r)
	if err != nil {
		return err
	}
	if st != nil {
		// In the spool already (or its directory in incoming/).
		return st.Commit(ctx)
	}
	head := recordHeader + len(tok)
	rec, err := encodeRequest(r, head)
	if err != nil {
		return &BadRequestError{Err: fmt.Errorf("job %s: %w", centralID, err)}
	}
	putRecordHeader(rec, tok)
	ib.mu.Lock()
	if ib.recs[tok] != nil {
		// A concurrent take of the same request recorded it.
		ib.mu.Unlock()
		if err := ib.recorded(tok); err != errNotRecorded {
			return err
		}
		return fmt.Errorf("network: inbox: take job %s: a concurrent take of it failed", centralID)
	}
	if ib.fedF == nil {
		ib.mu.Unlock()
		return errors.New("network: inbox closed")
	}
	seg, num, err := ib.appendLocked(rec)
	var e *inboxRec
	if err == nil {
		ib.order++
		e = &inboxRec{tok: tok, order: ib.order, seg: seg, off: seg.size - int64(len(rec)-head), n: len(rec) - head, num: num}
		ib.recs[tok] = e
		seg.live++
		ib.pending++
	}
	ib.mu.Unlock()
	if err == nil {
		err = ib.syncLog(seg, num)
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if err != nil {
		if e != nil && ib.recs[tok] == e {
			delete(ib.recs, tok)
			seg.live--
			ib.pending--
			ib.release(seg)
		}
		return fmt.Errorf("network: inbox: take job %s: %w", centralID, err)
	}
	e.ready = true
	ib.queue = append(ib.queue, e)
	select {
	case ib.wake <- struct{}{}:
	default:
	}
	return nil
}

var errNotRecorded = errors.New("not recorded")

// recorded returns nil once the record of tok is durable, errNotRecorded
// when the inbox has none, or the error of the fsync that failed it.
func (ib *Inbox) recorded(tok string) error {
	ib.mu.Lock()
	e := ib.recs[tok]
	if e == nil {
		ib.mu.Unlock()
		return errNotRecorded
	}
	ready, seg, num := e.ready, e.seg, e.num
	ib.mu.Unlock()
	if ready {
		return nil
	}
	// Another take is writing it: durable with that take's fsync.
	if err := ib.syncLog(seg, num); err != nil {
		return fmt.Errorf("network: inbox: %w", err)
	}
	return nil
}

// appendLocked appends rec to the log (starting a segment when there is
// none or the current one is full) and returns the segment and the
// record's number; ib.mu is held.
func (ib *Inbox) appendLocked(rec []byte) (*segment, uint64, error) {
	if s := ib.cur; s != nil && s.size > 0 && s.size+int64(len(rec)) > ib.segMax {
		// Full: the takes still waiting for it fsync it.
		ib.cur = nil
		ib.release(s)
	}
	if ib.cur == nil {
		name := fmt.Sprintf("%016d%s", ib.segNext, segSuffix)
		f, err := os.OpenFile(filepath.Join(ib.dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, 0, err
		}
		// The segment's name is durable before any record in it is.
		if err := syncDir(ib.dir); err != nil {
			f.Close()
			os.Remove(filepath.Join(ib.dir, name))
			return nil, 0, err
		}
		ib.segNext++
		ib.cur = &segment{name: name, f: f}
	}
	s := ib.cur
	if _, err := s.f.WriteAt(rec, s.size); err != nil {
		ib.breakLocked(s, err)
		return nil, 0, err
	}
	s.size += int64(len(rec))
	ib.written++
	s.lastN = ib.written
	return s, ib.written, nil
}

// syncLog returns once record num, appended to seg, is durable. One fsync
// covers every record appended to seg before it began.
func (ib *Inbox) syncLog(seg *segment, num uint64) error {
	ib.syncMu.Lock()
	defer ib.syncMu.Unlock()
	ib.mu.Lock()
	if num <= seg.durableN {
		ib.mu.Unlock()
		return nil
	}
	if seg.broken != nil || seg.f == nil {
		err := seg.broken
		ib.mu.Unlock()
		if err == nil {
			err = errors.New("inbox closed")
		}
		return err
	}
	upTo, size, f := seg.lastN, seg.size, seg.f
	ib.mu.Unlock()
	err := f.Sync()
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if err == nil && seg.broken != nil {
		err = seg.broken
	}
	if err != nil {
		ib.breakLocked(seg, err)
		return err
	}
	seg.durableN = max(seg.durableN, upTo)
	seg.synced = max(seg.synced, size)
	return nil
}

// breakLocked retires a segment whose write or fsync failed: the records
// not known durable are cut off (best effort: their takes fail) and the
// next Take starts a new segment; ib.mu is held.
func (ib *Inbox) breakLocked(s *segment, err error) {
	if s.broken == nil {
		s.broken = err
		ib.log.Error("the inbox log cannot be written; requests not yet durable are dropped from it", "segment", s.name, "err", err)
		var terr error
		if s.f != nil {
			if terr = s.f.Truncate(s.synced); terr == nil {
				terr = s.f.Sync()
			}
		}
		if terr != nil {
			ib.log.Error("cut back the inbox log", "segment", s.name, "err", terr)
		}
	}
	if ib.cur == s {
		ib.cur = nil
	}
}

// release removes a segment that is no longer appended to and whose
// records are all fed, and forgets its records; ib.mu is held. A removal
// lost in a crash is harmless: its records are listed as fed.
func (ib *Inbox) release(s *segment) {
	if s.live > 0 || s == ib.cur || s.f == nil {
		return
	}
	s.f.Close()
	s.f = nil
	for tok, r := range ib.recs {
		if r.seg == s {
			delete(ib.recs, tok)
			delete(ib.fed, tok)
		}
	}
	if err := os.Remove(filepath.Join(ib.dir, s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		ib.log.Warn("remove a fed segment of the inbox", "segment", s.name, "err", err)
	}
}

// Pending returns how many requests the inbox holds that are not in the
// spool yet.
func (ib *Inbox) Pending() int {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return ib.pending
}

// WaitFed waits until every request taken so far is in the spool, or ctx
// ends.
func (ib *Inbox) WaitFed(ctx context.Context) error {
	for {
		ib.mu.Lock()
		n, sig := ib.pending, ib.fedSig
		ib.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sig:
		}
	}
}

// next hands out up to n pending records, oldest first.
func (ib *Inbox) next(n int) []*inboxRec {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	end := min(ib.head+n, len(ib.queue))
	rs := slices.Clone(ib.queue[ib.head:end])
	ib.head = end
	if ib.head > 1024 && ib.head > len(ib.queue)/2 {
		ib.queue = slices.Delete(ib.queue, 0, ib.head)
		ib.head = 0
	}
	return rs
}

// Feed moves the inbox's requests into the spool until ctx ends: in
// batches of up to feedBatch, through the spool intake's idempotent path
// (a request the spool holds already, as after a crash between the
// spool's commit and the fed list's, is not added twice), then lists them
// as fed. It waits for new requests; when the spool cannot take a batch
// (a full disk) it tries again later, and a request is never dropped: one
// the spool refuses for good (which Take's checks make rare) is set aside
// in bad/ with its reason, and logged.
func (ib *Inbox) Feed(ctx context.Context) error {
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	for {
		batch := ib.next(feedBatch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-ib.wake:
			}
			// Woken from idle: the takes of the next moments join the
			// batch (fewer fsyncs, which the takes' own wait behind).
			if !sleepCtx(ctx, feedLinger) {
				return nil
			}
			continue
		}
		if err := ib.feed(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ib.log.Warn("the spool did not take requests of the inbox; retrying", "retry_in", backoff, "err", err)
			if !sleepCtx(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 10*time.Second)
			ib.rewind()
			continue
		}
		backoff = minBackoff
	}
}

// feed moves batch into the spool and records what it took.
func (ib *Inbox) feed(ctx context.Context, batch []*inboxRec) error {
	ids := make([]string, 0, len(batch))
	reqs := make([]*Request, 0, len(batch))
	recs := make([]*inboxRec, 0, len(batch))
	var done []*inboxRec
	var failed error
	for _, r := range batch {
		id, _ := JobIDOfToken(r.tok) // scanSegment checked it
		data, err := ib.read(r)
		if err != nil {
			failed = errors.Join(failed, err)
			continue
		}
		req, err := decodeStoredRequest(id, data)
		if err != nil {
			ib.setAside(r, data, err)
			continue
		}
		ids, reqs, recs = append(ids, id), append(reqs, req), append(recs, r)
	}
	if len(ids) > 0 {
		for i, err := range ib.into.takeBatch(ctx, ids, reqs) {
			switch {
			case err == nil:
				done = append(done, recs[i])
			case errors.Is(err, ErrBadRequest) && ib.inSpool(ids[i]):
				// Fed before a crash, and refused or cancelled there
				// since: the spool's to report.
				done = append(done, recs[i])
			case errors.Is(err, ErrBadRequest):
				data, rerr := ib.read(recs[i])
				if rerr != nil {
					failed = errors.Join(failed, rerr)
					continue
				}
				ib.setAside(recs[i], data, err)
			default:
				failed = errors.Join(failed, fmt.Errorf("job %s: %w", ids[i], err))
			}
		}
	}
	if err := ib.markFed(done, ""); err != nil {
		failed = errors.Join(failed, err)
	}
	return failed
}

// inSpool reports whether the spool holds job id, in whatever state.
func (ib *Inbox) inSpool(id string) bool {
	if ib.into.Spool == nil {
		return false
	}
	_, err := ib.into.Spool.Job(id)
	return err == nil
}

// read returns r's request from its segment.
func (ib *Inbox) read(r *inboxRec) ([]byte, error) {
	ib.mu.Lock()
	f := r.seg.f
	ib.mu.Unlock()
	if f == nil {
		return nil, errors.New("network: inbox closed")
	}
	data := make([]byte, r.n)
	if _, err := f.ReadAt(data, r.off); err != nil {
		return nil, fmt.Errorf("network: inbox segment %s: %w", r.seg.name, err)
	}
	return data, nil
}

// decodeStoredRequest decodes the request of central job id from the
// inbox: a request message, checked as the taker checked it.
func decodeStoredRequest(id string, data []byte) (*Request, error) {
	nl := bytes.IndexByte(data[:min(len(data), MaxRequestHeader+1)], '\n')
	if nl < 0 {
		return nil, fmt.Errorf("%w: no header line", ErrInvalid)
	}
	var h struct {
		Office string `json:"office"`
		Job    struct {
			ID string `json:"id"`
		} `json:"job"`
	}
	if err := json.Unmarshal(data[:nl], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalid, err)
	}
	r, err := DecodeRequest(RequestSubject(h.Office, h.Job.ID), data)
	if err != nil {
		return nil, err
	}
	if c := CentralJobID(r.Office, r.Job.ID); c != id {
		return nil, fmt.Errorf("%w: the record of job %s holds the request of job %s", ErrInvalid, id, c)
	}
	return r, nil
}

// markFed lists rs as fed (one fsync; prefix "-" for set aside) and
// removes the segments left with nothing to feed.
func (ib *Inbox) markFed(rs []*inboxRec, prefix string) error {
	if len(rs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(prefix)
		b.WriteString(r.tok)
		b.WriteByte('\n')
	}
	// Written and fsynced outside ib.mu: takes go on meanwhile.
	ib.fedMu.Lock()
	defer ib.fedMu.Unlock()
	ib.mu.Lock()
	f := ib.fedF
	ib.mu.Unlock()
	if f == nil {
		return errors.New("network: inbox closed")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return fmt.Errorf("network: inbox fed list: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("network: inbox fed list: %w", err)
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	ib.fedLine += len(rs)
	for _, r := range rs {
		if r.fed {
			continue
		}
		r.fed = true
		ib.fed[r.tok] = true
		ib.pending--
		r.seg.live--
		ib.release(r.seg)
	}
	// Keep the fed list about as long as the log (fedMu is held).
	if ib.fedLine > ib.compactAt && ib.fedLine > 4*len(ib.fed) {
		if err := ib.rewriteFedLocked(); err != nil {
			ib.log.Warn("compact the inbox's fed list", "err", err)
		}
	}
	close(ib.fedSig)
	ib.fedSig = make(chan struct{})
	return nil
}

// setAside keeps a request the spool refuses for good in bad/ (the
// request and the reason), logs it and lists it as set aside; when that
// cannot be written it stays pending and is tried again.
func (ib *Inbox) setAside(r *inboxRec, data []byte, why error) {
	name := strings.TrimSuffix(r.seg.name, segSuffix) + "-" + r.tok
	ib.log.Error("the spool refuses a request of the inbox; set aside for an operator", "job", r.tok, "file", filepath.Join(ib.dir, badDir, name+reqSuffix), "err", why)
	err := ib.putBad(name+reqSuffix, data)
	if err == nil {
		err = ib.putBad(name+".reason", []byte(why.Error()+"\n"))
	}
	if err == nil {
		err = ib.markFed([]*inboxRec{r}, string(asideMark))
	}
	if err != nil {
		ib.log.Error("set aside a request of the inbox", "job", r.tok, "err", err)
	}
}
