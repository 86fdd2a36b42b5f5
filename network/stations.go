package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrCodeInUse: the serial station code is registered to another host.
var ErrCodeInUse = errors.New("serial station code in use by another host")

// stationRecord is the value of a code in cardd_stations.
type stationRecord struct {
	Host string    `json:"host"`
	Time time.Time `json:"time"`
}

// RegisterStationCode registers the serial station code of central host
// host in the hub's cardd_stations bucket with a create-only write, so
// that no two hosts of the facility issue serials with the same code.
// The same host may register its code again (every start); a code
// registered to another host is refused with ErrCodeInUse.
func RegisterStationCode(ctx context.Context, c *Conn, code, host string, now time.Time) error {
	kv, err := c.JS.KeyValue(ctx, BucketStations)
	if err != nil {
		return fmt.Errorf("network: station code %s: %w", code, err)
	}
	val, _ := json.Marshal(stationRecord{Host: host, Time: now.UTC()})
	_, err = kv.Create(ctx, code, val)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("network: station code %s: %w", code, err)
	}
	e, err := kv.Get(ctx, code)
	if err != nil {
		return fmt.Errorf("network: station code %s: %w", code, err)
	}
	var rec stationRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return fmt.Errorf("network: station code %s: registration unreadable: %w", code, err)
	}
	if rec.Host != host {
		return fmt.Errorf("network: %w: code %s belongs to host %s (since %s); give this host its own security.serial_station", ErrCodeInUse, code, rec.Host, rec.Time.Format(time.RFC3339))
	}
	return nil
}
