package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/printer"
)

// Timing is how long each mechanical step takes at speed 1.
type Timing struct {
	Feed   time.Duration // take a card from the feeder to the print position
	Panel  time.Duration // print one ribbon panel
	Flip   time.Duration // turn the card over for the back side
	Encode time.Duration // write the magnetic stripe
	Eject  time.Duration // move the card to the output hopper or reject box
}

// DefaultTiming is roughly a desktop YMCKO printer: about 18 s for a
// single-sided YMCKO card, 34 s duplex.
func DefaultTiming() Timing {
	return Timing{
		Feed:   1500 * time.Millisecond,
		Panel:  3 * time.Second,
		Flip:   2 * time.Second,
		Encode: 2 * time.Second,
		Eject:  1500 * time.Millisecond,
	}
}

// Fault names a condition the emulator can be put in.
type Fault string

// The faults the emulator can inject. Each surfaces to the host the way the
// front end's printer family reports it.
const (
	// FaultCoverOpen opens the cover: nothing moves until it is closed.
	FaultCoverOpen Fault = "cover-open"
	// FaultRibbonOut uses up the ribbon: the next panel fails.
	FaultRibbonOut Fault = "ribbon-out"
	// FaultFeederEmpty empties the feeder: the next feed fails.
	FaultFeederEmpty Fault = "feeder-empty"
	// FaultJam jams the card in the printer (or the next card fed).
	FaultJam Fault = "card-jam"
	// FaultHopperFull fills the output hopper: the next feed fails.
	FaultHopperFull Fault = "hopper-full"
	// FaultDisconnect drops the link: transports fail with
	// printer.ErrNoDevice until Reconnect.
	FaultDisconnect Fault = "disconnect"
)

// FaultPlan is the faults an emulator starts with or meets on the way.
// The zero FaultPlan injects nothing.
type FaultPlan struct {
	// CoverOpen starts with the cover open.
	CoverOpen bool
	// RibbonOutAfter makes the ribbon run out after this many panels
	// (0: the ribbon holds Options.RibbonPanels).
	RibbonOutAfter int
	// FeederEmpty starts with no cards in the feeder.
	FeederEmpty bool
	// JamAtCard jams the Nth card fed since start (1-based; 0: never).
	JamAtCard int
	// HopperFull starts with a full output hopper.
	HopperFull bool
	// DisconnectAtByte drops the link once the host has written this many
	// bytes in all since start (0: never), in the middle of a Write if
	// that is where the count falls. It fires once.
	DisconnectAtByte int64
}

// ParseFault adds one fault given as text to the plan. The forms are
// "cover-open", "feeder-empty", "hopper-full", "ribbon-out-after=N",
// "jam-at=N" and "disconnect-at=BYTES"; cmd/cardd uses it for --fault.
func (p *FaultPlan) ParseFault(s string) error {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), "=")
	num := func() (int64, error) {
		if !hasArg {
			return 0, fmt.Errorf("emulator: fault %q needs =N", name)
		}
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("emulator: fault %q: %q is not a positive number", name, arg)
		}
		return n, nil
	}
	switch name {
	case "cover-open", "feeder-empty", "hopper-full":
		if hasArg {
			return fmt.Errorf("emulator: fault %q takes no value", name)
		}
		switch name {
		case "cover-open":
			p.CoverOpen = true
		case "feeder-empty":
			p.FeederEmpty = true
		default:
			p.HopperFull = true
		}
		return nil
	case "ribbon-out-after":
		n, err := num()
		p.RibbonOutAfter = int(n)
		return err
	case "jam-at":
		n, err := num()
		p.JamAtCard = int(n)
		return err
	case "disconnect-at":
		n, err := num()
		p.DisconnectAtByte = n
		return err
	}
	return fmt.Errorf("emulator: unknown fault %q (want cover-open, feeder-empty, hopper-full, ribbon-out-after=N, jam-at=N, disconnect-at=BYTES)", name)
}

// Identity is what the emulated printer says it is.
type Identity struct {
	Model    string // model name answered to identification queries
	Serial   string
	Firmware string
	Ribbon   string // loaded ribbon type in the family's own spelling ("YMCKO")
	Duplex   bool   // has a card flipper
	Magnetic bool   // has a magnetic stripe encoder
}

// State is a snapshot of the mechanism.
type State struct {
	CoverOpen      bool
	Jammed         bool
	CardInside     bool // a card is between feeder and hopper
	RibbonLeft     int  // panels left on the ribbon
	RibbonCapacity int
	FeederCards    int
	HopperCards    int
	HopperCapacity int
	RejectCards    int
	RejectCapacity int
	CardsFed       int // lifetime count of cards taken from the feeder
	CardsPrinted   int // cards delivered to the output hopper
	PanelsPrinted  int // lifetime panel count
	Connected      bool
}

// Reasons maps the mechanism's conditions to the shared vocabulary.
func (s State) Reasons() []printer.Reason {
	var r []printer.Reason
	if !s.Connected {
		r = append(r, printer.ReasonOffline)
	}
	if s.CoverOpen {
		r = append(r, printer.ReasonCoverOpen)
	}
	if s.Jammed {
		r = append(r, printer.ReasonCardJam)
	}
	if s.RibbonLeft <= 0 {
		r = append(r, printer.ReasonRibbonOut)
	} else if s.RibbonLeft*20 <= s.RibbonCapacity {
		r = append(r, printer.ReasonRibbonLow)
	}
	if s.FeederCards <= 0 {
		r = append(r, printer.ReasonFeederEmpty)
	}
	if s.HopperCards >= s.HopperCapacity {
		r = append(r, printer.ReasonHopperFull)
	}
	if s.RejectCards >= s.RejectCapacity {
		r = append(r, printer.ReasonRejectFull)
	}
	return r
}

// PanelImage is one panel as the printer received it, in the printer's wire
// orientation: a *printer.Plane for a dye panel, a *printer.Mono for a 1-bit
// one. The PNG files show it turned back to landscape.
type PanelImage struct {
	Side  string // "front" or "back"
	Panel string // the family's panel name ("y", "m", "c", "k", "o" …)
	Image image.Image
	// Wire is how the card's landscape raster was laid out onto Image
	// (rotation and mirroring; the zero Transform: Image is landscape).
	// The PNG files show panels turned back to landscape through it.
	Wire printer.Transform
	// dye, when set, makes Image the first time the printed card is
	// looked at (Printed, the PNG files).
	dye func() *printer.Plane
}

// Job is what a front end decoded for the card in the printer, handed to
// Machine.Eject.
type Job struct {
	// Card is the decoded card in the raster contract's landscape
	// orientation (Back nil for a single-sided card).
	Card printer.Card
	// Panels lists every panel downloaded, in order.
	Panels []PanelImage
	// landscape, when set, lays the panels out as Card: a front end that
	// has checked every panel leaves that work to when someone looks at
	// the card (Printed, the PNG files), which a printer never does.
	landscape func() (printer.Card, error)
}

// PrintedCard is one card that left the printer, as tests query it.
type PrintedCard struct {
	Seq     int             // the card's number among cards fed, from 1
	Outcome printer.Outcome // OutcomePrinted (hopper) or OutcomeRejected
	Card    printer.Card    // decoded sides, landscape
	Front   *image.RGBA     // front flattened as it looks under white light
	Back    *image.RGBA     // back flattened; nil when single-sided
	Panels  []PanelImage
	Fed     time.Time // when the card left the feeder
	Done    time.Time // when it reached the hopper or reject box
	Files   []string  // PNG files written, when Options.OutDir is set
}

// Machine is the mechanism shared by every command language: feeder,
// ribbon, print head, flipper, encoder, output hopper and reject box, with
// its counters and faults. Front ends drive it; every method is safe for
// concurrent use. Methods that move the card let time pass on the clock
// (scaled by the speed factor) and fail with the printer package's sentinel
// errors (printer.ErrCoverOpen …), which the front end turns into its
// family's replies.
type Machine struct {
	id     Identity
	geom   printer.Geometry
	timing Timing
	speed  float64
	clock  Clock
	outDir string
	keep   int
	log    *slog.Logger

	mu      sync.Mutex
	st      State
	jamAt   int
	fed     time.Time
	seq     int // number of the card inside
	mag     printer.MagTracks
	printed []printedCard
}

func newMachine(o *Options) *Machine {
	m := &Machine{
		id:     o.Identity,
		geom:   o.Geometry,
		timing: o.Timing,
		speed:  o.Speed,
		clock:  o.Clock,
		outDir: o.OutDir,
		keep:   o.KeepCards,
		log:    o.Log,
		jamAt:  o.Faults.JamAtCard,
	}
	m.st = State{
		CoverOpen:      o.Faults.CoverOpen,
		RibbonLeft:     o.RibbonPanels,
		RibbonCapacity: o.RibbonPanels,
		FeederCards:    o.FeederCards,
		HopperCapacity: o.HopperCapacity,
		RejectCapacity: o.RejectCapacity,
		Connected:      true,
	}
	if o.Faults.RibbonOutAfter > 0 {
		m.st.RibbonLeft = o.Faults.RibbonOutAfter
	}
	if o.Faults.FeederEmpty {
		m.st.FeederCards = 0
	}
	if o.Faults.HopperFull {
		m.st.HopperCards = m.st.HopperCapacity
	}
	return m
}

// Identity returns what the printer says it is.
func (m *Machine) Identity() Identity { return m.id }

// Geometry returns the raster one side is printed into.
func (m *Machine) Geometry() printer.Geometry { return m.geom }

// Now returns the emulator clock's time.
func (m *Machine) Now() time.Time { return m.clock.Now() }

// State returns a snapshot of the mechanism.
func (m *Machine) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// Printed returns the cards that have left the printer, oldest first (the
// most recent Options.KeepCards when that is set).
func (m *Machine) Printed() []PrintedCard {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.printed {
		m.resolve(&m.printed[i])
	}
	out := make([]PrintedCard, len(m.printed))
	for i, p := range m.printed {
		out[i] = p.PrintedCard
	}
	return out
}

// printedCard is a card that left the printer, with the work of laying its
// panels out in landscape still to do when landscape is set.
type printedCard struct {
	PrintedCard
	landscape func() (printer.Card, error)
}

// resolve lays out a card's sides and flattens them (Card, Front, Back)
// if that is still to do.
func (m *Machine) resolve(p *printedCard) {
	for i := range p.Panels {
		if p.Panels[i].dye != nil {
			// The panels are shared with the front end's memory of the
			// last sequence: set the images in a copy.
			panels := slices.Clone(p.Panels)
			for k := range panels {
				if d := panels[k].dye; d != nil {
					panels[k].Image, panels[k].dye = d(), nil
				}
			}
			p.Panels = panels
			break
		}
	}
	if p.landscape == nil {
		return
	}
	c, err := p.landscape()
	p.landscape = nil
	if err != nil {
		// The front end checked the panels before the card moved.
		m.log.Error("emulator: laying out a printed card", "card", p.Seq, "err", err)
		return
	}
	c.Mag = p.Card.Mag
	p.Card = c
	p.flatten()
}

// flatten sets Front and Back from Card.
func (pc *PrintedCard) flatten() {
	pc.Front = flatten(&pc.Card.Front, pc.Card.Geometry)
	if pc.Card.Back != nil {
		pc.Back = flatten(pc.Card.Back, pc.Card.Geometry)
	}
}

func (m *Machine) wait(ctx context.Context, d time.Duration) error {
	if m.speed > 0 && m.speed != 1 {
		d = time.Duration(float64(d) / m.speed)
	}
	return m.clock.Sleep(ctx, d)
}

// blocked returns the sentinel for a condition that stops all movement.
// Called with m.mu held.
func (m *Machine) blocked() error {
	switch {
	case m.st.CoverOpen:
		return printer.ErrCoverOpen
	case m.st.Jammed:
		return printer.ErrCardJam
	}
	return nil
}

// Feed takes a card from the feeder to the print position. It fails with
// ErrCoverOpen, ErrCardJam (a jam latched earlier), ErrFeederEmpty,
// ErrHopperFull (checked before feeding, as the real printers do) or, when
// the plan jams this card, ErrCardJam with the card stuck inside. A card
// already inside is reused (ErrProtocol is not raised: real printers print
// on the card in place).
func (m *Machine) Feed(ctx context.Context) error {
	m.mu.Lock()
	if err := m.blocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if m.st.CardInside {
		m.mu.Unlock()
		return nil
	}
	switch {
	case m.st.FeederCards <= 0:
		m.mu.Unlock()
		return printer.ErrFeederEmpty
	case m.st.HopperCards >= m.st.HopperCapacity:
		m.mu.Unlock()
		return printer.ErrHopperFull
	}
	m.st.FeederCards--
	m.st.CardsFed++
	m.st.CardInside = true
	m.seq = m.st.CardsFed
	m.fed = m.clock.Now()
	m.mag = printer.MagTracks{}
	jam := m.jamAt > 0 && m.st.CardsFed == m.jamAt
	if jam {
		m.st.Jammed = true
		m.jamAt = 0
	}
	m.mu.Unlock()
	m.log.Debug("emulator: card fed", "card", m.seq)
	if err := m.wait(ctx, m.timing.Feed); err != nil {
		return err
	}
	if jam {
		return printer.ErrCardJam
	}
	return nil
}

// PrintPanel prints one ribbon panel on the card inside, using one panel of
// ribbon, and counts it in PanelsPrinted as a real printer counts each panel
// it prints (Evolis Rco;p): a front end calls it once a panel's data has
// arrived whole, so a link lost mid-card leaves the counter at the panels
// printed so far. It fails with ErrCoverOpen, ErrCardJam, ErrRibbonOut when
// no ribbon is left, or ErrProtocol when no card is inside.
func (m *Machine) PrintPanel(ctx context.Context, side, panel string) error {
	m.mu.Lock()
	if err := m.blocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if !m.st.CardInside {
		m.mu.Unlock()
		return fmt.Errorf("emulator: print panel %s %s with no card inside: %w", side, panel, printer.ErrProtocol)
	}
	if m.st.RibbonLeft <= 0 {
		m.mu.Unlock()
		return printer.ErrRibbonOut
	}
	m.st.RibbonLeft--
	m.st.PanelsPrinted++
	m.mu.Unlock()
	return m.wait(ctx, m.timing.Panel)
}

// Flip turns the card inside over. It fails with ErrCoverOpen, ErrCardJam,
// ErrUnsupported on a printer without a flipper, or ErrProtocol with no
// card inside.
func (m *Machine) Flip(ctx context.Context) error {
	m.mu.Lock()
	if err := m.blocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if !m.id.Duplex {
		m.mu.Unlock()
		return printer.ErrUnsupported
	}
	if !m.st.CardInside {
		m.mu.Unlock()
		return fmt.Errorf("emulator: flip with no card inside: %w", printer.ErrProtocol)
	}
	m.mu.Unlock()
	return m.wait(ctx, m.timing.Flip)
}

// Encode writes the magnetic stripe of the card inside. It fails with
// ErrCoverOpen, ErrCardJam, ErrUnsupported without an encoder, or
// ErrProtocol with no card inside.
func (m *Machine) Encode(ctx context.Context, tracks printer.MagTracks) error {
	m.mu.Lock()
	if err := m.blocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if !m.id.Magnetic {
		m.mu.Unlock()
		return printer.ErrUnsupported
	}
	if !m.st.CardInside {
		m.mu.Unlock()
		return fmt.Errorf("emulator: encode with no card inside: %w", printer.ErrProtocol)
	}
	m.mag = tracks
	m.mu.Unlock()
	return m.wait(ctx, m.timing.Encode)
}

// Eject delivers the card inside to the output hopper and records it with
// the decoded job (PNG files are written when an output directory is set).
// It fails with ErrCoverOpen, ErrCardJam, ErrHopperFull or ErrProtocol
// when no card is inside.
func (m *Machine) Eject(ctx context.Context, job *Job) error {
	return m.leave(ctx, job, false)
}

// Reject sends the card inside to the reject box. It fails with
// ErrCoverOpen, ErrCardJam, ErrRejectFull or ErrProtocol when no card is
// inside.
func (m *Machine) Reject(ctx context.Context) error {
	return m.leave(ctx, nil, true)
}

func (m *Machine) leave(ctx context.Context, job *Job, reject bool) error {
	m.mu.Lock()
	if err := m.blocked(); err != nil {
		m.mu.Unlock()
		return err
	}
	if !m.st.CardInside {
		m.mu.Unlock()
		return fmt.Errorf("emulator: eject with no card inside: %w", printer.ErrProtocol)
	}
	if reject && m.st.RejectCards >= m.st.RejectCapacity {
		m.mu.Unlock()
		return printer.ErrRejectFull
	}
	if !reject && m.st.HopperCards >= m.st.HopperCapacity {
		m.mu.Unlock()
		return printer.ErrHopperFull
	}
	m.mu.Unlock()
	if err := m.wait(ctx, m.timing.Eject); err != nil {
		return err
	}
	m.mu.Lock()
	pc := printedCard{PrintedCard: PrintedCard{Seq: m.seq, Outcome: printer.OutcomePrinted, Fed: m.fed, Done: m.clock.Now()}}
	if job != nil {
		pc.Card = job.Card
		pc.Card.Mag = m.mag
		pc.Panels = job.Panels
		pc.landscape = job.landscape
	}
	if pc.Card.Geometry == (printer.Geometry{}) {
		pc.Card.Geometry = m.geom
	}
	if pc.landscape == nil {
		pc.flatten()
	}
	m.st.CardInside = false
	if reject {
		pc.Outcome = printer.OutcomeRejected
		m.st.RejectCards++
	} else {
		m.st.HopperCards++
		m.st.CardsPrinted++
	}
	m.mu.Unlock()
	if m.outDir != "" {
		m.resolve(&pc)
		files, err := writeCardPNGs(m.outDir, &pc.PrintedCard)
		pc.Files = files
		if err != nil {
			m.log.Error("emulator: writing card images", "card", pc.Seq, "err", err)
		}
	}
	m.mu.Lock()
	m.printed = append(m.printed, pc)
	if m.keep > 0 && len(m.printed) > m.keep {
		m.printed = append(m.printed[:0:0], m.printed[len(m.printed)-m.keep:]...)
	}
	m.mu.Unlock()
	m.log.Info("emulator: card out", "card", pc.Seq, "outcome", pc.Outcome)
	return nil
}

// Inject puts the machine into a fault condition at once: cover open,
// ribbon used up, feeder emptied, card jammed (a card inside jams now;
// with no card inside, the next card fed jams), hopper filled.
// FaultDisconnect is handled by the Emulator, not the Machine.
func (m *Machine) Inject(f Fault) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch f {
	case FaultCoverOpen:
		m.st.CoverOpen = true
	case FaultRibbonOut:
		m.st.RibbonLeft = 0
	case FaultFeederEmpty:
		m.st.FeederCards = 0
	case FaultJam:
		if m.st.CardInside {
			m.st.Jammed = true
		} else {
			m.jamAt = m.st.CardsFed + 1
		}
	case FaultHopperFull:
		m.st.HopperCards = m.st.HopperCapacity
	default:
		return fmt.Errorf("emulator: machine cannot inject fault %q", f)
	}
	return nil
}

// Fix is the operator clearing a fault: closing the cover, loading a new
// ribbon, filling the feeder (with 100 cards), pulling the jammed card out
// (it is not counted as printed) or emptying the hopper.
func (m *Machine) Fix(f Fault) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch f {
	case FaultCoverOpen:
		m.st.CoverOpen = false
	case FaultRibbonOut:
		m.st.RibbonLeft = m.st.RibbonCapacity
	case FaultFeederEmpty:
		m.st.FeederCards = 100
	case FaultJam:
		m.st.Jammed = false
		m.st.CardInside = false
		m.jamAt = 0
	case FaultHopperFull:
		m.st.HopperCards = 0
	default:
		return fmt.Errorf("emulator: machine cannot fix fault %q", f)
	}
	return nil
}

// TakeCardOut is a person opening the printer and pulling out the card
// inside by hand, whatever was printed on it: it reaches neither the
// hopper nor the reject box, and the counters stay as they are (the cards
// fed counted it, the panel counter every panel printed on it). It
// reports whether a card was inside. A jam latched with the card clears
// too, as Fix(FaultJam) does.
func (m *Machine) TakeCardOut() bool {
	m.mu.Lock()
	inside := m.st.CardInside
	m.st.CardInside, m.st.Jammed = false, false
	m.mu.Unlock()
	if inside {
		m.log.Info("emulator: card taken out by hand", "card", m.seq)
	}
	return inside
}

// Box names a container an operator empties: the output hopper, the
// reject box, or both.
type Box string

// The boxes EmptyBoxes takes.
const (
	BoxHopper Box = "hopper"
	BoxReject Box = "reject"
	BoxBoth   Box = "both"
)

// ParseBox reads a box name as "cardd emulate empty" and the control
// channel take it: hopper, reject or both (empty means both).
func ParseBox(s string) (Box, error) {
	switch b := Box(strings.TrimSpace(s)); b {
	case BoxHopper, BoxReject, BoxBoth:
		return b, nil
	case "":
		return BoxBoth, nil
	}
	return "", fmt.Errorf("emulator: unknown box %q (want hopper, reject or both)", s)
}

// Emptied is what an operator took out of the printer.
type Emptied struct {
	// HopperCards and RejectCards are the cards taken out of the output
	// hopper and the reject box.
	HopperCards int `json:"hopper_cards"`
	RejectCards int `json:"reject_cards"`
}

// EmptyBoxes is an operator taking the cards out of the output hopper, the
// reject box or both, as a person does at a real printer. A hopper-full or
// reject-full condition clears at once: the next status query no longer
// reports it, and a host that stopped on it finds the printer ready. The
// lifetime counters (CardsFed, CardsPrinted) are kept.
func (m *Machine) EmptyBoxes(b Box) (Emptied, error) {
	m.mu.Lock()
	var out Emptied
	switch b {
	case BoxHopper, BoxReject, BoxBoth:
	default:
		m.mu.Unlock()
		return out, fmt.Errorf("emulator: empty %q: want hopper, reject or both", b)
	}
	if b != BoxReject {
		out.HopperCards, m.st.HopperCards = m.st.HopperCards, 0
	}
	if b != BoxHopper {
		out.RejectCards, m.st.RejectCards = m.st.RejectCards, 0
	}
	m.mu.Unlock()
	m.log.Info("emulator: emptied by the operator", "box", string(b), "hopper_cards", out.HopperCards, "reject_cards", out.RejectCards)
	return out, nil
}

func (m *Machine) setConnected(c bool) {
	m.mu.Lock()
	m.st.Connected = c
	m.mu.Unlock()
}

// flatten is printer.Flatten for the decoded sides the front ends build
// (images anchored at the origin, of the geometry's size), taking whole
// bytes of K at a time. Anything else goes to printer.Flatten.
func flatten(s *printer.Side, g printer.Geometry) *image.RGBA {
	r := g.Bounds()
	if (s.Color != nil && (s.Color.Rect != r || s.Color.Stride != 4*r.Dx())) || (s.K != nil && s.K.Rect != r) {
		return printer.Flatten(s, g)
	}
	var dst *image.RGBA
	if s.Color != nil {
		// A clone is allocated without being cleared first.
		dst = &image.RGBA{Pix: bytes.Clone(s.Color.Pix[:4*r.Dx()*r.Dy()]), Stride: 4 * r.Dx(), Rect: r}
	} else {
		dst = image.NewRGBA(r)
		for i := range dst.Pix {
			dst.Pix[i] = 0xff
		}
	}
	if s.K == nil {
		return dst
	}
	w := r.Dx()
	for y := 0; y < r.Dy(); y++ {
		krow := s.K.Pix[y*s.K.Stride : y*s.K.Stride+(w+7)/8]
		drow := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		for bx, b := range krow {
			if b == 0 {
				continue
			}
			for bit := 0; bit < 8; bit++ {
				x := bx*8 + bit
				if x < w && b&(0x80>>uint(bit)) != 0 {
					p := drow[4*x : 4*x+4 : 4*x+4]
					p[0], p[1], p[2], p[3] = 0, 0, 0, 0xff
				}
			}
		}
	}
	return dst
}

// writeCardPNGs writes the flattened sides and every panel of pc into dir
// as card-NNNN-front.png, card-NNNN-back.png and card-NNNN-SIDE-PANEL.png,
// all in the card's landscape orientation (panels turned back from the
// wire), so that a person can read them.
func writeCardPNGs(dir string, pc *PrintedCard) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: output directory: %w", err)
	}
	type item struct {
		name string
		img  image.Image
	}
	prefix := fmt.Sprintf("card-%04d", pc.Seq)
	items := []item{{prefix + "-front.png", pc.Front}}
	if pc.Back != nil {
		items = append(items, item{prefix + "-back.png", pc.Back})
	}
	var errs []error
	g := pc.Card.Geometry
	for _, p := range pc.Panels {
		img, err := landscape(p, g.Width, g.Height)
		if err != nil {
			errs = append(errs, fmt.Errorf("emulator: card %d %s panel %s: %w", pc.Seq, p.Side, p.Panel, err))
			continue
		}
		if m, ok := img.(*printer.Mono); ok {
			img = m.Paletted() // a 1-bit PNG, as cardd render writes
		}
		items = append(items, item{fmt.Sprintf("%s-%s-%s.png", prefix, p.Side, p.Panel), img})
	}
	var files []string
	for _, it := range items {
		path := filepath.Join(dir, it.name)
		if err := writePNG(path, it.img); err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, path)
	}
	return files, errors.Join(errs...)
}

// landscape returns panel p's image turned back from the wire to the
// card's w × h landscape orientation, the way a person looks at the card.
func landscape(p PanelImage, w, h int) (image.Image, error) {
	if p.Wire == (printer.Transform{}) {
		return p.Image, nil
	}
	switch img := p.Image.(type) {
	case *printer.Mono:
		return printer.MonoFromWire(img, p.Wire, w, h)
	case *printer.Plane:
		return printer.PlaneFromWire(img, p.Wire, w, h)
	}
	return nil, fmt.Errorf("panel image %T cannot be turned to landscape", p.Image)
}

func writePNG(path string, img image.Image) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	// Fastest compression, as cardd render writes: a card's PNGs are
	// about an eighth larger (a demo card's 409 kB, was 360 kB) and take a
	// third of the CPU (0.27 s, was 0.86 s), spent while the card leaves
	// the emulated printer.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("emulator: encode %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("emulator: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	return nil
}
