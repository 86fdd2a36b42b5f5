package magicard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/cardd/cardd/printer"
)

// Dev is one Magicard printer reached through a printer.Transport. Its
// methods are safe for concurrent use; exchanges are serialised.
type Dev struct {
	t   printer.Transport
	o   Opts
	log *slog.Logger

	mu      sync.Mutex
	pending []byte // bytes read past the last reply's ETX
	// suspect is set when a card's outcome was unknown; suspectTotal is
	// the printer's card counter before that card was sent (under mu).
	suspect      bool
	suspectTotal int
	// job is the last card's stream, kept so that the next card is laid
	// out in the same memory (under mu): a fresh 3 MB a card cost more
	// CPU in page faults and clearing than packing a side.
	job []byte
}

var _ printer.Printer = (*Dev)(nil)

// New returns a driver speaking to t. opts nil means DefaultOpts; log nil
// discards logs. The driver never closes t.
func New(t printer.Transport, opts *Opts, log *slog.Logger) *Dev {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dev{t: t, o: opts.withDefaults(), log: log.With("driver", "magicard", "transport", t.String())}
}

// wake precedes every non-printing command.
const wake = 9

// command returns the bytes of the non-printing command cmd with args.
func command(cmd string, args ...string) []byte {
	b := make([]byte, 0, wake+16+len(cmd))
	for range wake {
		b = append(b, ENQ)
	}
	b = append(b, SOH)
	b = append(b, "REQ,"...)
	b = append(b, cmd...)
	b = append(b, ',')
	for _, a := range args {
		b = append(b, a...)
		b = append(b, ',')
	}
	return append(b, FS, ETX)
}

// simple returns the bytes of a simple command, sent without REQ as
// Magicard's own tools send RST, TST and EJT: nine 0x05, SOH, the name and
// a comma, FS and ETX.
func simple(cmd string) []byte {
	b := make([]byte, 0, wake+len(cmd)+4)
	for range wake {
		b = append(b, ENQ)
	}
	b = append(b, SOH)
	b = append(b, cmd...)
	return append(b, ',', FS, ETX)
}

// send writes b; the caller holds d.mu.
func (d *Dev) send(ctx context.Context, op string, b []byte) (int, error) {
	d.log.Debug("send", "op", op, "bytes", len(b))
	n, err := d.t.Write(ctx, b)
	if err != nil {
		return n, fmt.Errorf("magicard %s: %s: write: %w", d.t, op, err)
	}
	return n, nil
}

// reply reads one SOH … ETX reply; the caller holds d.mu.
func (d *Dev) reply(ctx context.Context, op string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.ReplyTimeout)
	defer cancel()
	var tmp [512]byte
	for {
		if i := bytes.IndexByte(d.pending, SOH); i > 0 {
			d.pending = d.pending[i:] // drop noise before a reply
		} else if i < 0 {
			d.pending = d.pending[:0]
		}
		if i := bytes.IndexByte(d.pending, ETX); i >= 0 {
			r := bytes.Clone(d.pending[:i+1])
			d.pending = append(d.pending[:0], d.pending[i+1:]...)
			d.log.Debug("reply", "op", op, "raw", string(r))
			return r, nil
		}
		if len(d.pending) > maxReply {
			d.pending = d.pending[:0]
			return nil, fmt.Errorf("magicard %s: %s: reply longer than %d bytes without ETX: %w", d.t, op, maxReply, printer.ErrProtocol)
		}
		n, err := d.t.Read(ctx, tmp[:])
		d.pending = append(d.pending, tmp[:n]...)
		if err != nil && n == 0 {
			if ctx.Err() != nil && !errors.Is(err, printer.ErrTimeout) {
				err = fmt.Errorf("%w: %w", printer.ErrTimeout, err)
			}
			return nil, fmt.Errorf("magicard %s: %s: no reply: %w", d.t, op, err)
		}
	}
}

// exchange sends a command and reads its reply.
func (d *Dev) exchange(ctx context.Context, op string, b []byte) ([]byte, error) {
	if _, err := d.send(ctx, op, b); err != nil {
		return nil, err
	}
	return d.reply(ctx, op)
}

// Inf reads and parses the printer's INF status. raw is the reply.
func (d *Dev) Inf(ctx context.Context) (inf Inf, raw string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inf(ctx)
}

func (d *Dev) inf(ctx context.Context) (Inf, string, error) {
	r, err := d.exchange(ctx, "INF", command("INF"))
	if err != nil {
		return Inf{}, "", err
	}
	inf, err := ParseINF(r)
	if err != nil {
		return Inf{}, string(r), fmt.Errorf("magicard %s: %w", d.t, err)
	}
	return inf, string(r), nil
}

// Evidence reads INF for settling a card whose outcome is unknown: the
// printer's serial and its lifetime card counter (as Printed: the counter
// whose move Print takes as a card printed) and dye panel counter. No
// published field says whether a card is inside or counts cards fed or
// rejected: Inside is unknown and Fed and Rejected are -1.
func (d *Dev) Evidence(ctx context.Context) (printer.Evidence, error) {
	inf, _, err := d.Inf(ctx)
	ev := printer.NoEvidence()
	ev.At = d.o.Now()
	if err != nil {
		return ev, err
	}
	ev.Serial, ev.Printed, ev.Panels = inf.Serial, inf.TotalCards, inf.DyePanels
	return ev, nil
}

var _ printer.EvidenceReader = (*Dev)(nil)

// Query asks for one status value with REQ,STA,<key> (such as MSR for the
// serial number, VRS for the firmware, TCQ for total cards, DFR for dye
// panels remaining).
func (d *Dev) Query(ctx context.Context, key string) (string, error) {
	if len(key) != 3 || strings.ContainsAny(key, ",\x01\x03\x1c") {
		return "", fmt.Errorf("magicard: STA key %q: want three letters", key)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.exchange(ctx, "STA "+key, command("STA", key))
	if err != nil {
		return "", err
	}
	v, err := ParseSTA(r, key)
	if err != nil {
		return "", fmt.Errorf("magicard %s: %w", d.t, err)
	}
	return v, nil
}

// Identify reads model, serial, firmware and capabilities from INF.
func (d *Dev) Identify(ctx context.Context) (printer.Info, error) {
	inf, _, err := d.Inf(ctx)
	if err != nil {
		return printer.Info{}, fmt.Errorf("identify: %w", err)
	}
	info := printer.Info{
		Vendor:   "Magicard",
		Model:    inf.Model,
		Serial:   inf.Serial,
		Firmware: inf.Firmware,
		Caps: printer.Capabilities{
			Duplex:   inf.ModelFlags&ModelDuplex != 0,
			Magnetic: inf.ModelFlags&ModelMagnetic != 0,
			Ribbon:   strings.ToLower(inf.FilmName),
			Panels:   filmPanels(inf.FilmName),
			DPI:      DPI,
		},
	}
	return info, nil
}

// filmPanels lists the panels a film named like "YMCKO" or "KO" provides.
// Magicard has no UV panel in this language.
func filmPanels(film string) []printer.Panel {
	f := strings.ToUpper(film)
	var p []printer.Panel
	if strings.Contains(f, "YMC") {
		p = append(p, printer.PanelColor)
	}
	if strings.Contains(f, "K") {
		p = append(p, printer.PanelK)
	}
	if strings.Contains(f, "O") {
		p = append(p, printer.PanelOverlay)
	}
	return p
}

// Status polls INF.
func (d *Dev) Status(ctx context.Context) (printer.Status, error) {
	inf, raw, err := d.Inf(ctx)
	if err != nil {
		return printer.Status{State: printer.StateOffline, Raw: raw, At: d.o.Now()}, fmt.Errorf("status: %w", err)
	}
	return inf.Status(raw, d.o.Now()), nil
}

// Encode returns the job stream Print would send for c, with the print
// head at headPos (used by FormatEnduro only).
func (d *Dev) Encode(c *printer.Card, headPos int) ([]byte, error) {
	return AppendJob(nil, c, &d.o, headPos)
}

// Print prints one card and waits until the printer's card counter
// confirms it. See the package documentation for how outcomes are decided.
func (d *Dev) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	start := d.o.Now()
	res := printer.Result{Outcome: printer.OutcomeNotFed}
	done := func(err error) (printer.Result, error) {
		res.Duration = d.o.Now().Sub(start)
		return res, err
	}

	before, raw, err := d.inf(ctx)
	if err != nil {
		return done(fmt.Errorf("print: status before job: %w", err))
	}
	res.Status = before.Status(raw, d.o.Now())
	if err := res.Status.Err(); err != nil {
		err.(*printer.StatusError).Op = "print"
		return done(fmt.Errorf("magicard %s: print: printer not ready: %w", d.t, err))
	}
	if d.suspect && before.TotalCards <= d.suspectTotal {
		// The last card's outcome is unknown and the card counter has
		// not moved since: that card may still be inside. Eject it (to
		// the output hopper: the language has no reject command) before
		// feeding this one, so this card is not printed over it.
		d.log.Warn("a card may be left inside from an interrupted job; ejecting it before the next", "total", before.TotalCards)
		if _, err := d.send(ctx, "EJT", simple("EJT")); err != nil {
			return done(fmt.Errorf("print: eject a card left inside: %w", err))
		}
	}
	d.suspect = false
	defer func() {
		if res.Outcome == printer.OutcomeUnknown {
			d.suspect, d.suspectTotal = true, before.TotalCards
		}
	}()
	o := d.o
	if o.AutoFormat {
		o.Format = FormatRio
		if before.ModelFlags&ModelPronto != 0 {
			o.Format = FormatEnduro
		}
	}
	job, err := AppendJob(d.job[:0], c, &o, before.HeadPosition)
	if err != nil {
		return done(fmt.Errorf("print: encode: %w", err))
	}
	d.job = job
	d.log.Info("sending card", "bytes", len(job), "duplex", c.Duplex(), "mag", !c.Mag.Empty())
	if n, err := d.send(ctx, "print", job); err != nil {
		if n > 0 {
			res.Outcome = printer.OutcomeUnknown
		}
		return done(fmt.Errorf("print: after %d of %d bytes: %w", n, len(job), err))
	}
	res.Outcome = printer.OutcomeUnknown

	deadline := d.o.After(d.o.PrintTimeout)
	for first := true; ; first = false {
		// The first poll goes at once: a printer that finished while
		// the job was being written (or refused it) says so now.
		if !first {
			select {
			case <-ctx.Done():
				return done(fmt.Errorf("magicard %s: print: waiting for the card: %w", d.t, ctx.Err()))
			case <-deadline:
				return done(fmt.Errorf("magicard %s: print: card not out after %v: %w", d.t, d.o.PrintTimeout, printer.ErrTimeout))
			case <-d.o.After(d.o.PollInterval):
			}
		}
		inf, raw, err := d.inf(ctx)
		if err != nil {
			if ctx.Err() == nil && (errors.Is(err, printer.ErrTimeout) || errors.Is(err, printer.ErrProtocol)) {
				// A printer busy with the card may answer late or
				// garbled; keep asking until the deadline.
				d.log.Warn("no status while printing", "err", err)
				continue
			}
			return done(fmt.Errorf("print: waiting for the card: %w", err))
		}
		res.Status = inf.Status(raw, d.o.Now())
		if inf.TotalCards > before.TotalCards {
			res.Outcome = printer.OutcomePrinted
			d.log.Info("card printed", "total", inf.TotalCards)
			return done(nil)
		}
		if inf.Major == MajorCommand {
			res.Outcome = printer.OutcomeNotFed
			return done(fmt.Errorf("magicard %s: print: printer refused the job (minor %d, reply %q): %w",
				d.t, inf.Minor, raw, printer.ErrProtocol))
		}
		if err := res.Status.Err(); err != nil {
			err.(*printer.StatusError).Op = "print"
			if inf.Major == MajorNoCard || inf.Major == MajorHopperFull {
				// Both are checked before a card leaves the feeder.
				res.Outcome = printer.OutcomeNotFed
			}
			return done(fmt.Errorf("magicard %s: print: %w", d.t, err))
		}
	}
}

// ClearError acknowledges a fault (the OK button, OKY) and checks that the
// printer is ready again; a fault still present is returned as a
// *printer.StatusError.
func (d *Dev) ClearError(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.send(ctx, "OKY", command("OKY")); err != nil {
		return fmt.Errorf("clear error: %w", err)
	}
	inf, raw, err := d.inf(ctx)
	if err != nil {
		return fmt.Errorf("clear error: %w", err)
	}
	if err := inf.Status(raw, d.o.Now()).Err(); err != nil {
		err.(*printer.StatusError).Op = "clear error"
		return fmt.Errorf("magicard %s: %w", d.t, err)
	}
	return nil
}

// Cancel presses the printer's Cancel button (CAN): the job in progress is
// abandoned and the error cleared.
func (d *Dev) Cancel(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.send(ctx, "CAN", command("CAN"))
	return err
}

// Eject ejects a card left in the printer (EJT). Magicard has no host
// command that sends a card to a reject box, so reject returns
// printer.ErrUnsupported.
func (d *Dev) Eject(ctx context.Context, reject bool) error {
	if reject {
		return fmt.Errorf("magicard %s: eject to reject box: %w", d.t, printer.ErrUnsupported)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.send(ctx, "EJT", simple("EJT"))
	return err
}

// TestCard prints the printer's built-in test card (TST).
func (d *Dev) TestCard(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.send(ctx, "TST", simple("TST"))
	return err
}
