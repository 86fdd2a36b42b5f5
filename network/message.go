package network

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cardd/cardd/spool/jobfile"
)

// Message size limits. Messages from the network are outside input: the
// decoders bound everything before they allocate.
const (
	// MaxRequestHeader bounds the JSON part of a request message.
	MaxRequestHeader = 256 << 10
	// MaxPhotoBytes bounds a forwarded photo: the spool's own limit.
	MaxPhotoBytes = jobfile.DefaultMaxPhotoBytes
	// MaxRequestBytes bounds a whole request message.
	MaxRequestBytes = MaxRequestHeader + 1 + MaxPhotoBytes
	// MaxPayload is the hub's max_payload. NATS defaults to 1 MiB; a
	// request carries its photo (up to the spool's 8 MiB limit) in the
	// same message so that the work queue removes data and photo together
	// when the request is taken (an Object Store would keep the photo past
	// the take and need its own clean-up and permissions). 9 MiB holds the
	// largest request.
	MaxPayload = 9 << 20
	// MaxEventBytes bounds an event or checkpoint message.
	MaxEventBytes = 16 << 10
	// maxReason bounds an event's reason text.
	maxReason = 512
	// maxSerial bounds a serial in an event.
	maxSerial = 32
)

// wireVersion is the version of every message format here.
const wireVersion = 1

// DecodeError is a message from the network that cannot be used: it names
// the subject, the job (when known) and the field at fault.
type DecodeError struct {
	Subject string
	Job     string
	Field   string
	Err     error
}

// Error formats the problem.
func (e *DecodeError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "network message %s", clip(e.Subject))
	if e.Job != "" {
		fmt.Fprintf(&b, ": job %q", e.Job)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Request is a field office's request for a permanent card.
type Request struct {
	// Office is the forwarding office (the subject's, which the hub's
	// permissions vouch for).
	Office string
	// Job is the office's job file; its Photo names the photo.
	Job *jobfile.Job
	// Photo is the photo's bytes (nil when the job has none).
	Photo []byte
	// Sent is when the office first queued the request.
	Sent time.Time
}

type requestHeader struct {
	V           int             `json:"v"`
	Office      string          `json:"office"`
	Job         json.RawMessage `json:"job"`
	PhotoBytes  int             `json:"photo_bytes"`
	PhotoSHA256 string          `json:"photo_sha256,omitempty"`
	Sent        time.Time       `json:"sent"`
}

// EncodeRequest writes r as a request message: one line of JSON (the job
// and the photo's size and SHA-256) followed by the photo's raw bytes.
func EncodeRequest(r *Request) ([]byte, error) { return encodeRequest(r, 0) }

// encodeRequest is EncodeRequest with reserve bytes left free before the
// message (for the outbox's record header).
func encodeRequest(r *Request, reserve int) ([]byte, error) {
	if err := SiteName(r.Office); err != nil {
		return nil, err
	}
	if r.Job == nil {
		return nil, fmt.Errorf("%w: request without a job", ErrInvalid)
	}
	if err := r.Job.Validate(); err != nil {
		return nil, err
	}
	if (r.Job.Photo != "") != (r.Photo != nil) {
		return nil, fmt.Errorf("%w: job %q: photo %q and %d photo bytes do not go together", ErrInvalid, r.Job.ID, r.Job.Photo, len(r.Photo))
	}
	if len(r.Photo) > MaxPhotoBytes {
		return nil, fmt.Errorf("job %q: photo: %w: %d bytes, limit %d", r.Job.ID, jobfile.ErrTooLarge, len(r.Photo), MaxPhotoBytes)
	}
	job, err := json.Marshal(r.Job)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", r.Job.ID, err)
	}
	h := requestHeader{V: wireVersion, Office: r.Office, Job: job, PhotoBytes: len(r.Photo), Sent: r.Sent.UTC()}
	if r.Photo != nil {
		sum := sha256.Sum256(r.Photo)
		h.PhotoSHA256 = hex.EncodeToString(sum[:])
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", r.Job.ID, err)
	}
	if len(head) > MaxRequestHeader {
		return nil, fmt.Errorf("job %q: %w: request header of %d bytes, limit %d", r.Job.ID, jobfile.ErrTooLarge, len(head), MaxRequestHeader)
	}
	out := make([]byte, reserve, reserve+len(head)+1+len(r.Photo))
	out = append(append(out, head...), '\n')
	return append(out, r.Photo...), nil
}

// DecodeRequest reads a request message received on subject. It checks
// everything: the subject's office and job token, the header (strict JSON,
// version, the office and job id matching the subject), the job file by
// the spool's own rules, and the photo's size and SHA-256. The request's
// Photo shares data's memory (a received message's data is its own: the
// photo is not copied again); the caller must not change data afterwards.
func DecodeRequest(subject string, data []byte) (*Request, error) {
	office, id, err := ParseRequestSubject(subject)
	if err != nil {
		return nil, &DecodeError{Subject: subject, Field: "subject", Err: err}
	}
	fail := func(field string, err error) (*Request, error) {
		return nil, &DecodeError{Subject: subject, Job: id, Field: field, Err: err}
	}
	if len(data) > MaxRequestBytes {
		return fail("", fmt.Errorf("%w: %d bytes, limit %d", jobfile.ErrTooLarge, len(data), MaxRequestBytes))
	}
	nl := bytes.IndexByte(data[:min(len(data), MaxRequestHeader+1)], '\n')
	if nl < 0 {
		return fail("", fmt.Errorf("%w: no header line within %d bytes", ErrInvalid, MaxRequestHeader))
	}
	var h requestHeader
	if err := strictJSON(data[:nl], &h); err != nil {
		return fail("", err)
	}
	if h.V != wireVersion {
		return fail("v", fmt.Errorf("%w: version %d, want %d", ErrInvalid, h.V, wireVersion))
	}
	if h.Office != office {
		return fail("office", fmt.Errorf("%w: %q, but the subject is office %q's", ErrInvalid, clip(h.Office), office))
	}
	if len(h.Job) == 0 {
		return fail("job", fmt.Errorf("%w: missing", ErrInvalid))
	}
	job, err := jobfile.Parse("request "+subject+".json", h.Job)
	if err != nil {
		return fail("job", err)
	}
	if job.ID != id {
		return fail("job.id", fmt.Errorf("%w: %q, but the subject names job %q", ErrInvalid, job.ID, id))
	}
	photo := data[nl+1:]
	switch {
	case h.PhotoBytes < 0 || h.PhotoBytes > MaxPhotoBytes:
		return fail("photo_bytes", fmt.Errorf("%w: %d, limit %d", ErrInvalid, h.PhotoBytes, MaxPhotoBytes))
	case len(photo) != h.PhotoBytes:
		return fail("photo_bytes", fmt.Errorf("%w: header says %d bytes, message has %d", ErrInvalid, h.PhotoBytes, len(photo)))
	case (job.Photo != "") != (h.PhotoBytes > 0):
		return fail("job.photo", fmt.Errorf("%w: photo %q with %d photo bytes", ErrInvalid, job.Photo, h.PhotoBytes))
	}
	r := &Request{Office: office, Job: job, Sent: h.Sent}
	if h.PhotoBytes > 0 {
		sum := sha256.Sum256(photo)
		if hex.EncodeToString(sum[:]) != h.PhotoSHA256 {
			return fail("photo_sha256", fmt.Errorf("%w: the photo's SHA-256 does not match", ErrInvalid))
		}
		r.Photo = photo[:len(photo):len(photo)]
	} else if h.PhotoSHA256 != "" {
		return fail("photo_sha256", fmt.Errorf("%w: set without a photo", ErrInvalid))
	}
	return r, nil
}

// EventKind is what happened to a forwarded request.
type EventKind string

// Event kinds.
const (
	// EventReceived: a central host took the request into its spool.
	EventReceived EventKind = "received"
	// EventPrinted: the permanent card was printed (Serial).
	EventPrinted EventKind = "printed"
	// EventUnknown: the card's outcome is unknown; held at the centre.
	EventUnknown EventKind = "outcome-unknown"
	// EventSpoiled: a card was spoiled (Serial void); another follows.
	EventSpoiled EventKind = "spoiled"
	// EventVoided: the serial was voided.
	EventVoided EventKind = "voided"
	// EventReprinted: a reprint (Serial) replaced an earlier card
	// (Replaces).
	EventReprinted EventKind = "reprinted"
	// EventFailed: the request cannot be printed (Field and Reason say
	// why); it was terminated, not lost.
	EventFailed EventKind = "failed"
	// EventHeld: the central host holds the job for an operator (Reason
	// says why, e.g. its photo checks).
	EventHeld EventKind = "held"
)

// Valid reports whether k is a known kind.
func (k EventKind) Valid() error {
	switch k {
	case EventReceived, EventPrinted, EventUnknown, EventSpoiled, EventVoided, EventReprinted, EventFailed, EventHeld:
		return nil
	}
	return fmt.Errorf("%w: event kind %q", ErrInvalid, clip(string(k)))
}

// Event is the outcome of a forwarded request, sent back to its office. It
// carries no personal data: ids, serials, host, kind, time and reason.
type Event struct {
	Office   string    `json:"office"`
	Job      string    `json:"job"`
	Kind     EventKind `json:"kind"`
	Host     string    `json:"host"`
	Serial   string    `json:"serial,omitempty"`
	Replaces string    `json:"replaces,omitempty"`
	Field    string    `json:"field,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
}

type eventWire struct {
	V int `json:"v"`
	Event
}

// ID identifies the event for deduplication (its message id): the same
// event published again has the same ID.
func (e *Event) ID() string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%d", e.Office, e.Job, e.Kind, e.Host, e.Serial, e.Time.UnixNano())
}

// check validates every field of e.
func (e *Event) check() (string, error) {
	if err := SiteName(e.Office); err != nil {
		return "office", err
	}
	if err := jobfile.ValidID(e.Job); err != nil {
		return "job", err
	}
	if err := e.Kind.Valid(); err != nil {
		return "kind", err
	}
	if err := SiteName(e.Host); err != nil {
		return "host", err
	}
	for _, f := range []struct {
		name, v string
	}{{"serial", e.Serial}, {"replaces", e.Replaces}} {
		if err := validSerialText(f.v); err != nil {
			return f.name, err
		}
	}
	if e.Field != "" {
		if err := jobfile.ValidText(e.Field, 64); err != nil {
			return "field", err
		}
	}
	if err := jobfile.ValidText(e.Reason, maxReason); err != nil {
		return "reason", err
	}
	if e.Time.IsZero() {
		return "time", fmt.Errorf("%w: missing", ErrInvalid)
	}
	return "", nil
}

// validSerialText accepts "" or a serial's characters (0-9 A-Z '-' '*').
func validSerialText(s string) error {
	if len(s) > maxSerial {
		return fmt.Errorf("%w: %d characters, limit %d", ErrInvalid, len(s), maxSerial)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-' || c == '*' {
			continue
		}
		return fmt.Errorf("%w: %q is not a serial", ErrInvalid, clip(s))
	}
	return nil
}

// EncodeEvent writes e as an event message (JSON).
func EncodeEvent(e *Event) ([]byte, error) {
	e.Time = e.Time.UTC()
	e.Reason = fitText(e.Reason, maxReason)
	if field, err := e.check(); err != nil {
		return nil, fmt.Errorf("event for job %q: field %s: %w", e.Job, field, err)
	}
	return json.Marshal(eventWire{V: wireVersion, Event: *e})
}

// DecodeEvent reads an event message received on subject and checks that
// it concerns the subject's office and job.
func DecodeEvent(subject string, data []byte) (*Event, error) {
	office, id, err := ParseEventSubject(subject)
	if err != nil {
		return nil, &DecodeError{Subject: subject, Field: "subject", Err: err}
	}
	fail := func(field string, err error) (*Event, error) {
		return nil, &DecodeError{Subject: subject, Job: id, Field: field, Err: err}
	}
	if len(data) > MaxEventBytes {
		return fail("", fmt.Errorf("%w: %d bytes, limit %d", jobfile.ErrTooLarge, len(data), MaxEventBytes))
	}
	var w eventWire
	if err := strictJSON(data, &w); err != nil {
		return fail("", err)
	}
	if w.V != wireVersion {
		return fail("v", fmt.Errorf("%w: version %d, want %d", ErrInvalid, w.V, wireVersion))
	}
	if field, err := w.check(); err != nil {
		return fail(field, err)
	}
	if w.Office != office || w.Job != id {
		return fail("job", fmt.Errorf("%w: event for %s/%s on the subject of %s/%s", ErrInvalid, w.Office, clip(w.Job), office, id))
	}
	e := w.Event
	return &e, nil
}

// strictJSON decodes one JSON object with no unknown fields and nothing
// after it.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: json: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: json: data after the object", ErrInvalid)
	}
	return nil
}

// fitText makes s one line of at most max bytes, cut on a character
// boundary, without control characters.
func fitText(s string, max int) string {
	b := []rune{}
	n := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			r = ' '
		}
		l := len(string(r))
		if n+l > max {
			break
		}
		b = append(b, r)
		n += l
	}
	return string(b)
}

// marshalJSON encodes v without HTML escaping.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
