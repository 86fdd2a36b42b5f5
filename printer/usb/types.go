package usb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cardd/cardd/printer"
)

// ErrUnavailable reports that this machine has no usable USB subsystem
// (libusb could not start, typically because there is no usbfs), or that
// the binary was built without cgo.
var ErrUnavailable = errors.New("usb: no USB subsystem available")

// ErrClosed is returned by operations on a closed Transport, and by a
// transfer that Close interrupted.
var ErrClosed = errors.New("usb: transport closed")

var _ printer.Transport = (*Transport)(nil)

// Vendor IDs of the printer families cardd drives.
const (
	VendorEvolis   uint16 = 0x0F49
	VendorMagicard uint16 = 0x0C1F
)

// USB printer class codes.
const (
	classPrinter       = 7
	subclassPrinter    = 1
	protocolIPPOverUSB = 4
)

// Found is one printer interface found on the bus.
type Found struct {
	VID, PID     uint16
	Bus, Address int
	// Manufacturer, Product and Serial are the device's string descriptors
	// (empty when the device has none or they could not be read).
	Manufacturer, Product, Serial string
	// Config, Interface and Alt locate the printer-class interface.
	Config, Interface, Alt int
	// In and Out are the bulk endpoint addresses (0x81, 0x02 …).
	In, Out int
	// DeviceID is the raw IEEE-1284 device ID; ID is its parsed form.
	DeviceID string
	ID       DeviceID
	// Err records why a string or the device ID could not be read; the
	// device is still listed.
	Err string
}

// Selector chooses the device Open opens.
type Selector struct {
	// VID is the vendor ID; required.
	VID uint16
	// PID is the product ID; 0 accepts any product of the vendor that has a
	// printer-class interface.
	PID uint16
	// Serial is the iSerialNumber string; empty accepts any, but then
	// exactly one device may match.
	Serial string
}

// String formats the selector as "usb:0f49:3e00:SERIAL".
func (s Selector) String() string {
	str := fmt.Sprintf("usb:%04x:%04x", s.VID, s.PID)
	if s.Serial != "" {
		str += ":" + s.Serial
	}
	return str
}

// Opts tunes Open. The zero value of a field means its default.
type Opts struct {
	// ClaimAttempts is how many times claiming a busy interface is tried
	// (default 10).
	ClaimAttempts int
	// ClaimInterval is the wait between claim attempts (default 1 s).
	ClaimInterval time.Duration
	// ChunkSize is the largest single bulk OUT transfer (default 64 KiB).
	ChunkSize int
	// WriteTimeout bounds each bulk OUT transfer (default 15 s).
	WriteTimeout time.Duration
	// ReadTimeout bounds a Read that receives nothing (default 30 s).
	ReadTimeout time.Duration
	// ControlTimeout bounds control requests such as GET_DEVICE_ID
	// (default 5 s).
	ControlTimeout time.Duration
	// Sleep waits d or until ctx ends; tests inject it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives open/claim/reconnect events; default discards.
	Log *slog.Logger
}

// DefaultOpts returns the defaults Open uses for zero fields.
func DefaultOpts() Opts {
	return Opts{
		ClaimAttempts:  10,
		ClaimInterval:  time.Second,
		ChunkSize:      64 << 10,
		WriteTimeout:   15 * time.Second,
		ReadTimeout:    30 * time.Second,
		ControlTimeout: 5 * time.Second,
		Sleep:          sleepCtx,
		Log:            slog.New(slog.DiscardHandler),
	}
}

func (o Opts) withDefaults() Opts {
	d := DefaultOpts()
	if o.ClaimAttempts > 0 {
		d.ClaimAttempts = o.ClaimAttempts
	}
	if o.ClaimInterval > 0 {
		d.ClaimInterval = o.ClaimInterval
	}
	if o.ChunkSize > 0 {
		d.ChunkSize = o.ChunkSize
	}
	if o.WriteTimeout > 0 {
		d.WriteTimeout = o.WriteTimeout
	}
	if o.ReadTimeout > 0 {
		d.ReadTimeout = o.ReadTimeout
	}
	if o.ControlTimeout > 0 {
		d.ControlTimeout = o.ControlTimeout
	}
	if o.Sleep != nil {
		d.Sleep = o.Sleep
	}
	if o.Log != nil {
		d.Log = o.Log
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func wantVendor(vid uint16, extra []uint16) bool {
	return vid == VendorEvolis || vid == VendorMagicard || slices.Contains(extra, vid)
}

// claimWithRetry calls claim until it succeeds, fails with something other
// than ErrBusy, the attempts run out or ctx ends.
func claimWithRetry(ctx context.Context, o Opts, log *slog.Logger, claim func() error) error {
	var err error
	for attempt := 1; attempt <= o.ClaimAttempts; attempt++ {
		if err = claim(); err == nil || !errors.Is(err, printer.ErrBusy) {
			return err
		}
		log.Info("usb: interface busy, retrying", "attempt", attempt, "of", o.ClaimAttempts)
		if attempt == o.ClaimAttempts {
			break
		}
		if serr := o.Sleep(ctx, o.ClaimInterval); serr != nil {
			return fmt.Errorf("%w (last claim error: %v)", serr, err)
		}
	}
	return fmt.Errorf("still busy after %d attempts: %w", o.ClaimAttempts, err)
}
