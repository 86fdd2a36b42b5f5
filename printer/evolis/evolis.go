package evolis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/printer"
)

// Opts configure a Dev. Take DefaultOpts and change what differs.
type Opts struct {
	// Ribbon is the ribbon type announced with Pr before each job, in the
	// family's spelling ("ymcko", "ko", "kb" …); empty sends no Pr.
	Ribbon string
	// ColorDepth is the bits per Y, M and C sample: 5, 6 or 7 (levels 32,
	// 64, 128), or 8 (256 levels, uncompressed only). Default 7.
	ColorDepth int
	// Compress sends panels with Dbc (line coding for K and overlay,
	// run-length coding for Y, M and C) instead of Db.
	Compress bool
	// OffsetXMM and OffsetYMM shift the printed image on the card by this
	// many millimetres (x to the right, y down, looking at the card side in
	// landscape), from the technician's calibration. Dots shifted in get no
	// material.
	OffsetXMM, OffsetYMM float64
	// BackOffsetXMM and BackOffsetYMM are the same for the back side
	// (after the flip the card may sit differently); zero means no shift.
	BackOffsetXMM, BackOffsetYMM float64
	// Duplex says the printer has a flipper (cards with a back side are
	// refused without it).
	Duplex bool
	// Magnetic says the printer has a magnetic stripe encoder.
	Magnetic bool
	// CommandTimeout bounds the wait for the reply to a command that does
	// not move a card. Default 30 s (the vendor SDK's communication
	// timeout).
	CommandTimeout time.Duration
	// PrintTimeout bounds the wait for the reply to a command that moves or
	// prints a card (downloads, Smw, Se, St). Default 2 min.
	PrintTimeout time.Duration
	// RejectOnFault sends a card that was fed but could not be finished to
	// the reject box (Ser), so its outcome is known (rejected) instead of
	// unknown; Print also rejects a card it finds left inside before
	// feeding (see Dev.Print).
	RejectOnFault bool
	// RibbonLowPrints is the number of prints left under which Status
	// reports ribbon-low. Default 10.
	RibbonLowPrints int
	// Now is the clock used to time prints and stamp statuses; nil means
	// time.Now.
	Now func() time.Time
}

// DefaultOpts returns the options for a duplex YMCKO printer with a
// magnetic encoder: 7-bit colour, uncompressed, no offsets.
func DefaultOpts() Opts {
	return Opts{
		Ribbon:          "ymcko",
		ColorDepth:      7,
		Duplex:          true,
		Magnetic:        true,
		CommandTimeout:  30 * time.Second,
		PrintTimeout:    2 * time.Minute,
		RejectOnFault:   true,
		RibbonLowPrints: 10,
	}
}

func (o *Opts) validate() error {
	switch o.ColorDepth {
	case 5, 6, 7:
	case 8:
		if o.Compress {
			return fmt.Errorf("evolis: 8-bit colour cannot be compressed")
		}
	default:
		return fmt.Errorf("evolis: colour depth %d not one of 5, 6, 7, 8", o.ColorDepth)
	}
	for _, v := range []float64{o.OffsetXMM, o.OffsetYMM, o.BackOffsetXMM, o.BackOffsetYMM} {
		if v < -10 || v > 10 || v != v {
			return fmt.Errorf("evolis: calibration offset %.2f mm out of ±10 mm", v)
		}
	}
	return nil
}

// Dev is one Evolis printer reached through a transport. Its methods are
// safe for concurrent use; they take turns on the transport.
type Dev struct {
	t   printer.Transport
	o   Opts
	log *slog.Logger

	mu      sync.Mutex
	pending []byte   // reply bytes read past the end of the last reply
	enc     *encoder // buffers kept from card to card (under mu)
}

var _ printer.Printer = (*Dev)(nil)

// New returns the driver for the printer on t with opts (nil for
// DefaultOpts). Zero timeouts and thresholds take their defaults. The
// driver never closes t. log may be nil.
func New(t printer.Transport, opts *Opts, log *slog.Logger) *Dev {
	o := DefaultOpts()
	if opts != nil {
		o = *opts
		d := DefaultOpts()
		if o.ColorDepth == 0 {
			o.ColorDepth = d.ColorDepth
		}
		if o.CommandTimeout <= 0 {
			o.CommandTimeout = d.CommandTimeout
		}
		if o.PrintTimeout <= 0 {
			o.PrintTimeout = d.PrintTimeout
		}
		if o.RibbonLowPrints <= 0 {
			o.RibbonLowPrints = d.RibbonLowPrints
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dev{t: t, o: o, log: log.With("printer", t.String())}
}

// String describes the printer.
func (d *Dev) String() string { return "evolis " + d.t.String() }

// exchange sends one framed command and returns its reply. Called with
// d.mu held.
func (d *Dev) exchange(ctx context.Context, frame []byte, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := d.t.Write(ctx, frame); err != nil {
		d.pending = nil
		return "", mapCtx(err)
	}
	r, err := d.readReply(ctx)
	if err != nil {
		// A late reply would answer the wrong command: drop what we have.
		d.pending = nil
	}
	return r, err
}

// readReply returns the next reply: text up to a CR, LF or NUL, with empty
// lines skipped. Called with d.mu held.
func (d *Dev) readReply(ctx context.Context) (string, error) {
	const maxReply = 4096
	buf := make([]byte, 256)
	for {
		for {
			i := bytes.IndexAny(d.pending, "\r\n\x00")
			if i < 0 {
				break
			}
			line := string(d.pending[:i])
			d.pending = d.pending[i+1:]
			if line != "" {
				return line, nil
			}
		}
		if len(d.pending) > maxReply {
			d.pending = nil
			return "", fmt.Errorf("evolis: reply longer than %d bytes: %w", maxReply, printer.ErrProtocol)
		}
		n, err := d.t.Read(ctx, buf)
		d.pending = append(d.pending, buf[:n]...)
		if err != nil && n == 0 {
			return "", mapCtx(err)
		}
	}
}

// mapCtx turns a context deadline into printer.ErrTimeout.
func mapCtx(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, printer.ErrTimeout) {
		return fmt.Errorf("%w: %w", printer.ErrTimeout, err)
	}
	return err
}

// command sends a text command and fails on an error reply.
func (d *Dev) command(ctx context.Context, op string, timeout time.Duration, name string, args ...string) (string, error) {
	var w streamWriter
	w.text(false, name, args...)
	reply, err := d.exchange(ctx, w.s.Bytes, timeout)
	if err != nil {
		return "", fmt.Errorf("evolis %s: %s: %s: %w", d.t, op, name, err)
	}
	d.log.Debug("evolis: command", "cmd", name, "reply", reply)
	if IsError(reply) {
		return reply, fmt.Errorf("evolis %s: %s: %w", d.t, name, ReplyError(op, reply))
	}
	return reply, nil
}

// query sends a query and returns its reply, error replies included.
func (d *Dev) query(ctx context.Context, q string) (string, error) {
	var w streamWriter
	name, args, _ := strings.Cut(q, ";")
	if args != "" {
		w.text(false, name, strings.Split(args, ";")...)
	} else {
		w.text(false, name)
	}
	reply, err := d.exchange(ctx, w.s.Bytes, d.o.CommandTimeout)
	if err != nil {
		return "", fmt.Errorf("evolis %s: query %s: %w", d.t, q, err)
	}
	return reply, nil
}

// Identify reads model (Rtp), serial (Rsn), firmware (Rfv) and ribbon
// (Rr); duplex and magnetic capabilities come from Opts.
func (d *Dev) Identify(ctx context.Context) (printer.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var r [4]string
	for i, q := range []string{"Rtp", "Rsn", "Rfv", "Rr"} {
		s, err := d.query(ctx, q)
		if err != nil {
			return printer.Info{}, err
		}
		r[i] = s
	}
	ribbon := r[3]
	if IsError(ribbon) {
		ribbon = ""
	}
	return printer.Info{
		Vendor:   "Evolis",
		Model:    r[0],
		Serial:   r[1],
		Firmware: r[2],
		Caps: printer.Capabilities{
			Duplex:   d.o.Duplex,
			Magnetic: d.o.Magnetic,
			Ribbon:   strings.ToLower(ribbon),
			Panels:   RibbonPanels(ribbon),
			DPI:      300,
		},
	}, nil
}

// RibbonPanels lists the panels a ribbon type provides ("ymcko" → colour,
// K, overlay).
func RibbonPanels(ribbon string) []printer.Panel {
	r := strings.ToLower(ribbon)
	var p []printer.Panel
	if strings.HasPrefix(r, "ymc") {
		p = append(p, printer.PanelColor)
		r = r[3:]
	}
	if strings.Contains(r, "k") {
		p = append(p, printer.PanelK)
	}
	if strings.Contains(r, "o") {
		p = append(p, printer.PanelOverlay)
	}
	return p
}

// Status polls the printer with the R… queries (see ParseStatus).
func (d *Dev) Status(ctx context.Context) (printer.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status(ctx)
}

func (d *Dev) status(ctx context.Context) (printer.Status, error) {
	var replies []string
	for _, q := range StatusQueries() {
		r, err := d.query(ctx, q)
		if err != nil {
			return printer.Status{State: printer.StateOffline, Reasons: []printer.Reason{printer.ReasonOffline}, At: d.o.Now()}, err
		}
		replies = append(replies, r)
	}
	st, err := ParseStatus(replies, d.o.RibbonLowPrints)
	st.At = d.o.Now()
	if err != nil {
		return st, fmt.Errorf("evolis %s: %w", d.t, err)
	}
	return st, nil
}

// Print prints one card: it encodes the job (see Encode) and sends it
// command by command, reading each reply. The Result's Outcome is
// OutcomePrinted only when the printer acknowledged the job end (the card
// is in the hopper). A fault before any card could move is OutcomeNotFed;
// a fault after, the card is sent to the reject box when
// Opts.RejectOnFault (OutcomeRejected) or else OutcomeUnknown; a
// transport failure after the first command that may feed a card is
// always OutcomeUnknown. Print reads the status first: a blocking fault
// already reported (printer.Status.Blocked) returns OutcomeNotFed and a
// *printer.StatusError for the fault's reasons, and no card is fed. A card
// already inside (Rlr;p "CARD": left by an earlier attempt cut short) is
// sent to the reject box first and Result.StrayRejected set; with
// Opts.RejectOnFault off Print refuses with printer.ErrBusy instead, so a
// card is never printed over another.
func (d *Dev) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	start := d.o.Now()
	res := printer.Result{Outcome: printer.OutcomeNotFed}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Pre-flight: a fault the printer already reports (ribbon out, cover
	// open, feeder empty, hopper full, a jam) would have a card fed and
	// then rejected, wasting a blank; stop here instead.
	before, err := d.status(ctx)
	if err != nil {
		res.Status = before
		res.Duration = d.o.Now().Sub(start)
		return res, fmt.Errorf("evolis %s: print: status before the card: %w", d.t, err)
	}
	if serr := before.Err(); serr != nil {
		// Result.Status is the status after the attempt: here nothing
		// happened since it was read.
		res.Status = before
		serr.(*printer.StatusError).Op = "print"
		res.Duration = d.o.Now().Sub(start)
		d.log.Info("evolis: not printing: printer not ready", "reasons", before.Reasons)
		return res, fmt.Errorf("evolis %s: print: printer not ready: %w", d.t, serr)
	}
	if before.State == printer.StateBusy {
		// Rlr;p says a card is inside before this card was fed: one left
		// by an earlier attempt (a link lost, a daemon killed mid-card).
		// The printer would print over it; send it to the reject box
		// first (Opts.RejectOnFault) or refuse.
		if err := d.rejectStray(ctx); err != nil {
			res.Status = before
			res.Duration = d.o.Now().Sub(start)
			return res, err
		}
		res.StrayRejected = true
	}
	if d.enc == nil {
		d.enc = new(encoder)
	}
	s, err := d.enc.encode(c, &d.o)
	if err != nil {
		return res, fmt.Errorf("evolis %s: print: %w", d.t, err)
	}
	fed := false
	firstMove := true
	for i, cmd := range s.Commands {
		timeout := d.o.CommandTimeout
		if cmd.Moves {
			timeout = d.o.PrintTimeout
			if !fed {
				fed = true
			} else {
				firstMove = false
			}
		}
		d.log.Debug("evolis: send", "cmd", cmd.Name, "bytes", cmd.End-cmd.Start)
		reply, err := d.exchange(ctx, s.Frame(i), timeout)
		if err != nil {
			if fed {
				res.Outcome = printer.OutcomeUnknown
			}
			res.Duration = d.o.Now().Sub(start)
			return res, fmt.Errorf("evolis %s: print: %s: %w", d.t, cmd.Name, err)
		}
		if !IsError(reply) {
			continue
		}
		perr := ReplyError("print", reply)
		switch {
		case !fed:
		case firstMove && notFedReply(reply):
			// The printer checks these before taking a card.
			res.Outcome = printer.OutcomeNotFed
		default:
			res.Outcome = printer.OutcomeUnknown
			// The caller's intent record goes first (NoticeReject): a
			// crash after Ser still counts the blank.
			if d.o.RejectOnFault && printer.NoticeReject(ctx, false) == nil {
				if r, err := d.exchange(ctx, rejectFrame(), d.o.PrintTimeout); err == nil && r == ReplyOK {
					res.Outcome = printer.OutcomeRejected
				}
			}
		}
		if st, err := d.status(ctx); err == nil {
			res.Status = st
		}
		res.Duration = d.o.Now().Sub(start)
		d.log.Info("evolis: print failed", "cmd", cmd.Name, "reply", reply, "outcome", res.Outcome)
		return res, fmt.Errorf("evolis %s: print: %s: %w", d.t, cmd.Name, perr)
	}
	res.Outcome = printer.OutcomePrinted
	res.Duration = d.o.Now().Sub(start)
	return res, nil
}

// Evidence reads what the printer says about itself for settling a card
// whose outcome is unknown: its serial (Rsn), the cards inserted counter
// (Rco;c, as Fed), the panels counter (Rco;p) and the card position
// (Rlr;p: "CARD" and its kin a card inside, an error reply a jammed card
// inside, "NO CARD" or "OK" none). The language has no counter of cards
// delivered or rejected: Printed and Rejected are -1.
func (d *Dev) Evidence(ctx context.Context) (printer.Evidence, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var r [4]string
	for i, q := range EvidenceQueries() {
		s, err := d.query(ctx, q)
		if err != nil {
			return printer.NoEvidence(), err
		}
		r[i] = s
	}
	ev, err := ParseEvidence(r[:])
	ev.At = d.o.Now()
	if err != nil {
		return ev, fmt.Errorf("evolis %s: %w", d.t, err)
	}
	return ev, nil
}

var _ printer.EvidenceReader = (*Dev)(nil)

// CardPanels says how many panels printing c takes (see the package
// function CardPanels): settlement checks the panel counter (Rco;p) moved
// by that much, since the cards-inserted counter alone cannot tell a card
// delivered from one pulled out part-printed.
func (d *Dev) CardPanels(c *printer.Card) (int, error) {
	n, err := CardPanels(c, &d.o)
	if err != nil {
		return 0, fmt.Errorf("evolis %s: card panels: %w", d.t, err)
	}
	return n, nil
}

var _ printer.PanelCounter = (*Dev)(nil)

// rejectStray sends a card found inside the printer before a print to the
// reject box (Ser) when Opts.RejectOnFault, and otherwise fails with
// printer.ErrBusy so no card is printed over another.
func (d *Dev) rejectStray(ctx context.Context) error {
	if !d.o.RejectOnFault {
		return fmt.Errorf("evolis %s: print: a card is inside the printer (left by an earlier attempt) and RejectOnFault is off: %w", d.t, printer.ErrBusy)
	}
	if err := printer.NoticeReject(ctx, true); err != nil {
		return fmt.Errorf("evolis %s: print: a card is inside the printer (left by an earlier attempt), not rejected: %w", d.t, err)
	}
	reply, err := d.exchange(ctx, rejectFrame(), d.o.PrintTimeout)
	if err != nil {
		return fmt.Errorf("evolis %s: print: reject the card left inside: %w", d.t, err)
	}
	if IsError(reply) {
		return fmt.Errorf("evolis %s: print: reject the card left inside: %w", d.t, ReplyError("reject", reply))
	}
	d.log.Warn("evolis: a card left inside the printer by an earlier attempt was sent to the reject box (spoiled)", "printer", d.t.String())
	return nil
}

// notFedReply reports whether an error reply to the first card-moving
// command means no card left the feeder.
func notFedReply(reply string) bool {
	switch reply {
	case ReplyCoverOpen, ReplyFeederEmpty, ReplyHopperFull, ReplyNoRibbon, ReplyBadRibbon:
		return true
	}
	return false
}

func rejectFrame() []byte {
	var w streamWriter
	w.text(true, "Ser")
	return w.s.Bytes
}

// ClearError acknowledges a fault (Scs) after the operator fixed it.
func (d *Dev) ClearError(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.command(ctx, "clear error", d.o.CommandTimeout, "Scs")
	return err
}

// Eject ejects the card inside the printer: to the output hopper with Se,
// or to the reject box with Ser when reject is true.
func (d *Dev) Eject(ctx context.Context, reject bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := "Se"
	if reject {
		name = "Ser"
	}
	_, err := d.command(ctx, "eject", d.o.PrintTimeout, name)
	return err
}

// TestCard prints the printer's built-in test card (St).
func (d *Dev) TestCard(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.command(ctx, "test card", d.o.PrintTimeout, "St")
	return err
}
