package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrBadRequest marks a request that can never be printed (its data, its
// template, its photo): the taker terminates it and reports a failure
// event naming the field, instead of retrying.
var ErrBadRequest = errors.New("bad request")

// BadRequestError is a permanent problem with one field of a request.
type BadRequestError struct {
	Field string
	Err   error
}

// Error formats the problem.
func (e *BadRequestError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return "field " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns ErrBadRequest and the cause.
func (e *BadRequestError) Unwrap() []error { return []error{ErrBadRequest, e.Err} }

// Intake takes a forwarded request into a central host's spool.
type Intake interface {
	// Take makes the request durable in the host's spool as job
	// centralID. It is idempotent: a request already in the spool is not
	// an error and is not added twice. An error wrapping ErrBadRequest
	// is permanent; any other is retried.
	Take(ctx context.Context, centralID string, r *Request) error
}

// TakenRecord is the value of a request's cardd_taken key. It is written
// once, when a host claims the request; whether the host has taken the
// request for good is read from the hub (TakenForGood), not from a second
// write to the record.
type TakenRecord struct {
	Host  string    `json:"host"`
	State string    `json:"state"` // TakenClaimed, or TakenDurable in records of older hosts
	Time  time.Time `json:"time"`
	// Seq is the request stream's sequence of the message the host
	// claimed (0 in records of older hosts). The host acknowledges that
	// message only once the request is durable in its spool, so once the
	// message is gone from the work queue the request is taken for good.
	Seq uint64 `json:"seq,omitempty"`
}

// States of a taken record.
const (
	// TakenClaimed: host took, or is taking, the request into its
	// spool; other hosts leave the request to it. TakenForGood tells
	// the two apart.
	TakenClaimed = "claimed"
	// TakenDurable: the request is in host's spool; any later copy is a
	// duplicate. Hosts no longer write it (a record stays "claimed"),
	// but records written by older hosts are honoured.
	TakenDurable = "durable"
)

// TakerOptions configure a central host's taker.
type TakerOptions struct {
	// Host names this central host (its station id); it appears in taken
	// records and events.
	Host string
	// Intake puts requests into the host's spool.
	Intake Intake
	// Origins records where each taken request came from.
	Origins *Origins
	// Workers is how many requests are taken at once (default 16: taking
	// is mostly waiting for fsync and the hub).
	Workers int
	// RetryDelay is the redelivery delay after a transient failure, and
	// the delay with which a request claimed by another host is handed
	// back (default 5s).
	RetryDelay time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Taker takes permanent requests from the shared work queue into a
// central host's spool.
type Taker struct {
	c     *Conn
	o     TakerOptions
	log   *slog.Logger
	taken jetstream.KeyValue
	// requests and events are the hub's streams, looked up once: they
	// tell whether a claimed request was taken for good.
	requests, events jetstream.Stream
	pub              *EventPublisher
}

// NewTaker returns a taker over c. The hub's streams must exist
// (EnsureStreams).
func NewTaker(ctx context.Context, c *Conn, o TakerOptions, log *slog.Logger) (*Taker, error) {
	if err := SiteName(o.Host); err != nil {
		return nil, fmt.Errorf("network: taker host: %w", err)
	}
	if o.Intake == nil || o.Origins == nil {
		return nil, errors.New("network: taker needs an intake and an origins file")
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Taker{c: c, o: o, log: log.With("part", "taker", "host", o.Host), pub: NewEventPublisher(c, o.Host)}, nil
}

// Run takes requests until ctx ends. It waits for the hub when it is
// unreachable.
func (t *Taker) Run(ctx context.Context) error {
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range t.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				t.handle(ctx, m)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for ctx.Err() == nil {
		if err := t.pull(ctx, work); err != nil && ctx.Err() == nil {
			t.log.Warn("request queue; starting over", "err", err)
			if !sleepCtx(ctx, t.o.RetryDelay) {
				break
			}
		}
	}
	return nil
}

// pull hands the queue's messages to the workers until ctx ends or the
// consumer fails for good (it was deleted, the hub lost its store): then
// Run looks the consumer up again.
func (t *Taker) pull(ctx context.Context, work chan<- jetstream.Msg) error {
	var err error
	if t.taken == nil {
		if t.taken, err = t.c.JS.KeyValue(ctx, BucketTaken); err != nil {
			return err
		}
	}
	// Looked up at each start: a stream created again is a new history.
	if t.requests, err = t.c.JS.Stream(ctx, StreamRequests); err != nil {
		return err
	}
	if t.events, err = t.c.JS.Stream(ctx, StreamEvents); err != nil {
		return err
	}
	cons, err := t.c.JS.Consumer(ctx, StreamRequests, TakerConsumer)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(t.o.Workers * 2))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	failures := 0
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				return err
			}
			// Missed heartbeats while the hub is away: the iterator
			// recovers by itself; pause so the log stays readable.
			failures++
			t.log.Warn("request queue", "err", err)
			if failures > 10 {
				return err
			}
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return nil
			}
			continue
		}
		failures = 0
		select {
		case work <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// handle takes one request; the message is acked only once the request
// is durable in the spool and its "received" event is stored. A request
// costs three waits for the hub and three writes there: the claim (with
// the origin's fsync and, for a StagingIntake, the writing of the request
// beside it), the event (after the spool commit), and the ack. Nothing
// marks the claim durable: the acked message, gone from the work queue,
// and the event say so (TakenForGood).
func (t *Taker) handle(ctx context.Context, m jetstream.Msg) {
	subj := m.Subject()
	req, err := DecodeRequest(subj, m.Data())
	if err != nil {
		t.refuse(ctx, m, subj, err)
		return
	}
	log := t.log.With("subject", subj, "office", req.Office, "job", req.Job.ID)
	var seq uint64
	first := false
	if md, err := m.Metadata(); err == nil {
		seq, first = md.Sequence.Stream, md.NumDelivered <= 1
	}
	key := TakenKey(req.Office, req.Job.ID)
	central := CentralJobID(req.Office, req.Job.ID)
	// The origin is recorded and the request written to the spool (out
	// of its sight) while the claim is made: a line for a request that
	// another host takes is never looked up (origins are looked up by
	// the jobs of this host's spool), a repeat is not written twice, and
	// a staged request is committed only under this host's claim.
	var oerr error
	origin := goDo(func() { oerr = t.o.Origins.Add(central, req.Office, req.Job.ID) })
	var staged Staged
	var serr error
	var stage <-chan struct{} = closedChan
	// A request delivered before may be another host's (a claim it
	// holds): it is written only once the claim is known, as nothing is
	// to be gained from writing it again at every redelivery.
	if si, ok := t.o.Intake.(StagingIntake); ok && first {
		stage = goDo(func() { staged, serr = si.Stage(ctx, central, req) })
	}
	rec, created, err := t.claim(ctx, key, seq)
	<-origin
	<-stage
	proceed := false
	defer func() {
		if !proceed && staged != nil {
			staged.Abort()
		}
	}()
	if err != nil {
		log.Warn("cannot record the take; retrying later", "err", err)
		_ = m.NakWithDelay(t.o.RetryDelay)
		return
	}
	if !created {
		// A claim was there: this copy is a late duplicate of a request
		// taken for good, a redelivery of one a host is still taking (or
		// died taking), or a redelivery of this host's own.
		done, err := TakenForGood(ctx, t.requests, t.events, rec, seq, req.Office, req.Job.ID)
		if err != nil {
			log.Warn("cannot tell whether the request was taken; retrying later", "claimed_by", rec.Host, "err", err)
			_ = m.NakWithDelay(t.o.RetryDelay)
			return
		}
		switch {
		case done:
			if rec.State == TakenDurable {
				// An older host published the "received" event together
				// with the durable mark; if that publish failed, this
				// copy repeats it (same event id: the hub and the office
				// keep it once). A host of this version stores the event
				// before it acks, and the event is part of the evidence.
				if err := t.pub.Publish(ctx, receivedEvent(req, rec, central)); err != nil {
					log.Warn("cannot report the request received; retrying later", "err", err)
					_ = m.NakWithDelay(t.o.RetryDelay)
					return
				}
			}
			log.Warn("late duplicate of a request already taken; terminated", "taken_by", rec.Host, "taken_at", rec.Time)
			_ = m.TermWithReason("duplicate: taken by " + rec.Host)
			return
		case rec.Host != t.o.Host:
			log.Info("request being taken by another host; handed back", "claimed_by", rec.Host)
			_ = m.NakWithDelay(t.o.RetryDelay)
			return
		}
		// This host's own claim, not known to be complete: take the
		// request again (Take is idempotent).
	}
	if oerr != nil {
		log.Error("cannot record the request's origin; retrying later", "err", oerr)
		_ = m.NakWithDelay(t.o.RetryDelay)
		return
	}
	// Keep the hub from handing the request to another host while the
	// spool works.
	stop := t.keepAlive(m)
	defer stop()
	if staged != nil || serr != nil {
		proceed = true
		err = serr
		if err == nil {
			err = staged.Commit(ctx)
		}
	} else {
		err = t.o.Intake.Take(ctx, central, req)
	}
	if err != nil {
		if errors.Is(err, ErrBadRequest) {
			t.fail(ctx, m, req, err)
			return
		}
		log.Warn("spool did not take the request; retrying later", "err", err)
		_ = m.NakWithDelay(t.o.RetryDelay)
		return
	}
	// The event is stored before the ack: once it is on the hub, a copy
	// delivered to any host is known to be taken (TakenForGood), and an
	// acked request's office always hears of it.
	if err := t.pub.Publish(ctx, receivedEvent(req, rec, central)); err != nil {
		log.Warn("cannot report the request received; retrying later", "err", err)
		_ = m.NakWithDelay(t.o.RetryDelay)
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		// The event is stored: a redelivery is terminated as a
		// duplicate, so the request is still taken once.
		log.Warn("ack of a taken request not confirmed", "err", err)
		return
	}
	log.Info("permanent request taken", "central_job", central)
}

// receivedEvent is the "received" event of a request taken by rec.Host as
// job central. It is the same (the same event id) whoever builds it from
// the same record.
func receivedEvent(req *Request, rec TakenRecord, central string) *Event {
	return &Event{Office: req.Office, Job: req.Job.ID, Kind: EventReceived, Host: rec.Host,
		Reason: "in the spool of " + rec.Host + " as job " + central, Time: rec.Time}
}

// closedChan is a channel that is closed: a step that need not be waited for.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// goDo runs f on its own goroutine; the channel closes when f returns.
func goDo(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// claim reads the request's taken record, creating it (claimed by this
// host for the message of stream sequence seq) when there is none. It
// reports whether this call created it.
func (t *Taker) claim(ctx context.Context, key string, seq uint64) (TakenRecord, bool, error) {
	for range 3 {
		// Create first: in the common case the request is new, and one
		// round trip claims it.
		rec := TakenRecord{Host: t.o.Host, State: TakenClaimed, Time: t.o.Now().UTC(), Seq: seq}
		_, err := t.taken.Create(ctx, key, rec.encode())
		if err == nil {
			return rec, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return TakenRecord{}, false, err
		}
		e, err := t.taken.Get(ctx, key)
		switch {
		case err == nil:
			rec, err := decodeTaken(key, e.Value())
			return rec, false, err
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return TakenRecord{}, false, err
		}
		// Deleted in between (an operator released it): try again.
	}
	return TakenRecord{}, false, fmt.Errorf("taken record %s: contended", key)
}

// decodeTaken decodes the taken record of key.
func decodeTaken(key string, b []byte) (TakenRecord, error) {
	var rec TakenRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Host == "" {
		return TakenRecord{}, fmt.Errorf("taken record %s unreadable: %q", key, clip(string(b)))
	}
	return rec, nil
}

// TakenForGood reports whether the request of office's job id, claimed as
// rec says, is durable in the spool of the host that claimed it, from
// what the hub holds (seq is the stream sequence of the copy at hand, 0
// for none):
//
//   - a record of an older host that says durable;
//   - the claimed message gone from the work queue while the queue holds
//     another copy, or none: a host acks (or terminates) the message it
//     claimed only once it is done with it, and a message acked is gone
//     for good, however late a copy comes;
//   - an event about the job from the claiming host (the "received"
//     event is stored after the spool commit and before the ack).
//
// False means the host may still be taking the request, or died doing
// so: the request must be left to it (or released by an operator).
func TakenForGood(ctx context.Context, requests, events jetstream.Stream, rec TakenRecord, seq uint64, office, id string) (bool, error) {
	if rec.State == TakenDurable {
		return true, nil
	}
	if rec.Seq != 0 && rec.Seq != seq && claimedInThisQueue(requests, rec) {
		_, err := requests.GetMsg(ctx, rec.Seq)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("request stream message %d: %w", rec.Seq, err)
		}
	}
	m, err := events.GetLastMsgForSubject(ctx, EventSubject(office, id))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("events of %s/%s: %w", office, id, err)
	}
	e, err := DecodeEvent(m.Subject, m.Data)
	return err == nil && e.Host == rec.Host, nil
}

// claimedInThisQueue reports whether rec's sequence is one of this request
// stream's: a stream deleted and created again numbers its messages anew,
// and a message missing from it says nothing about a claim made before.
func claimedInThisQueue(requests jetstream.Stream, rec TakenRecord) bool {
	info := requests.CachedInfo()
	return info != nil && !info.Created.IsZero() && rec.Time.After(info.Created)
}

func (r TakenRecord) encode() []byte {
	b, _ := json.Marshal(r)
	return b
}

// keepAlive sends InProgress for m until the returned stop is called.
func (t *Taker) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(5 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// refuse terminates a message that does not decode and reports it to its
// office when the subject names one.
func (t *Taker) refuse(ctx context.Context, m jetstream.Msg, subj string, err error) {
	var de *DecodeError
	field := ""
	if errors.As(err, &de) {
		field = de.Field
	}
	office, id, serr := ParseRequestSubject(subj)
	t.log.Error("bad request from the network; terminated", "subject", subj, "field", field, "err", err)
	if serr == nil {
		ev := &Event{Office: office, Job: id, Kind: EventFailed, Host: t.o.Host, Field: field, Reason: err.Error(), Time: t.o.Now()}
		if perr := t.pub.Publish(ctx, ev); perr != nil {
			t.log.Warn("cannot report the bad request; retrying later", "err", perr)
			_ = m.NakWithDelay(t.o.RetryDelay)
			return
		}
	}
	_ = m.TermWithReason("bad request: " + clip(err.Error()))
}

// fail terminates a request the spool refused for good and reports it.
func (t *Taker) fail(ctx context.Context, m jetstream.Msg, req *Request, err error) {
	field := ""
	var be *BadRequestError
	if errors.As(err, &be) {
		field = be.Field
	}
	t.log.Error("request cannot be printed; terminated", "office", req.Office, "job", req.Job.ID, "field", field, "err", err)
	ev := &Event{Office: req.Office, Job: req.Job.ID, Kind: EventFailed, Host: t.o.Host, Field: field, Reason: err.Error(), Time: t.o.Now()}
	if perr := t.pub.Publish(ctx, ev); perr != nil {
		t.log.Warn("cannot report the failed request; retrying later", "err", perr)
		_ = m.NakWithDelay(t.o.RetryDelay)
		return
	}
	_ = m.TermWithReason("cannot be printed: " + clip(err.Error()))
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// EventPublisher publishes events to the hub.
type EventPublisher struct {
	c    *Conn
	host string
}

// NewEventPublisher returns a publisher for host.
func NewEventPublisher(c *Conn, host string) *EventPublisher {
	return &EventPublisher{c: c, host: host}
}

// Publish sends e and waits for the hub to store it. The message id is
// the event's ID, so a repeat (a retry after a crash) is stored once.
func (p *EventPublisher) Publish(ctx context.Context, e *Event) error {
	if e.Host == "" {
		e.Host = p.host
	}
	data, err := EncodeEvent(e)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := p.c.JS.Publish(pctx, EventSubject(e.Office, e.Job), data, jetstream.WithMsgID(e.ID()), jetstream.WithExpectStream(StreamEvents)); err != nil {
		return fmt.Errorf("network: event %s for %s/%s: %w", e.Kind, e.Office, e.Job, err)
	}
	return nil
}

// ErrNotClaimed: the request has no claim that could be released.
var ErrNotClaimed = errors.New("no claim to release")

// ReleaseClaim deletes the claim on office's request for job id that a
// central host made and never completed (it died between claiming the
// request and taking it into its spool, and is not coming back), so that
// another host takes the request. A request taken for good (TakenForGood)
// is not released. It returns the released claim.
func ReleaseClaim(ctx context.Context, c *Conn, office, id string) (TakenRecord, error) {
	kv, err := c.JS.KeyValue(ctx, BucketTaken)
	if err != nil {
		return TakenRecord{}, fmt.Errorf("network: %w", err)
	}
	key := TakenKey(office, id)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return TakenRecord{}, fmt.Errorf("network: request %s/%s: %w", office, id, ErrNotClaimed)
	}
	if err != nil {
		return TakenRecord{}, fmt.Errorf("network: %w", err)
	}
	rec, err := decodeTaken(key, e.Value())
	if err != nil {
		return TakenRecord{}, fmt.Errorf("network: %w", err)
	}
	requests, err := c.JS.Stream(ctx, StreamRequests)
	if err != nil {
		return rec, fmt.Errorf("network: %w", err)
	}
	events, err := c.JS.Stream(ctx, StreamEvents)
	if err != nil {
		return rec, fmt.Errorf("network: %w", err)
	}
	done, err := TakenForGood(ctx, requests, events, rec, 0, office, id)
	if err != nil {
		return rec, fmt.Errorf("network: request %s/%s: %w", office, id, err)
	}
	if done {
		return rec, fmt.Errorf("network: request %s/%s was taken for good by host %s at %s (job %s in its spool): %w", office, id, rec.Host, rec.Time.Format(time.RFC3339), CentralJobID(office, id), ErrNotClaimed)
	}
	if err := kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return rec, fmt.Errorf("network: release %s: %w", key, err)
	}
	return rec, nil
}
