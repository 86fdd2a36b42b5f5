package tcp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestEchoAndTimeouts(t *testing.T) {
	ln := listen(t)
	srv := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			srv <- c
		}
	}()
	o := DefaultOpts()
	o.ReadTimeout = 50 * time.Millisecond
	c, err := Dial(context.Background(), ln.Addr().String(), &o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-srv
	defer s.Close()
	if c.String() != "tcp:"+ln.Addr().String() {
		t.Errorf("String = %q", c.String())
	}
	if _, err := c.Write(context.Background(), []byte("\x1bRsn\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := s.Read(buf)
	if string(buf[:n]) != "\x1bRsn\r" {
		t.Errorf("server got %q", buf[:n])
	}
	s.Write([]byte("OK\r"))
	n, err = c.Read(context.Background(), buf)
	if err != nil || string(buf[:n]) != "OK\r" {
		t.Errorf("read %q %v", buf[:n], err)
	}
	// Nothing to read: the transport's own timeout.
	if _, err := c.Read(context.Background(), buf); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("idle read: %v, want ErrTimeout", err)
	}
	// A shorter context deadline wins.
	c.o.ReadTimeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Read(ctx, buf); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("read past ctx deadline: %v, want ErrTimeout", err)
	}
	// Cancellation ends a blocked read promptly.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	if _, err := c.Read(ctx2, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
	// The printer goes away.
	s.Close()
	if _, err := c.Read(context.Background(), buf); !errors.Is(err, printer.ErrOffline) {
		t.Errorf("read from closed peer: %v, want ErrOffline", err)
	}
}

func TestDialRefused(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), addr, nil); !errors.Is(err, printer.ErrOffline) {
		t.Errorf("dial closed port: %v, want ErrOffline", err)
	}
}

func TestDefaultPort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Dial(ctx, "127.0.0.1", nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:9100") {
		t.Errorf("dial without port: %v", err)
	}
}

// TestExpiredContextDoesNotCutNextRead: a read ended by its context's
// deadline must not leave that context's interruption pending, to move the
// deadline of the next read into the past (which made a query right after
// a timed-out one fail at once with a timeout; seen under -race on a busy
// machine). Many rounds, since the late move is a matter of scheduling.
func TestExpiredContextDoesNotCutNextRead(t *testing.T) {
	ln := listen(t)
	srv := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			srv <- c
		}
	}()
	o := DefaultOpts()
	o.ReadTimeout = time.Hour
	c, err := Dial(context.Background(), ln.Addr().String(), &o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-srv
	defer s.Close()
	buf := make([]byte, 16)
	for i := range 300 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, err := c.Read(ctx, buf)
		cancel()
		if !errors.Is(err, printer.ErrTimeout) {
			t.Fatalf("round %d: read past its deadline: %v, want ErrTimeout", i, err)
		}
		if _, err := s.Write([]byte("OK\r")); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(context.Background(), buf)
		if err != nil || string(buf[:n]) != "OK\r" {
			t.Fatalf("round %d: the read after a timed-out one: %q, %v", i, buf[:n], err)
		}
	}
}
