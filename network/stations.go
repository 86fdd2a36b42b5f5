package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrCodeInUse: the serial station code is registered to another host.
var ErrCodeInUse = errors.New("serial station code in use by another host")

// stationRecord is the value of a registration in cardd_stations.
type stationRecord struct {
	Host string    `json:"host"`
	Site string    `json:"site,omitempty"`
	Time time.Time `json:"time"`
}

// stationsPrefix is the subject prefix of the cardd_stations bucket.
const stationsPrefix = "$KV." + BucketStations + "."

// StationCodeKey is the cardd_stations key of site's registration of
// serial station code: CODE.SITE. Keys end in the site so that a site's
// user may write only its own registrations (see PermissionsFor); the
// code's holder is the oldest registration of the code.
func StationCodeKey(code, site string) string { return code + "." + site }

// StationCodeHolder is one registration of a serial station code.
type StationCodeHolder struct {
	Code string    `json:"code"`
	Site string    `json:"site"`
	Host string    `json:"host"`
	Time time.Time `json:"time"`
	// Revision orders registrations: the lowest holds the code.
	Revision uint64 `json:"revision"`
}

// RegisterStationCode registers the serial station code of host (a
// central host's station id, a field office's site name) in the hub's
// cardd_stations bucket, so that no two stations of the network issue
// serials with the same code. Every role registers, each under its own
// key CODE.SITE; the code belongs to its oldest registration. The same
// host may register its code again (every start); a code registered
// before by another host (of any site) is refused with ErrCodeInUse,
// naming the holder, and leaves no registration behind. Two hosts
// registering one code at the same moment both write; the later one sees
// the earlier, takes its own registration back and is refused.
func RegisterStationCode(ctx context.Context, c *Conn, code, host string, now time.Time) error {
	if code == "" || strings.ContainsAny(code, ".*> \t\r\n") {
		return fmt.Errorf("network: %w: serial station code %q cannot be a key", ErrInvalid, code)
	}
	key := StationCodeKey(code, c.Site)
	mine := func(h StationCodeHolder) bool { return h.Host == host && (h.Site == "" || h.Site == c.Site) }
	inUse := func(h StationCodeHolder) error {
		return fmt.Errorf("network: %w: code %s belongs to host %s of site %s (since %s); give this host its own security.serial_station",
			ErrCodeInUse, code, h.Host, orText(h.Site, "?"), h.Time.Format(time.RFC3339))
	}
	holders, deleted, err := stationCodeEntries(ctx, c, code)
	if err != nil {
		return err
	}
	if len(holders) > 0 {
		if !mine(holders[0]) {
			return inUse(holders[0])
		}
		return nil
	}
	val, _ := json.Marshal(stationRecord{Host: host, Site: c.Site, Time: now.UTC()})
	ack, err := c.JS.Publish(ctx, stationsPrefix+key, val, jetstream.WithExpectLastSequencePerSubject(deleted[key]))
	var apiErr *jetstream.APIError
	if err != nil && !(errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)) {
		return fmt.Errorf("network: station code %s: %w", code, err)
	}
	// Written now, or by another host of this site meanwhile: who holds
	// the code?
	if holders, _, err = stationCodeEntries(ctx, c, code); err != nil {
		return err
	}
	switch {
	case len(holders) == 0:
		return fmt.Errorf("network: station code %s: the registration is not in the bucket", code)
	case mine(holders[0]):
		return nil
	}
	if ack != nil {
		// Ours came second: take it back (a tombstone, as a key-value
		// delete writes it).
		h := nats.Header{}
		h.Set("KV-Operation", "DEL")
		msg := &nats.Msg{Subject: stationsPrefix + key, Header: h}
		if _, err := c.JS.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(ack.Sequence)); err != nil {
			return fmt.Errorf("%w (and taking this host's registration back failed: %v)", inUse(holders[0]), err)
		}
	}
	return inUse(holders[0])
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// StationCodeHolders returns the registrations of serial station code,
// the holder first (oldest first). An empty code lists every code's.
func StationCodeHolders(ctx context.Context, c *Conn, code string) ([]StationCodeHolder, error) {
	out, _, err := stationCodeEntries(ctx, c, code)
	return out, err
}

// stationCodeEntries reads the registrations of code (every code's when
// empty), oldest first, and the keys whose last entry is a delete marker
// with its revision.
func stationCodeEntries(ctx context.Context, c *Conn, code string) ([]StationCodeHolder, map[string]uint64, error) {
	filters := []string{stationsPrefix + ">"}
	if code != "" {
		// CODE.SITE, and CODE alone as the first central hosts wrote it.
		filters = []string{stationsPrefix + code, stationsPrefix + code + ".*"}
	}
	var out []StationCodeHolder
	deleted := map[string]uint64{}
	err := readConsumer(ctx, c, "KV_"+BucketStations, filters, jetstream.DeliverLastPerSubjectPolicy, func(m jetstream.Msg, seq uint64) {
		key := strings.TrimPrefix(m.Subject(), stationsPrefix)
		if op := m.Headers().Get("KV-Operation"); op == "DEL" || op == "PURGE" || len(m.Data()) == 0 {
			deleted[key] = seq
			return
		}
		var rec stationRecord
		if err := json.Unmarshal(m.Data(), &rec); err != nil {
			return // not a registration this code wrote
		}
		h := StationCodeHolder{Host: rec.Host, Site: rec.Site, Time: rec.Time, Revision: seq}
		code, site, scoped := strings.Cut(key, ".")
		h.Code = code
		if scoped {
			// The key's site is the writer's (the hub's permissions
			// vouch for it); a value naming another site is forged.
			if rec.Site != site {
				return
			}
		}
		out = append(out, h)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("network: station codes: %w", err)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Revision < out[b].Revision })
	return out, deleted, nil
}
