package network

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/spool/jobfile"
)

// Revocation is one shared deny-list entry: a serial that must no longer
// be accepted, from the station that voided or spoiled it.
type Revocation struct {
	Serial  string    `json:"serial"`
	Station string    `json:"station"`
	Reason  string    `json:"reason,omitempty"`
	Time    time.Time `json:"time"`
}

// revokedPrefix is the subject prefix of the revocations bucket.
const revokedPrefix = "$KV." + BucketRevoked + "."

// EncodeRevocation returns the bucket subject and value of r.
func EncodeRevocation(r *Revocation) (subject string, data []byte, err error) {
	r.Reason = fitText(r.Reason, maxReason)
	r.Time = r.Time.UTC()
	if err := r.check(); err != nil {
		return "", nil, err
	}
	data, err = json.Marshal(r)
	return revokedPrefix + RevokedKey(r.Station, r.Serial), data, err
}

func (r *Revocation) check() error {
	if err := SiteName(r.Station); err != nil {
		return fmt.Errorf("revocation: station: %w", err)
	}
	if r.Serial == "" {
		return fmt.Errorf("%w: revocation: serial missing", ErrInvalid)
	}
	if err := validSerialText(r.Serial); err != nil {
		return fmt.Errorf("revocation: serial: %w", err)
	}
	if err := jobfile.ValidText(r.Reason, maxReason); err != nil {
		return fmt.Errorf("revocation: reason: %w", err)
	}
	return nil
}

// DecodeRevocation reads a revocations bucket entry received on subject.
// The station in the key (which the hub's permissions vouch for) must be
// the station in the value, and the key must be the serial's.
func DecodeRevocation(subject string, data []byte) (*Revocation, error) {
	fail := func(field string, err error) (*Revocation, error) {
		return nil, &DecodeError{Subject: subject, Field: field, Err: err}
	}
	key, ok := strings.CutPrefix(subject, revokedPrefix)
	if !ok {
		return fail("subject", fmt.Errorf("%w: not in bucket %s", ErrInvalid, BucketRevoked))
	}
	if len(data) > MaxEventBytes {
		return fail("", fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(data), MaxEventBytes))
	}
	var r Revocation
	if err := strictJSON(data, &r); err != nil {
		return fail("", err)
	}
	if err := r.check(); err != nil {
		return fail("serial", err)
	}
	if key != RevokedKey(r.Station, r.Serial) {
		return fail("station", fmt.Errorf("%w: entry of %s/%s under key %s", ErrInvalid, r.Station, r.Serial, clip(key)))
	}
	return &r, nil
}

// QueueRevocation queues r for the hub's revocations bucket.
func QueueRevocation(q *PubQueue, r *Revocation) error {
	subj, data, err := EncodeRevocation(r)
	if err != nil {
		return err
	}
	return q.Add(subj, "revoke/"+r.Station+"/"+r.Serial, data)
}

// Revocations is a station's copy of the shared deny list: it follows the
// hub's revocations bucket and keeps what it has seen in a file
// (revoked.json, atomically replaced), so that a station restarting while
// the hub is unreachable still denies every serial it knew of.
type Revocations struct {
	path string
	log  *slog.Logger

	mu sync.Mutex
	m  map[string]Revocation
	// OnChange, when set, is called (without locks held) after new
	// entries were merged, to rewrite the station's deny list.
	OnChange func()
}

// OpenRevocations loads the station's copy from dir/revoked.json.
func OpenRevocations(dir string, log *slog.Logger) (*Revocations, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Revocations{path: filepath.Join(dir, "revoked.json"), log: log, m: map[string]Revocation{}}
	data, err := os.ReadFile(r.path)
	switch {
	case err == nil:
		var list []Revocation
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("network: %s: %w", r.path, err)
		}
		for _, e := range list {
			r.m[e.Serial] = e
		}
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("network: revocations: %w", err)
	}
	return r, nil
}

// Serials returns every shared denied serial, sorted.
func (r *Revocations) Serials() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.m))
	for s := range r.m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// merge adds entries and saves the file; it reports whether any was new.
func (r *Revocations) merge(list []Revocation) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, e := range list {
		if _, ok := r.m[e.Serial]; !ok {
			r.m[e.Serial] = e
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	all := make([]Revocation, 0, len(r.m))
	for _, e := range r.m {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b Revocation) int { return strings.Compare(a.Serial, b.Serial) })
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return true, err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return true, err
	}
	return true, writeAtomic(filepath.Dir(r.path), filepath.Base(r.path), data)
}

// Merge adds entries known locally (tests, an import) as Watch does.
func (r *Revocations) Merge(list []Revocation) error {
	changed, err := r.merge(list)
	if changed && r.OnChange != nil {
		r.OnChange()
	}
	return err
}

// Watch follows the hub's revocations bucket until ctx ends, merging every
// entry (the whole bucket first, then each new one); it waits for the hub
// when it is unreachable.
func (r *Revocations) Watch(ctx context.Context, c *Conn) error {
	for ctx.Err() == nil {
		if err := r.watchOnce(ctx, c); err != nil && ctx.Err() == nil {
			r.log.Warn("following the hub's revocations; retrying", "err", err)
			if !sleepCtx(ctx, 2*time.Second) {
				break
			}
		}
	}
	return nil
}

func (r *Revocations) watchOnce(ctx context.Context, c *Conn) error {
	cons, err := c.JS.OrderedConsumer(ctx, "KV_"+BucketRevoked, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{revokedPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
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
		if len(m.Data()) == 0 {
			continue // a delete or purge marker: revocations are never undone
		}
		e, err := DecodeRevocation(m.Subject(), m.Data())
		if err != nil {
			r.log.Error("bad deny-list entry from the network; ignored", "err", err)
			continue
		}
		if err := r.Merge([]Revocation{*e}); err != nil {
			r.log.Error("saving shared deny list", "err", err)
		}
	}
}
