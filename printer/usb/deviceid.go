package usb

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// DeviceID is a parsed IEEE-1284 device ID: a list of "KEY:value;" pairs a
// printer returns for the printer-class GET_DEVICE_ID request.
type DeviceID struct {
	// Manufacturer is the MFG (or MANUFACTURER) field.
	Manufacturer string
	// Model is the MDL (or MODEL) field.
	Model string
	// Commands is the CMD (or COMMAND SET) field: the command languages the
	// printer speaks, comma separated as the printer sent them.
	Commands string
	// Class is the CLS (or CLASS) field, "PRINTER" for printers.
	Class string
	// Description is the DES (or DESCRIPTION) field.
	Description string
	// Serial is the SN (or SERN, SERIALNUMBER) field, which some printers add.
	Serial string
	// Fields holds every key (upper-cased, trimmed) with its value, the ones
	// above included, for vendor keys.
	Fields map[string]string
}

// Languages splits the CMD field into its command-language names.
func (d DeviceID) Languages() []string {
	var out []string
	for _, s := range strings.Split(d.Commands, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ParseDeviceID parses the text of an IEEE-1284 device ID. It is lenient as
// printers are: keys are matched case-insensitively, surrounding blanks are
// trimmed, a missing final ";" is accepted, and pairs without a ':' are
// ignored. The first occurrence of a key wins.
func ParseDeviceID(s string) DeviceID {
	d := DeviceID{Fields: map[string]string{}}
	for _, pair := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(pair, ":")
		if !ok {
			continue
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if k == "" {
			continue
		}
		if _, dup := d.Fields[k]; dup {
			continue
		}
		d.Fields[k] = v
	}
	pick := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := d.Fields[k]; ok {
				return v
			}
		}
		return ""
	}
	d.Manufacturer = pick("MFG", "MANUFACTURER")
	d.Model = pick("MDL", "MODEL")
	d.Commands = pick("CMD", "COMMAND SET")
	d.Class = pick("CLS", "CLASS")
	d.Description = pick("DES", "DESCRIPTION")
	d.Serial = pick("SN", "SERN", "SERIALNUMBER")
	return d
}

// maxDeviceID is the buffer size asked for with GET_DEVICE_ID, as printer
// backends commonly use.
const maxDeviceID = 2048

// decodeDeviceIDReply extracts the device ID text from a GET_DEVICE_ID reply.
// The reply starts with a two-byte big-endian length that counts itself;
// some printers send it little-endian, so a length that does not fit the
// reply is tried byte-swapped before giving up. Trailing NUL bytes are
// dropped.
func decodeDeviceIDReply(b []byte) (string, error) {
	if len(b) < 2 {
		return "", fmt.Errorf("device ID reply of %d bytes is shorter than its length prefix", len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	if n < 2 || n > len(b) {
		swapped := int(binary.LittleEndian.Uint16(b))
		if swapped < 2 || swapped > len(b) {
			return "", fmt.Errorf("device ID length %d (swapped %d) does not fit a %d-byte reply", n, swapped, len(b))
		}
		n = swapped
	}
	return strings.TrimRight(string(b[2:n]), "\x00"), nil
}
