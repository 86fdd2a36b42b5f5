// Package printer defines what cardd knows about card printers: the raster
// contract a composed card is delivered in (Card, Side, Mono), the Printer
// interface every command-language driver implements, the shared vocabulary
// of printer states and fault reasons, and the Transport a driver speaks
// through.
//
// Drivers live in sub-packages, one per command language (printer/evolis,
// printer/magicard); transports too (printer/usb, printer/tcp). Only
// printer/usb needs cgo.
package printer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Transport carries a driver's bytes to one printer and back. It is as small
// as a device connection can be. A driver is handed a Transport and never
// closes it: whoever opened it does.
type Transport interface {
	// Write sends p to the printer. It returns only when every byte has been
	// accepted or an error occurred; n reports how many were accepted. It
	// keeps no reference to p: drivers lay the next card out in the same
	// buffer.
	Write(ctx context.Context, p []byte) (n int, err error)
	// Read reads the printer's next reply bytes into p, waiting until some
	// arrive, ctx is done or the transport's own deadline passes
	// (ErrTimeout).
	Read(ctx context.Context, p []byte) (n int, err error)
	// Close releases the connection.
	Close() error
	// String describes the connection for logs ("usb:0f49:… serial …").
	String() string
}

// State is a printer's overall state.
type State string

// Printer states.
const (
	StateIdle     State = "idle"
	StateBusy     State = "busy"
	StatePrinting State = "printing"
	StateError    State = "error"
	StateOffline  State = "offline"
)

// Reason is one condition a printer reports, from a small vocabulary shared
// by every driver (modelled on IPP printer-state-reasons).
type Reason string

// The shared reasons.
const (
	ReasonCoverOpen         Reason = "cover-open"
	ReasonRibbonOut         Reason = "ribbon-out"
	ReasonRibbonLow         Reason = "ribbon-low"
	ReasonNoRibbon          Reason = "no-ribbon"
	ReasonUnsupportedRibbon Reason = "unsupported-ribbon"
	ReasonFeederEmpty       Reason = "feeder-empty"
	ReasonHopperFull        Reason = "output-hopper-full"
	ReasonRejectFull        Reason = "reject-box-full"
	ReasonCardJam           Reason = "card-jam"
	ReasonMechanical        Reason = "mechanical"
	ReasonNeedsCleaning     Reason = "needs-cleaning"
	ReasonOffline           Reason = "offline"
	ReasonMagError          Reason = "mag-error"
)

// Blocking reports whether the reason stops printing until a person acts
// (ribbon low and needs-cleaning are warnings).
func (r Reason) Blocking() bool {
	switch r {
	case ReasonRibbonLow, ReasonNeedsCleaning:
		return false
	}
	return true
}

// Sentinel errors for the printer faults. Drivers wrap them (often inside a
// *StatusError) so callers test with errors.Is.
var (
	ErrCoverOpen         = errors.New("printer: cover open")
	ErrRibbonOut         = errors.New("printer: ribbon out")
	ErrNoRibbon          = errors.New("printer: no ribbon")
	ErrUnsupportedRibbon = errors.New("printer: unsupported ribbon")
	ErrFeederEmpty       = errors.New("printer: feeder empty")
	ErrHopperFull        = errors.New("printer: output hopper full")
	ErrRejectFull        = errors.New("printer: reject box full")
	ErrCardJam           = errors.New("printer: card jam")
	ErrMechanical        = errors.New("printer: mechanical error")
	ErrMagnetic          = errors.New("printer: magnetic encoding error")
	ErrOffline           = errors.New("printer: offline")
	ErrNoDevice          = errors.New("printer: no such device")
	ErrBusy              = errors.New("printer: device busy")
	ErrTimeout           = errors.New("printer: timeout")
	ErrStall             = errors.New("printer: endpoint stalled")
	ErrProtocol          = errors.New("printer: protocol error")
	ErrUnsupported       = errors.New("printer: not supported by this printer")
)

// ReasonErr maps a reason to its sentinel error; nil for warnings.
func ReasonErr(r Reason) error {
	switch r {
	case ReasonCoverOpen:
		return ErrCoverOpen
	case ReasonRibbonOut:
		return ErrRibbonOut
	case ReasonNoRibbon:
		return ErrNoRibbon
	case ReasonUnsupportedRibbon:
		return ErrUnsupportedRibbon
	case ReasonFeederEmpty:
		return ErrFeederEmpty
	case ReasonHopperFull:
		return ErrHopperFull
	case ReasonRejectFull:
		return ErrRejectFull
	case ReasonCardJam:
		return ErrCardJam
	case ReasonMechanical:
		return ErrMechanical
	case ReasonOffline:
		return ErrOffline
	case ReasonMagError:
		return ErrMagnetic
	}
	return nil
}

// StatusError is a fault the printer reported, with its raw reply kept for
// diagnosis. Unwrap yields the sentinel of the first blocking reason.
type StatusError struct {
	Reasons []Reason
	Raw     string // the printer's reply, verbatim (may be binary-safe quoted)
	Op      string // what the driver was doing ("print", "status" …)
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("printer: %s: %v (reply %q)", e.Op, e.Reasons, e.Raw)
}

// Unwrap returns the sentinel errors of every reason, so errors.Is matches any.
func (e *StatusError) Unwrap() []error {
	var errs []error
	for _, r := range e.Reasons {
		if err := ReasonErr(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Capabilities is what a printer model can do.
type Capabilities struct {
	Duplex   bool
	Panels   []Panel // panels the loaded ribbon provides
	Ribbon   string  // ribbon type as the printer names it ("ymcko")
	Magnetic bool    // has a magnetic stripe encoder
	DPI      int
}

// Info identifies a printer.
type Info struct {
	Vendor   string
	Model    string
	Serial   string
	Firmware string
	DeviceID string // IEEE-1284 device ID, when the transport has one
	Caps     Capabilities
}

// Consumables are the printer's counters and supplies.
type Consumables struct {
	RibbonLeft     int // panels or prints left on the ribbon; -1 unknown
	RibbonCapacity int // -1 unknown
	CardsPrinted   int // lifetime card counter; -1 unknown
	PanelsPrinted  int // lifetime panel counter; -1 unknown
	FeederLoaded   int // cards believed in the feeder; -1 unknown
}

// Status is a snapshot of a printer's condition.
type Status struct {
	State       State
	Reasons     []Reason
	Consumables Consumables
	Raw         string // the raw reply(ies) the status was parsed from
	At          time.Time
}

// Blocked reports whether any blocking reason is present.
func (s Status) Blocked() bool {
	for _, r := range s.Reasons {
		if r.Blocking() {
			return true
		}
	}
	return false
}

// Err returns a *StatusError when the status has a blocking reason.
func (s Status) Err() error {
	if !s.Blocked() {
		return nil
	}
	return &StatusError{Reasons: s.Reasons, Raw: s.Raw, Op: "status"}
}

// Outcome says how far a card got through the printer. It is what decides
// whether a card may be printed again: a card whose outcome is not known
// must never be reprinted automatically.
type Outcome string

// Outcomes of a print.
const (
	// OutcomeNotFed: no card left the feeder; printing again is safe.
	OutcomeNotFed Outcome = "not-fed"
	// OutcomePrinted: the card was printed and ejected to the output hopper.
	OutcomePrinted Outcome = "printed"
	// OutcomeRejected: a card was fed but went to the reject box (spoiled).
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnknown: the link was lost or the printer stopped mid-card; a
	// person must look.
	OutcomeUnknown Outcome = "unknown"
)

// Result is the outcome of printing one card.
type Result struct {
	Outcome  Outcome
	Duration time.Duration
	Status   Status // the status read after the attempt, when available
	// StrayRejected: before this card was fed, the driver found a card
	// left inside the printer by an earlier attempt (a link lost or a
	// daemon killed mid-card) and sent it to the reject box. That stray
	// card is spoiled; Outcome is about this card only.
	StrayRejected bool
}

// Printer is one card printer driven through its command language.
type Printer interface {
	// Identify reads model, serial, firmware and capabilities.
	Identify(ctx context.Context) (Info, error)
	// Status polls the printer.
	Status(ctx context.Context) (Status, error)
	// Print prints one card. The Result says how far the card got even when
	// err is non-nil.
	Print(ctx context.Context, c *Card) (Result, error)
	// ClearError acknowledges a fault after the operator fixed it.
	ClearError(ctx context.Context) error
	// Eject ejects a card in the printer; reject sends it to the reject box.
	Eject(ctx context.Context, reject bool) error
	// TestCard prints the printer's built-in test card.
	TestCard(ctx context.Context) error
}

// Presence says whether a card is inside a printer, as far as the printer
// can tell.
type Presence string

// Card presences.
const (
	// PresenceUnknown: the printer's language has no way to tell.
	PresenceUnknown Presence = ""
	// PresenceCard: a card is between the feeder and the hopper (jammed
	// or waiting), or the printer reports a jam with one.
	PresenceCard Presence = "card"
	// PresenceNone: no card is inside.
	PresenceNone Presence = "none"
)

// Evidence is what a printer reports about itself that tells where a card
// went: its serial number, its lifetime counters and whether a card is
// inside. The spool journals it before each card is fed and reads it again
// after a crash or a lost link; comparing the two settles a card whose
// outcome is otherwise unknown (see spool's settlement rules). A counter
// the printer does not report is -1.
type Evidence struct {
	// Serial is the printer's serial number ("" when unknown).
	Serial string `json:"serial,omitempty"`
	// Fed counts the cards taken from the feeder over the printer's life
	// (whatever became of them).
	Fed int `json:"fed"`
	// Printed counts the cards printed and delivered to the output
	// hopper.
	Printed int `json:"printed"`
	// Rejected counts the cards sent to the reject box.
	Rejected int `json:"rejected"`
	// Panels counts the ribbon panels printed.
	Panels int `json:"panels"`
	// Inside says whether a card is in the printer now.
	Inside Presence `json:"inside,omitempty"`
	// At is when the evidence was read.
	At time.Time `json:"at,omitzero"`
	// CardPanels is, in the evidence journaled before a card, how many
	// ribbon panels printing that card takes as the driver sends it
	// (PanelCounter): Panels advances by exactly that much when the card
	// is printed whole. 0 when the driver cannot tell.
	CardPanels int `json:"card_panels,omitempty"`
}

// PanelCounter is implemented by a driver whose Evidence counts the ribbon
// panels printed (an optional interface next to EvidenceReader): CardPanels
// says how many panels printing c takes, as the driver would send it.
// Settlement compares it with how far the panel counter moved, which tells
// a card printed whole from one that left part-printed.
type PanelCounter interface {
	CardPanels(c *Card) (int, error)
}

// NoEvidence is evidence with every counter unknown.
func NoEvidence() Evidence { return Evidence{Fed: -1, Printed: -1, Rejected: -1, Panels: -1} }

// String describes the evidence in one line, for logs, audit reasons and
// operators ("printer EVO123: fed 41, printed ?, rejected ?, panels 205,
// card inside").
func (e Evidence) String() string {
	n := func(v int) string {
		if v < 0 {
			return "?"
		}
		return fmt.Sprint(v)
	}
	serial := e.Serial
	if serial == "" {
		serial = "?"
	}
	inside := "card inside ?"
	switch e.Inside {
	case PresenceCard:
		inside = "card inside"
	case PresenceNone:
		inside = "no card inside"
	}
	card := ""
	if e.CardPanels > 0 {
		card = fmt.Sprintf(", the card takes %d panels", e.CardPanels)
	}
	return fmt.Sprintf("printer %s: fed %s, printed %s, rejected %s, panels %s, %s%s",
		serial, n(e.Fed), n(e.Printed), n(e.Rejected), n(e.Panels), inside, card)
}

// EvidenceReader is implemented by a driver that can report Evidence (an
// optional interface next to Printer). Each driver's package documentation
// says which fields its language can fill.
type EvidenceReader interface {
	Evidence(ctx context.Context) (Evidence, error)
}

// rejectNoticeKey is the context key of a RejectNotice.
type rejectNoticeKey struct{}

// RejectNotice is called by a driver just before it tells the printer to
// send a card to the reject box from inside Print: stray says the card was
// left inside by an earlier attempt (not the card being printed). The
// caller journals its intent durably there, so a crash between the command
// and Print's return still counts the blank. When it returns an error the
// driver does not send the card to the reject box.
type RejectNotice func(ctx context.Context, stray bool) error

// WithRejectNotice returns ctx carrying f for the drivers to call (see
// NoticeReject).
func WithRejectNotice(ctx context.Context, f RejectNotice) context.Context {
	return context.WithValue(ctx, rejectNoticeKey{}, f)
}

// NoticeReject calls the RejectNotice ctx carries, if any. Drivers call it
// before every reject command they send on their own inside Print.
func NoticeReject(ctx context.Context, stray bool) error {
	if f, ok := ctx.Value(rejectNoticeKey{}).(RejectNotice); ok && f != nil {
		return f(ctx, stray)
	}
	return nil
}
