package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cardd/cardd/security/audit"
)

// Checkpoint is a station's statement of its audit log at one moment: how
// many records it held and the hash of the last one. Once a checkpoint has
// reached the hub (the witness), the station cannot truncate or rewrite
// the records it covers without VerifyLog noticing.
//
// Note is reserved for a signed checkpoint note: when the audit log signs
// its checkpoints, the note travels here and the verifier checks its
// signature as well; an empty Note is the plain chain head.
type Checkpoint struct {
	Station string    `json:"station"`
	Records uint64    `json:"records"`
	Head    string    `json:"head"`
	Time    time.Time `json:"time"`
	Note    string    `json:"note,omitempty"`
}

type checkpointWire struct {
	V int `json:"v"`
	Checkpoint
}

// ErrWitness: the local audit log does not contain what the hub witnessed.
var ErrWitness = errors.New("audit log does not match the hub's checkpoint")

func (cp *Checkpoint) check() error {
	if err := SiteName(cp.Station); err != nil {
		return err
	}
	if len(cp.Head) != 64 {
		return fmt.Errorf("%w: head %q is not a SHA-256 in hex", ErrInvalid, clip(cp.Head))
	}
	for _, c := range cp.Head {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: head %q is not a SHA-256 in hex", ErrInvalid, clip(cp.Head))
		}
	}
	if len(cp.Note) > MaxEventBytes/2 {
		return fmt.Errorf("%w: note of %d bytes", ErrInvalid, len(cp.Note))
	}
	return nil
}

// EncodeCheckpoint returns cp's subject and message.
func EncodeCheckpoint(cp *Checkpoint) (string, []byte, error) {
	cp.Time = cp.Time.UTC()
	if err := cp.check(); err != nil {
		return "", nil, fmt.Errorf("checkpoint: %w", err)
	}
	data, err := marshalJSON(checkpointWire{V: wireVersion, Checkpoint: *cp})
	return CheckpointSubject(cp.Station), data, err
}

// DecodeCheckpoint reads a checkpoint message of subject.
func DecodeCheckpoint(subject string, data []byte) (*Checkpoint, error) {
	fail := func(field string, err error) (*Checkpoint, error) {
		return nil, &DecodeError{Subject: subject, Field: field, Err: err}
	}
	if len(data) > MaxEventBytes {
		return fail("", fmt.Errorf("%w: %d bytes", ErrInvalid, len(data)))
	}
	var w checkpointWire
	if err := strictJSON(data, &w); err != nil {
		return fail("", err)
	}
	if w.V != wireVersion {
		return fail("v", fmt.Errorf("%w: version %d", ErrInvalid, w.V))
	}
	if err := w.check(); err != nil {
		return fail("head", err)
	}
	if CheckpointSubject(w.Station) != subject {
		return fail("station", fmt.Errorf("%w: checkpoint of %s on %s", ErrInvalid, w.Station, clip(subject)))
	}
	cp := w.Checkpoint
	return &cp, nil
}

// QueueCheckpoint queues cp for the hub.
func QueueCheckpoint(q *PubQueue, cp *Checkpoint) error {
	subj, data, err := EncodeCheckpoint(cp)
	if err != nil {
		return err
	}
	return q.Add(subj, fmt.Sprintf("ckpt/%s/%d/%s", cp.Station, cp.Records, cp.Head), data)
}

// ErrNoCheckpoint: the hub holds no checkpoint of the station.
var ErrNoCheckpoint = errors.New("the hub has no checkpoint of this station")

// LatestCheckpoint asks the hub for station's latest checkpoint.
func LatestCheckpoint(ctx context.Context, c *Conn, station string) (*Checkpoint, error) {
	subj := CheckpointSubject(station)
	m, err := c.NC.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+StreamCheckpoints+"."+subj, nil)
	if err != nil {
		return nil, fmt.Errorf("network: checkpoint of %s: %w", station, err)
	}
	if st := m.Header.Get("Status"); st != "" {
		if st == "404" {
			return nil, fmt.Errorf("network: station %s: %w", station, ErrNoCheckpoint)
		}
		return nil, fmt.Errorf("network: checkpoint of %s: hub answered %s %s", station, st, m.Header.Get("Description"))
	}
	if got := m.Header.Get(nats.JSSubject); got != "" && got != subj {
		return nil, fmt.Errorf("network: checkpoint of %s: hub sent %s", station, got)
	}
	return DecodeCheckpoint(subj, m.Data)
}

// LogCheckpoint returns the checkpoint of the audit log at path now: its
// record count and head hash (the chain verified on the way).
func LogCheckpoint(path, station string, now time.Time) (*Checkpoint, error) {
	st, err := audit.VerifyFile(path)
	if err != nil {
		return nil, fmt.Errorf("network: checkpoint of %s: %w", path, err)
	}
	return &Checkpoint{Station: station, Records: st.Records, Head: st.Head, Time: now}, nil
}

// VerifyLog checks the audit log at path against a checkpoint the hub
// witnessed: the log must verify, hold at least cp.Records records, and
// its record cp.Records must end in cp.Head. A log truncated below the
// checkpoint, or rewritten anywhere up to it, fails with ErrWitness.
func VerifyLog(path string, cp *Checkpoint) (audit.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return audit.Stats{}, err
	}
	defer f.Close()
	head := ""
	if cp.Records == 0 {
		head = audit.GenesisHash
	}
	st, err := audit.Read(f, func(r audit.Record) error {
		if r.Seq == cp.Records+1 {
			head = r.Prev
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("audit log %s: %w", path, err)
	}
	if st.Records < cp.Records {
		return st, fmt.Errorf("%w: the log has %d records, the hub witnessed %d at %s (truncated)", ErrWitness, st.Records, cp.Records, cp.Time.Format(time.RFC3339))
	}
	if st.Records == cp.Records {
		head = st.Head
	}
	if head != cp.Head {
		return st, fmt.Errorf("%w: record %d hashes to %s, the hub witnessed %s at %s (rewritten)", ErrWitness, cp.Records, head, cp.Head, cp.Time.Format(time.RFC3339))
	}
	return st, nil
}
