package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ConnKind is the kind of a printer connection.
type ConnKind string

// The connection kinds.
const (
	ConnUSB      ConnKind = "usb"
	ConnTCP      ConnKind = "tcp"
	ConnEmulator ConnKind = "emulator"
	// ConnIPP is an IPP print queue (ipp:// or ipps://), driven by the
	// ipp driver through the queue's own (vendor) driver.
	ConnIPP ConnKind = "ipp"
)

// Connection is a parsed printer connection string.
type Connection struct {
	// Kind is usb, tcp, emulator or ipp.
	Kind ConnKind
	// VendorID and ProductID select a USB device; 0 matches any.
	VendorID, ProductID uint16
	// Serial selects a USB device by its serial number; empty matches any.
	Serial string
	// Address is "host:port" of a network printer.
	Address string
	// URI is the printer URI of an IPP queue, as given
	// (ipp://HOST[:PORT]/PATH or ipps://…).
	URI string
}

// String formats the connection in the form ParseConnection reads.
func (c Connection) String() string {
	switch c.Kind {
	case ConnUSB:
		switch {
		case c.VendorID != 0 && c.Serial != "":
			return fmt.Sprintf("usb:%04x:%04x:%s", c.VendorID, c.ProductID, c.Serial)
		case c.VendorID != 0:
			return fmt.Sprintf("usb:%04x:%04x", c.VendorID, c.ProductID)
		case c.Serial != "":
			return "usb:" + c.Serial
		}
		return "usb"
	case ConnTCP:
		return "tcp:" + c.Address
	case ConnIPP:
		return c.URI
	}
	return string(c.Kind)
}

// ParseConnection parses a printer connection string:
//
//	usb                       the first supported USB printer found
//	usb:SERIAL                the USB printer with that serial number
//	usb:VID:PID               the first USB device with those ids (hex)
//	usb:VID:PID:SERIAL        that device with that serial number
//	tcp:HOST:PORT             a network printer's raw port (often 9100)
//	emulator                  the in-process printer emulator
//	ipp://HOST[:PORT]/PATH    an IPP print queue (CUPS: /printers/NAME,
//	ipps://HOST[:PORT]/PATH   port 631 by default), printed through with
//	                          driver "ipp"
func ParseConnection(s string) (Connection, error) {
	kind, rest, hasRest := strings.Cut(s, ":")
	switch kind {
	case "ipp", "ipps":
		if err := checkIPPURI(s); err != nil {
			return Connection{}, err
		}
		return Connection{Kind: ConnIPP, URI: s}, nil
	}
	switch ConnKind(kind) {
	case ConnEmulator:
		if hasRest {
			return Connection{}, fmt.Errorf("%q: emulator takes no arguments", s)
		}
		return Connection{Kind: ConnEmulator}, nil
	case ConnUSB:
		c := Connection{Kind: ConnUSB}
		if !hasRest {
			return c, nil
		}
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			c.Serial = parts[0]
		case 2, 3:
			var err error
			if c.VendorID, err = parseUSBID(parts[0]); err != nil {
				return Connection{}, fmt.Errorf("%q: vendor id: %w", s, err)
			}
			if c.ProductID, err = parseUSBID(parts[1]); err != nil {
				return Connection{}, fmt.Errorf("%q: product id: %w", s, err)
			}
			if len(parts) == 3 {
				c.Serial = parts[2]
			}
		default:
			return Connection{}, fmt.Errorf("%q: want usb, usb:SERIAL, usb:VID:PID or usb:VID:PID:SERIAL", s)
		}
		if hasRest && len(parts) != 2 && c.Serial == "" {
			return Connection{}, fmt.Errorf("%q: empty serial number", s)
		}
		if err := checkSerial(c.Serial); err != nil {
			return Connection{}, fmt.Errorf("%q: %w", s, err)
		}
		return c, nil
	case ConnTCP:
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" {
			return Connection{}, fmt.Errorf("%q: want tcp:HOST:PORT", s)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Connection{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
		}
		return Connection{Kind: ConnTCP, Address: net.JoinHostPort(host, port)}, nil
	}
	return Connection{}, fmt.Errorf("%q: want usb[:…], tcp:HOST:PORT, ipp://HOST[:PORT]/printers/NAME or emulator", s)
}

// checkIPPURI checks an IPP printer URI: ipp or ipps, a host, an optional
// port from 1 to 65535, a queue path, and no user, query or fragment.
func checkIPPURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: not a URI: %w", s, err)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q: want %s://HOST[:PORT]/printers/NAME", s, u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%q: empty port", s)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q: an IPP queue URI has no user, query or fragment", s)
	}
	if u.Path == "" || u.Path == "/" {
		return fmt.Errorf("%q: no queue path (a CUPS queue is /printers/NAME)", s)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%q: space or control character", s)
		}
	}
	return nil
}

// parseUSBID parses a 4-digit hexadecimal USB id, with or without 0x.
func parseUSBID(s string) (uint16, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) != 4 {
		return 0, fmt.Errorf("%q is not 4 hex digits", s)
	}
	n, err := strconv.ParseUint(h, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not 4 hex digits", s)
	}
	if n == 0 {
		return 0, errors.New("id 0000 is not a device id")
	}
	return uint16(n), nil
}

// checkSerial rejects serial numbers no USB device reports.
func checkSerial(s string) error {
	if len(s) > 126 {
		return errors.New("serial number longer than 126 characters")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("serial number %q has a space or control character", s)
		}
	}
	return nil
}
