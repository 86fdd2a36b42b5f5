package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// codeFile is the file in a station's network state directory that
// records the serial station code the hub confirmed as the station's.
const codeFile = "station-code"

// ConfirmedCode is the hub's confirmation that a serial station code
// belongs to a station, kept in the station's network state directory: a
// station that has it may print under the code while the hub is away; one
// that has not (a new station, a changed code) must wait for the hub, or
// it could print under a code that another station holds.
type ConfirmedCode struct {
	Code string    `json:"code"`
	Host string    `json:"host"`
	Site string    `json:"site"`
	Time time.Time `json:"confirmed"`
}

// CodeConfirmed reports whether the hub confirmed code as host's (of site)
// before, as recorded in the network state directory dir by
// RecordCodeConfirmed. No record, or a record of another code, host or
// site, is false; a record that cannot be read is an error naming the
// file.
func CodeConfirmed(dir, code, host, site string) (bool, error) {
	path := filepath.Join(dir, codeFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("network: confirmed station code: %w", err)
	}
	c, err := decodeConfirmedCode(data)
	if err != nil {
		return false, fmt.Errorf("network: confirmed station code %s: %w", path, err)
	}
	return c.Code == code && c.Host == host && c.Site == site, nil
}

// decodeConfirmedCode reads a confirmed-code record (strict JSON, every
// field set).
func decodeConfirmedCode(data []byte) (ConfirmedCode, error) {
	var c ConfirmedCode
	if len(data) > MaxEventBytes {
		return c, fmt.Errorf("%w: %d bytes", ErrInvalid, len(data))
	}
	if err := strictJSON(data, &c); err != nil {
		return c, err
	}
	switch {
	case c.Code == "":
		return c, fmt.Errorf("%w: field code: empty", ErrInvalid)
	case c.Host == "":
		return c, fmt.Errorf("%w: field host: empty", ErrInvalid)
	case c.Site == "":
		return c, fmt.Errorf("%w: field site: empty", ErrInvalid)
	}
	return c, nil
}

// RecordCodeConfirmed records c (the hub just confirmed the code)
// durably in the network state directory dir.
func RecordCodeConfirmed(dir string, c ConfirmedCode) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("network: confirmed station code: %w", err)
	}
	if err := writeAtomic(dir, codeFile, append(data, '\n')); err != nil {
		return fmt.Errorf("network: confirmed station code %s: %w", filepath.Join(dir, codeFile), err)
	}
	return nil
}
