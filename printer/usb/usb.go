//go:build cgo

package usb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/google/gousb"

	"github.com/cardd/cardd/printer"
)

// newContext starts libusb, turning gousb's panic on failure into
// ErrUnavailable.
func newContext() (c *gousb.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			c = nil
			err = fmt.Errorf("%w: libusb init: %v", ErrUnavailable, r)
		}
	}()
	return gousb.NewContext(), nil
}

// printerIface is the location of a printer-class interface and its bulk
// endpoints within a device's descriptors.
type printerIface struct {
	cfgNum, cfgIndex, iface, alt int
	in, out                      gousb.EndpointDesc
}

// findPrinterIface returns the first printer-class interface (IPP-over-USB
// excluded) with a bulk IN and a bulk OUT endpoint, scanning configurations
// in number order.
func findPrinterIface(desc *gousb.DeviceDesc) (printerIface, bool) {
	cfgs := make([]int, 0, len(desc.Configs))
	for n := range desc.Configs {
		cfgs = append(cfgs, n)
	}
	sort.Ints(cfgs)
	for idx, n := range cfgs {
		cfg := desc.Configs[n]
		for _, intf := range cfg.Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class != classPrinter {
					continue
				}
				if alt.SubClass == subclassPrinter && alt.Protocol == protocolIPPOverUSB {
					continue
				}
				var pi printerIface
				var haveIn, haveOut bool
				addrs := make([]int, 0, len(alt.Endpoints))
				for a := range alt.Endpoints {
					addrs = append(addrs, int(a))
				}
				sort.Ints(addrs)
				for _, a := range addrs {
					ep := alt.Endpoints[gousb.EndpointAddress(a)]
					if ep.TransferType != gousb.TransferTypeBulk {
						continue
					}
					if ep.Direction == gousb.EndpointDirectionIn && !haveIn {
						pi.in, haveIn = ep, true
					}
					if ep.Direction == gousb.EndpointDirectionOut && !haveOut {
						pi.out, haveOut = ep, true
					}
				}
				if haveIn && haveOut {
					pi.cfgNum, pi.cfgIndex, pi.iface, pi.alt = n, idx, alt.Number, alt.Alternate
					return pi, true
				}
			}
		}
	}
	return printerIface{}, false
}

// readDeviceID asks the printer-class interface for its IEEE-1284 device ID.
func readDeviceID(dev *gousb.Device, pi printerIface) (string, error) {
	buf := make([]byte, maxDeviceID)
	// Class request, device-to-host, recipient interface: GET_DEVICE_ID.
	n, err := dev.Control(0xA1, 0, uint16(pi.cfgIndex), uint16(pi.iface<<8|pi.alt), buf)
	if err != nil {
		return "", fmt.Errorf("GET_DEVICE_ID: %w", mapErr(err))
	}
	id, err := decodeDeviceIDReply(buf[:n])
	if err != nil {
		return "", fmt.Errorf("GET_DEVICE_ID: %w", err)
	}
	return id, nil
}

// List enumerates the printers on the USB bus: devices of the Evolis or
// Magicard vendor IDs, or one of extraVIDs, that have a printer-class
// interface. Devices are opened briefly to read their strings and device
// ID; a device that cannot be read is still listed with Err set. The result
// is sorted by bus and address. List returns an error matching
// ErrUnavailable when the machine has no USB subsystem.
func List(ctx context.Context, extraVIDs []uint16) ([]Found, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	uctx, err := newContext()
	if err != nil {
		return nil, err
	}
	defer uctx.Close()
	ifaces := map[*gousb.DeviceDesc]printerIface{}
	devs, err := uctx.OpenDevices(func(desc *gousb.DeviceDesc) bool {
		if !wantVendor(uint16(desc.Vendor), extraVIDs) {
			return false
		}
		pi, ok := findPrinterIface(desc)
		if ok {
			ifaces[desc] = pi
		}
		return ok
	})
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	var found []Found
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d.ControlTimeout = DefaultOpts().ControlTimeout
		pi := ifaces[d.Desc]
		f := Found{
			VID: uint16(d.Desc.Vendor), PID: uint16(d.Desc.Product),
			Bus: d.Desc.Bus, Address: d.Desc.Address,
			Config: pi.cfgNum, Interface: pi.iface, Alt: pi.alt,
			In: int(pi.in.Address), Out: int(pi.out.Address),
		}
		var errs []error
		var serr error
		if f.Manufacturer, serr = d.Manufacturer(); serr != nil {
			errs = append(errs, fmt.Errorf("manufacturer: %w", mapErr(serr)))
		}
		if f.Product, serr = d.Product(); serr != nil {
			errs = append(errs, fmt.Errorf("product: %w", mapErr(serr)))
		}
		if f.Serial, serr = d.SerialNumber(); serr != nil {
			errs = append(errs, fmt.Errorf("serial: %w", mapErr(serr)))
		}
		if f.DeviceID, serr = readDeviceID(d, pi); serr != nil {
			errs = append(errs, serr)
		}
		f.ID = ParseDeviceID(f.DeviceID)
		if len(errs) > 0 {
			f.Err = errors.Join(errs...).Error()
		}
		found = append(found, f)
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Bus != found[j].Bus {
			return found[i].Bus < found[j].Bus
		}
		return found[i].Address < found[j].Address
	})
	if err != nil && len(found) == 0 {
		return nil, fmt.Errorf("usb: enumerate: %w", mapErr(err))
	}
	return found, nil
}

// Transport is an open USB printer. It implements printer.Transport and is
// safe for one writer and one reader at a time (a Write and a Read may run
// concurrently).
type Transport struct {
	sel  Selector
	opts Opts
	log  *slog.Logger

	wmu, rmu sync.Mutex // serialise writers and readers

	// life ends when Close is called; every transfer is bound to it so
	// Close never waits on a transfer the device does not finish.
	life    context.Context
	endLife context.CancelFunc

	mu      sync.Mutex // guards the fields below
	conn    *conn      // nil while the device is gone
	closed  bool
	pending []byte // bytes read from the device and not yet returned
	desc    string
}

// conn is one opened device with its claimed interface.
type conn struct {
	uctx  *gousb.Context
	dev   *gousb.Device
	cfg   *gousb.Config
	intf  *gousb.Interface
	in    *gousb.InEndpoint
	out   *gousb.OutEndpoint
	found Found
}

// Open finds the device sel names and claims its printer interface. See
// the package documentation for the reconnection rules.
func Open(ctx context.Context, sel Selector, opts Opts) (*Transport, error) {
	if sel.VID == 0 {
		return nil, fmt.Errorf("usb: open %s: vendor ID is required", sel)
	}
	o := opts.withDefaults()
	t := &Transport{sel: sel, opts: o, log: o.Log.With("printer", sel.String()), desc: sel.String()}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.life, t.endLife = context.WithCancel(context.Background())
	t.conn = c
	return t, nil
}

// dial opens the selected device with a fresh libusb context.
func (t *Transport) dial(ctx context.Context) (*conn, error) {
	uctx, err := newContext()
	if err != nil {
		return nil, fmt.Errorf("usb: open %s: %w", t.sel, err)
	}
	c, err := t.dialWith(ctx, uctx)
	if err != nil {
		uctx.Close()
		return nil, err
	}
	return c, nil
}

func (t *Transport) dialWith(ctx context.Context, uctx *gousb.Context) (*conn, error) {
	sel := t.sel
	ifaces := map[*gousb.DeviceDesc]printerIface{}
	devs, enumErr := uctx.OpenDevices(func(desc *gousb.DeviceDesc) bool {
		if uint16(desc.Vendor) != sel.VID || (sel.PID != 0 && uint16(desc.Product) != sel.PID) {
			return false
		}
		pi, ok := findPrinterIface(desc)
		if ok {
			ifaces[desc] = pi
		}
		return ok
	})
	var chosen *gousb.Device
	var serials []string
	for _, d := range devs {
		d.ControlTimeout = t.opts.ControlTimeout
		s, err := d.SerialNumber()
		if err != nil {
			t.log.Debug("usb: cannot read serial", "device", d.String(), "err", err)
		}
		serials = append(serials, s)
		if chosen == nil && (sel.Serial == "" || s == sel.Serial) {
			chosen = d
			continue
		}
		d.Close()
	}
	if chosen == nil {
		if len(devs) == 0 && enumErr != nil {
			return nil, fmt.Errorf("usb: open %s: %w", sel, errors.Join(printer.ErrNoDevice, mapErr(enumErr)))
		}
		return nil, fmt.Errorf("usb: open %s: no matching device (serials seen %q): %w", sel, serials, printer.ErrNoDevice)
	}
	if sel.Serial == "" && len(devs) > 1 {
		chosen.Close()
		return nil, fmt.Errorf("usb: open %s: %d identical devices (serials %q), choose one by serial", sel, len(devs), serials)
	}
	pi := ifaces[chosen.Desc]
	c := &conn{uctx: uctx, dev: chosen}
	c.found = Found{
		VID: uint16(chosen.Desc.Vendor), PID: uint16(chosen.Desc.Product),
		Bus: chosen.Desc.Bus, Address: chosen.Desc.Address,
		Config: pi.cfgNum, Interface: pi.iface, Alt: pi.alt,
		In: int(pi.in.Address), Out: int(pi.out.Address),
	}
	c.found.Serial, _ = chosen.SerialNumber()
	c.found.Manufacturer, _ = chosen.Manufacturer()
	c.found.Product, _ = chosen.Product()
	if id, err := readDeviceID(chosen, pi); err == nil {
		c.found.DeviceID, c.found.ID = id, ParseDeviceID(id)
	} else {
		c.found.Err = err.Error()
	}
	if err := chosen.SetAutoDetach(true); err != nil {
		c.release()
		return nil, fmt.Errorf("usb: open %s: auto-detach: %w", sel, mapErr(err))
	}
	cfg, err := chosen.Config(pi.cfgNum)
	if err != nil {
		c.release()
		return nil, fmt.Errorf("usb: open %s: configuration %d: %w", sel, pi.cfgNum, mapErr(err))
	}
	c.cfg = cfg
	err = claimWithRetry(ctx, t.opts, t.log, func() error {
		intf, err := cfg.Interface(pi.iface, pi.alt)
		if err != nil {
			return mapErr(err)
		}
		c.intf = intf
		return nil
	})
	if err != nil {
		c.release()
		return nil, fmt.Errorf("usb: open %s: claim interface %d: %w", sel, pi.iface, err)
	}
	if c.in, err = c.intf.InEndpoint(pi.in.Number); err == nil {
		c.out, err = c.intf.OutEndpoint(pi.out.Number)
	}
	if err != nil {
		c.release()
		return nil, fmt.Errorf("usb: open %s: endpoints: %w", sel, mapErr(err))
	}
	t.log.Info("usb: opened printer", "bus", c.found.Bus, "address", c.found.Address,
		"serial", c.found.Serial, "in", fmt.Sprintf("%#02x", c.found.In), "out", fmt.Sprintf("%#02x", c.found.Out))
	return c, nil
}

// release closes whatever c holds, in reverse order of acquisition.
func (c *conn) release() error {
	var errs []error
	if c.intf != nil {
		c.intf.Close()
		c.intf = nil
	}
	if c.cfg != nil {
		if err := c.cfg.Close(); err != nil {
			errs = append(errs, err)
		}
		c.cfg = nil
	}
	if c.dev != nil {
		if err := c.dev.Close(); err != nil {
			errs = append(errs, err)
		}
		c.dev = nil
	}
	if c.uctx != nil {
		if err := c.uctx.Close(); err != nil {
			errs = append(errs, err)
		}
		c.uctx = nil
	}
	return errors.Join(errs...)
}

// Info returns what was found when the device was (last) opened: bus
// address, strings, endpoints and device ID.
func (t *Transport) Info() Found {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		return Found{VID: t.sel.VID, PID: t.sel.PID, Serial: t.sel.Serial}
	}
	return t.conn.found
}

// String describes the transport: "usb:0f49:3e00:SERIAL".
func (t *Transport) String() string { return t.desc }

// current returns the open connection, reopening the device when it had
// gone away.
func (t *Transport) current(ctx context.Context) (*conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("usb %s: %w", t.desc, ErrClosed)
	}
	if t.conn != nil {
		return t.conn, nil
	}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.log.Info("usb: printer reconnected")
	t.conn = c
	t.pending = nil
	return c, nil
}

// lost drops c after a transfer reported that the device is gone.
func (t *Transport) lost(c *conn, err error) {
	if !errors.Is(err, printer.ErrNoDevice) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != c {
		return
	}
	t.log.Warn("usb: printer disconnected", "err", err)
	t.conn = nil
	if rerr := c.release(); rerr != nil {
		t.log.Debug("usb: release after disconnect", "err", rerr)
	}
}

// Reopen releases the device, if it is still held, and opens it again.
func (t *Transport) Reopen(ctx context.Context) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.rmu.Lock()
	defer t.rmu.Unlock()
	t.mu.Lock()
	if c := t.conn; c != nil {
		t.conn = nil
		c.release()
	}
	t.mu.Unlock()
	_, err := t.current(ctx)
	return err
}

// Write sends p in chunks of at most Opts.ChunkSize bytes, each bounded by
// Opts.WriteTimeout. n counts the bytes the device accepted.
func (t *Transport) Write(ctx context.Context, p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	ctx, stop := t.bind(ctx)
	defer stop()
	c, err := t.current(ctx)
	if err != nil {
		return 0, err
	}
	n, err := writeChunks(ctx, c.out, p, t.opts.ChunkSize, t.opts.WriteTimeout)
	if err != nil {
		t.lost(c, err)
		return n, fmt.Errorf("usb %s: write (%d of %d bytes sent): %w", t.desc, n, len(p), t.closedErr(err))
	}
	return n, nil
}

// Read waits for the printer's next reply bytes. It returns ErrTimeout when
// nothing arrives within Opts.ReadTimeout, and ctx's error when ctx ends
// first.
func (t *Transport) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t.rmu.Lock()
	defer t.rmu.Unlock()
	t.mu.Lock()
	if len(t.pending) > 0 {
		n := copy(p, t.pending)
		t.pending = t.pending[n:]
		t.mu.Unlock()
		return n, nil
	}
	t.mu.Unlock()
	ctx, stop := t.bind(ctx)
	defer stop()
	c, err := t.current(ctx)
	if err != nil {
		return 0, err
	}
	n, rest, err := readPacket(ctx, c.in, p, c.in.Desc.MaxPacketSize, t.opts.ReadTimeout)
	if len(rest) > 0 {
		t.mu.Lock()
		t.pending = append(t.pending, rest...)
		t.mu.Unlock()
	}
	if err != nil {
		t.lost(c, err)
		return n, fmt.Errorf("usb %s: read: %w", t.desc, t.closedErr(err))
	}
	return n, nil
}

// closedErr marks err as caused by Close when the transport was closed
// while the transfer ran.
func (t *Transport) closedErr(err error) error {
	if t.life.Err() != nil {
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	}
	return err
}

// bind returns ctx, also cancelled when the transport is closed.
func (t *Transport) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// Close cancels transfers in flight, waits for them to end, and releases
// the interface, configuration, device and libusb context.
func (t *Transport) Close() error {
	t.endLife()
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.rmu.Lock()
	defer t.rmu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.conn == nil {
		return nil
	}
	c := t.conn
	t.conn = nil
	if err := c.release(); err != nil {
		return fmt.Errorf("usb %s: close: %w", t.desc, err)
	}
	return nil
}
