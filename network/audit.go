package network

import (
	"context"
	"fmt"

	"github.com/cardd/cardd/spool"
)

// Audit joins a station's spool.Audit to the network. After the station's
// own audit log has recorded an event (Next), the event also goes, through
// the durable queue, to the hub: a voided or spoiled serial to the shared
// deny list (every role), and at a central host the outcome of a forwarded
// request to the office it came from. Queueing is local (fsync), so a hub
// that is down never holds up printing; an error here is a local disk
// error, and the spool delivers the event again later (Next treats a
// repeat as one).
type Audit struct {
	// Next is the station's own audit (the audit log and deny list).
	Next spool.Audit
	// Site is the station's site name (the revocation's station).
	Site string
	// Host is this host's name in events (a central host's station id).
	Host string
	// Role is the station's role.
	Role Role
	// Queue carries the messages to the hub.
	Queue *PubQueue
	// Origins maps central job ids to their offices (central only).
	Origins *Origins
}

var _ spool.Audit = (*Audit)(nil)

// Record implements spool.Audit.
func (a *Audit) Record(ctx context.Context, e spool.AuditEvent) error {
	if err := a.Next.Record(ctx, e); err != nil {
		return err
	}
	if (e.Kind == spool.AuditVoid || e.Kind == spool.AuditSpoiled) && e.Serial != "" {
		r := &Revocation{Serial: e.Serial, Station: a.Site, Reason: string(e.Kind) + ": " + e.Reason, Time: e.Time}
		if err := QueueRevocation(a.Queue, r); err != nil {
			return fmt.Errorf("network: revocation of %s (job %s): %w", e.Serial, e.JobID, err)
		}
	}
	if a.Role != RoleCentral || a.Origins == nil {
		return nil
	}
	origin, ok := a.Origins.Lookup(e.JobID)
	if !ok {
		return nil // a local job of the central host
	}
	ev := &Event{Office: origin.Office, Job: origin.Job, Host: a.Host, Serial: e.Serial, Reason: e.Reason, Time: e.Time}
	switch e.Kind {
	case spool.AuditPrinted:
		ev.Kind = EventPrinted
		if e.ReprintOf != "" {
			ev.Kind = EventReprinted
			ev.Reason = "reprint of " + e.ReprintOf + ": " + e.Reason
		}
	case spool.AuditUnknown:
		ev.Kind = EventUnknown
	case spool.AuditSpoiled:
		ev.Kind = EventSpoiled
	case spool.AuditVoid:
		ev.Kind = EventVoided
	default:
		return nil // issued: the printed (or unknown) event follows
	}
	if err := QueueEvent(a.Queue, ev); err != nil {
		return fmt.Errorf("network: event %s of job %s: %w", ev.Kind, e.JobID, err)
	}
	return nil
}

// QueueEvent queues an outcome event for the hub.
func QueueEvent(q *PubQueue, e *Event) error {
	data, err := EncodeEvent(e)
	if err != nil {
		return err
	}
	return q.Add(EventSubject(e.Office, e.Job), e.ID(), data)
}
