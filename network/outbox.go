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
	ob := &Outbox{dir: dir, office: office, log: log, now: now, nextSeq: 1, pending: map[string]string{}, sent: map[string]bool{}, wake: make(chan struct{}, 1)}
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
	return ob, nil
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
	err = writeAtomic(filepath.Join(ob.dir, outboxDir), name, data)
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err != nil {
		delete(ob.pending, tok)
		return false, fmt.Errorf("network: queue permanent request for job %q: %w", r.Job.ID, err)
	}
	ob.pending[tok] = name
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

// oldest returns up to n pending file names, oldest first.
func (ob *Outbox) oldest(n int) []string {
	ob.mu.Lock()
	names := make([]string, 0, len(ob.pending))
	for _, name := range ob.pending {
		if name != "" { // "" is a request still being written
			names = append(names, name)
		}
	}
	ob.mu.Unlock()
	sort.Strings(names)
	return names[:min(n, len(names))]
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

// Run publishes queued requests, oldest first, until ctx ends: up to
// Window at a time on the one connection (so they reach the hub in queue
// order; while the link is down the client holds them and sends them in
// order when it returns), each with its job's message id. A request is
// retried until the hub acknowledges it; meanwhile it waits on disk.
func (f *Forwarder) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		names := f.ob.oldest(Window)
		if len(names) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-f.ob.wake:
				continue
			}
		}
		sent, err := f.publish(ctx, names)
		if derr := f.ob.done(sent); derr != nil {
			f.log.Error("outbox", "err", derr)
			err = derr
		}
		for _, name := range sent {
			_, tok, _ := parseOutboxName(name)
			id, _ := JobIDOfToken(tok)
			f.log.Info("permanent request forwarded", "job", id)
			if f.OnSent != nil {
				f.OnSent(id)
			}
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		f.log.Warn("hub did not take a request; retrying", "retry_in", backoff, "err", err)
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// publish sends outbox files and returns those the hub holds now, in
// order, stopping at the first that it does not.
func (f *Forwarder) publish(ctx context.Context, names []string) ([]string, error) {
	type flight struct {
		name, id string
		fut      jetstream.PubAckFuture
	}
	var fl []flight
	var perr error
	for _, name := range names {
		_, tok, _ := parseOutboxName(name)
		data, err := os.ReadFile(filepath.Join(f.ob.dir, outboxDir, name))
		if err != nil {
			f.ob.setAside(name, err)
			continue
		}
		id, err := JobIDOfToken(tok)
		if err != nil {
			f.ob.setAside(name, err)
			continue
		}
		subj := RequestSubject(f.ob.office, id)
		if _, err := DecodeRequest(subj, data); err != nil {
			f.ob.setAside(name, err)
			continue
		}
		fut, err := f.c.JS.PublishAsync(subj, data, jetstream.WithMsgID(MsgID(f.ob.office, id)), jetstream.WithExpectStream(StreamRequests))
		if err != nil {
			perr = err
			break
		}
		fl = append(fl, flight{name, id, fut})
	}
	var sent []string
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for _, x := range fl {
		var err error
		select {
		case ack := <-x.fut.Ok():
			if ack.Duplicate {
				f.log.Info("hub had the request already (duplicate message id)", "job", x.id)
			}
		case err = <-x.fut.Err():
		case <-timeout.C:
			err = errors.New("no acknowledgement from the hub within 30s")
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil && isPerSubjectFull(err) {
			f.log.Info("hub holds the request already", "job", x.id)
			err = nil
		}
		if err != nil {
			if perr == nil {
				perr = fmt.Errorf("job %s: %w", x.id, err)
			}
			continue
		}
		sent = append(sent, x.name)
	}
	return sent, perr
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
	return syncDir(dir)
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
