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
// acknowledged by the hub: one file per request (SEQ-TOKEN.req, written to
// a temporary name, fsynced and renamed, the directory fsynced) in
// DIR/outbox, and DIR/sent, an append-only list of the job tokens the hub
// acknowledged. It survives restarts: whatever was queued is published
// again, in order, with the same message id, until a PubAck arrives.
type Outbox struct {
	dir    string
	office string
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	nextSeq uint64
	pending map[string]string // token → file name
	sent    map[string]bool   // tokens acknowledged by the hub
	sentF   *os.File
	wake    chan struct{}
	// queue holds the files ready to publish in the order the
	// forwarder takes them (by sequence at open, then as Enqueue
	// finishes them); queue[head:] are not handed out yet.
	queue []string
	head  int
	// fresh are the files this process wrote (their contents were
	// checked by EncodeRequest): the forwarder need not decode them.
	// While they take no more than maxFreshBytes together their
	// contents are kept too, so that the forwarder need not read them
	// back (nil: read the file).
	fresh      map[string][]byte
	freshBytes int
	// dirSync group-commits the outbox directory's fsyncs.
	dirSync *dirSyncer
}

const (
	outboxDir = "outbox"
	sentFile  = "sent"
	badDir    = "bad"
	reqSuffix = ".req"
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
	ob := &Outbox{dir: dir, office: office, log: log, now: now, nextSeq: 1, pending: map[string]string{}, sent: map[string]bool{},
		wake: make(chan struct{}, 1), fresh: map[string][]byte{}, dirSync: &dirSyncer{dir: filepath.Join(dir, outboxDir)}}
	if err := os.MkdirAll(filepath.Join(dir, outboxDir), 0o700); err != nil {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, outboxDir))
	if err != nil {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			// A temporary file of a write that never finished: the
			// request was not queued (Enqueue had not returned).
			os.Remove(filepath.Join(dir, outboxDir, name))
			continue
		}
		seq, tok, ok := parseOutboxName(name)
		if !ok {
			continue
		}
		ob.pending[tok] = name
		if seq >= ob.nextSeq {
			ob.nextSeq = seq + 1
		}
	}
	path := filepath.Join(dir, sentFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if tok := strings.TrimSpace(sc.Text()); tok != "" {
			ob.sent[tok] = true
		}
	}
	if ob.sentF, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("network: outbox: %w", err)
	}
	// A request acknowledged just before a crash may still have its file.
	for tok, name := range ob.pending {
		if ob.sent[tok] {
			os.Remove(filepath.Join(dir, outboxDir, name))
			delete(ob.pending, tok)
		}
	}
	ob.rewind()
	return ob, nil
}

// rewind puts every pending file back in the queue, oldest first: after
// a publish failed, the forwarder starts again from the oldest request
// the hub has not acknowledged.
func (ob *Outbox) rewind() {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	ob.queue = ob.queue[:0]
	for _, name := range ob.pending {
		if name != "" { // "" is a request still being written
			ob.queue = append(ob.queue, name)
		}
	}
	sort.Strings(ob.queue)
	ob.head = 0
}

// maxFreshBytes bounds the requests an outbox keeps in memory for the
// forwarder (those beyond are read back from their files).
const maxFreshBytes = 32 << 20

// forget drops what the outbox remembers of a fresh file; ob.mu is held.
func (ob *Outbox) forget(name string) {
	ob.freshBytes -= len(ob.fresh[name])
	delete(ob.fresh, name)
}

// take hands out up to n queued files, oldest first.
func (ob *Outbox) take(n int) []string {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	end := min(ob.head+n, len(ob.queue))
	names := slices.Clone(ob.queue[ob.head:end])
	ob.head = end
	if ob.head > 1024 && ob.head > len(ob.queue)/2 {
		ob.queue = slices.Delete(ob.queue, 0, ob.head)
		ob.head = 0
	}
	return names
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

// Close closes the sent list.
func (ob *Outbox) Close() error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.sentF == nil {
		return nil
	}
	err := ob.sentF.Close()
	ob.sentF = nil
	return err
}

// Enqueue queues the permanent request for job durably; it returns once
// the request is on disk. A job already queued or already acknowledged by
// the hub is not queued again (the request is idempotent by job id).
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
	data, err := EncodeRequest(r)
	if err != nil {
		return false, fmt.Errorf("network: queue permanent request: %w", err)
	}
	tok := JobToken(r.Job.ID)
	ob.mu.Lock()
	if _, dup := ob.pending[tok]; dup || ob.sent[tok] {
		ob.mu.Unlock()
		return false, nil
	}
	// Reserve the sequence number and the job, then write without the
	// lock so that concurrent enqueues overlap their fsyncs.
	name := fmt.Sprintf("%016d-%s%s", ob.nextSeq, tok, reqSuffix)
	ob.nextSeq++
	ob.pending[tok] = ""
	ob.mu.Unlock()
	err = writeRenamed(ob.dirSync.dir, name, data)
	if err == nil {
		// Concurrent enqueues share the directory's fsync.
		err = ob.dirSync.sync(ob.dirSync.renamed())
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err != nil {
		delete(ob.pending, tok)
		os.Remove(filepath.Join(ob.dirSync.dir, name))
		return false, fmt.Errorf("network: queue permanent request for job %q: %w", r.Job.ID, err)
	}
	ob.pending[tok] = name
	ob.queue = append(ob.queue, name)
	if ob.freshBytes+len(data) <= maxFreshBytes {
		ob.fresh[name] = data
		ob.freshBytes += len(data)
	} else {
		ob.fresh[name] = nil
	}
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// Pending returns the job ids still waiting for the hub, oldest first.
func (ob *Outbox) Pending() []string {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	names := make([]string, 0, len(ob.pending))
	for _, n := range ob.pending {
		names = append(names, n)
	}
	sort.Strings(names)
	ids := make([]string, 0, len(names))
	for _, n := range names {
		_, tok, _ := parseOutboxName(n)
		id, _ := JobIDOfToken(tok)
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

// done records that the hub holds the requests of names: their tokens go
// to the sent list (one fsync) before the files are removed. A removal
// lost in a crash is harmless: OpenOutbox drops files of sent requests.
func (ob *Outbox) done(names []string) error {
	if len(names) == 0 {
		return nil
	}
	var b strings.Builder
	for _, name := range names {
		_, tok, _ := parseOutboxName(name)
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.sentF == nil {
		return errors.New("network: outbox closed")
	}
	if _, err := ob.sentF.WriteString(b.String()); err != nil {
		return fmt.Errorf("network: outbox sent list: %w", err)
	}
	if err := ob.sentF.Sync(); err != nil {
		return fmt.Errorf("network: outbox sent list: %w", err)
	}
	dir := filepath.Join(ob.dir, outboxDir)
	for _, name := range names {
		_, tok, _ := parseOutboxName(name)
		ob.sent[tok] = true
		delete(ob.pending, tok)
		ob.forget(name)
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("network: outbox: %w", err)
		}
	}
	return nil
}

// setAside moves a file that cannot be published (damaged on disk) to
// outbox/bad so the queue behind it moves on; it is logged, not lost.
func (ob *Outbox) setAside(name string, why error) {
	_, tok, _ := parseOutboxName(name)
	dir := filepath.Join(ob.dir, outboxDir)
	bad := filepath.Join(dir, badDir)
	ob.log.Error("outbox: request cannot be published; set aside for an operator", "file", filepath.Join(bad, name), "err", why)
	ob.mu.Lock()
	defer ob.mu.Unlock()
	delete(ob.pending, tok)
	ob.forget(name)
	if err := os.MkdirAll(bad, 0o700); err == nil {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(bad, name)); err != nil {
			ob.log.Error("outbox: set aside", "err", err)
		}
	}
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
	name, id string
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
				names := f.ob.take(Window - len(fl))
				if len(names) == 0 {
					break
				}
				for _, name := range names {
					if failed != nil {
						break // rewind hands them out again
					}
					x, ok, err := f.publish(name)
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

// publish sends one outbox file; ok is false when the file was set aside
// (it cannot be published) and err says that the client refused it.
func (f *Forwarder) publish(name string) (x flight, ok bool, err error) {
	_, tok, _ := parseOutboxName(name)
	f.ob.mu.Lock()
	data, fresh := f.ob.fresh[name]
	f.ob.mu.Unlock()
	if data == nil {
		var err error
		if data, err = os.ReadFile(filepath.Join(f.ob.dir, outboxDir, name)); err != nil {
			f.ob.setAside(name, err)
			return flight{}, false, nil
		}
	}
	id, err := JobIDOfToken(tok)
	if err != nil {
		f.ob.setAside(name, err)
		return flight{}, false, nil
	}
	subj := RequestSubject(f.ob.office, id)
	if !fresh {
		// A file from before a restart: check it as the hub will.
		if _, err := DecodeRequest(subj, data); err != nil {
			f.ob.setAside(name, err)
			return flight{}, false, nil
		}
	}
	fut, err := f.c.JS.PublishAsync(subj, data, jetstream.WithMsgID(MsgID(f.ob.office, id)), jetstream.WithExpectStream(StreamRequests))
	if err != nil {
		return flight{}, false, fmt.Errorf("job %s: %w", id, err)
	}
	return flight{name: name, id: id, fut: fut, deadline: time.Now().Add(ackTimeout)}, true, nil
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
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = x.name
	}
	if err := f.ob.done(names); err != nil {
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
