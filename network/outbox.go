package network

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Outbox is a field office's durable queue of permanent requests not yet
// acknowledged by the hub. In DIR/outbox, requests are records appended to
// a log (segments NNNNNNNNNNNNNNNN.log, see appendRecord): Enqueue returns
// once its record is fsynced, and concurrent enqueues share one fsync.
// DIR/sent is an append-only list of the job tokens the hub acknowledged
// (and, as "-TOKEN", of requests set aside for an operator); a segment is
// removed once every request in it is listed there. Files of the earlier
// layout (one SEQ-TOKEN.req file per request) are still read and
// forwarded. The outbox survives restarts: whatever was queued is
// published again, in order, with the same message id, until a PubAck
// arrives.
type Outbox struct {
	dir    string
	office string
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	order   uint64            // order of the next request queued
	pending map[string]*entry // token → request not yet acknowledged
	sent    map[string]bool   // tokens acknowledged by the hub
	aside   map[string]bool   // tokens set aside for an operator
	sentF   *os.File
	wake    chan struct{}
	// queue holds the requests ready to publish in the order the
	// forwarder takes them (by order at open, then as Enqueue finishes
	// them); queue[head:] are not handed out yet.
	queue []*entry
	head  int
	// freshBytes is what the entries' data kept in memory take.
	freshBytes int

	// The log. cur is the segment being appended to (nil: the next
	// Enqueue starts one); segNext numbers the next segment.
	cur     *segment
	segNext uint64
	segMax  int64  // size at which the log moves on (segMax)
	written uint64 // records appended (numbered from 1)
	// syncMu serialises the fsyncs of the log (group commit: one fsync
	// of a segment covers every record appended to it before).
	syncMu sync.Mutex
}

// entry is a request in the outbox.
type entry struct {
	tok   string
	order uint64
	// ready: durable and in the queue (false while Enqueue writes it).
	ready bool
	// file is the request's own file (the earlier layout), or "".
	file string
	// seg holds the request's record; off and n locate its data.
	seg *segment
	off int64
	n   int
	// data is the request kept in memory (nil: read it back).
	data []byte
	// checked: the data was encoded by this process (EncodeRequest
	// checked it): the forwarder need not decode it.
	checked bool
}

// segment is one file of the outbox log.
type segment struct {
	name string
	f    *os.File
	size int64 // bytes written
	// synced is the size known durable; after a failed fsync the file
	// is cut back to it.
	synced int64
	live   int   // pending requests in it
	broken error // a write or fsync failed: no more appends
	// lastN is the number of the last record appended to it; records
	// up to durableN are known durable.
	lastN, durableN uint64
}

const (
	outboxDir = "outbox"
	sentFile  = "sent"
	badDir    = "bad"
	reqSuffix = ".req"
	segSuffix = ".log"
	// segMax is the size at which the log moves on to a new segment.
	segMax = 64 << 20
	// asideMark starts a line of the sent list that sets a token aside.
	asideMark = '-'
)

// OpenOutbox opens (creating) the outbox of office under dir, the
// station's network state directory.
func OpenOutbox(dir, office string, now func() time.Time, log *slog.Logger) (*Outbox, error) {
	if err := SiteName(office); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ob := &Outbox{dir: dir, office: office, log: log, now: now, pending: map[string]*entry{}, sent: map[string]bool{},
		aside: map[string]bool{}, wake: make(chan struct{}, 1), segNext: 1, segMax: segMax}
	odir := filepath.Join(dir, outboxDir)
	if err := os.MkdirAll(odir, 0o700); err != nil {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	path := filepath.Join(dir, sentFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		tok := strings.TrimSpace(sc.Text())
		if t, ok := strings.CutPrefix(tok, string(asideMark)); ok {
			ob.aside[t] = true
		} else if tok != "" {
			ob.sent[tok] = true
		}
	}
	if ob.sentF, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	if err := ob.load(odir); err != nil {
		ob.Close()
		return nil, err
	}
	ob.rewind()
	return ob, nil
}

// load reads the outbox directory: the request files of the earlier
// layout first (they are older), then the log's segments in order.
func (ob *Outbox) load(odir string) error {
	ents, err := os.ReadDir(odir)
	if err != nil {
		return fmt.Errorf("network: outbox: %w", err)
	}
	var files, segs []string // ReadDir sorts by name: by sequence
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
			// A temporary file of a write that never finished: the
			// request was not queued (Enqueue had not returned).
			os.Remove(filepath.Join(odir, name))
		case strings.HasSuffix(name, reqSuffix):
			files = append(files, name)
		case strings.HasSuffix(name, segSuffix):
			if n, ok := parseSegName(name); ok {
				segs = append(segs, name)
				ob.segNext = max(ob.segNext, n+1)
			}
		}
	}
	for _, name := range files {
		_, tok, ok := parseOutboxName(name)
		if !ok {
			continue
		}
		if ob.sent[tok] || ob.aside[tok] || ob.pending[tok] != nil {
			// Acknowledged just before a crash.
			os.Remove(filepath.Join(odir, name))
			continue
		}
		ob.order++
		ob.pending[tok] = &entry{tok: tok, order: ob.order, ready: true, file: name}
	}
	for _, name := range segs {
		if err := ob.loadSegment(odir, name); err != nil {
			return err
		}
	}
	return nil
}

// loadSegment reads one segment of the log. Bytes that are not records
// between records (damage) are copied to outbox/bad for an operator; an
// incomplete record at the end is a write that a crash cut short (its
// Enqueue had not returned) and is dropped.
func (ob *Outbox) loadSegment(odir, name string) error {
	path := filepath.Join(odir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("network: outbox: %w", err)
	}
	recs, damaged, torn := scanSegment(data)
	for _, d := range damaged {
		bad := fmt.Sprintf("%s-%d.damaged", strings.TrimSuffix(name, segSuffix), d.off)
		ob.log.Error("outbox: damaged bytes in the log are not a request; copied for an operator", "segment", name, "offset", d.off,
			"bytes", d.n, "file", filepath.Join(odir, badDir, bad))
		if err := os.MkdirAll(filepath.Join(odir, badDir), 0o700); err != nil {
			return fmt.Errorf("network: outbox: %w", err)
		}
		if err := writeAtomic(filepath.Join(odir, badDir), bad, data[d.off:d.off+int64(d.n)]); err != nil {
			return fmt.Errorf("network: outbox: set aside damaged bytes of %s: %w", name, err)
		}
	}
	if torn > 0 {
		ob.log.Warn("outbox: an unfinished write at the end of the log (a crash cut it short) is dropped", "segment", name, "bytes", torn)
	}
	seg := &segment{name: name, size: int64(len(data)), synced: int64(len(data))}
	for _, r := range recs {
		if ob.sent[r.tok] || ob.aside[r.tok] || ob.pending[r.tok] != nil {
			continue
		}
		ob.order++
		e := &entry{tok: r.tok, order: ob.order, ready: true, seg: seg, off: r.off, n: r.n}
		if ob.freshBytes+r.n <= maxFreshBytes {
			// data stays in memory anyway while one entry keeps a slice
			// of it; the budget counts only the requests' own bytes.
			e.data = data[r.off : r.off+int64(r.n) : r.off+int64(r.n)]
			ob.freshBytes += r.n
		}
		ob.pending[r.tok] = e
		seg.live++
	}
	if seg.live == 0 {
		// Every request in it was acknowledged.
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("network: outbox: %w", err)
		}
		return nil
	}
	if seg.f, err = os.Open(path); err != nil {
		return fmt.Errorf("network: outbox: %w", err)
	}
	return nil
}

func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// rewind puts every pending request back in the queue, oldest first:
// after a publish failed, the forwarder starts again from the oldest
// request the hub has not acknowledged.
func (ob *Outbox) rewind() {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	clear(ob.queue)
	ob.queue = ob.queue[:0]
	for _, e := range ob.pending {
		if e.ready {
			ob.queue = append(ob.queue, e)
		}
	}
	sort.Slice(ob.queue, func(i, j int) bool { return ob.queue[i].order < ob.queue[j].order })
	ob.head = 0
}

// maxFreshBytes bounds the requests an outbox keeps in memory for the
// forwarder (those beyond are read back from disk).
const maxFreshBytes = 32 << 20

// forget drops the data an entry kept in memory; ob.mu is held.
func (ob *Outbox) forget(e *entry) {
	ob.freshBytes -= len(e.data)
	e.data = nil
}

// take hands out up to n queued requests, oldest first.
func (ob *Outbox) take(n int) []*entry {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	end := min(ob.head+n, len(ob.queue))
	es := slices.Clone(ob.queue[ob.head:end])
	ob.head = end
	if ob.head > 1024 && ob.head > len(ob.queue)/2 {
		ob.queue = slices.Delete(ob.queue, 0, ob.head)
		ob.head = 0
	}
	return es
}

func parseOutboxName(name string) (uint64, string, bool) {
	base, ok := strings.CutSuffix(name, reqSuffix)
	if !ok {
		return 0, "", false
	}
	s, tok, ok := strings.Cut(base, "-")
	if !ok {
		return 0, "", false
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || tok == "" {
		return 0, "", false
	}
	return seq, tok, true
}

// Close closes the sent list and the log.
func (ob *Outbox) Close() error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.sentF == nil {
		return nil
	}
	err := ob.sentF.Close()
	ob.sentF = nil
	closed := map[*segment]bool{}
	for _, e := range ob.pending {
		if s := e.seg; s != nil && s.f != nil && !closed[s] {
			closed[s] = true
			err = errors.Join(err, s.f.Close())
		}
	}
	if s := ob.cur; s != nil && !closed[s] {
		err = errors.Join(err, s.f.Close())
	}
	ob.cur = nil
	return err
}

// Enqueue queues the permanent request for job durably; it returns once
// the request is on disk. A job already queued, already acknowledged by
// the hub or set aside is not queued again (the request is idempotent by
// job id).
func (ob *Outbox) Enqueue(r *Request) (queued bool, err error) {
	if r.Office == "" {
		r.Office = ob.office
	}
	if r.Office != ob.office {
		return false, fmt.Errorf("network: outbox of %s: request of office %s", ob.office, r.Office)
	}
	if r.Sent.IsZero() {
		r.Sent = ob.now()
	}
	tok := JobToken(r.Job.ID)
	if len(tok) > maxRecordToken {
		return false, fmt.Errorf("network: queue permanent request: job id %q too long", r.Job.ID)
	}
	head := recordHeader + len(tok)
	rec, err := encodeRequest(r, head)
	if err != nil {
		return false, fmt.Errorf("network: queue permanent request: %w", err)
	}
	putRecordHeader(rec, tok)
	ob.mu.Lock()
	if ob.pending[tok] != nil || ob.sent[tok] || ob.aside[tok] {
		ob.mu.Unlock()
		return false, nil
	}
	if ob.sentF == nil {
		ob.mu.Unlock()
		return false, errors.New("network: outbox closed")
	}
	e := &entry{tok: tok, checked: true}
	ob.pending[tok] = e
	seg, n, err := ob.appendLocked(rec)
	if err == nil {
		ob.order++
		e.order, e.seg, e.off, e.n = ob.order, seg, seg.size-int64(len(rec)-head), len(rec)-head
		seg.live++
	}
	ob.mu.Unlock()
	if err == nil {
		// Concurrent enqueues share the fsync.
		err = ob.syncLog(seg, n)
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err != nil {
		delete(ob.pending, tok)
		if e.seg != nil {
			e.seg.live--
			ob.release(e.seg)
		}
		return false, fmt.Errorf("network: queue permanent request for job %q: %w", r.Job.ID, err)
	}
	e.ready = true
	ob.queue = append(ob.queue, e)
	if ob.freshBytes+e.n <= maxFreshBytes {
		e.data = rec[head:]
		ob.freshBytes += e.n
	}
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// appendLocked appends rec to the log (starting a segment when there is
// none or the current one is full) and returns the segment and the
// record's number; ob.mu is held.
func (ob *Outbox) appendLocked(rec []byte) (*segment, uint64, error) {
	if s := ob.cur; s != nil && s.size > 0 && s.size+int64(len(rec)) > ob.segMax {
		// Full: the enqueues still waiting for it fsync it.
		ob.cur = nil
		ob.release(s)
	}
	if ob.cur == nil {
		if err := ob.newSegment(); err != nil {
			return nil, 0, err
		}
	}
	s := ob.cur
	if _, err := s.f.WriteAt(rec, s.size); err != nil {
		ob.breakLocked(s, err)
		return nil, 0, err
	}
	s.size += int64(len(rec))
	ob.written++
	s.lastN = ob.written
	return s, ob.written, nil
}

// newSegment starts a segment of the log; its name is durable (the
// directory fsynced) before any record in it is acknowledged.
func (ob *Outbox) newSegment() error {
	odir := filepath.Join(ob.dir, outboxDir)
	name := fmt.Sprintf("%016d%s", ob.segNext, segSuffix)
	f, err := os.OpenFile(filepath.Join(odir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(odir); err != nil {
		f.Close()
		os.Remove(filepath.Join(odir, name))
		return err
	}
	ob.segNext++
	ob.cur = &segment{name: name, f: f}
	return nil
}

// syncLog returns once record n, appended to seg, is durable. One fsync
// covers every record appended to seg before it began.
func (ob *Outbox) syncLog(seg *segment, n uint64) error {
	ob.syncMu.Lock()
	defer ob.syncMu.Unlock()
	ob.mu.Lock()
	if n <= seg.durableN {
		ob.mu.Unlock()
		return nil
	}
	if seg.broken != nil {
		ob.mu.Unlock()
		return seg.broken
	}
	upTo, size := seg.lastN, seg.size
	ob.mu.Unlock()
	err := seg.f.Sync()
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err == nil && seg.broken != nil {
		// A write failed meanwhile and cut the segment back to what an
		// earlier fsync had made durable.
		err = seg.broken
	}
	if err != nil {
		ob.breakLocked(seg, err)
		return err
	}
	seg.durableN = max(seg.durableN, upTo)
	seg.synced = max(seg.synced, size)
	return nil
}

// breakLocked retires a segment whose write or fsync failed: the records
// not known durable are cut off (best effort: their enqueues fail and
// must not reappear after a restart) and the next Enqueue starts a new
// segment; ob.mu is held.
func (ob *Outbox) breakLocked(s *segment, err error) {
	if s.broken == nil {
		s.broken = err
		ob.log.Error("outbox: the log cannot be written; requests not yet durable are dropped from it", "segment", s.name, "err", err)
		terr := s.f.Truncate(s.synced)
		if terr == nil {
			terr = s.f.Sync()
		}
		if terr != nil {
			ob.log.Error("outbox: cut back the log", "segment", s.name, "err", terr)
		}
	}
	if ob.cur == s {
		ob.cur = nil
	}
}

// release closes and removes a segment that is no longer appended to and
// holds no pending request; ob.mu is held. A removal lost in a crash is
// harmless: OpenOutbox removes segments whose requests were all sent.
func (ob *Outbox) release(s *segment) {
	if s.live > 0 || s == ob.cur || s.f == nil {
		return
	}
	s.f.Close()
	s.f = nil
	if err := os.Remove(filepath.Join(ob.dir, outboxDir, s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		ob.log.Warn("outbox: remove a finished segment", "segment", s.name, "err", err)
	}
}

// Pending returns the job ids still waiting for the hub, oldest first.
func (ob *Outbox) Pending() []string {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	es := make([]*entry, 0, len(ob.pending))
	for _, e := range ob.pending {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].order < es[j].order })
	ids := make([]string, 0, len(es))
	for _, e := range es {
		id, _ := JobIDOfToken(e.tok)
		ids = append(ids, id)
	}
	return ids
}

// Sent reports whether the hub acknowledged the request for job id.
func (ob *Outbox) Sent(id string) bool {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.sent[JobToken(id)]
}

// read returns e's request: from memory, its file or the log.
func (ob *Outbox) read(e *entry) ([]byte, error) {
	ob.mu.Lock()
	data, seg := e.data, e.seg
	var f *os.File
	if seg != nil {
		f = seg.f
	}
	ob.mu.Unlock()
	switch {
	case data != nil:
		return data, nil
	case e.file != "":
		return os.ReadFile(filepath.Join(ob.dir, outboxDir, e.file))
	case f == nil:
		return nil, errors.New("outbox closed")
	}
	data = make([]byte, e.n)
	if _, err := f.ReadAt(data, e.off); err != nil {
		return nil, fmt.Errorf("outbox segment %s: %w", seg.name, err)
	}
	return data, nil
}

// writeSent appends lines to the sent list and fsyncs it; ob.mu is held.
func (ob *Outbox) writeSent(lines string) error {
	if ob.sentF == nil {
		return errors.New("network: outbox closed")
	}
	if _, err := ob.sentF.WriteString(lines); err != nil {
		return fmt.Errorf("network: outbox sent list: %w", err)
	}
	if err := ob.sentF.Sync(); err != nil {
		return fmt.Errorf("network: outbox sent list: %w", err)
	}
	return nil
}

// done records that the hub holds the requests es: their tokens go to the
// sent list (one fsync) before their files or segments are removed.
func (ob *Outbox) done(es []*entry) error {
	if len(es) == 0 {
		return nil
	}
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.tok)
		b.WriteByte('\n')
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err := ob.writeSent(b.String()); err != nil {
		return err
	}
	for _, e := range es {
		ob.sent[e.tok] = true
		ob.drop(e)
	}
	return nil
}

// drop removes e from the outbox: its file, or its share of its segment;
// ob.mu is held.
func (ob *Outbox) drop(e *entry) {
	delete(ob.pending, e.tok)
	ob.forget(e)
	if e.file != "" {
		if err := os.Remove(filepath.Join(ob.dir, outboxDir, e.file)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			ob.log.Warn("outbox: remove a sent request's file", "file", e.file, "err", err)
		}
	}
	if e.seg != nil {
		e.seg.live--
		ob.release(e.seg)
	}
}

// setAside takes a request that cannot be published (damaged on disk)
// out of the queue so that the queue behind it moves on; it is logged,
// and kept in outbox/bad for an operator. A request of the log is copied
// there and marked set aside in the sent list; when that fails it stays
// out of the queue until the next start.
func (ob *Outbox) setAside(e *entry, data []byte, why error) {
	dir := filepath.Join(ob.dir, outboxDir)
	bad := filepath.Join(dir, badDir)
	name := e.file
	if name == "" {
		name = fmt.Sprintf("%s-%d-%s%s", strings.TrimSuffix(e.seg.name, segSuffix), e.off, e.tok, reqSuffix)
	}
	ob.log.Error("outbox: request cannot be published; set aside for an operator", "file", filepath.Join(bad, name), "err", why)
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err := os.MkdirAll(bad, 0o700); err != nil {
		ob.log.Error("outbox: set aside", "err", err)
		delete(ob.pending, e.tok)
		return
	}
	if e.file != "" {
		delete(ob.pending, e.tok)
		ob.forget(e)
		if err := os.Rename(filepath.Join(dir, e.file), filepath.Join(bad, name)); err != nil {
			ob.log.Error("outbox: set aside", "err", err)
		}
		return
	}
	err := writeAtomic(bad, name, data)
	if err == nil {
		err = ob.writeSent(string(asideMark) + e.tok + "\n")
	}
	if err != nil {
		ob.log.Error("outbox: set aside", "err", err)
		delete(ob.pending, e.tok)
		return
	}
	ob.aside[e.tok] = true
	ob.drop(e)
}

// Forwarder publishes a field office's outbox to the hub.
type Forwarder struct {
	c   *Conn
	ob  *Outbox
	log *slog.Logger
	// OnSent, when set, is called after the hub acknowledged a request
	// (the status store records "forwarded").
	OnSent func(jobID string)
}

// NewForwarder returns a forwarder of ob over c.
func NewForwarder(c *Conn, ob *Outbox, log *slog.Logger) *Forwarder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{c: c, ob: ob, log: log.With("part", "forwarder")}
}

// Window is how many requests the forwarder has in flight at once.
const Window = 64

// ackTimeout is how long the forwarder waits for the hub to acknowledge
// one request before it starts again from the oldest unacknowledged one.
const ackTimeout = 30 * time.Second

// flight is a request published and not yet acknowledged.
type flight struct {
	e        *entry
	id       string
	fut      jetstream.PubAckFuture
	deadline time.Time
}

// Run publishes queued requests, oldest first, until ctx ends. Up to
// Window requests are in flight at once on the one connection (so they
// reach the hub in queue order; while the link is down the client holds
// them and sends them in order when it returns), each with its job's
// message id; as each acknowledgement arrives the next request goes out,
// and the acknowledgements that arrived together share one fsync of the
// sent list. A request is retried until the hub acknowledges it;
// meanwhile it waits on disk.
func (f *Forwarder) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	var fl []flight
	var failed error
	for {
		if failed == nil {
			for len(fl) < Window {
				es := f.ob.take(Window - len(fl))
				if len(es) == 0 {
					break
				}
				for _, e := range es {
					if failed != nil {
						break // rewind hands them out again
					}
					x, ok, err := f.publish(e)
					if err != nil {
						failed = err
					} else if ok {
						fl = append(fl, x)
					}
				}
			}
		}
		if len(fl) == 0 {
			if failed != nil {
				if ctx.Err() != nil {
					return nil
				}
				f.log.Warn("hub did not take a request; retrying", "retry_in", backoff, "err", failed)
				f.ob.rewind()
				if !sleepCtx(ctx, backoff) {
					return nil
				}
				backoff = min(backoff*2, 10*time.Second)
				failed = nil
				continue
			}
			select {
			case <-ctx.Done():
				return nil
			case <-f.ob.wake:
				continue
			}
		}
		// Wait for the oldest request in flight (and, while the window
		// has room, for new requests).
		var wake <-chan struct{}
		if failed == nil && len(fl) < Window {
			wake = f.ob.wake
		}
		timeout := time.NewTimer(time.Until(fl[0].deadline))
		var err error
		settled := true
		select {
		case ack := <-fl[0].fut.Ok():
			f.acked(fl[0], ack)
		case err = <-fl[0].fut.Err():
		case <-timeout.C:
			err = fmt.Errorf("no acknowledgement from the hub within %v", ackTimeout)
		case <-ctx.Done():
			timeout.Stop()
			return nil
		case <-wake:
			settled = false
		}
		timeout.Stop()
		if !settled {
			continue
		}
		// The oldest settled; so may have others behind it.
		var sent []flight
		if err = f.settle(fl[0], err); err == nil {
			sent = append(sent, fl[0])
		} else if failed == nil {
			failed = err
		}
		n := 1
	scan:
		for ; n < len(fl); n++ {
			x := fl[n]
			var err error
			select {
			case ack := <-x.fut.Ok():
				f.acked(x, ack)
			case err = <-x.fut.Err():
			default:
				if time.Now().Before(x.deadline) {
					break scan
				}
				err = fmt.Errorf("no acknowledgement from the hub within %v", ackTimeout)
			}
			if err = f.settle(x, err); err == nil {
				sent = append(sent, x)
			} else if failed == nil {
				failed = err
			}
		}
		fl = slices.Delete(fl, 0, n)
		if err := f.sent(sent); err != nil && failed == nil {
			failed = err
		}
		if failed == nil {
			backoff = 100 * time.Millisecond
		}
	}
}

// publish sends one queued request; ok is false when the request was set
// aside (it cannot be published) and err says that it could not be read
// or that the client refused it.
func (f *Forwarder) publish(e *entry) (x flight, ok bool, err error) {
	data, err := f.ob.read(e)
	if err != nil {
		if e.file != "" {
			f.ob.setAside(e, nil, err)
			return flight{}, false, nil
		}
		return flight{}, false, err
	}
	id, err := JobIDOfToken(e.tok)
	if err != nil {
		f.ob.setAside(e, data, err)
		return flight{}, false, nil
	}
	subj := RequestSubject(f.ob.office, id)
	if !e.checked {
		// A request from before a restart: check it as the hub will.
		if _, err := DecodeRequest(subj, data); err != nil {
			f.ob.setAside(e, data, err)
			return flight{}, false, nil
		}
	}
	fut, err := f.c.JS.PublishAsync(subj, data, jetstream.WithMsgID(MsgID(f.ob.office, id)), jetstream.WithExpectStream(StreamRequests))
	if err != nil {
		return flight{}, false, fmt.Errorf("job %s: %w", id, err)
	}
	return flight{e: e, id: id, fut: fut, deadline: time.Now().Add(ackTimeout)}, true, nil
}

func (f *Forwarder) acked(x flight, ack *jetstream.PubAck) {
	if ack != nil && ack.Duplicate {
		f.log.Info("hub had the request already (duplicate message id)", "job", x.id)
	}
}

// settle turns the hub's refusal of a request it holds already into
// success and names the job in any other error.
func (f *Forwarder) settle(x flight, err error) error {
	if err != nil && isPerSubjectFull(err) {
		f.log.Info("hub holds the request already", "job", x.id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", x.id, err)
	}
	return nil
}

// sent records requests the hub holds (one fsync for all) and reports
// them. When the sent list cannot be written the requests stay pending
// and go out again (the hub recognises them: message id, one message per
// subject).
func (f *Forwarder) sent(xs []flight) error {
	if len(xs) == 0 {
		return nil
	}
	es := make([]*entry, len(xs))
	for i, x := range xs {
		es[i] = x.e
	}
	if err := f.ob.done(es); err != nil {
		f.log.Error("outbox", "err", err)
		return err
	}
	for _, x := range xs {
		f.log.Info("permanent request forwarded", "job", x.id)
		if f.OnSent != nil {
			f.OnSent(x.id)
		}
	}
	return nil
}

// isPerSubjectFull reports the hub's refusal of a second message on a
// request subject (DiscardNewPerSubject): the request is there already.
func isPerSubjectFull(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return strings.Contains(strings.ToLower(apiErr.Description), "maximum messages per subject exceeded")
	}
	return strings.Contains(strings.ToLower(err.Error()), "maximum messages per subject exceeded")
}

// writeAtomic writes data to dir/name through a temporary file, fsyncs it,
// renames it into place and fsyncs dir.
func writeAtomic(dir, name string, data []byte) error {
	if err := writeRenamed(dir, name, data); err != nil {
		return err
	}
	return syncDir(dir)
}

// dirSyncer makes the renames into one directory durable with as few
// fsyncs as possible: one fsync of the directory covers every rename that
// finished before it started, so concurrent writers share it.
type dirSyncer struct {
	dir string

	mu    sync.Mutex
	count uint64 // renames finished

	syncMu sync.Mutex
	synced uint64 // renames known durable
}

// renamed notes a finished rename and returns its number.
func (d *dirSyncer) renamed() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count++
	return d.count
}

// sync returns once rename n is durable.
func (d *dirSyncer) sync(n uint64) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if d.synced >= n {
		return nil // an fsync that started after rename n covered it
	}
	d.mu.Lock()
	upTo := d.count
	d.mu.Unlock()
	if err := syncDir(d.dir); err != nil {
		return err
	}
	d.synced = upTo
	return nil
}

// writeRenamed writes data to dir/name through a temporary file, fsyncs it
// and renames it into place; the caller fsyncs dir.
func writeRenamed(dir, name string, data []byte) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tmp := filepath.Join(dir, "."+name+".tmp-"+hex.EncodeToString(b))
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
