//go:build cgo

package usb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/gousb"

	"github.com/cardd/cardd/printer"
)

// mappedError keeps both the printer sentinel and gousb's own error, so
// errors.Is matches either.
type mappedError struct {
	sentinel error
	cause    error
}

func (e *mappedError) Error() string   { return e.cause.Error() }
func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// sentinelOf returns the printer sentinel for a gousb or libusb error, or nil
// when the error has none. gousb often wraps libusb codes with %v, losing
// the chain, so its messages are matched as a last resort.
func sentinelOf(err error) error {
	if err == nil {
		return nil
	}
	var code gousb.Error
	if errors.As(err, &code) {
		switch code {
		case gousb.ErrorNoDevice:
			return printer.ErrNoDevice
		case gousb.ErrorBusy:
			return printer.ErrBusy
		case gousb.ErrorTimeout:
			return printer.ErrTimeout
		case gousb.ErrorPipe:
			return printer.ErrStall
		}
	}
	var st gousb.TransferStatus
	if errors.As(err, &st) {
		switch st {
		case gousb.TransferNoDevice:
			return printer.ErrNoDevice
		case gousb.TransferTimedOut:
			return printer.ErrTimeout
		case gousb.TransferStall:
			return printer.ErrStall
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no device"), strings.Contains(msg, "device was disconnected"):
		return printer.ErrNoDevice
	case strings.Contains(msg, "busy"):
		return printer.ErrBusy
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "timed out"):
		return printer.ErrTimeout
	case strings.Contains(msg, "pipe error"), strings.Contains(msg, "halt condition"), strings.Contains(msg, "stall"):
		return printer.ErrStall
	}
	return nil
}

// mapErr returns err wrapped so that errors.Is finds the matching printer
// sentinel (ErrNoDevice, ErrBusy, ErrTimeout, ErrStall). Errors without a
// sentinel, and errors already carrying one, are returned unchanged.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{printer.ErrNoDevice, printer.ErrBusy, printer.ErrTimeout, printer.ErrStall} {
		if errors.Is(err, s) {
			return err
		}
	}
	if s := sentinelOf(err); s != nil {
		return &mappedError{sentinel: s, cause: err}
	}
	return err
}

// transferErr maps the error of one bulk transfer. A transfer cancelled
// because the per-transfer timer fired is a timeout; one cancelled because
// the caller's context ended reports the caller's context error.
func transferErr(caller, transfer context.Context, err error) error {
	if err == nil {
		return nil
	}
	var st gousb.TransferStatus
	cancelled := errors.As(err, &st) && st == gousb.TransferCancelled
	if cancelled || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if caller.Err() != nil {
			return fmt.Errorf("%w (%v)", caller.Err(), err)
		}
		if transfer.Err() != nil {
			return &mappedError{sentinel: printer.ErrTimeout, cause: err}
		}
	}
	return mapErr(err)
}
