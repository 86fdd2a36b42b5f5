package ipp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/cardd/cardd/printer"
)

// Queue is one print queue a CUPS server lists.
type Queue struct {
	// Name is the queue's name; URI its printer URI, to put in a printer's
	// connection (ipp://HOST:PORT/printers/NAME).
	Name, URI string
	// MakeModel is the queue's driver's name for the printer; Info its
	// description; DeviceURI where CUPS sends its jobs (socket://…,
	// usb://…).
	MakeModel, Info, DeviceURI string
	// State is idle, processing or stopped; Reasons its
	// printer-state-reasons keywords.
	State   string
	Reasons []string
	// Accepting says whether the queue accepts jobs.
	Accepting bool
}

// LocalSocket is where Debian's cupsd listens locally.
const LocalSocket = "/run/cups/cups.sock"

// LocalServer returns the CUPS server cardd asks for local queues, as CUPS
// clients choose it: $CUPS_SERVER when set (HOST[:PORT] or the path of a
// local socket), else the local socket when it exists, else localhost:631.
// getenv nil means os.Getenv.
func LocalServer(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if s := strings.TrimSpace(getenv("CUPS_SERVER")); s != "" {
		return s
	}
	if _, err := os.Stat(LocalSocket); err == nil {
		return LocalSocket
	}
	return "localhost:631"
}

// serverClient returns the client for a CUPS server given as HOST[:PORT]
// (port 631 by default) or as an absolute socket path.
func serverClient(server string) (client, string, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if strings.HasPrefix(server, "/") {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", server)
		}
		return client{http: &http.Client{Transport: tr}, url: "http://localhost/", user: "cardd"}, "localhost", nil
	}
	host := server
	if _, _, err := net.SplitHostPort(server); err != nil {
		host = net.JoinHostPort(strings.Trim(server, "[]"), "631")
	}
	if h, p, err := net.SplitHostPort(host); err != nil || h == "" || p == "" {
		return client{}, "", fmt.Errorf("ipp: CUPS server %q: want HOST[:PORT] or a socket path", server)
	}
	return client{http: &http.Client{Transport: tr}, url: "http://" + host + "/", user: "cardd"}, host, nil
}

// ListQueues asks the CUPS server (HOST[:PORT] or a socket path; see
// LocalServer) for its print queues with CUPS-Get-Printers. A server that
// cannot be reached is an error matching printer.ErrOffline.
func ListQueues(ctx context.Context, server string) ([]Queue, error) {
	c, host, err := serverClient(server)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req := c.newRequest(goipp.OpCupsGetPrinters, 1, "")
	req.Operation.Add(requested([]string{"printer-name", "printer-uri-supported", "printer-make-and-model", "printer-info",
		"device-uri", "printer-state", "printer-state-reasons", "printer-is-accepting-jobs"}))
	m, err := c.do(ctx, req, nil)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			if se.status == goipp.StatusErrorNotFound {
				return nil, nil // CUPS says not-found when it has no queue
			}
			return nil, fmt.Errorf("CUPS server %s: %w", server, err)
		}
		return nil, fmt.Errorf("%w: CUPS server %s: %w", printer.ErrOffline, server, err)
	}
	var qs []Queue
	for _, g := range m.Groups {
		if g.Tag != goipp.TagPrinterGroup {
			continue
		}
		p := parsePrinter(g.Attrs)
		q := Queue{Name: p.name, URI: p.uri, MakeModel: p.makeModel, Info: p.info, DeviceURI: firstString(g.Attrs, "device-uri"),
			State: stateName(p.state), Reasons: p.reasons, Accepting: p.accepting}
		switch {
		case strings.HasPrefix(server, "/"):
			// Over the local socket CUPS names itself localhost
			// without a port; cardd connects over TCP.
			q.URI = "ipp://localhost:631/printers/" + q.Name
		case q.URI == "":
			q.URI = "ipp://" + host + "/printers/" + q.Name
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// CheckCard reads the queue and says whether it could print a card of
// geometry g (two-sided when duplex): a raster format, the resolution,
// CR80 media and sides. It sends no job. The error matches
// printer.ErrUnsupported when the queue cannot take such a card, and
// printer.ErrOffline when it cannot be reached.
func (d *Dev) CheckCard(ctx context.Context, g printer.Geometry, duplex bool) error {
	p, err := d.getPrinter(ctx, printerAttributes)
	if err != nil {
		return err
	}
	c := &printer.Card{Geometry: g}
	if duplex {
		c.Back = &printer.Side{}
	}
	pl, err := planJob(&p, c)
	if err != nil {
		return err
	}
	d.log.Debug("the queue can take a card", "format", pl.setup.format, "page_dots", fmt.Sprintf("%dx%d", pl.setup.width, pl.setup.height), "sides", pl.sides)
	return nil
}
