// Package emulator is a virtual card printer for tests, the demo and the
// virtual USB device. It speaks the printers' own command languages as a
// strict device would, decodes every panel it is sent back into images,
// keeps counters and consumables, models time, and injects faults.
//
// # Shape
//
// An Emulator is three layers:
//
//   - the Machine: the mechanism every language shares (feeder, ribbon,
//     head, flipper, magnetic encoder, output hopper, reject box), its
//     counters, its faults and its model of time (Timing, scaled by
//     Options.Speed, on an injected Clock: tests use a FakeClock and never
//     sleep). Machine methods fail with the printer package's sentinel
//     errors (printer.ErrCoverOpen, ErrRibbonOut, ErrFeederEmpty,
//     ErrCardJam, ErrHopperFull …).
//   - a Frontend: one command language (Evolis here; Magicard in its own
//     file). It parses the host's bytes, drives the Machine and produces
//     the family's replies, including its error replies.
//   - the byte-stream face: Transport returns an in-process
//     printer.Transport whose Write feeds the front end and whose Read
//     returns replies (blocking until there is one or ctx ends); Serve
//     serves the same over TCP, one connection at a time. A virtual USB
//     device sends its bulk OUT bytes to Transport().Write and answers
//     bulk IN from Transport().Read.
//
// # Adding a command language
//
// A language is a Language value: a name and a constructor. To add one (the
// Magicard front end does this in magicard.go):
//
//  1. Write a type implementing Frontend. Its Write receives the host's
//     bytes in whatever chunks the transport delivers (a command may be
//     split anywhere, even inside binary data) and returns the reply bytes
//     to queue for the host (nil when the command has no reply). Parse
//     incrementally, keep partial state between calls, and answer
//     malformed input with the family's own error replies rather than Go
//     errors. Return a Go error only when the link itself must break.
//     Reset discards partial input (called after a disconnect).
//  2. Drive the mechanism through the *Machine handed to the constructor:
//     Feed before the first panel, PrintPanel per panel, Flip between
//     sides, Encode for the stripe, then Eject with the decoded Job (the
//     card in landscape raster form plus each panel as received) or
//     Reject. Map their sentinel errors to the family's replies; read
//     Machine.State and Machine.Identity to answer status queries.
//  3. Decode panels with the shared helpers of package printer
//     (UnpackSamples, ComposeColor, MonoFromWire and the family's
//     Transform) so that the emulator's images equal the driver's source.
//  4. Add a line for it to Languages in this file, e.g.
//     {Name: "magicard", New: NewMagicard}, so cmd/cardd emulate finds it.
//
// # Faults
//
// Options.Faults sets faults from the start (cover open, ribbon out after N
// panels, feeder empty, jam at card N, hopper full, disconnect after N host
// bytes); Inject, Fix, Disconnect and Reconnect change them at run time. A
// disconnect makes every transport handed out so far fail with
// printer.ErrNoDevice, ends a mechanism step in progress, discards the
// front end's partial input and queued replies, and leaves a card being
// printed inside the printer. Reconnect
// brings the device back; callers then take a fresh Transport (as a USB
// host reopens a device that came back). Serve reconnects by itself when
// the next TCP connection arrives.
//
// # Hopper and reject box
//
// Printed cards stack in the output hopper (Options.HopperCapacity) and
// rejected ones in the reject box (Options.RejectCapacity); a full one
// stops the printer as the real ones stop. Machine.EmptyBoxes is a person
// taking the cards out, and ControlHandler serves that action (and the
// counters) over HTTP beside the printer port, for "cardd emulate empty".
package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/cardd/cardd/printer"
)

// Frontend is one command language spoken by the emulator. The emulator
// serialises calls: Write and Reset are never called concurrently.
type Frontend interface {
	// Write consumes host bytes, in any chunking, and returns the reply
	// bytes to queue for the host. Protocol errors are replies, not Go
	// errors; a non-nil error breaks the link (the host's Write fails with
	// it) and should wrap a printer sentinel.
	Write(ctx context.Context, p []byte) (reply []byte, err error)
	// Reset discards any partially received command and job state.
	Reset()
}

// Language names a front end and builds it on a Machine.
type Language struct {
	// Name is the model family as given to "cardd emulate --model".
	Name string
	// New builds a front end driving m.
	New func(m *Machine) Frontend
	// Identity is the default identity of the emulated model (used when
	// Options.Identity.Model is empty).
	Identity Identity
}

// Languages lists the front ends this package provides, by name. Each
// front end adds its own line here.
func Languages() []Language {
	return []Language{
		{Name: "evolis", New: NewEvolis, Identity: EvolisIdentity()},
		{Name: "magicard", New: NewMagicard, Identity: MagicardIdentity()},
	}
}

// LanguageByName returns the front end called name.
func LanguageByName(name string) (Language, error) {
	var names []string
	for _, l := range Languages() {
		if l.Name == name {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return Language{}, fmt.Errorf("emulator: no front end for model %q (have %v)", name, names)
}

// Options configure an Emulator. The zero value is usable: zero fields take
// the defaults noted.
type Options struct {
	// Identity is what the printer answers to identification queries;
	// empty Model means the Language's default identity.
	Identity Identity
	// Geometry is the raster of one side; zero means printer.CR80(300).
	Geometry printer.Geometry
	// RibbonPanels is the ribbon's capacity in panels; 0 means 1000.
	RibbonPanels int
	// FeederCards is the number of blank cards loaded; 0 means 100.
	FeederCards int
	// HopperCapacity is the output hopper's capacity; 0 means 100.
	HopperCapacity int
	// RejectCapacity is the reject box's capacity; 0 means 20.
	RejectCapacity int
	// Timing is the duration of each mechanical step; zero means
	// DefaultTiming().
	Timing Timing
	// Speed divides every duration (2 runs twice as fast); 0 means 1.
	Speed float64
	// Clock is the time source; nil means WallClock. Tests pass a
	// FakeClock.
	Clock Clock
	// OutDir, when set, receives PNG files of every card that leaves the
	// printer.
	OutDir string
	// KeepCards bounds how many printed cards Printed remembers (the most
	// recent); 0 keeps them all, which suits tests that count every card.
	// Each card keeps its decoded images (about 15 MB for a duplex YMCKO
	// card at 300 dpi), so a long-running emulator must set it: cardd's
	// daemon, demo and emulate keep 16.
	KeepCards int
	// Faults are the faults injected from the start.
	Faults FaultPlan
	// Log receives the emulator's log; nil discards it.
	Log *slog.Logger
}

func (o *Options) defaults(lang Language) {
	if o.Identity.Model == "" {
		o.Identity = lang.Identity
	}
	if o.Geometry == (printer.Geometry{}) {
		o.Geometry = printer.CR80(300)
	}
	if o.RibbonPanels <= 0 {
		o.RibbonPanels = 1000
	}
	if o.FeederCards <= 0 {
		o.FeederCards = 100
	}
	if o.HopperCapacity <= 0 {
		o.HopperCapacity = 100
	}
	if o.RejectCapacity <= 0 {
		o.RejectCapacity = 20
	}
	if o.Timing == (Timing{}) {
		o.Timing = DefaultTiming()
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.Clock == nil {
		o.Clock = WallClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Emulator is one virtual printer.
type Emulator struct {
	lang Language
	m    *Machine
	log  *slog.Logger

	writeMu sync.Mutex // serialises front end calls
	fe      Frontend
	// latched is the fault the front end holds after its last call
	// (see latcher), for readers that must not wait for a card in
	// progress (the SNMP agent).
	latched atomic.Pointer[error]

	mu           sync.Mutex
	gen          int  // link generation; a disconnect starts a new one
	down         bool // link is down
	replies      []byte
	avail        chan struct{} // closed when replies arrive or the link drops
	bytesIn      int64
	disconnectAt int64
	stopWrite    context.CancelFunc // ends the front end call in progress
}

// New returns an emulator speaking lang with opts (nil for defaults).
func New(lang Language, opts *Options) (*Emulator, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if lang.New == nil {
		return nil, fmt.Errorf("emulator: language %q has no constructor", lang.Name)
	}
	o.defaults(lang)
	if err := o.Geometry.Validate(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &Emulator{
		lang:         lang,
		m:            newMachine(&o),
		log:          o.Log.With("emulator", lang.Name),
		avail:        make(chan struct{}),
		disconnectAt: o.Faults.DisconnectAtByte,
	}
	e.fe = lang.New(e.m)
	return e, nil
}

// latcher is a front end that holds a fault after it happened, as a
// Magicard printer shows its error until it is acknowledged.
type latcher interface {
	// latchedFault returns the held fault as a printer sentinel, or nil.
	latchedFault() error
	// acknowledge clears it, as the printer's button does.
	acknowledge()
}

// noteLatched records the front end's held fault; the caller holds
// writeMu.
func (e *Emulator) noteLatched() {
	if l, ok := e.fe.(latcher); ok {
		err := l.latchedFault()
		e.latched.Store(&err)
	}
}

// latchedFault returns the fault the front end held after its last call.
func (e *Emulator) latchedFault() error {
	if p := e.latched.Load(); p != nil {
		return *p
	}
	return nil
}

// Acknowledge does what the operator's button does on a printer that holds
// an error (a Magicard after a fault): the held error is cleared. A
// condition still present (a cover still open) shows again at once.
func (e *Emulator) Acknowledge() {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if l, ok := e.fe.(latcher); ok {
		l.acknowledge()
	}
	e.noteLatched()
}

// Machine returns the emulator's mechanism (state, faults, printed cards).
func (e *Emulator) Machine() *Machine { return e.m }

// Printed returns the cards that have left the printer, oldest first.
func (e *Emulator) Printed() []PrintedCard { return e.m.Printed() }

// State returns a snapshot of the mechanism.
func (e *Emulator) State() State { return e.m.State() }

// Inject puts the emulator into fault f now (see Machine.Inject);
// FaultDisconnect drops the link.
func (e *Emulator) Inject(f Fault) error {
	if f == FaultDisconnect {
		e.Disconnect()
		return nil
	}
	return e.m.Inject(f)
}

// Fix clears fault f as an operator would (see Machine.Fix);
// FaultDisconnect reconnects.
func (e *Emulator) Fix(f Fault) error {
	if f == FaultDisconnect {
		e.Reconnect()
		return nil
	}
	return e.m.Fix(f)
}

// Disconnect drops the link: transports handed out so far fail with
// printer.ErrNoDevice (blocked Reads return at once), queued replies and
// partial input are discarded. A card being printed stays inside.
func (e *Emulator) Disconnect() {
	e.mu.Lock()
	if e.down {
		e.mu.Unlock()
		return
	}
	e.down = true
	e.gen++
	e.replies = nil
	if e.stopWrite != nil {
		// A mechanism step in progress ends now, as the link did.
		e.stopWrite()
	}
	close(e.avail)
	e.avail = make(chan struct{})
	e.mu.Unlock()
	e.m.setConnected(false)
	e.log.Info("emulator: link dropped")
}

// Reconnect brings the link back after Disconnect. Take a new Transport.
// Reconnecting a link that is up does nothing (the front end keeps its job
// state, so a host may use one connection per command).
func (e *Emulator) Reconnect() {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	wasDown := e.down
	e.down = false
	e.mu.Unlock()
	if !wasDown {
		return
	}
	e.fe.Reset()
	e.m.setConnected(true)
	e.log.Info("emulator: link back")
}

// Transport returns an in-process connection to the emulator. Write feeds
// the front end; Read blocks until a reply is queued, ctx ends or the link
// drops. Close only marks this transport closed.
func (e *Emulator) Transport() printer.Transport {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &transport{e: e, gen: e.gen}
}

type transport struct {
	e      *Emulator
	gen    int
	mu     sync.Mutex
	closed bool
}

var _ printer.Transport = (*transport)(nil)

func (t *transport) String() string { return "emulator:" + t.e.lang.Name }

func (t *transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

func (t *transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// linkErr returns the error for a transport of generation gen, or nil when
// its link is up. Called with e.mu held.
func (e *Emulator) linkErr(gen int) error {
	if e.down || gen != e.gen {
		return fmt.Errorf("emulator %s: link down: %w", e.lang.Name, printer.ErrNoDevice)
	}
	return nil
}

func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", printer.ErrTimeout, err)
	}
	return err
}

func (t *transport) Write(ctx context.Context, p []byte) (int, error) {
	if t.isClosed() {
		return 0, fmt.Errorf("emulator: write on closed transport: %w", net.ErrClosed)
	}
	e := t.e
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, ctxErr(ctx)
	}
	e.mu.Lock()
	if err := e.linkErr(t.gen); err != nil {
		e.mu.Unlock()
		return 0, err
	}
	chunk, cut := p, false
	if e.disconnectAt > 0 && e.bytesIn+int64(len(p)) >= e.disconnectAt {
		chunk = p[:e.disconnectAt-e.bytesIn]
		cut = true
		e.disconnectAt = 0
	}
	e.bytesIn += int64(len(chunk))
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	e.stopWrite = stop
	e.mu.Unlock()

	reply, err := e.fe.Write(fctx, chunk)
	e.noteLatched()
	e.mu.Lock()
	e.stopWrite = nil
	if lerr := e.linkErr(t.gen); lerr != nil {
		// The link dropped while the front end worked.
		e.mu.Unlock()
		return len(chunk), lerr
	}
	// A chunk that reached the disconnect point was the last thing the
	// printer received: the link is gone before it can answer, so its reply
	// is never queued (queuing it raced the hang-up below).
	if len(reply) > 0 && !cut {
		e.replies = append(e.replies, reply...)
		close(e.avail)
		e.avail = make(chan struct{})
	}
	e.mu.Unlock()
	if err != nil {
		return len(chunk), fmt.Errorf("emulator %s: %w", e.lang.Name, err)
	}
	if cut {
		e.fe.Reset()
		e.Disconnect()
		return len(chunk), fmt.Errorf("emulator %s: link dropped mid-transfer after %d of %d bytes: %w", e.lang.Name, len(chunk), len(p), printer.ErrNoDevice)
	}
	return len(p), nil
}

func (t *transport) Read(ctx context.Context, p []byte) (int, error) {
	if t.isClosed() {
		return 0, fmt.Errorf("emulator: read on closed transport: %w", net.ErrClosed)
	}
	e := t.e
	for {
		e.mu.Lock()
		if err := e.linkErr(t.gen); err != nil {
			e.mu.Unlock()
			return 0, err
		}
		if len(e.replies) > 0 {
			n := copy(p, e.replies)
			e.replies = e.replies[n:]
			if len(e.replies) == 0 {
				e.replies = nil
			}
			e.mu.Unlock()
			return n, nil
		}
		avail := e.avail
		e.mu.Unlock()
		select {
		case <-avail:
		case <-ctx.Done():
			return 0, ctxErr(ctx)
		}
	}
}

// Serve accepts TCP connections on ln and serves them one at a time, each
// as a Transport, until ctx ends (then it closes ln and the current
// connection and returns nil) or Accept fails. A link dropped by a fault
// closes the current connection; the next connection finds the printer
// back.
func (e *Emulator) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("emulator: accept: %w", err)
		}
		e.Reconnect()
		e.serveConn(ctx, c)
	}
}

func (e *Emulator) serveConn(ctx context.Context, c net.Conn) {
	log := e.log.With("peer", c.RemoteAddr().String())
	log.Info("emulator: host connected")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	t := e.Transport()
	defer t.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // replies to the host
		defer wg.Done()
		defer cancel()
		buf := make([]byte, 32<<10)
		for {
			n, err := t.Read(ctx, buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := t.Write(ctx, buf[:n]); werr != nil {
				log.Info("emulator: connection ends", "err", werr)
				break
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Info("emulator: connection read", "err", err)
			}
			break
		}
	}
	// Let queued replies drain briefly? The host closed or the link broke:
	// stop now.
	cancel()
	c.Close()
	wg.Wait()
	log.Info("emulator: host disconnected")
}
