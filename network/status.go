package network

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Status kinds a field office records besides the central facility's
// events.
const (
	// StatusQueued: the request is in the office's outbox.
	StatusQueued = "queued"
	// StatusForwarded: the hub acknowledged the request.
	StatusForwarded = "forwarded"
	// StatusWaitingRelease: the job is held at the office by a check at
	// intake (the photo gate); its request is kept at the office and
	// queued only once an operator releases the job.
	StatusWaitingRelease = "waiting-release"
	// StatusWithdrawn: the job was cancelled or refused at the office
	// while held there; its request was never forwarded.
	StatusWithdrawn = "withdrawn"
)

// StatusEntry is one step of a forwarded request as its office saw it.
type StatusEntry struct {
	Job      string    `json:"job"`
	Kind     string    `json:"kind"`
	Host     string    `json:"host,omitempty"`
	Serial   string    `json:"serial,omitempty"`
	Replaces string    `json:"replaces,omitempty"`
	Field    string    `json:"field,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
	// Event is the central event's ID (deduplication of redeliveries).
	Event string `json:"event,omitempty"`
}

// statusFile is the office's status log in its network directory.
const statusFile = "status.jsonl"

// StatusStore is a field office's record of its forwarded requests: an
// append-only file of JSON lines (fsynced) that "cardd jobs" and the
// dashboard read without the daemon (ReadStatus).
type StatusStore struct {
	mu   sync.Mutex
	f    *os.File
	seen map[string]bool
	last map[string]StatusEntry
}

// OpenStatusStore opens (creating) the status log in dir.
func OpenStatusStore(dir string) (*StatusStore, error) {
	all, err := ReadStatus(dir)
	if err != nil {
		return nil, err
	}
	s := &StatusStore{seen: map[string]bool{}, last: map[string]StatusEntry{}}
	for id, list := range all {
		for _, e := range list {
			if e.Event != "" {
				s.seen[e.Event] = true
			}
		}
		s.last[id] = Latest(list)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network: status: %w", err)
	}
	if s.f, err = os.OpenFile(filepath.Join(dir, statusFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("network: status: %w", err)
	}
	return s, nil
}

// Add appends e durably (an event seen before is skipped).
func (s *StatusStore) Add(e StatusEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Event != "" && s.seen[e.Event] {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("network: status: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("network: status: %w", err)
	}
	if e.Event != "" {
		s.seen[e.Event] = true
	}
	if cur, ok := s.last[e.Job]; !ok || e.Event != "" || cur.Event == "" {
		s.last[e.Job] = e
	}
	return nil
}

// Latest is the entry that sums up a request's status: the last event from
// the central facility if there is one (the office's own "forwarded" may be
// written after the centre already answered), else the office's last step.
func Latest(list []StatusEntry) StatusEntry {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Event != "" {
			return list[i]
		}
	}
	if len(list) == 0 {
		return StatusEntry{}
	}
	return list[len(list)-1]
}

// Last returns the latest entry of every job.
func (s *StatusStore) Last() map[string]StatusEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]StatusEntry, len(s.last))
	for k, v := range s.last {
		out[k] = v
	}
	return out
}

// Close closes the file.
func (s *StatusStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// ReadStatus reads the status log in dir: each job's entries, oldest
// first (no file: none). A torn last line (a crash mid-write) is skipped.
func ReadStatus(dir string) (map[string][]StatusEntry, error) {
	out := map[string][]StatusEntry{}
	f, err := os.Open(filepath.Join(dir, statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network: status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), MaxEventBytes*2)
	seen := map[string]bool{}
	for sc.Scan() {
		var e StatusEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Job == "" {
			continue
		}
		if e.Event != "" {
			if seen[e.Event] {
				continue
			}
			seen[e.Event] = true
		}
		out[e.Job] = append(out[e.Job], e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("network: status: %w", err)
	}
	return out, nil
}

// EventReceiver is a field office's reader of its own events: a durable
// consumer (EventsConsumer) on the events stream filtered to the office's
// subjects; each event is written to the status store before it is
// acknowledged.
type EventReceiver struct {
	c     *Conn
	store *StatusStore
	log   *slog.Logger
	// OnEvent, when set, is called for each new event after it was
	// stored (e.g. to void the temporary card once the permanent one
	// printed). An error leaves the event unacknowledged, so it comes
	// again; an error wrapping ErrLater is an expected wait (logged at
	// debug level, not as a warning).
	OnEvent func(ctx context.Context, e *Event) error
}

// ErrLater, wrapped in an OnEvent error, says the event cannot be acted
// on yet, for a reason that will pass (the office's own temporary card is
// still printing when the permanent card's news comes): it comes again
// after LaterDelay.
var ErrLater = errors.New("not yet")

// LaterDelay is how long an event whose OnEvent said ErrLater waits
// before it comes again.
const LaterDelay = 2 * time.Second

// NewEventReceiver returns a receiver for office c.Site.
func NewEventReceiver(c *Conn, store *StatusStore, log *slog.Logger) *EventReceiver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EventReceiver{c: c, store: store, log: log.With("part", "events")}
}

// Run receives events until ctx ends, waiting for the hub when needed.
func (r *EventReceiver) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := r.runOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reading events from the hub; retrying", "err", err)
			if !sleepCtx(ctx, 2*time.Second) {
				break
			}
		}
	}
	return nil
}

func (r *EventReceiver) runOnce(ctx context.Context) error {
	office := r.c.Site
	cons, err := r.c.JS.CreateOrUpdateConsumer(ctx, StreamEvents, jetstream.ConsumerConfig{
		Durable:       EventsConsumer(office),
		Description:   "cardd: events of office " + office,
		FilterSubject: subjEvents + "." + office + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		r.handle(ctx, m)
	}
}

func (r *EventReceiver) handle(ctx context.Context, m jetstream.Msg) {
	e, err := DecodeEvent(m.Subject(), m.Data())
	if err != nil {
		r.log.Error("bad event from the network; dropped after logging", "err", err)
		_ = m.Term()
		return
	}
	if err := r.store.Add(StatusEntry{Job: e.Job, Kind: string(e.Kind), Host: e.Host, Serial: e.Serial, Replaces: e.Replaces,
		Field: e.Field, Reason: e.Reason, Time: e.Time, Event: e.ID()}); err != nil {
		r.log.Error("cannot store an event; it will come again", "job", e.Job, "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	r.log.Info("permanent request status", "job", e.Job, "kind", e.Kind, "host", e.Host, "serial", e.Serial)
	if r.OnEvent != nil {
		if err := r.OnEvent(ctx, e); errors.Is(err, ErrLater) {
			r.log.Debug("acting on an event later", "job", e.Job, "kind", e.Kind, "err", err)
			_ = m.NakWithDelay(LaterDelay)
			return
		} else if err != nil {
			r.log.Warn("acting on an event; it will come again", "job", e.Job, "kind", e.Kind, "err", err)
			_ = m.NakWithDelay(5 * time.Second)
			return
		}
	}
	if err := m.DoubleAck(ctx); err != nil {
		r.log.Debug("event ack not confirmed; it may come again", "err", err)
	}
}
