package ipp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// maxResponse bounds an IPP response read from a server (a CUPS server's
// list of queues with their attributes included).
const maxResponse = 8 << 20

// ParseURI checks a printer URI (ipp://HOST[:PORT]/PATH or ipps://…) and
// returns it with the HTTP URL its requests are posted to (http or https,
// port 631 when none is given).
func ParseURI(s string) (printerURI string, httpURL string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("ipp: printer URI %q: %w", s, err)
	}
	var scheme string
	switch u.Scheme {
	case "ipp":
		scheme = "http"
	case "ipps":
		scheme = "https"
	default:
		return "", "", fmt.Errorf("ipp: printer URI %q: scheme %q is not ipp or ipps", s, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", "", fmt.Errorf("ipp: printer URI %q: no host", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", fmt.Errorf("ipp: printer URI %q: want ipp://HOST[:PORT]/PATH without user, query or fragment", s)
	}
	if u.Path == "" || u.Path == "/" {
		return "", "", fmt.Errorf("ipp: printer URI %q: no queue path (CUPS queues are /printers/NAME)", s)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "631")
	}
	return s, scheme + "://" + host + u.EscapedPath(), nil
}

// client posts IPP requests to one HTTP URL.
type client struct {
	http *http.Client
	url  string
	user string
}

// transportError is a request that did not get an IPP response: the
// server was not reached, the connection broke, or the response was not
// IPP. sent says whether the request may have reached the server.
type transportError struct {
	op   goipp.Op
	sent bool
	err  error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("ipp %s: %v", e.op, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// statusError is an IPP response whose status is not successful.
type statusError struct {
	op     goipp.Op
	status goipp.Status
	msg    string // status-message, when the server sent one
}

func (e *statusError) Error() string {
	if e.msg != "" {
		return fmt.Sprintf("ipp %s: %s: %s", e.op, e.status, e.msg)
	}
	return fmt.Sprintf("ipp %s: %s", e.op, e.status)
}

// newRequest starts a request with the operation attributes every request
// carries.
func (c *client) newRequest(op goipp.Op, id uint32, printerURI string) *goipp.Message {
	m := goipp.NewRequest(goipp.DefaultVersion, op, id)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	if printerURI != "" {
		m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(printerURI)))
	}
	if c.user != "" {
		m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(c.user)))
	}
	return m
}

// do sends req, followed by doc when non-nil, and decodes the response. A
// response whose status is not successful is a *statusError carrying the
// decoded message as well.
func (c *client) do(ctx context.Context, req *goipp.Message, doc []byte) (*goipp.Message, error) {
	op := goipp.Op(req.Code)
	head, err := req.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("ipp %s: encode: %w", op, err)
	}
	body := io.Reader(bytes.NewReader(head))
	if doc != nil {
		body = io.MultiReader(body, bytes.NewReader(doc))
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	if err != nil {
		return nil, &transportError{op: op, err: err}
	}
	hreq.ContentLength = int64(len(head) + len(doc))
	hreq.Header.Set("Content-Type", goipp.ContentType)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, &transportError{op: op, sent: !isDialError(err), err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, &transportError{op: op, sent: true, err: fmt.Errorf("read response: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &transportError{op: op, sent: true, err: fmt.Errorf("HTTP %s from %s", resp.Status, c.url)}
	}
	if len(raw) > maxResponse {
		return nil, &transportError{op: op, sent: true, err: fmt.Errorf("response longer than %d bytes", maxResponse)}
	}
	m, err := decodeResponse(raw, req.RequestID)
	if err != nil {
		return nil, &transportError{op: op, sent: true, err: err}
	}
	if st := goipp.Status(m.Code); st >= 0x0100 {
		return m, &statusError{op: op, status: st, msg: firstString(m.Operation, "status-message")}
	}
	return m, nil
}

// decodeResponse decodes an IPP response and checks it answers request id.
func decodeResponse(raw []byte, id uint32) (*goipp.Message, error) {
	var m goipp.Message
	if err := m.DecodeBytes(raw); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if m.RequestID != id {
		return nil, fmt.Errorf("response to request %d, want %d", m.RequestID, id)
	}
	return &m, nil
}

// isDialError reports whether err happened before any byte was sent: the
// connection could not be made.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || strings.Contains(err.Error(), "connection refused")
}
