package usbredir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cardd/cardd/printer"
)

// Brain is what answers the printer's bulk pipes: bulk OUT bytes are
// written to it as one byte stream (never split by packet boundaries), bulk
// IN requests are answered with what Read returns. Read must block until a
// reply exists or ctx ends. The printer emulator's Transport satisfies it.
type Brain interface {
	Write(ctx context.Context, p []byte) (int, error)
	Read(ctx context.Context, p []byte) (int, error)
}

// Config configures a virtual USB printer.
type Config struct {
	// Identity is the device's IDs, strings, 1284 ID and endpoints.
	Identity Identity
	// Brain answers the bulk pipes.
	Brain Brain
	// Log receives protocol events (debug) and faults (info); default
	// discards.
	Log *slog.Logger
	// ReplugAfter is how long the device stays away after it unplugged
	// itself (because the brain reported printer.ErrNoDevice or
	// UnplugAfterOut was reached). Zero keeps it away until Replug.
	ReplugAfter time.Duration
	// UnplugAfterOut, when positive, unplugs the device once, in the middle
	// of the bulk OUT transfer that carries byte number UnplugAfterOut+1;
	// the bytes up to that point reach the brain, the rest are lost.
	UnplugAfterOut int64
	// OnUnplug, when set, runs after each unplug (a harness uses it to put
	// the brain in the state a power-cycled printer would be in).
	OnUnplug func()
	// OnReplug, when set, runs before the device attaches again (a harness
	// uses it to reconnect the brain).
	OnReplug func()
	// After returns a channel that fires after d; default time.After.
	After func(d time.Duration) <-chan time.Time
}

// Stats counts what the device has seen.
type Stats struct {
	Sessions, Connects, Disconnects, Resets int
	Controls, BulkOut, BulkIn, Cancels      int
	OutBytes, InBytes                       int64
}

// Device is a virtual USB printer: the device ("usb-host") side of the
// usbredir protocol. QEMU's usb-redir device connects to it over a socket
// and forwards every transfer of the guest's USB device to it.
type Device struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	s         *session // current connection, nil between connections
	plugged   bool     // whether the device should be attached
	epoch     uint64   // incremented at each unplug
	outTotal  int64    // bulk OUT bytes delivered, for UnplugAfterOut
	unplugged bool     // UnplugAfterOut has fired
	stats     Stats
}

// session is one connection from QEMU.
type session struct {
	ctx      context.Context // ends with the connection
	parent   context.Context // the caller's: outlives the connection
	conn     io.ReadWriter
	wmu      sync.Mutex
	peer     Hello
	longIDs  bool
	longBulk bool
	mps      bool
	version  bool

	attached  bool
	config    uint8
	alt       uint8
	pendingIn []inReq
	inBuf     []byte
	cancelled map[uint64]bool
	outCh     chan outReq
}

type inReq struct {
	id     uint64
	ep     uint8
	length uint32
}

type outReq struct {
	id    uint64
	ep    uint8
	data  []byte
	epoch uint64
}

// ourCaps are the capabilities this side announces. QEMU's xHCI refuses a
// device without 64-bit IDs, 32-bit bulk lengths and ep max packet sizes.
const ourCaps = 1<<CapConnectDeviceVersion | 1<<CapDeviceDisconnectAck |
	1<<CapEPInfoMaxPacketSize | 1<<Cap64BitIDs | 1<<Cap32BitsBulkLength

// New returns a virtual printer, plugged in.
func New(cfg Config) *Device {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Identity.MaxPacket == 0 {
		cfg.Identity.MaxPacket = 512
	}
	return &Device{cfg: cfg, plugged: true,
		log: cfg.Log.With("usbredir", fmt.Sprintf("%04x:%04x:%s", cfg.Identity.VID, cfg.Identity.PID, cfg.Identity.Serial))}
}

// Stats returns a snapshot of the counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// ListenAndServe listens on the Unix socket path and serves each connection
// QEMU makes, one at a time, until ctx ends. The socket must exist before
// QEMU starts (its socket chardev fails at once otherwise): ListenAndServe
// signals that through ready, when non-nil, once listening.
func (d *Device) ListenAndServe(ctx context.Context, path string, ready chan<- struct{}) error {
	_ = os.Remove(path)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("usbredir: listen %s: %w", path, err)
	}
	defer os.Remove(path)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if ready != nil {
		close(ready)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("usbredir: accept on %s: %w", path, err)
		}
		err = d.Serve(ctx, c)
		c.Close()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.log.Info("usbredir: session ended", "err", err)
		}
	}
}

// Serve runs the protocol over one established connection until it closes
// or ctx ends. It closes conn when ctx ends.
func (d *Device) Serve(ctx context.Context, conn io.ReadWriteCloser) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{ctx: ctx, parent: parent, conn: conn, cancelled: map[uint64]bool{}, outCh: make(chan outReq, 1024)}
	hello := Hello{Version: "cardd-usbredir 1", Caps: ourCaps}
	if err := s.send(TypeHello, 0, hello.Marshal()); err != nil {
		return fmt.Errorf("usbredir: send hello: %w", err)
	}
	p, err := ReadPacket(conn, false)
	if err != nil {
		return fmt.Errorf("usbredir: read hello: %w", err)
	}
	if p.Type != TypeHello {
		return fmt.Errorf("usbredir: first packet is type %d, want hello: %w", p.Type, printer.ErrProtocol)
	}
	if s.peer, err = ParseHello(p.Body); err != nil {
		return err
	}
	both := func(c int) bool { return s.peer.Has(c) && hello.Has(c) }
	s.wmu.Lock()
	s.longIDs, s.longBulk, s.mps, s.version = both(Cap64BitIDs), both(Cap32BitsBulkLength), both(CapEPInfoMaxPacketSize), both(CapConnectDeviceVersion)
	s.wmu.Unlock()
	d.log.Debug("usbredir: peer hello", "version", s.peer.Version, "caps", fmt.Sprintf("%#x", s.peer.Caps))

	d.mu.Lock()
	d.s = s
	d.stats.Sessions++
	if d.plugged {
		err = d.attachLocked(s)
	}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if d.s == s {
			d.s = nil
		}
		d.mu.Unlock()
	}()
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.outWorker(s) }()
	go func() { defer wg.Done(); d.inPump(s) }()
	defer func() {
		cancel()
		close(s.outCh)
		wg.Wait()
	}()
	for {
		p, err := ReadPacket(conn, s.longIDs)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("usbredir: read: %w", err)
		}
		if err := d.handle(s, p); err != nil {
			return err
		}
	}
}

// send writes one packet.
func (s *session) send(typ uint32, id uint64, body ...[]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(AppendPacket(nil, s.longIDs, typ, id, body...))
	return err
}

// attachLocked announces the interface and endpoints, then connects.
func (d *Device) attachLocked(s *session) error {
	id := d.cfg.Identity
	if err := s.send(TypeInterfaceInfo, 0, id.interfaceInfo().Marshal()); err != nil {
		return fmt.Errorf("usbredir: interface info: %w", err)
	}
	if err := s.send(TypeEPInfo, 0, id.epInfo().Marshal(s.mps)); err != nil {
		return fmt.Errorf("usbredir: ep info: %w", err)
	}
	dc := DeviceConnect{Speed: SpeedHigh, VendorID: id.VID, ProductID: id.PID, DeviceVersionBCD: id.BCDDevice}
	if err := s.send(TypeDeviceConnect, 0, dc.Marshal(s.version)); err != nil {
		return fmt.Errorf("usbredir: device connect: %w", err)
	}
	s.attached = true
	s.config, s.alt = 0, 0
	d.stats.Connects++
	d.log.Debug("usbredir: device connected")
	return nil
}

// Unplug disconnects the device from the guest, as pulling the cable would:
// pending transfers and unread replies are lost. It reports whether the
// device was plugged in.
func (d *Device) Unplug() bool {
	d.mu.Lock()
	if !d.plugged {
		d.mu.Unlock()
		return false
	}
	d.plugged = false
	d.epoch++
	d.stats.Disconnects++
	if s := d.s; s != nil && s.attached {
		s.attached = false
		s.pendingIn = nil
		s.inBuf = nil
		if err := s.send(TypeDeviceDisconnect, 0); err != nil {
			d.log.Info("usbredir: send disconnect", "err", err)
		}
	}
	d.mu.Unlock()
	d.log.Info("usbredir: unplugged")
	if d.cfg.OnUnplug != nil {
		d.cfg.OnUnplug()
	}
	return true
}

// Replug connects the device again after Unplug.
func (d *Device) Replug() error {
	if d.cfg.OnReplug != nil {
		d.mu.Lock()
		plugged := d.plugged
		d.mu.Unlock()
		if !plugged {
			d.cfg.OnReplug()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.plugged {
		return nil
	}
	d.plugged = true
	d.log.Info("usbredir: replugged")
	if s := d.s; s != nil {
		return d.attachLocked(s)
	}
	return nil
}

// unplugFault unplugs and, with ReplugAfter set, replugs later.
func (d *Device) unplugFault(s *session, why string) {
	if !d.Unplug() {
		return
	}
	d.log.Info("usbredir: unplug fault", "why", why, "replug_after", d.cfg.ReplugAfter)
	if d.cfg.ReplugAfter <= 0 {
		return
	}
	go func() {
		select {
		case <-d.cfg.After(d.cfg.ReplugAfter):
			if err := d.Replug(); err != nil {
				d.log.Info("usbredir: replug", "err", err)
			}
		case <-s.parent.Done():
			// Not the session's context: if QEMU reconnects meanwhile,
			// the device still comes back (attached by the new session).
		}
	}()
}

// handle dispatches one packet from QEMU.
func (d *Device) handle(s *session, p Packet) error {
	switch p.Type {
	case TypeHello:
		return fmt.Errorf("usbredir: second hello: %w", printer.ErrProtocol)
	case TypeReset:
		d.mu.Lock()
		d.stats.Resets++
		s.config, s.alt = 0, 0
		d.mu.Unlock()
		d.log.Debug("usbredir: reset")
	case TypeSetConfiguration:
		if len(p.Body) < 1 {
			return fmt.Errorf("usbredir: short set_configuration: %w", printer.ErrProtocol)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		status := StatusSuccess
		if v := p.Body[0]; v <= 1 {
			s.config = v
		} else {
			status = StatusStall
		}
		if s.attached {
			id := d.cfg.Identity
			if err := s.send(TypeInterfaceInfo, 0, id.interfaceInfo().Marshal()); err != nil {
				return err
			}
			if err := s.send(TypeEPInfo, 0, id.epInfo().Marshal(s.mps)); err != nil {
				return err
			}
		}
		return s.send(TypeConfigurationStatus, p.ID, []byte{status, s.config})
	case TypeGetConfiguration:
		d.mu.Lock()
		defer d.mu.Unlock()
		return s.send(TypeConfigurationStatus, p.ID, []byte{StatusSuccess, s.config})
	case TypeSetAltSetting:
		if len(p.Body) < 2 {
			return fmt.Errorf("usbredir: short set_alt_setting: %w", printer.ErrProtocol)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		status := StatusSuccess
		if p.Body[0] != 0 || p.Body[1] != 0 {
			status = StatusInval
		}
		return s.send(TypeAltSettingStatus, p.ID, []byte{status, p.Body[0], s.alt})
	case TypeGetAltSetting:
		if len(p.Body) < 1 {
			return fmt.Errorf("usbredir: short get_alt_setting: %w", printer.ErrProtocol)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		status := StatusSuccess
		if p.Body[0] != 0 {
			status = StatusInval
		}
		return s.send(TypeAltSettingStatus, p.ID, []byte{status, p.Body[0], s.alt})
	case TypeCancelDataPacket:
		return d.cancel(s, p.ID)
	case TypeDeviceDisconnectAck:
		d.log.Debug("usbredir: disconnect acknowledged")
	case TypeControlPacket:
		return d.control(s, p)
	case TypeBulkPacket:
		return d.bulk(s, p)
	case TypeStartInterruptRecv, TypeStopInterruptRecv:
		if len(p.Body) < 1 {
			return fmt.Errorf("usbredir: short interrupt receiving packet: %w", printer.ErrProtocol)
		}
		return s.send(TypeInterruptRecvStatus, p.ID, []byte{StatusInval, p.Body[0]})
	default:
		d.log.Debug("usbredir: ignoring packet", "type", p.Type, "len", p.Length)
	}
	return nil
}

// control answers a control transfer on endpoint 0.
func (d *Device) control(s *session, p Packet) error {
	h, data, err := ParseControl(p.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", err, printer.ErrProtocol)
	}
	d.mu.Lock()
	d.stats.Controls++
	attached := s.attached
	d.mu.Unlock()
	reply, status := d.answerControl(h, data)
	if !attached {
		status, reply = StatusIOError, nil
	}
	if h.RequestType&0x80 != 0 {
		if len(reply) > int(h.Length) {
			reply = reply[:h.Length]
		}
	} else {
		reply = nil
		if status == StatusSuccess {
			h.Length = uint16(len(data))
		}
	}
	h.Status = status
	if status != StatusSuccess {
		h.Length = 0
	} else if h.RequestType&0x80 != 0 {
		h.Length = uint16(len(reply))
	}
	d.log.Debug("usbredir: control", "type", fmt.Sprintf("%#02x", h.RequestType), "req", h.Request,
		"value", fmt.Sprintf("%#04x", h.Value), "index", h.Index, "status", status, "len", h.Length)
	return s.send(TypeControlPacket, p.ID, h.Marshal(), reply)
}

// answerControl returns the data and status for a control request.
func (d *Device) answerControl(h ControlHeader, data []byte) ([]byte, uint8) {
	id := d.cfg.Identity
	switch {
	case h.RequestType == 0x80 && h.Request == 6: // GET_DESCRIPTOR
		switch h.Value >> 8 {
		case 1:
			return id.deviceDescriptor(), StatusSuccess
		case 2:
			if h.Value&0xff != 0 {
				return nil, StatusStall
			}
			return id.configDescriptor(), StatusSuccess
		case 3:
			if b, ok := id.stringDescriptor(uint8(h.Value)); ok {
				return b, StatusSuccess
			}
		}
		return nil, StatusStall
	case h.RequestType&0x80 != 0 && h.Request == 0 && h.RequestType&0x60 == 0: // GET_STATUS
		if h.RequestType == 0x80 {
			return []byte{1, 0}, StatusSuccess // self-powered
		}
		return []byte{0, 0}, StatusSuccess
	case h.RequestType&0x60 == 0 && (h.Request == 1 || h.Request == 3): // CLEAR/SET_FEATURE
		return nil, StatusSuccess
	case h.RequestType == 0xA1 && h.Request == 0: // printer class GET_DEVICE_ID
		return id.deviceIDReply(), StatusSuccess
	case h.RequestType == 0xA1 && h.Request == 1: // GET_PORT_STATUS
		return []byte{0x18}, StatusSuccess // selected, no error, paper present
	case h.RequestType == 0x21 && h.Request == 2: // SOFT_RESET
		return nil, StatusSuccess
	}
	return nil, StatusStall
}

// bulk queues a bulk OUT for the brain or records a bulk IN request.
func (d *Device) bulk(s *session, p Packet) error {
	h, data, err := ParseBulk(p.Body, s.longBulk)
	if err != nil {
		return fmt.Errorf("%w: %w", err, printer.ErrProtocol)
	}
	id := d.cfg.Identity
	d.mu.Lock()
	if !s.attached {
		d.mu.Unlock()
		return nil // the device is gone; QEMU fails the transfer itself
	}
	if h.Endpoint == id.OutEP {
		d.stats.BulkOut++
		epoch := d.epoch
		d.mu.Unlock()
		// The worker takes d.mu, so queue without holding it.
		select {
		case s.outCh <- outReq{id: p.ID, ep: h.Endpoint, data: data, epoch: epoch}:
		case <-s.ctx.Done():
		}
		return nil
	}
	defer d.mu.Unlock()
	switch h.Endpoint {
	case id.InEP:
		d.stats.BulkIn++
		s.pendingIn = append(s.pendingIn, inReq{id: p.ID, ep: h.Endpoint, length: h.Length})
		return d.satisfyLocked(s)
	}
	return s.send(TypeBulkPacket, p.ID, BulkHeader{Endpoint: h.Endpoint, Status: StatusStall}.Marshal(s.longBulk))
}

// satisfyLocked answers pending bulk IN requests from buffered replies.
func (d *Device) satisfyLocked(s *session) error {
	for len(s.pendingIn) > 0 && len(s.inBuf) > 0 {
		r := s.pendingIn[0]
		n := min(int(r.length), len(s.inBuf))
		if err := s.send(TypeBulkPacket, r.id, BulkHeader{Endpoint: r.ep, Length: uint32(n)}.Marshal(s.longBulk), s.inBuf[:n]); err != nil {
			return err
		}
		d.stats.InBytes += int64(n)
		s.inBuf = s.inBuf[n:]
		s.pendingIn = s.pendingIn[1:]
	}
	return nil
}

// cancel answers a cancel request for a pending transfer.
func (d *Device) cancel(s *session, id uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Cancels++
	for i, r := range s.pendingIn {
		if r.id == id {
			s.pendingIn = append(s.pendingIn[:i], s.pendingIn[i+1:]...)
			return s.send(TypeBulkPacket, id, BulkHeader{Endpoint: r.ep, Status: StatusCancelled}.Marshal(s.longBulk))
		}
	}
	// A bulk OUT still queued is skipped and answered by the worker.
	s.cancelled[id] = true
	return nil
}

// outWorker hands bulk OUT data to the brain in order and answers each
// transfer once the brain took it.
func (d *Device) outWorker(s *session) {
	for r := range s.outCh {
		d.mu.Lock()
		stale := r.epoch != d.epoch || !s.attached
		cancelled := s.cancelled[r.id]
		delete(s.cancelled, r.id)
		data := r.data
		fault := false
		if !stale && !cancelled && d.cfg.UnplugAfterOut > 0 && !d.unplugged && d.outTotal+int64(len(data)) > d.cfg.UnplugAfterOut {
			data = data[:d.cfg.UnplugAfterOut-d.outTotal]
			d.unplugged, fault = true, true
		}
		d.mu.Unlock()
		if stale || s.ctx.Err() != nil {
			continue
		}
		if cancelled {
			if err := s.send(TypeBulkPacket, r.id, BulkHeader{Endpoint: r.ep, Status: StatusCancelled}.Marshal(s.longBulk)); err != nil {
				d.log.Info("usbredir: send cancel status", "err", err)
			}
			continue
		}
		status := StatusSuccess
		if len(data) > 0 {
			if _, err := d.cfg.Brain.Write(s.ctx, data); err != nil {
				if errors.Is(err, printer.ErrNoDevice) {
					d.unplugFault(s, "brain: "+err.Error())
					continue
				}
				d.log.Info("usbredir: brain write", "err", err)
				status = StatusIOError
			}
		}
		d.mu.Lock()
		d.outTotal += int64(len(data))
		d.stats.OutBytes += int64(len(data))
		d.mu.Unlock()
		if fault {
			d.unplugFault(s, fmt.Sprintf("after %d bulk OUT bytes", d.cfg.UnplugAfterOut))
			continue
		}
		if err := s.send(TypeBulkPacket, r.id, BulkHeader{Endpoint: r.ep, Status: status, Length: uint32(len(r.data))}.Marshal(s.longBulk)); err != nil {
			d.log.Info("usbredir: send bulk status", "err", err)
		}
	}
}

// inPump reads the brain's replies and answers bulk IN requests with them.
func (d *Device) inPump(s *session) {
	buf := make([]byte, 64<<10)
	for {
		n, err := d.cfg.Brain.Read(s.ctx, buf)
		if s.ctx.Err() != nil {
			return
		}
		if n > 0 {
			d.mu.Lock()
			if s.attached {
				s.inBuf = append(s.inBuf, buf[:n]...)
				if serr := d.satisfyLocked(s); serr != nil {
					d.log.Info("usbredir: send bulk in", "err", serr)
				}
			}
			d.mu.Unlock()
		}
		if err != nil {
			if errors.Is(err, printer.ErrNoDevice) {
				d.unplugFault(s, "brain: "+err.Error())
			} else {
				d.log.Info("usbredir: brain read", "err", err)
			}
			select {
			case <-d.cfg.After(50 * time.Millisecond):
			case <-s.ctx.Done():
				return
			}
		}
	}
}
