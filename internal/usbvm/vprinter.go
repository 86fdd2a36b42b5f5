package usbvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cardd/cardd/internal/usbredir"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
)

// VirtualPrinter is a virtual USB card printer whose brain is the printer
// emulator: a usbredir device on a Unix socket for QEMU to attach.
type VirtualPrinter struct {
	Emulator *emulator.Emulator
	Device   *usbredir.Device
	Socket   string

	brain *emulatorBrain
}

// emulatorBrain adapts an emulator to usbredir.Brain, taking a fresh
// transport after a reconnect as a USB host reopens a device that came back.
type emulatorBrain struct {
	e  *emulator.Emulator
	mu sync.Mutex
	t  printer.Transport
}

func (b *emulatorBrain) cur() printer.Transport {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.t
}

func (b *emulatorBrain) Write(ctx context.Context, p []byte) (int, error) {
	return b.cur().Write(ctx, p)
}

// Read reads from the current transport. A transport that failed because
// the link dropped while a newer one was already taken (the device came
// back in between) is not reported: the caller reads again, from the new
// one, instead of unplugging the device a second time.
func (b *emulatorBrain) Read(ctx context.Context, p []byte) (int, error) {
	t := b.cur()
	n, err := t.Read(ctx, p)
	if err != nil && errors.Is(err, printer.ErrNoDevice) && b.cur() != t {
		return n, nil
	}
	return n, err
}

func (b *emulatorBrain) reconnect() {
	b.e.Reconnect()
	b.mu.Lock()
	b.t = b.e.Transport()
	b.mu.Unlock()
}

// NewVirtualPrinter builds a virtual printer. A disconnect of the emulator
// (its DisconnectAtByte fault, or Emulator.Disconnect) unplugs the USB
// device; it comes back after replugAfter (0: never), with the emulator
// reconnected.
func NewVirtualPrinter(id usbredir.Identity, e *emulator.Emulator, socket string, replugAfter time.Duration, log *slog.Logger) *VirtualPrinter {
	b := &emulatorBrain{e: e, t: e.Transport()}
	d := usbredir.New(usbredir.Config{
		Identity:    id,
		Brain:       b,
		Log:         log,
		ReplugAfter: replugAfter,
		OnUnplug:    e.Disconnect,
		OnReplug:    b.reconnect,
	})
	return &VirtualPrinter{Emulator: e, Device: d, Socket: socket, brain: b}
}

// Start listens on the socket and serves QEMU in the background until ctx
// ends; it returns once the socket accepts connections. The returned
// channel yields the server's error when it stops.
func (vp *VirtualPrinter) Start(ctx context.Context) (<-chan error, error) {
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- vp.Device.ListenAndServe(ctx, vp.Socket, ready) }()
	select {
	case <-ready:
		return errc, nil
	case err := <-errc:
		return errc, fmt.Errorf("usbvm: virtual printer on %s: %w", vp.Socket, err)
	}
}
