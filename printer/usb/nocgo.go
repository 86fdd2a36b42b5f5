//go:build !cgo

package usb

import (
	"context"
	"fmt"
)

// This file is the build without cgo: libusb cannot be reached, so List
// and Open report ErrUnavailable. Programs built with CGO_ENABLED=0 (tests
// of other packages, the emulator-only demo) still link.

// List reports ErrUnavailable: the binary was built without cgo.
func List(ctx context.Context, extraVIDs []uint16) ([]Found, error) {
	return nil, fmt.Errorf("%w: built without cgo", ErrUnavailable)
}

// Open reports ErrUnavailable: the binary was built without cgo.
func Open(ctx context.Context, sel Selector, opts Opts) (*Transport, error) {
	return nil, fmt.Errorf("usb: open %s: %w: built without cgo", sel, ErrUnavailable)
}

// Transport is an open USB printer; without cgo none can be opened.
type Transport struct{ sel Selector }

// Info returns the selector's identity.
func (t *Transport) Info() Found { return Found{VID: t.sel.VID, PID: t.sel.PID, Serial: t.sel.Serial} }

// String describes the transport.
func (t *Transport) String() string { return t.sel.String() }

// Reopen reports ErrUnavailable.
func (t *Transport) Reopen(ctx context.Context) error { return ErrUnavailable }

// Write reports ErrUnavailable.
func (t *Transport) Write(ctx context.Context, p []byte) (int, error) { return 0, ErrUnavailable }

// Read reports ErrUnavailable.
func (t *Transport) Read(ctx context.Context, p []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (t *Transport) Close() error { return nil }
