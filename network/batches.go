package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// BucketBatches holds every central host's batch summaries and a record
// of each host's last publication. It keeps one value per key and no age
// limit: a batch's figures stay on the hub for as long as the facility
// keeps the hub, unlike the outcome events (StreamOptions.EventsMaxAge).
// Only central hosts may read or write it.
const BucketBatches = "cardd_batches"

// Key prefixes in BucketBatches.
const (
	batchKeyPrefix = "batch."
	hostKeyPrefix  = "host."
)

// MaxSummaryBytes bounds one value of BucketBatches.
const MaxSummaryBytes = 4096

// BatchSummaryKey is the BucketBatches key of host's batch: batch.HOST.BATCH.
func BatchSummaryKey(host, batch string) string { return batchKeyPrefix + host + "." + batch }

// HostBeatKey is the BucketBatches key of host's publication record.
func HostBeatKey(host string) string { return hostKeyPrefix + host }

// BatchSummary is one central host's batch as the facility sees it: the
// figures of the host's own reconciliation report ("cardd batch report
// BATCH" on that host), without the manifest and so without personal data
// (no names, no job ids; the first and last serial only).
type BatchSummary struct {
	// Host is the central host (its station id), Site its site and Code
	// its serial station code.
	Host string `json:"host"`
	Site string `json:"site"`
	Code string `json:"code"`
	// Batch is the batch id on that host (batch ids repeat across hosts).
	Batch    string            `json:"batch"`
	Template string            `json:"template,omitempty"`
	State    spool.BatchState  `json:"state"`
	Opened   time.Time         `json:"opened"`
	Closed   time.Time         `json:"closed,omitzero"`
	Done     time.Time         `json:"done,omitzero"`
	Counts   BatchCounts       `json:"counts"`
	Serials  *BatchSerialRange `json:"serials,omitempty"`
	// Updated is when the host computed the summary.
	Updated time.Time `json:"updated"`
}

// BatchCounts are a batch's reconciliation figures (see spool.BatchReport).
type BatchCounts struct {
	Jobs      int `json:"jobs"`
	Expected  int `json:"blanks_expected"`
	Printed   int `json:"printed"`
	Spoiled   int `json:"spoiled"`
	Reprinted int `json:"reprinted"`
	Voided    int `json:"voided"`
	Unknown   int `json:"outcome_unknown"`
	Aborted   int `json:"aborted"`
	Cancelled int `json:"cancelled"`
	Stray     int `json:"stray,omitempty"`
	// BlanksUsed are the cards fed: printed, spoiled and outcome unknown.
	BlanksUsed int `json:"blanks_used"`
	// Loaded is the stock loaded on the batch's printers, as recorded by
	// the technician (a per-batch figure: the same stock serves many
	// batches, so it is not added up across batches).
	Loaded int `json:"loaded"`
}

// add adds o's figures (Loaded excepted) to c.
func (c *BatchCounts) add(o BatchCounts) {
	c.Jobs += o.Jobs
	c.Expected += o.Expected
	c.Printed += o.Printed
	c.Spoiled += o.Spoiled
	c.Reprinted += o.Reprinted
	c.Voided += o.Voided
	c.Unknown += o.Unknown
	c.Aborted += o.Aborted
	c.Cancelled += o.Cancelled
	c.Stray += o.Stray
	c.BlanksUsed += o.BlanksUsed
}

// BatchSerialRange is the lowest and highest serial printed or issued in
// a batch (by sequence number).
type BatchSerialRange struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// HostBeat is a central host's publication record: refreshed while the
// host runs, so that a report can tell a host whose summaries are stale.
type HostBeat struct {
	Host    string    `json:"host"`
	Site    string    `json:"site"`
	Code    string    `json:"code"`
	Batches int       `json:"batches"`
	Open    int       `json:"open"` // batches not done
	Updated time.Time `json:"updated"`
	// Problem says why some batch's summary could not be published (its
	// report unreadable, say); empty when all are.
	Problem string `json:"problem,omitempty"`
}

// SummariseBatch turns a host's batch report into its summary.
func SummariseBatch(host, site, code string, rep *spool.BatchReport, now time.Time) *BatchSummary {
	s := &BatchSummary{
		Host: host, Site: site, Code: code,
		Batch: rep.Batch.ID, Template: rep.Batch.Key, State: rep.Batch.State,
		Opened: rep.Batch.Opened.UTC(), Closed: rep.Batch.Closed.UTC(), Done: rep.Batch.Done.UTC(),
		Counts: BatchCounts{
			Jobs: rep.Jobs, Expected: rep.BlanksExpected, Printed: rep.Printed, Spoiled: rep.Spoiled,
			Reprinted: rep.Reprinted, Voided: rep.Voided, Unknown: rep.Unknown, Aborted: rep.Aborted,
			Cancelled: rep.Cancelled, Stray: rep.Stray, BlanksUsed: rep.BlanksUsed,
		},
		Updated: now.UTC(),
	}
	for _, p := range rep.Printers {
		s.Counts.Loaded += p.StockLoaded
	}
	var lo, hi security.Serial
	var first, last string
	for _, m := range rep.Manifest {
		for _, text := range append([]string{m.Serial}, m.Voided...) {
			sr, err := security.ParseSerial(text)
			if err != nil {
				continue
			}
			if first == "" || sr.Sequence < lo.Sequence {
				lo, first = sr, text
			}
			if last == "" || sr.Sequence > hi.Sequence {
				hi, last = sr, text
			}
		}
	}
	if first != "" {
		s.Serials = &BatchSerialRange{First: first, Last: last}
	}
	return s
}

// EncodeBatchSummary checks s and encodes it.
func EncodeBatchSummary(s *BatchSummary) ([]byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	key := BatchSummaryKey(s.Host, s.Batch)
	if _, err := DecodeBatchSummary(key, data); err != nil {
		return nil, err
	}
	return data, nil
}

// DecodeBatchSummary decodes the value of BucketBatches key and checks it:
// every field in range, the host and batch those of the key. Errors name
// the key and the field.
func DecodeBatchSummary(key string, data []byte) (*BatchSummary, error) {
	host, batch, err := parseBatchKey(key)
	if err != nil {
		return nil, err
	}
	s := &BatchSummary{}
	if err := decodeSummaryJSON(key, data, s); err != nil {
		return nil, err
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: batch summary %s: field %s: %s", ErrInvalid, clip(key), field, fmt.Sprintf(format, args...))
	}
	if s.Host != host {
		return nil, bad("host", "%q is not the key's host %q", clip(s.Host), host)
	}
	if s.Batch != batch {
		return nil, bad("batch", "%q is not the key's batch %q", clip(s.Batch), batch)
	}
	if err := SiteName(s.Site); err != nil {
		return nil, bad("site", "%v", err)
	}
	if err := stationCode(s.Code); err != nil {
		return nil, bad("code", "%v", err)
	}
	if s.Template != "" {
		if err := jobfile.ValidID(s.Template); err != nil {
			return nil, bad("template", "%v", err)
		}
	}
	switch s.State {
	case spool.BatchOpen, spool.BatchClosed, spool.BatchDone:
	default:
		return nil, bad("state", "%q is not open, closed or done", clip(string(s.State)))
	}
	if s.Opened.IsZero() {
		return nil, bad("opened", "missing")
	}
	if s.Updated.IsZero() {
		return nil, bad("updated", "missing")
	}
	if s.State == spool.BatchDone && s.Done.IsZero() {
		return nil, bad("done", "missing in a done batch")
	}
	c := s.Counts
	for _, f := range []struct {
		name string
		n    int
	}{
		{"jobs", c.Jobs}, {"blanks_expected", c.Expected}, {"printed", c.Printed}, {"spoiled", c.Spoiled},
		{"reprinted", c.Reprinted}, {"voided", c.Voided}, {"outcome_unknown", c.Unknown}, {"aborted", c.Aborted},
		{"cancelled", c.Cancelled}, {"stray", c.Stray}, {"blanks_used", c.BlanksUsed}, {"loaded", c.Loaded},
	} {
		if f.n < 0 || f.n > maxCount {
			return nil, bad("counts."+f.name, "%d is not between 0 and %d", f.n, maxCount)
		}
	}
	if s.Serials != nil {
		for _, f := range []struct{ name, v string }{{"first", s.Serials.First}, {"last", s.Serials.Last}} {
			if !security.ValidSerial(f.v) {
				return nil, bad("serials."+f.name, "%q is not a card serial", clip(f.v))
			}
		}
	}
	return s, nil
}

// maxCount bounds every count of a summary.
const maxCount = 100_000_000

// DecodeHostBeat decodes and checks the value of a host.HOST key.
func DecodeHostBeat(key string, data []byte) (*HostBeat, error) {
	host, ok := strings.CutPrefix(key, hostKeyPrefix)
	if !ok || SiteName(host) != nil {
		return nil, fmt.Errorf("%w: key %q is not host.HOST", ErrInvalid, clip(key))
	}
	b := &HostBeat{}
	if err := decodeSummaryJSON(key, data, b); err != nil {
		return nil, err
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: host record %s: field %s: %s", ErrInvalid, clip(key), field, fmt.Sprintf(format, args...))
	}
	switch {
	case b.Host != host:
		return nil, bad("host", "%q is not the key's host %q", clip(b.Host), host)
	case SiteName(b.Site) != nil:
		return nil, bad("site", "%v", SiteName(b.Site))
	case stationCode(b.Code) != nil:
		return nil, bad("code", "%v", stationCode(b.Code))
	case b.Batches < 0 || b.Batches > maxCount:
		return nil, bad("batches", "%d out of range", b.Batches)
	case b.Open < 0 || b.Open > b.Batches:
		return nil, bad("open", "%d is not between 0 and batches (%d)", b.Open, b.Batches)
	case b.Updated.IsZero():
		return nil, bad("updated", "missing")
	case len(b.Problem) > 512:
		return nil, bad("problem", "%d bytes, limit 512", len(b.Problem))
	}
	return b, nil
}

// decodeSummaryJSON decodes one JSON value into v, naming key and, for a
// value of the wrong type, the field.
func decodeSummaryJSON(key string, data []byte, v any) error {
	if len(data) > MaxSummaryBytes {
		return fmt.Errorf("%w: %s: %d bytes, limit %d", ErrInvalid, clip(key), len(data), MaxSummaryBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: %s: field %s: %s where %s belongs", ErrInvalid, clip(key), te.Field, te.Value, te.Type)
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%w: %s: a time field: %v", ErrInvalid, clip(key), err)
		}
		return fmt.Errorf("%w: %s: %v", ErrInvalid, clip(key), err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s: data after the value", ErrInvalid, clip(key))
	}
	return nil
}

// parseBatchKey splits batch.HOST.BATCH.
func parseBatchKey(key string) (host, batch string, err error) {
	rest, ok := strings.CutPrefix(key, batchKeyPrefix)
	if ok {
		host, batch, ok = strings.Cut(rest, ".")
	}
	if !ok || SiteName(host) != nil || jobfile.ValidID(batch) != nil || strings.Contains(batch, ".") {
		return "", "", fmt.Errorf("%w: key %q is not batch.HOST.BATCH", ErrInvalid, clip(key))
	}
	return host, batch, nil
}

// stationCode checks a serial station code.
func stationCode(code string) error {
	if _, err := security.NewSerial("X", code, 1); err != nil {
		return err
	}
	return nil
}

// BatchSource is a central host's spool as the summary publisher reads
// it: its batches, and their reconciliation reports (for a done batch the
// report written when it finished, the one "cardd batch report" shows).
// BatchReports returns one report per id, in order; a report it cannot
// read is nil, and the error says why.
type BatchSource interface {
	Batches() []spool.Batch
	BatchReports(ids []string) ([]*spool.BatchReport, error)
}

// BatchPublisher keeps a central host's batch summaries on the hub
// (BucketBatches): each batch's summary whenever its figures change, and
// the host's record (HostBeat) at least every Beat. A done batch's
// summary is final and published once. It runs until its context ends,
// waiting for the hub (and the bucket, which the central hosts' setup
// creates) when they are not there yet.
type BatchPublisher struct {
	Conn   *Conn
	Host   string
	Site   string
	Code   string
	Source BatchSource
	Now    func() time.Time
	// Every is how often the batches are checked for changes (default
	// 5 s); Wake checks at once.
	Every time.Duration
	// Beat is how often the host record is refreshed when nothing
	// changed (default 1 minute).
	Beat time.Duration
	Log  *slog.Logger

	wake chan struct{}
}

// NewBatchPublisher returns a publisher; the fields may be set before Run.
func NewBatchPublisher(c *Conn, host, site, code string, src BatchSource, log *slog.Logger) *BatchPublisher {
	return &BatchPublisher{Conn: c, Host: host, Site: site, Code: code, Source: src, Now: time.Now, Log: log, wake: make(chan struct{}, 1)}
}

// Wake asks for a check now (a card's outcome changed a batch).
func (p *BatchPublisher) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends. Errors of the hub are logged and retried.
func (p *BatchPublisher) Run(ctx context.Context) error {
	every, beat := p.Every, p.Beat
	if every <= 0 {
		every = 5 * time.Second
	}
	if beat <= 0 {
		beat = time.Minute
	}
	var kv jetstream.KeyValue
	for kv == nil {
		var err error
		kctx, cancel := context.WithTimeout(ctx, time.Minute)
		kv, err = p.Conn.JS.KeyValue(kctx, BucketBatches)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.Log.Debug("batch summaries: waiting for the hub's bucket", "bucket", BucketBatches, "err", err)
			kv = nil
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Second):
			}
		}
	}
	// published holds what is on the hub for each batch (its summary
	// without the time it was computed); final the done batches whose
	// final summary is there.
	published := map[string][]byte{}
	final := map[string]bool{}
	p.readPublished(ctx, kv, published, final)
	var lastBeat time.Time
	lastProblem := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		changed, problem, err := p.publish(ctx, kv, published, final)
		if err != nil && ctx.Err() == nil {
			p.Log.Warn("batch summaries: not all published; retrying", "err", err)
		}
		// The hub answered (or only a batch's report failed, which the
		// host record then tells): refresh the host record.
		if (err == nil || problem != "") && (changed || problem != lastProblem || p.Now().Sub(lastBeat) >= beat) {
			if err := p.putBeat(ctx, kv, problem); err != nil {
				if ctx.Err() == nil {
					p.Log.Warn("batch summaries: host record not published; retrying", "err", err)
				}
			} else {
				lastBeat, lastProblem = p.Now(), problem
			}
		}
		select {
		case <-ctx.Done():
			p.flush(kv, published, final)
			return nil
		case <-t.C:
		case <-p.wake:
		}
	}
}

// flush publishes what changed since the last check once more as the
// host stops (a batch that finished just before), when the hub is
// connected, bounded by FlushTimeout.
func (p *BatchPublisher) flush(kv jetstream.KeyValue, published map[string][]byte, final map[string]bool) {
	if p.Conn.NC == nil || !p.Conn.NC.IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), FlushTimeout)
	defer cancel()
	changed, problem, err := p.publish(ctx, kv, published, final)
	if err != nil {
		p.Log.Warn("batch summaries: not all published as the host stops; published at its next start", "err", err)
		return
	}
	if changed {
		_ = p.putBeat(ctx, kv, problem)
	}
}

// FlushTimeout bounds a BatchPublisher's last publication as it stops.
const FlushTimeout = 2 * time.Second

// readPublished reads this host's summaries on the hub, so that a restart
// does not publish done batches again.
func (p *BatchPublisher) readPublished(ctx context.Context, kv jetstream.KeyValue, published map[string][]byte, final map[string]bool) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w, err := kv.Watch(rctx, batchKeyPrefix+p.Host+".*", jetstream.IgnoreDeletes())
	if err != nil {
		p.Log.Debug("batch summaries: reading what the hub holds", "err", err)
		return
	}
	defer w.Stop()
	for e := range w.Updates() {
		if e == nil {
			return // the current values are all read
		}
		s, err := DecodeBatchSummary(e.Key(), e.Value())
		if err != nil {
			p.Log.Warn("batch summaries: the hub's copy does not decode; publishing it again", "key", e.Key(), "err", err)
			continue
		}
		published[s.Batch] = withoutUpdated(s)
		if s.State == spool.BatchDone {
			final[s.Batch] = true
		}
	}
}

// withoutUpdated encodes s without its Updated time (what "changed"
// means).
func withoutUpdated(s *BatchSummary) []byte {
	c := *s
	c.Updated = time.Time{}
	data, _ := json.Marshal(&c)
	return data
}

// publish puts every changed summary; it reports whether any was put,
// and a batch whose report could not be read or summarised (problem)
// apart from the hub's errors (err, which includes problem's batch too).
func (p *BatchPublisher) publish(ctx context.Context, kv jetstream.KeyValue, published map[string][]byte, final map[string]bool) (changed bool, problem string, err error) {
	var errs []error
	hubErr := false
	var ids []string
	for _, b := range p.Source.Batches() {
		if !final[b.ID] {
			ids = append(ids, b.ID)
		}
	}
	if len(ids) == 0 {
		return false, "", nil
	}
	reps, rerr := p.Source.BatchReports(ids)
	if rerr != nil {
		errs = append(errs, rerr)
		problem = clipText(rerr.Error(), 512)
	}
	for i, id := range ids {
		var rep *spool.BatchReport
		if i < len(reps) {
			rep = reps[i]
		}
		if rep == nil || rep.Batch.ID != id {
			if rerr == nil {
				errs = append(errs, fmt.Errorf("batch %s: no report", id))
				problem = "batch " + id + ": no report"
			}
			continue
		}
		b := rep.Batch
		s := SummariseBatch(p.Host, p.Site, p.Code, rep, p.Now())
		cmp := withoutUpdated(s)
		if bytes.Equal(cmp, published[b.ID]) {
			continue
		}
		data, err := EncodeBatchSummary(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", b.ID, err))
			problem = clipText(fmt.Sprintf("batch %s: %v", b.ID, err), 512)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = kv.Put(pctx, BatchSummaryKey(p.Host, b.ID), data)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", b.ID, err))
			hubErr = true
			continue
		}
		changed = true
		published[b.ID] = cmp
		if s.State == spool.BatchDone {
			final[b.ID] = true
		}
		p.Log.Debug("batch summary published", "batch", b.ID, "state", s.State, "printed", s.Counts.Printed)
	}
	if hubErr {
		problem = ""
	}
	return changed, problem, errors.Join(errs...)
}

// clipText cuts s to at most n bytes on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// putBeat refreshes the host record.
func (p *BatchPublisher) putBeat(ctx context.Context, kv jetstream.KeyValue, problem string) error {
	b := HostBeat{Host: p.Host, Site: p.Site, Code: p.Code, Updated: p.Now().UTC(), Problem: problem}
	for _, x := range p.Source.Batches() {
		b.Batches++
		if x.State != spool.BatchDone {
			b.Open++
		}
	}
	data, err := json.Marshal(&b)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = kv.Put(pctx, HostBeatKey(p.Host), data)
	return err
}

// batchSummaries are the contents of BucketBatches as a report reads
// them: the summaries and host records that decode, and an error naming
// key and field for each value that does not.
type batchSummaries struct {
	batches []*BatchSummary
	beats   map[string]*HostBeat
	bad     []error
}

// readBatchSummaries reads every current value of BucketBatches. A hub
// without the bucket (set up by an older version) holds no summaries.
func readBatchSummaries(ctx context.Context, c *Conn) (*batchSummaries, error) {
	out := &batchSummaries{beats: map[string]*HostBeat{}}
	kv, err := c.JS.KeyValue(ctx, BucketBatches)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketBatches, err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketBatches, err)
	}
	defer w.Stop()
	for {
		var e jetstream.KeyValueEntry
		ok := false
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bucket %s: %w", BucketBatches, ctx.Err())
		case e, ok = <-w.Updates():
		}
		if !ok {
			return nil, fmt.Errorf("bucket %s: the watch ended before every value was read", BucketBatches)
		}
		if e == nil {
			return out, nil
		}
		switch key := e.Key(); {
		case strings.HasPrefix(key, hostKeyPrefix):
			b, err := DecodeHostBeat(key, e.Value())
			if err != nil {
				out.bad = append(out.bad, err)
				continue
			}
			out.beats[b.Host] = b
		default:
			s, err := DecodeBatchSummary(key, e.Value())
			if err != nil {
				out.bad = append(out.bad, err)
				continue
			}
			out.batches = append(out.batches, s)
		}
	}
}
