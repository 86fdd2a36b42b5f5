// Package tcp is the printer.Transport for network-attached card printers
// reached over a raw TCP socket (the "port 9100" or JetDirect convention):
// the bytes of the command language go as they are, replies come back on
// the same connection.
//
// Every Write and Read is bounded by the earlier of its context's deadline
// and the transport's own timeout; a timeout is reported as
// printer.ErrTimeout and a refused, reset or closed connection as
// printer.ErrOffline, both wrapped with the address.
package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/cardd/cardd/printer"
)

// DefaultPort is the raw printing port.
const DefaultPort = "9100"

// Opts configure a connection.
type Opts struct {
	// DialTimeout bounds connecting. Default 10 s.
	DialTimeout time.Duration
	// WriteTimeout bounds one Write (all its bytes). Default 30 s.
	WriteTimeout time.Duration
	// ReadTimeout bounds one Read's wait for reply bytes. Default 30 s.
	ReadTimeout time.Duration
	// Now is the clock deadlines are computed from; nil means time.Now.
	Now func() time.Time
}

// DefaultOpts returns the default timeouts.
func DefaultOpts() Opts {
	return Opts{DialTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, ReadTimeout: 30 * time.Second}
}

// Conn is a TCP connection to one printer.
type Conn struct {
	c    net.Conn
	addr string
	o    Opts
}

var _ printer.Transport = (*Conn)(nil)

// Dial connects to addr ("host" or "host:port"; the port defaults to
// 9100) with opts (nil for DefaultOpts).
func Dial(ctx context.Context, addr string, opts *Opts) (*Conn, error) {
	o := DefaultOpts()
	if opts != nil {
		d := o
		o = *opts
		if o.DialTimeout <= 0 {
			o.DialTimeout = d.DialTimeout
		}
		if o.WriteTimeout <= 0 {
			o.WriteTimeout = d.WriteTimeout
		}
		if o.ReadTimeout <= 0 {
			o.ReadTimeout = d.ReadTimeout
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, DefaultPort)
	}
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp %s: dial: %w", addr, mapErr(err))
	}
	return NewConn(c, addr, &o), nil
}

// NewConn wraps an established connection (tests, or a caller's own
// dialer). opts must be complete (see Dial).
func NewConn(c net.Conn, addr string, opts *Opts) *Conn {
	o := *opts
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Conn{c: c, addr: addr, o: o}
}

// String returns "tcp:host:port".
func (c *Conn) String() string { return "tcp:" + c.addr }

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// deadline returns the earlier of ctx's deadline and now+timeout.
func (c *Conn) deadline(ctx context.Context, timeout time.Duration) time.Time {
	d := c.o.Now().Add(timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

// Write sends all of p.
func (c *Conn) Write(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("tcp %s: write: %w", c.addr, mapErr(err))
	}
	if err := c.c.SetWriteDeadline(c.deadline(ctx, c.o.WriteTimeout)); err != nil {
		return 0, fmt.Errorf("tcp %s: %w", c.addr, mapErr(err))
	}
	defer interrupt(ctx, c.c.SetWriteDeadline)()
	n, err := c.c.Write(p)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return n, fmt.Errorf("tcp %s: write after %d of %d bytes: %w", c.addr, n, len(p), mapErr(err))
	}
	return n, nil
}

// Read waits for reply bytes.
func (c *Conn) Read(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("tcp %s: read: %w", c.addr, mapErr(err))
	}
	if err := c.c.SetReadDeadline(c.deadline(ctx, c.o.ReadTimeout)); err != nil {
		return 0, fmt.Errorf("tcp %s: %w", c.addr, mapErr(err))
	}
	defer interrupt(ctx, c.c.SetReadDeadline)()
	n, err := c.c.Read(p)
	if err != nil && n == 0 {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return 0, fmt.Errorf("tcp %s: read: %w", c.addr, mapErr(err))
	}
	return n, nil
}

// interrupt makes the operation in progress end when ctx ends, by moving
// its deadline (set) into the past, and returns the function that ends
// this arrangement. When ctx ended as the operation returned, the deadline
// may be being moved at that very moment: the returned function then waits
// for it, so a late move cannot cut short the next operation (a query that
// timed out would otherwise make the following read fail at once with a
// timeout of its own).
func interrupt(ctx context.Context, set func(time.Time) error) func() {
	moved := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(moved)
		set(time.Unix(1, 0))
	})
	return func() {
		if !stop() {
			<-moved
		}
	}
}

// mapErr maps network errors to the printer sentinels, keeping the cause.
func mapErr(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %w", printer.ErrTimeout, err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%w: %w", printer.ErrOffline, err)
	}
	return fmt.Errorf("%w: %w", printer.ErrOffline, err)
}
