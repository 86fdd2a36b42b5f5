package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cardd/cardd/spool/jobfile"
)

// Role is what a site does in the network.
type Role string

// Roles.
const (
	// RoleFieldOffice prints temporary cards and forwards permanent
	// requests; it reads only its own events.
	RoleFieldOffice Role = "field-office"
	// RoleCentral takes permanent requests from the shared work queue and
	// publishes their outcomes; it may set up the streams.
	RoleCentral Role = "central"
)

// Valid reports whether r is a known role.
func (r Role) Valid() error {
	switch r {
	case RoleFieldOffice, RoleCentral:
		return nil
	}
	return fmt.Errorf("%w: role %q is not %q or %q", ErrInvalid, r, RoleFieldOffice, RoleCentral)
}

// Streams and key-value buckets on the hub.
const (
	// StreamRequests is the work queue of permanent requests.
	StreamRequests = "CARDD_REQUESTS"
	// StreamEvents holds the outcome events of forwarded requests.
	StreamEvents = "CARDD_EVENTS"
	// StreamCheckpoints holds each station's audit checkpoints.
	StreamCheckpoints = "CARDD_CHECKPOINTS"
	// BucketTaken records which central host took a request.
	BucketTaken = "cardd_taken"
	// BucketRevoked holds shared deny-list entries.
	BucketRevoked = "cardd_revoked"
	// BucketStations maps serial station codes to the stations (central
	// hosts and field offices) that registered them.
	BucketStations = "cardd_stations"
	// TakerConsumer is the durable pull consumer all central hosts share
	// on StreamRequests.
	TakerConsumer = "central"
)

// Subject prefixes.
const (
	subjRequests    = "cardd.req"
	subjEvents      = "cardd.evt"
	subjCheckpoints = "cardd.ckpt"
)

// ErrInvalid marks a malformed name, subject or message.
var ErrInvalid = errors.New("invalid")

// MaxSiteLen is the longest site name.
const MaxSiteLen = 32

// SiteName reports whether name is a valid site name: 1–MaxSiteLen
// characters of A–Z a–z 0–9 '_' '-', starting with a letter or digit. A
// site name is one subject token and part of consumer names and the
// site's inbox prefix.
func SiteName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: site name is empty", ErrInvalid)
	}
	if len(name) > MaxSiteLen {
		return fmt.Errorf("%w: site name of %d characters, limit %d", ErrInvalid, len(name), MaxSiteLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("%w: site name %q: only letters, digits, '_' and '-' (not first)", ErrInvalid, clip(name))
	}
	return nil
}

// JobToken is the subject token of a job id: the id with '.' written as
// '='. Job ids (jobfile rules) never contain '=', so the mapping is one to
// one.
func JobToken(id string) string { return strings.ReplaceAll(id, ".", "=") }

// JobIDOfToken reverses JobToken and checks the id.
func JobIDOfToken(tok string) (string, error) {
	id := strings.ReplaceAll(tok, "=", ".")
	if err := jobfile.ValidID(id); err != nil {
		return "", fmt.Errorf("job token %q: %w", clip(tok), err)
	}
	return id, nil
}

// RequestSubject is the subject of office's permanent request for job id.
func RequestSubject(office, id string) string {
	return subjRequests + "." + office + "." + JobToken(id)
}

// EventSubject is the subject of an event about office's job id.
func EventSubject(office, id string) string {
	return subjEvents + "." + office + "." + JobToken(id)
}

// CheckpointSubject is the subject of station's audit checkpoints.
func CheckpointSubject(station string) string { return subjCheckpoints + "." + station }

// MsgID is the JetStream message id of office's request for job id; the
// same on every re-publication.
func MsgID(office, id string) string { return office + "/" + id }

// TakenKey is the cardd_taken key of office's request for job id.
func TakenKey(office, id string) string { return office + "." + JobToken(id) }

// RevokedKey is the cardd_revoked key of serial denied by station. A
// serial's check character may be '*', which a key cannot hold; it is
// written as '_' (serials never contain '_').
func RevokedKey(station, serial string) string {
	return station + "." + strings.ReplaceAll(serial, "*", "_")
}

// EventsConsumer is the durable consumer name through which office reads
// its own events.
func EventsConsumer(office string) string { return "evt_" + office }

// InboxPrefix is the reply-subject prefix of site's connection. Each
// site's permissions allow it to subscribe under its own prefix only, so
// one site cannot read the replies (stream acknowledgements, fetched
// messages) meant for another.
func InboxPrefix(site string) string { return "_INBOX_" + site }

// parseSubject splits prefix.OFFICE.TOKEN and checks both parts.
func parseSubject(prefix, subject string) (office, id string, err error) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return "", "", fmt.Errorf("%w: subject %q is not under %s", ErrInvalid, clip(subject), prefix)
	}
	office, tok, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(tok, ".") {
		return "", "", fmt.Errorf("%w: subject %q is not %s.OFFICE.JOB", ErrInvalid, clip(subject), prefix)
	}
	if err := SiteName(office); err != nil {
		return "", "", fmt.Errorf("subject %q: %w", clip(subject), err)
	}
	id, err = JobIDOfToken(tok)
	if err != nil {
		return "", "", fmt.Errorf("subject %q: %w", clip(subject), err)
	}
	return office, id, nil
}

// ParseRequestSubject returns the office and job id of a request subject.
func ParseRequestSubject(subject string) (office, id string, err error) {
	return parseSubject(subjRequests, subject)
}

// ParseEventSubject returns the office and job id of an event subject.
func ParseEventSubject(subject string) (office, id string, err error) {
	return parseSubject(subjEvents, subject)
}

// CentralJobID is the id a forwarded request gets in a central host's
// spool: OFFICE.ID, so that two offices' equal ids never meet. When that
// is longer than a job id may be, the id is cut and the first 8 hex digits
// of its SHA-256 appended, which keeps it unique in practice and the same
// on every host.
func CentralJobID(office, id string) string {
	full := office + "." + id
	if len(full) <= jobfile.MaxIDLen {
		return full
	}
	sum := sha256.Sum256([]byte(id))
	suffix := "." + hex.EncodeToString(sum[:4])
	return full[:jobfile.MaxIDLen-len(suffix)] + suffix
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 48
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// StateDir is the network's directory inside a station's state directory
// (paths.state): the outbox, the sent list, the status log, the origins,
// the publish queue and the shared deny list live there.
func StateDir(state string) string { return filepath.Join(state, "network") }
