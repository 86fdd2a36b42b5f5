package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/magicard"
)

// The Magicard front end: it reads jobs and REQ commands as a Magicard
// printer does (see printer/magicard) and answers INF and STA from the
// Machine. A fault is latched as the INF reply's major/minor error code, as
// the printer shows it on its display, until the host sends OKY or CAN (or
// the condition is still there: an open cover keeps reporting).

// MagicardIdentity is the default identity of the emulated Magicard: a
// duplex Rio Pro with a magnetic encoder and a YMCKO film.
func MagicardIdentity() Identity {
	return Identity{Model: "Rio Pro 360", Serial: "EMU0C1F0001", Firmware: "1.0.0-emu", Ribbon: "YMCKO", Duplex: true, Magnetic: true}
}

// Magicard front-end constants.
const (
	// magicardHeadPos is the print-head vertical position an emulated
	// Enduro reports, the one that puts its window where a Rio's is;
	// Rio-format printers report 0.
	magicardHeadPos = magicard.EnduroHeadCentre
	// magicardCleanEvery is the cards allowed between cleanings.
	magicardCleanEvery = 700
	// magicardMaxCmd bounds a REQ command.
	magicardMaxCmd = 256
	// magicardPanelsPerPrint converts ribbon panels to film "shots".
	magicardPanelsPerPrint = 5
)

// magicardFE is the Magicard front end on one Machine.
type magicardFE struct {
	m       *Machine
	format  magicard.Format
	headPos int

	buf     []byte
	discard bool // after a refused job: skip input until a new lead-in
	major   magicard.Major
	minor   int
	cleans  int
	cleanAt int // CardsPrinted at the last cleaning
}

// NewMagicard returns the Magicard front end driving m. A model whose name
// contains "Enduro" or "Pronto" takes the Enduro/Pronto plane format;
// every other model the Rio/Tango format.
func NewMagicard(m *Machine) Frontend {
	fe := &magicardFE{m: m, format: magicard.FormatRio}
	model := strings.ToLower(m.Identity().Model)
	if strings.Contains(model, "enduro") || strings.Contains(model, "pronto") {
		fe.format, fe.headPos = magicard.FormatEnduro, magicardHeadPos
	}
	return fe
}

// Reset discards partial input.
func (fe *magicardFE) Reset() {
	fe.buf = fe.buf[:0]
	fe.discard = false
}

// refuse latches a command error and drops the input.
func (fe *magicardFE) refuse(err error) {
	var me *MagicardError
	fe.major, fe.minor = magicard.MajorCommand, magicard.MinorBadHeader
	if errors.As(err, &me) {
		fe.minor = me.Minor
	}
	fe.m.log.Info("emulator: magicard: refused", "err", err)
	fe.buf = fe.buf[:0]
	fe.discard = true
}

// resync finds the start of the next lead-in (nine or more 0x05 then SOH)
// after a refused job; it keeps the buffer from there.
func (fe *magicardFE) resync() bool {
	const marker = "\x05\x05\x05\x05\x05\x05\x05\x05\x05\x01"
	i := bytes.Index(fe.buf, []byte(marker))
	if i < 0 {
		// Keep a tail that may be the start of a marker.
		if len(fe.buf) > len(marker) {
			fe.buf = append(fe.buf[:0], fe.buf[len(fe.buf)-len(marker):]...)
		}
		return false
	}
	for i > 0 && fe.buf[i-1] == magicard.ENQ {
		i--
	}
	fe.buf = append(fe.buf[:0], fe.buf[i:]...)
	fe.discard = false
	return true
}

// Write consumes host bytes.
func (fe *magicardFE) Write(ctx context.Context, p []byte) ([]byte, error) {
	fe.buf = append(fe.buf, p...)
	var reply []byte
	for len(fe.buf) > 0 {
		if fe.discard && !fe.resync() {
			return reply, nil
		}
		n := leadRun(fe.buf)
		if n == len(fe.buf) {
			return reply, nil
		}
		if fe.buf[n] != magicard.SOH {
			fe.refuse(mcErr(magicard.MinorBadLeadIn, "%#02x after %d × 0x05, want SOH", fe.buf[n], n))
			continue
		}
		if len(fe.buf) < n+2 {
			return reply, nil
		}
		if fe.buf[n+1] == ',' {
			job, used, err := parseMagicardJob(fe.buf, fe.format, fe.headPos, fe.m.Geometry().Height)
			if errors.Is(err, errMagicardShort) {
				return reply, nil
			}
			if err != nil {
				fe.refuse(err)
				continue
			}
			fe.buf = append(fe.buf[:0], fe.buf[used:]...)
			if err := fe.print(ctx, job); err != nil {
				return reply, err
			}
			continue
		}
		end := bytes.Index(fe.buf[n:], []byte{magicard.FS, magicard.ETX})
		if end < 0 {
			if len(fe.buf)-n > magicardMaxCmd {
				fe.refuse(mcErr(magicard.MinorUnknownCmd, "command longer than %d bytes", magicardMaxCmd))
			}
			return reply, nil
		}
		cmd := string(fe.buf[n+1 : n+end])
		fe.buf = append(fe.buf[:0], fe.buf[n+end+2:]...)
		r, err := fe.command(ctx, cmd)
		if err != nil {
			return reply, err
		}
		reply = append(reply, r...)
	}
	return reply, nil
}

// command runs one REQ command (cmd is what lies between SOH and FS).
func (fe *magicardFE) command(ctx context.Context, cmd string) ([]byte, error) {
	rest, ok := strings.CutPrefix(cmd, "REQ,")
	if !ok {
		// A simple command, as Magicard's tools send RST, TST and EJT:
		// the name and a comma, without REQ.
		switch cmd {
		case "RST,", "TST,", "EJT,":
			rest, ok = cmd, true
		}
	}
	if !ok || !strings.HasSuffix(rest, ",") {
		fe.refuse(mcErr(magicard.MinorUnknownCmd, "command %q not REQ,…, nor a simple command", cmd))
		return nil, nil
	}
	args := strings.Split(strings.TrimSuffix(rest, ","), ",")
	switch args[0] {
	case "INF":
		return magicard.AppendINF(nil, fe.inf()), nil
	case "STA":
		if len(args) != 2 {
			fe.refuse(mcErr(magicard.MinorUnknownCmd, "STA wants one key, got %q", cmd))
			return nil, nil
		}
		v, ok := fe.sta(args[1])
		if !ok {
			fe.refuse(mcErr(magicard.MinorUnknownCmd, "unknown STA key %q", args[1]))
			return nil, nil
		}
		return magicard.AppendSTA(nil, args[1], v), nil
	case "OKY", "RST":
		fe.major, fe.minor = magicard.MajorNone, 0
	case "CAN":
		fe.major, fe.minor = magicard.MajorNone, 0
		if st := fe.m.State(); st.CardInside && !st.Jammed && !st.CoverOpen {
			if err := fe.m.Reject(ctx); err != nil {
				return nil, fe.fault(err)
			}
		}
	case "EJT":
		if st := fe.m.State(); st.CardInside {
			if err := fe.m.Eject(ctx, nil); err != nil {
				return nil, fe.fault(err)
			}
		}
	case "CLN":
		fe.cleans++
		fe.cleanAt = fe.m.State().CardsPrinted
	case "TST":
		return nil, fe.testCard(ctx)
	default:
		fe.refuse(mcErr(magicard.MinorUnknownCmd, "unknown command %q", args[0]))
	}
	return nil, nil
}

// fault latches the error a mechanism step failed with. Only a cancelled
// context is returned, to break the link.
func (fe *magicardFE) fault(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	m := magicard.MajorMechanical
	for _, c := range []struct {
		s error
		m magicard.Major
	}{
		{printer.ErrCoverOpen, magicard.MajorCoverOpen},
		{printer.ErrRibbonOut, magicard.MajorRibbonOut},
		{printer.ErrFeederEmpty, magicard.MajorNoCard},
		{printer.ErrCardJam, magicard.MajorCardJam},
		{printer.ErrHopperFull, magicard.MajorHopperFull},
		{printer.ErrRejectFull, magicard.MajorRejectFull},
		{printer.ErrMagnetic, magicard.MajorMagnetic},
	} {
		if errors.Is(err, c.s) {
			m = c.m
			break
		}
	}
	if errors.Is(err, printer.ErrUnsupported) {
		// A duplex or magnetic job on a printer without the hardware.
		fe.major, fe.minor = magicard.MajorCommand, magicard.MinorBadHeader
	} else {
		fe.major, fe.minor = m, 0
	}
	fe.m.log.Info("emulator: magicard: fault", "major", int(fe.major), "err", err)
	return nil
}

// print runs a parsed job through the mechanism.
func (fe *magicardFE) print(ctx context.Context, job *MagicardJob) error {
	if fe.major != magicard.MajorNone && fe.major != magicard.MajorCleaning {
		fe.m.log.Info("emulator: magicard: job dropped, printer in error", "major", int(fe.major))
		return nil
	}
	// A job asking for hardware the printer lacks is refused before a
	// card is fed.
	id := fe.m.Identity()
	if len(job.Sides) > 1 && !id.Duplex || !job.Mag.Empty() && !id.Magnetic {
		fe.refuse(mcErr(magicard.MinorBadHeader, "job needs a flipper or encoder this %s lacks", id.Model))
		return nil
	}
	if err := fe.m.Feed(ctx); err != nil {
		return fe.fault(err)
	}
	if !job.Mag.Empty() {
		if err := fe.m.Encode(ctx, job.Mag); err != nil {
			return fe.fault(err)
		}
	}
	var panels []PanelImage
	for i, s := range job.Sides {
		if i == 1 {
			if err := fe.m.Flip(ctx); err != nil {
				return fe.fault(err)
			}
		}
		for _, p := range s.WirePlanes {
			if err := fe.m.PrintPanel(ctx, p.Side, p.Panel); err != nil {
				return fe.fault(err)
			}
			panels = append(panels, p)
		}
	}
	// The card is laid out in landscape when someone looks at it.
	c := job.Card()
	if err := fe.m.Eject(ctx, &Job{Card: printer.Card{Geometry: c.Geometry}, Panels: panels, landscape: job.landscape}); err != nil {
		return fe.fault(err)
	}
	return nil
}

// testCard prints the built-in test card: all five panels of a blank card.
func (fe *magicardFE) testCard(ctx context.Context) error {
	if err := fe.m.Feed(ctx); err != nil {
		return fe.fault(err)
	}
	for _, p := range []string{"y", "m", "c", "k", "o"} {
		if err := fe.m.PrintPanel(ctx, "front", p); err != nil {
			return fe.fault(err)
		}
	}
	if err := fe.m.Eject(ctx, &Job{Card: printer.Card{Geometry: fe.m.Geometry()}}); err != nil {
		return fe.fault(err)
	}
	return nil
}

// latchedFault returns the held error as a printer sentinel (implements
// latcher); a held command error or warning is none.
func (fe *magicardFE) latchedFault() error {
	switch fe.major {
	case magicard.MajorCoverOpen:
		return printer.ErrCoverOpen
	case magicard.MajorRibbonOut:
		return printer.ErrRibbonOut
	case magicard.MajorNoCard:
		return printer.ErrFeederEmpty
	case magicard.MajorCardJam:
		return printer.ErrCardJam
	case magicard.MajorHopperFull:
		return printer.ErrHopperFull
	case magicard.MajorNone, magicard.MajorCleaning:
		return nil
	}
	return printer.ErrMechanical
}

// acknowledge clears the held error (implements latcher).
func (fe *magicardFE) acknowledge() { fe.major, fe.minor = magicard.MajorNone, 0 }

// current is the error INF reports: the latched one, else a condition the
// printer's sensors see by themselves.
func (fe *magicardFE) current(st State) (magicard.Major, int) {
	switch {
	case fe.major != magicard.MajorNone:
		return fe.major, fe.minor
	case st.CoverOpen:
		return magicard.MajorCoverOpen, 0
	case st.Jammed:
		return magicard.MajorCardJam, 0
	case st.RibbonLeft <= 0:
		return magicard.MajorRibbonOut, 0
	}
	return magicard.MajorNone, 0
}

// inf builds the INF reply from the mechanism.
func (fe *magicardFE) inf() magicard.Inf {
	st := fe.m.State()
	id := fe.m.Identity()
	flags := 0
	if id.Duplex {
		flags |= magicard.ModelDuplex
	}
	if id.Magnetic {
		flags |= magicard.ModelMagnetic
	}
	if fe.format == magicard.FormatEnduro {
		flags |= magicard.ModelPronto
	}
	major, minor := fe.current(st)
	shots := st.RibbonCapacity / magicardPanelsPerPrint
	return magicard.Inf{
		ModelFlags:      flags,
		Model:           id.Model,
		Serial:          id.Serial,
		HeadSerial:      "H" + id.Serial,
		Firmware:        id.Firmware,
		TotalCards:      st.CardsPrinted,
		CardsOnHead:     st.CardsPrinted,
		DyePanels:       st.PanelsPrinted,
		Cleans:          fe.cleans,
		CardsSinceClean: st.CardsPrinted - fe.cleanAt,
		CleanInterval:   magicardCleanEvery,
		HeadPosition:    fe.headPos,
		ImageStart:      50,
		ImageEnd:        50,
		Major:           major,
		Minor:           minor,
		FilmUID:         "EMU" + id.Serial,
		FilmShots:       shots,
		FilmUsed:        shots - max(st.RibbonLeft, 0)/magicardPanelsPerPrint,
		FilmName:        id.Ribbon,
	}
}

// sta answers one REQ,STA key.
func (fe *magicardFE) sta(key string) (string, bool) {
	inf := fe.inf()
	st := fe.m.State()
	n := strconv.Itoa
	switch key {
	case "MSR":
		return inf.Serial, true
	case "PSR":
		return inf.HeadSerial, true
	case "VRS":
		return inf.Firmware, true
	case "MDL":
		return inf.Model, true
	case "TCQ":
		return n(inf.TotalCards), true
	case "TCP":
		return n(inf.CardsOnHead), true
	case "TCN":
		return n(inf.Cleans), true
	case "CCQ":
		return n(inf.CardsSinceClean), true
	case "TPQ":
		return n(inf.DyePanels), true
	case "DFR":
		return n(max(st.RibbonLeft, 0)), true
	case "CLP":
		if inf.CardsSinceClean >= inf.CleanInterval {
			return "1", true
		}
		return "0", true
	case "VID":
		return n(0x0C1F), true
	case "PID":
		return n(0x1800), true
	}
	return "", false
}

var _ Frontend = (*magicardFE)(nil)

// String names the front end for logs.
func (fe *magicardFE) String() string { return fmt.Sprintf("magicard(%v)", fe.format) }
