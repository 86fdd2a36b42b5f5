package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"
	"sync"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

// EvolisIdentity is the default identity of the emulated Evolis printer.
func EvolisIdentity() Identity {
	return Identity{
		Model:    "Evolis Primacy (emulated)",
		Serial:   "EMU0000001",
		Firmware: "1.0.0-emu",
		Ribbon:   "YMCKO",
		Duplex:   true,
		Magnetic: true,
	}
}

// evolisRotate is how the Evolis wire raster relates to the landscape
// card: a quarter turn, line 0 at the card's left edge and dot 0 at its
// bottom, as Evolis's own drivers send it.
const evolisRotate = evolis.WireRotate

// maxHead bounds a command's text (name and parameters, not binary data).
const maxHead = 512

type evoState int

const (
	evoIdle    evoState = iota // between commands
	evoHead                    // reading a command's text
	evoData                    // reading a download's binary data
	evoTrail                   // expecting the CR after binary data
	evoDiscard                 // resynchronising after a framing error
	evoSkipCR                  // discarding an over-long command up to its CR
)

// evolisFE is the Evolis front end: a strict parser of the ESC…CR
// language and its job state machine.
//
// Commands: the job (Ss, Sr, Sv, Se[;1], Db, Dbc, half panels Dbp and
// Dbpc, Dm, Smw, Smr, Wcb, Ssd reusing a panel of the last sequence, Sc
// reprinting it); card moves (Si, Sib, Siscan, Sie, Sis, Sic, Ser, Seb);
// test cards (St, Stt, Stt;m); Sdm, Scp, Sa, Scs, Srs; the P… settings real
// drivers send (Pem, Pr with the family's ribbon names, Pc, Pl, Ps, Px, Py,
// Pmi, Pmk, Pdt, Ppws, Pcom, the magnetic and station offsets …, Psc only
// with the standard framing), the Windows driver's undocumented Mr;s; and
// the R… queries (Rtp, Rsn, Rkn, Rfv, Rr, Rem, Rcr, Rlr;p|h|r, Rse;c|f|n|r|
// m|o|p|b, Rco;…, Rps, Rmac, Rip). Not emulated, answered "ERROR CDE": the
// printer-side drawing commands (Wt, Wb, Wl) and BMP logos (Dbmp).
//
// Framing: NUL bytes between commands are padding and skipped; a command
// starts with ESC (optional right after a CR), its text runs to CR. A
// download (Db;panel;levels;DATA or Dbc;panel;levels;n;DATA) carries
// exactly as many binary bytes as its header implies, then CR. A framing
// error (wrong data length, over-long command) is answered with an error
// reply and the parser skips to the next CR ESC pair.
type evolisFE struct {
	m *Machine

	st      evoState
	head    []byte
	cmd     string // the download command whose data is being read
	params  []string
	data    []byte // the download being received
	dataBuf []byte // reused storage for data (decoding copies out of it)
	need    int
	half    [2]int // first line and line count of the download
	prevCR  bool
	replies []byte

	// job state
	inJob   bool
	side    string // "front" or "back"
	flipped bool
	panels  map[string]map[string]*panelData // side → panel → data
	order   []PanelImage
	mag     printer.MagTracks
	magSet  bool
	errMode int
	// written is what Smw wrote on the card inside (Smr reads it back).
	written printer.MagTracks
	// last is the last sequence printed, kept for Sc and Ssd.
	last *evoSequence
}

// evoSequence is a printed sequence as the printer keeps it in memory.
type evoSequence struct {
	panels map[string]map[string]*panelData
	order  []PanelImage
	mag    printer.MagTracks
}

type panelData struct {
	depth int
	plane *printer.Plane // y, m, c (wire); see dye
	mono  *printer.Mono  // k, o (wire)
	// width and lines are the wire size of the panel.
	width, lines int
	// packed holds the samples of an uncompressed dye download (checked
	// for length when it arrived) for lines start … start+count−1, until
	// dye unpacks them: a printer never looks at them again, the tests
	// and the PNG files do.
	packed       []byte
	start, count int
	lazy         bool // packed was set when the panel arrived
	once         sync.Once
}

// dye returns the dye panel as a wire plane, unpacking it the first time.
func (pd *panelData) dye() *printer.Plane {
	pd.once.Do(func() {
		if !pd.lazy {
			return
		}
		pl := printer.NewPlane(image.Rect(0, 0, pd.width, pd.lines), pd.depth)
		part := pl.Pix[pd.start*pd.width : (pd.start+pd.count)*pd.width]
		// The length was checked when the download arrived.
		if _, err := printer.UnpackSamples(part[:0], pd.packed, pd.depth, pd.width*pd.count); err != nil {
			panic(fmt.Sprintf("emulator: evolis: a checked panel does not unpack: %v", err))
		}
		pd.plane, pd.packed = pl, nil
	})
	return pd.plane
}

// NewEvolis returns the Evolis front end driving m.
func NewEvolis(m *Machine) Frontend {
	return &evolisFE{m: m}
}

func (f *evolisFE) Reset() {
	f.st = evoIdle
	f.head = f.head[:0]
	f.data = nil
	f.prevCR = false
	f.endJob()
}

func (f *evolisFE) endJob() {
	f.inJob = false
	f.side = "front"
	f.flipped = false
	f.panels = nil
	f.order = nil
	f.mag = printer.MagTracks{}
	f.magSet = false
	f.written = printer.MagTracks{}
}

func (f *evolisFE) reply(s string) {
	f.replies = append(f.replies, s...)
	f.replies = append(f.replies, evolis.CR)
}

func (f *evolisFE) Write(ctx context.Context, p []byte) ([]byte, error) {
	f.replies = nil
	for len(p) > 0 {
		switch f.st {
		case evoIdle:
			b := p[0]
			p = p[1:]
			switch {
			case b == 0:
				continue
			case b == evolis.ESC:
				f.st = evoHead
				f.head = f.head[:0]
			case f.prevCR && b != evolis.CR && b != '\n':
				// ESC is optional right after a CR.
				f.st = evoHead
				f.head = append(f.head[:0], b)
			case b == evolis.CR || b == '\n':
				// Empty line: ignore (a command may follow without ESC).
				f.prevCR = true
				continue
			default:
				f.reply(evolis.ReplyUnknownCmd)
				f.st = evoDiscard
			}
			f.prevCR = false
		case evoHead:
			rest, err := f.readHead(ctx, p)
			if err != nil {
				return f.replies, err
			}
			p = rest
		case evoData:
			if len(f.data) == 0 && len(p) > f.need {
				// The whole download and the byte after it are here:
				// decode straight from p (within this call) without a copy.
				f.data = p[:f.need]
				p = p[f.need:]
				f.st = evoTrail
				continue
			}
			k := min(f.need-len(f.data), len(p))
			f.data = append(f.data, p[:k]...)
			p = p[k:]
			if len(f.data) == f.need {
				f.st = evoTrail
			}
		case evoTrail:
			b := p[0]
			p = p[1:]
			if b != evolis.CR {
				f.reply(evolis.ReplyParam)
				f.data = nil
				f.abortJob()
				f.st = evoDiscard
				continue
			}
			f.st = evoIdle
			f.prevCR = true
			err := f.download(ctx)
			f.data = nil
			if err != nil {
				return f.replies, err
			}
		case evoDiscard:
			b := p[0]
			p = p[1:]
			if f.prevCR && b == evolis.ESC {
				f.st = evoHead
				f.head = f.head[:0]
				f.prevCR = false
				continue
			}
			f.prevCR = b == evolis.CR
		case evoSkipCR:
			i := bytes.IndexByte(p, evolis.CR)
			if i < 0 {
				p = nil
				continue
			}
			p = p[i+1:]
			f.st = evoIdle
			f.prevCR = true
		}
	}
	return f.replies, nil
}

// readHead consumes command text from p and runs the command once its CR
// arrives, or switches to reading data at the end of a download header.
// It returns what is left of p.
func (f *evolisFE) readHead(ctx context.Context, p []byte) ([]byte, error) {
	i := bytes.IndexByte(p, evolis.CR)
	chunk := p
	if i >= 0 {
		chunk = p[:i]
	}
	for k, b := range chunk {
		f.head = append(f.head, b)
		if len(f.head) > maxHead {
			f.reply(evolis.ReplyUnknownCmd)
			f.st = evoSkipCR
			return p[k+1:], nil
		}
		if b == ';' && f.downloadHeader() {
			return p[k+1:], nil
		}
	}
	if i < 0 {
		return nil, nil
	}
	f.st = evoIdle
	f.prevCR = true
	return p[i+1:], f.exec(ctx, string(f.head))
}

// downloadHeader checks whether f.head (ending in ';') is a complete
// download header; if so it prepares to read the data and reports true.
// A malformed download header is answered and discarded.
func (f *evolisFE) downloadHeader() bool {
	h := string(f.head)
	fields := strings.Split(h[:len(h)-1], ";")
	switch {
	case fields[0] == "Db" && len(fields) == 3:
	case fields[0] == "Dbc" && len(fields) == 4:
	case fields[0] == "Dbp" && len(fields) == 5:
	case fields[0] == "Dbpc" && len(fields) == 6:
	default:
		return false
	}
	f.cmd, f.params = fields[0], fields[1:]
	compressed := strings.HasSuffix(f.cmd, "c")
	depth, err := f.downloadDepth(f.params[0], f.params[1], compressed)
	bad := func() bool {
		f.reply(evolis.ReplyParam)
		f.abortJob()
		f.st = evoDiscard
		return true
	}
	if err != nil {
		return bad()
	}
	g := f.m.Geometry()
	width, lines := printer.Transform{Rotate: evolisRotate}.WireSize(g.Width, g.Height)
	if f.cmd == "Dbp" || f.cmd == "Dbpc" {
		// A half panel: START;COUNT lines of a colour panel.
		start, count, err := halfPanel(f.params[0], f.params[2], f.params[3], lines)
		if err != nil {
			return bad()
		}
		f.half = [2]int{start, count}
		lines = count
		f.params = append(f.params[:2], f.params[4:]...) // panel;levels[;n]
	} else {
		f.half = [2]int{0, lines}
	}
	if !compressed {
		f.need = evolis.PanelBytes(width, lines, depth)
	} else {
		// Worst case of either coding, with a margin.
		n, err := evolis.ParseCount(f.params[2], 4*width*lines+lines)
		if err != nil || n == 0 {
			f.reply(evolis.ReplyParam)
			f.abortJob()
			f.st = evoDiscard
			return true
		}
		f.need = n
	}
	if cap(f.dataBuf) < f.need {
		f.dataBuf = make([]byte, 0, f.need)
	}
	f.data = f.dataBuf[:0]
	f.st = evoData
	return true
}

func (f *evolisFE) downloadDepth(panel, levels string, compressed bool) (int, error) {
	lv, err := evolis.ParseCount(levels, 256)
	if err != nil {
		return 0, err
	}
	depth, err := evolis.DepthForLevels(lv)
	if err != nil {
		return 0, err
	}
	switch panel {
	case "y", "m", "c":
		if depth < 5 || (compressed && depth > 7) {
			return 0, fmt.Errorf("levels %d not for dye panel", lv)
		}
	case "k", "o":
		if depth != 1 {
			return 0, fmt.Errorf("levels %d not for 1-bit panel", lv)
		}
	default:
		return 0, fmt.Errorf("unknown panel %q", panel)
	}
	return depth, nil
}

func (f *evolisFE) abortJob() {
	f.endJob()
}

// mechReply answers a mechanism error; it returns the Go error when the
// link must break (context ended).
func (f *evolisFE) mechReply(err error) error {
	switch {
	case err == nil:
		f.reply(evolis.ReplyOK)
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	f.reply(errorReply(err))
	return nil
}

func errorReply(err error) string {
	switch {
	case errors.Is(err, printer.ErrCoverOpen):
		return evolis.ReplyCoverOpen
	case errors.Is(err, printer.ErrFeederEmpty):
		return evolis.ReplyFeederEmpty
	case errors.Is(err, printer.ErrRibbonOut):
		return evolis.ReplyRibbon
	case errors.Is(err, printer.ErrCardJam):
		return evolis.ReplyMechanical
	case errors.Is(err, printer.ErrHopperFull):
		return evolis.ReplyHopperFull
	case errors.Is(err, printer.ErrRejectFull):
		return evolis.ReplyRejectFull
	case errors.Is(err, printer.ErrMagnetic):
		return evolis.ReplyMagnetic
	case errors.Is(err, printer.ErrUnsupported):
		return evolis.ReplyUnsupported
	case errors.Is(err, printer.ErrProtocol):
		return evolis.ReplySequence
	}
	return evolis.ReplyMechanical
}

// download decodes the panel in f.data and prints it.
func (f *evolisFE) download(ctx context.Context) error {
	if !f.inJob {
		f.reply(evolis.ReplySequence)
		return nil
	}
	panel := f.params[0]
	half := strings.HasPrefix(f.cmd, "Dbp")
	ribbon := f.m.Identity().Ribbon
	colour := panel == "y" || panel == "m" || panel == "c"
	if !ribbonHas(ribbon, panel) || colour && half != evolis.HalfPanel(ribbon) {
		// A half panel for a full-panel ribbon, or the other way round.
		f.reply(evolis.ReplyBadRibbon)
		f.abortJob()
		return nil
	}
	compressed := strings.HasSuffix(f.cmd, "c")
	depth, _ := f.downloadDepth(panel, f.params[1], compressed)
	f.m.log.Debug("emulator: evolis download", "cmd", f.cmd, "panel", panel, "bytes", len(f.data))
	g := f.m.Geometry()
	width, lines := printer.Transform{Rotate: evolisRotate}.WireSize(g.Width, g.Height)
	start, count := f.half[0], f.half[1]
	pd := &panelData{depth: depth, width: width, lines: lines}
	var err error
	switch {
	case depth > 1 && !compressed:
		// Unpacked when someone looks (dye); the length is the check.
		if n := printer.PackedLen(width*count, depth); len(f.data) < n {
			err = fmt.Errorf("evolis: %s panel is %d bytes, want %d", panel, len(f.data), n)
		} else {
			pd.packed, pd.start, pd.count, pd.lazy = bytes.Clone(f.data[:n]), start, count, true
		}
	case depth == 1:
		mono := printer.NewMono(image.Rect(0, 0, width, lines))
		if !compressed {
			err = unpackMono(mono, f.data)
		} else {
			err = evolis.DecodeLines(mono.Pix, f.data, mono.Stride, lines)
		}
		pd.mono = mono
	default:
		pl := printer.NewPlane(image.Rect(0, 0, width, lines), depth)
		part := pl.Pix[start*width : (start+count)*width]
		err = evolis.DecodeRLE(part, f.data, width, count, depth)
		pd.plane = pl
	}
	if err != nil {
		f.m.log.Debug("emulator: evolis: bad panel data", "panel", panel, "err", err)
		f.reply(evolis.ReplyParam)
		f.abortJob()
		return nil
	}
	return f.fail(f.addPanel(ctx, panel, pd))
}

// addPanel takes a panel of the current side into the job and prints it;
// it returns the mechanism's error, for the caller to answer.
func (f *evolisFE) addPanel(ctx context.Context, panel string, pd *panelData) error {
	if f.panels[f.side] == nil {
		if f.panels == nil {
			f.panels = map[string]map[string]*panelData{}
		}
		f.panels[f.side] = map[string]*panelData{}
	}
	f.panels[f.side][panel] = pd
	pi := PanelImage{Side: f.side, Panel: panel, Wire: printer.Transform{Rotate: evolisRotate}}
	switch {
	case pd.mono != nil:
		pi.Image = pd.mono
	case pd.lazy:
		pi.dye = pd.dye // set when the printed card is looked at
	default:
		pi.Image = pd.plane
	}
	f.order = append(f.order, pi)
	if err := f.ready(ctx); err != nil {
		return err
	}
	return f.m.PrintPanel(ctx, f.side, panel)
}

// reprint prints the last sequence again on a new card (Sc).
func (f *evolisFE) reprint(ctx context.Context) error {
	l := f.last
	f.endJob()
	f.inJob, f.mag = true, l.mag
	if err := f.m.Feed(ctx); err != nil {
		return f.fail(err)
	}
	if !l.mag.Empty() {
		if err := f.m.Encode(ctx, l.mag); err != nil {
			return f.fail(err)
		}
	}
	for _, p := range l.order {
		f.side = p.Side
		if err := f.addPanel(ctx, p.Panel, l.panels[p.Side][p.Panel]); err != nil {
			return f.fail(err)
		}
	}
	job, err := f.decodeJob()
	if err != nil {
		f.reply(evolis.ReplyParam)
		f.abortJob()
		return nil
	}
	err = f.m.Eject(ctx, job)
	f.last = &evoSequence{panels: f.panels, order: f.order, mag: f.mag}
	f.endJob()
	return f.mechReply(err)
}

// printStored prints a panel of the last sequence kept in the printer's
// memory on the current side (Ssd), without a download.
func (f *evolisFE) printStored(ctx context.Context, panel string) error {
	if !f.inJob || f.last == nil || f.last.panels[f.side][panel] == nil {
		f.reply(evolis.ReplySequence)
		return nil
	}
	return f.fail(f.addPanel(ctx, panel, f.last.panels[f.side][panel]))
}

// fillPanel prints a 1-bit panel of the current side all clear or all set
// (Wcb).
func (f *evolisFE) fillPanel(ctx context.Context, panel string, fill bool) error {
	if !f.inJob {
		f.reply(evolis.ReplySequence)
		return nil
	}
	if !ribbonHas(f.m.Identity().Ribbon, panel) {
		f.reply(evolis.ReplyBadRibbon)
		f.abortJob()
		return nil
	}
	g := f.m.Geometry()
	width, lines := printer.Transform{Rotate: evolisRotate}.WireSize(g.Width, g.Height)
	mono := printer.NewMono(image.Rect(0, 0, width, lines))
	if fill {
		mono.Fill(mono.Rect, true)
	}
	return f.fail(f.addPanel(ctx, panel, &panelData{depth: 1, mono: mono}))
}

// fail answers err (nil: OK) and ends the job on a mechanism error.
func (f *evolisFE) fail(err error) error {
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		f.abortJob()
	}
	return f.mechReply(err)
}

// ready makes sure a card is in place for the current side: fed, and
// turned over for the back.
func (f *evolisFE) ready(ctx context.Context) error {
	if err := f.m.Feed(ctx); err != nil {
		return err
	}
	if f.side == "back" && !f.flipped {
		if err := f.m.Flip(ctx); err != nil {
			return err
		}
		f.flipped = true
	}
	return nil
}

func unpackMono(m *printer.Mono, data []byte) error {
	if m.Rect.Dx()%8 != 0 {
		_, err := printer.UnpackSamples(nil, data, 1, m.Rect.Dx()*m.Rect.Dy())
		if err != nil {
			return err
		}
		return fmt.Errorf("evolis: wire width %d not a multiple of 8", m.Rect.Dx())
	}
	if len(data) != len(m.Pix) {
		return fmt.Errorf("evolis: 1-bit panel is %d bytes, want %d", len(data), len(m.Pix))
	}
	copy(m.Pix, data)
	return nil
}

// exec runs one text command.
func (f *evolisFE) exec(ctx context.Context, text string) error {
	fields := strings.Split(text, ";")
	name, args := fields[0], fields[1:]
	f.m.log.Debug("emulator: evolis command", "cmd", text)
	id := f.m.Identity()
	st := f.m.State()
	nargs := func(lo, hi int) bool {
		if len(args) < lo || len(args) > hi {
			f.reply(evolis.ReplyParam)
			return false
		}
		return true
	}
	switch name {
	// Parameters.
	case "Pem":
		if !nargs(1, 2) {
			return nil
		}
		n, err := evolis.ParseCount(args[0], 255)
		if err != nil {
			f.reply(evolis.ReplyParam)
			return nil
		}
		f.errMode = n
		f.reply(evolis.ReplyOK)
	case "Pr":
		if !nargs(1, 1) {
			return nil
		}
		if !knownRibbon(args[0]) {
			f.reply(evolis.ReplyParam)
			return nil
		}
		if !strings.EqualFold(args[0], id.Ribbon) {
			f.reply(evolis.ReplyBadRibbon)
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Pc", "Pl", "Ps", "Px", "Py", "Pmi", "Psmgr", "Pcim", "Pcem", "Pneab", "Pcrm", "Pdt", "Ppws", "Pmc", "Pmd", "Pmt",
		"Pmk", "Pmtc", "Pmts", "Pmbs", "Pml", "Pos", "Poc", "Pbc", "Pcom":
		if !nargs(1, 5) {
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Psc":
		// Only the standard framing characters: the emulator does not
		// re-frame its input.
		if len(args) != 0 && strings.Join(args, ";") != "27;59;13" {
			f.reply(evolis.ReplyParam)
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Mr":
		// Sent by the vendor's Windows driver before a job ("Mr;s"),
		// undocumented: a motor setting the printer acknowledges.
		if !nargs(1, 1) || len(args[0]) != 1 {
			if len(args) == 1 {
				f.reply(evolis.ReplyParam)
			}
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Sdm":
		if !nargs(1, 1) {
			return nil
		}
		if _, err := evolis.ParseCount(args[0], 60000); err != nil {
			f.reply(evolis.ReplyParam)
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Scp", "Sa":
		if !nargs(0, 1) {
			return nil
		}
		if f.inJob {
			f.reply(evolis.ReplyBusy)
			return nil
		}
		f.reply(evolis.ReplyOK)

	// Sequences.
	case "Ss":
		if !nargs(0, 0) {
			return nil
		}
		f.endJob()
		f.inJob = true
		f.reply(evolis.ReplyOK)
	case "Sr", "Sv":
		if !nargs(0, 0) {
			return nil
		}
		if !f.inJob {
			f.reply(evolis.ReplySequence)
			return nil
		}
		if name == "Sr" {
			if f.flipped {
				// Front after back: not how a job is framed.
				f.reply(evolis.ReplySequence)
				f.abortJob()
				return nil
			}
			f.side = "front"
			f.reply(evolis.ReplyOK)
			return nil
		}
		if !id.Duplex {
			f.reply(evolis.ReplyUnsupported)
			f.abortJob()
			return nil
		}
		f.side = "back"
		f.reply(evolis.ReplyOK)
	case "Se":
		if !nargs(0, 1) {
			return nil
		}
		if !f.inJob {
			if st.CardInside {
				// Outside a job, Se ejects a card left inside.
				return f.mechReply(f.m.Eject(ctx, nil))
			}
			f.reply(evolis.ReplySequence)
			return nil
		}
		if !st.CardInside {
			// Nothing was printed: feed a blank card through, as the
			// printer would for an empty sequence.
			if err := f.m.Feed(ctx); err != nil {
				return f.fail(err)
			}
		}
		job, err := f.decodeJob()
		if err != nil {
			f.reply(evolis.ReplyParam)
			f.abortJob()
			return nil
		}
		err = f.m.Eject(ctx, job)
		f.last = &evoSequence{panels: f.panels, order: f.order, mag: f.mag}
		f.endJob()
		return f.mechReply(err)
	case "Ser", "Seb":
		if !nargs(0, 0) {
			return nil
		}
		f.endJob()
		return f.mechReply(f.m.Reject(ctx))
	case "Scs", "Srs":
		if !nargs(0, 0) {
			return nil
		}
		f.endJob()
		f.reply(evolis.ReplyOK)
	case "St":
		if !nargs(0, 1) {
			return nil
		}
		if f.inJob {
			f.reply(evolis.ReplyBusy)
			return nil
		}
		if err := f.m.Feed(ctx); err != nil {
			return f.mechReply(err)
		}
		if err := f.m.PrintPanel(ctx, "front", "k"); err != nil {
			return f.mechReply(err)
		}
		g := f.m.Geometry()
		k := printer.NewMono(g.Bounds())
		k.Fill(image.Rect(0, 0, g.Width, 8), true)
		return f.mechReply(f.m.Eject(ctx, &Job{Card: printer.Card{Geometry: g, Front: printer.Side{K: k}}}))

	case "Si", "Sib", "Siscan":
		// Insert a card (from the feeder, or the rear slot with Sib) and
		// keep it in the printer.
		if !nargs(0, 0) {
			return nil
		}
		return f.mechReply(f.m.Feed(ctx))
	case "Sie":
		// Insert a card and eject it at once.
		if !nargs(0, 0) {
			return nil
		}
		if f.inJob {
			f.reply(evolis.ReplyBusy)
			return nil
		}
		if err := f.m.Feed(ctx); err != nil {
			return f.mechReply(err)
		}
		return f.mechReply(f.m.Eject(ctx, &Job{Card: printer.Card{Geometry: f.m.Geometry()}}))
	case "Sis", "Sic":
		// Move the card inside to the smart-card or contactless station.
		if !nargs(0, 0) {
			return nil
		}
		if !st.CardInside {
			f.reply(evolis.ReplySequence)
			return nil
		}
		f.reply(evolis.ReplyOK)
	case "Sc":
		// Print the last sequence again, on a new card.
		if !nargs(0, 0) {
			return nil
		}
		if f.inJob || f.last == nil {
			f.reply(evolis.ReplySequence)
			return nil
		}
		return f.reprint(ctx)
	case "Ssd":
		// Print a panel from the printer's memory, without downloading it.
		if !nargs(1, 1) {
			return nil
		}
		return f.printStored(ctx, args[0])
	case "Stt":
		if !nargs(0, 1) {
			return nil
		}
		if f.inJob {
			f.reply(evolis.ReplyBusy)
			return nil
		}
		if len(args) == 1 && args[0] == "m" {
			// The encoder test card: the three tracks written and ejected.
			if err := f.m.Feed(ctx); err != nil {
				return f.mechReply(err)
			}
			test := printer.MagTracks{"%TEST?", ";1234567890?", ";0123456789?"}
			if err := f.m.Encode(ctx, test); err != nil {
				return f.mechReply(err)
			}
			return f.mechReply(f.m.Eject(ctx, &Job{Card: printer.Card{Geometry: f.m.Geometry(), Mag: test}}))
		}
		return f.exec(ctx, "St")
	case "Wcb":
		// Clear (or fill with value 255) a 1-bit bitmap of the current
		// side and print it: "Wcb;o;255" varnishes the whole side.
		if !nargs(1, 2) {
			return nil
		}
		fill := false
		if len(args) == 2 {
			v, err := evolis.ParseCount(args[1], 255)
			if err != nil || v != 0 && v != 255 {
				f.reply(evolis.ReplyParam)
				return nil
			}
			fill = v == 255
		}
		if args[0] != "k" && args[0] != "o" {
			f.reply(evolis.ReplyParam)
			return nil
		}
		return f.fillPanel(ctx, args[0], fill)
	case "Smr":
		if !nargs(1, 1) {
			return nil
		}
		t, err := evolis.ParseCount(args[0], 3)
		if err != nil || t < 1 {
			f.reply(evolis.ReplyParam)
			return nil
		}
		switch {
		case !id.Magnetic:
			f.reply(evolis.ReplyUnsupported)
		case !st.CardInside:
			f.reply(evolis.ReplySequence)
		case f.written[t-1] == "":
			f.reply(evolis.ReplyMagnetic) // a blank track
		default:
			f.reply(f.written[t-1])
		}

	// Magnetic stripe.
	case "Dm":
		if len(args) < 2 {
			f.reply(evolis.ReplyParam)
			return nil
		}
		// The data is everything after the track number: a track 2 or 3
		// start sentinel is itself a ';'.
		data := strings.Join(args[1:], ";")
		track, err := evolis.ParseCount(args[0], 3)
		if err != nil || track < 1 || !validTrack(track, data) {
			f.reply(evolis.ReplyParam)
			return nil
		}
		if !f.inJob {
			f.reply(evolis.ReplySequence)
			return nil
		}
		f.mag[track-1] = data
		f.magSet = true
		f.reply(evolis.ReplyOK)
	case "Smw":
		if !nargs(0, 0) {
			return nil
		}
		if !f.inJob || !f.magSet {
			f.reply(evolis.ReplySequence)
			return nil
		}
		if err := f.m.Feed(ctx); err != nil {
			return f.fail(err)
		}
		if err := f.m.Encode(ctx, f.mag); err != nil {
			return f.fail(err)
		}
		f.written = f.mag
		f.reply(evolis.ReplyOK)
		return nil

	// Queries.
	case "Rtp":
		f.reply(id.Model)
	case "Rsn":
		f.reply(id.Serial)
	case "Rfv":
		f.reply(id.Firmware)
	case "Rkn":
		f.reply("KIT-" + id.Serial)
	case "Rr":
		f.reply(id.Ribbon)
	case "Rem":
		f.reply(strconv.Itoa(f.errMode))
	case "Rcr":
		if st.RibbonLeft <= 0 {
			f.reply(evolis.ReplyRibbon)
		} else {
			f.reply(evolis.ReplyOK)
		}
	case "Rlr":
		if !nargs(1, 1) {
			return nil
		}
		switch args[0] {
		case "p":
			switch {
			case st.Jammed:
				f.reply("ERR CARD")
			case st.CardInside:
				f.reply("CARD")
			default:
				f.reply("NO CARD")
			}
		case "h":
			if st.HopperCards >= st.HopperCapacity {
				f.reply("CARD")
			} else {
				f.reply("NO CARD")
			}
		case "r":
			// The cleaning reminder: the emulator never needs cleaning.
			f.reply(evolis.ReplyOK)
		default:
			f.reply(evolis.ReplyParam)
		}
	case "Rse":
		if !nargs(1, 1) {
			return nil
		}
		switch args[0] {
		case "f":
			f.reply(volts(st.FeederCards > 0))
		case "c":
			f.reply(volts(!st.CoverOpen))
		case "n":
			// The near-empty sensor: above 1 V while the feeder is not
			// nearly empty.
			f.reply(volts(st.FeederCards > 10))
		case "r":
			f.reply(volts(st.RibbonLeft > 0))
		case "m", "o", "p", "b":
			// Mechanism, optical, position and bezel sensors: a resting
			// printer's mid-scale reading.
			f.reply("2,50 Volts")
		default:
			f.reply(evolis.ReplyParam)
		}
	case "Rco":
		if !nargs(1, 1) {
			return nil
		}
		switch args[0] {
		case "c":
			f.reply(strconv.Itoa(st.CardsFed))
		case "p":
			f.reply(strconv.Itoa(st.PanelsPrinted))
		case "l":
			f.reply(strconv.Itoa(st.RibbonLeft / max(1, len(id.Ribbon))))
		case "t":
			f.reply(strconv.Itoa(st.RibbonCapacity / max(1, len(id.Ribbon))))
		case "a", "m":
			// Cleaning frequencies (cards between cleanings).
			f.reply("1000")
		case "n", "b", "e", "f", "i", "k", "r", "s":
			// Cleanings done and the other service counters: the
			// emulator keeps none, a new printer's zero.
			f.reply("0")
		default:
			f.reply(evolis.ReplyParam)
		}
	case "Rps":
		if !nargs(0, 1) {
			return nil
		}
		f.reply("128")
	case "Rmac":
		f.reply("00:0F:49:00:00:01")
	case "Rip":
		f.reply("127.0.0.1")
	default:
		f.reply(evolis.ReplyUnknownCmd)
	}
	return nil
}

// volts is how the family reports a sensor: about 5 V when the sensor sees
// what it looks for (cards in the feeder, cover closed), 0 V otherwise,
// with a decimal comma.
func volts(on bool) string {
	if on {
		return "5,00 Volts"
	}
	return "0,00 Volts"
}

// halfPanel checks a half-panel download's panel, first line and line
// count against a panel of lines lines.
func halfPanel(panel, start, count string, lines int) (int, int, error) {
	if panel != "y" && panel != "m" && panel != "c" {
		return 0, 0, fmt.Errorf("half panel of %q: only y, m and c", panel)
	}
	s, err := evolis.ParseCount(start, lines-1)
	if err != nil {
		return 0, 0, err
	}
	n, err := evolis.ParseCount(count, evolis.HalfPanelLines)
	if err != nil || n == 0 || s+n > lines {
		return 0, 0, fmt.Errorf("half panel of %s lines from %s: not within 1–%d lines of the panel", count, start, evolis.HalfPanelLines)
	}
	return s, n, nil
}

func knownRibbon(s string) bool {
	switch strings.ToLower(s) {
	case "ymcko", "ymckos", "ymckok", "ymckoko", "ymckoo", "ymckokos", "ko", "k", "kb", "kw", "kr", "kbl", "kgr", "kgo", "ksi", "ksc", "ka", "ktc", "ktp", "h", "ho":
		return true
	}
	return false
}

// ribbonHas reports whether the loaded ribbon has the panel: a colour
// ribbon ("YMC…") has y, m and c; K is any ribbon with a resin panel
// (ymcKo, Ko, and the mono ribbons kb, kw …); o needs an overlay panel.
func ribbonHas(ribbon, panel string) bool {
	r := strings.ToLower(ribbon)
	switch panel {
	case "y", "m", "c":
		return strings.HasPrefix(r, "ymc")
	case "k":
		return strings.Contains(r, "k")
	case "o":
		return strings.Contains(strings.TrimPrefix(r, "ymc"), "o")
	}
	return false
}

// validTrack checks ISO 7811 character sets and lengths: track 1 is
// alphanumeric (0x20–0x5F, up to 76 characters), tracks 2 and 3 numeric
// (0x30–0x3F, up to 37 and 104).
func validTrack(track int, data string) bool {
	limits := [3]int{76, 37, 104}
	if data == "" || len(data) > limits[track-1] {
		return false
	}
	lo, hi := byte(0x30), byte(0x3f)
	if track == 1 {
		lo, hi = 0x20, 0x5f
	}
	for i := 0; i < len(data); i++ {
		if data[i] < lo || data[i] > hi {
			return false
		}
	}
	return true
}

// decodeJob checks the downloaded panels against the card's wire size and
// returns the job whose card is the panels laid out in landscape, which the
// machine does when someone looks at the card (Printed, the PNG files).
func (f *evolisFE) decodeJob() (*Job, error) {
	g := f.m.Geometry()
	width, lines := printer.Transform{Rotate: evolisRotate}.WireSize(g.Width, g.Height)
	for side, pan := range f.panels {
		for name, pd := range pan {
			switch {
			case pd.mono == nil && (pd.width != width || pd.lines != lines):
				return nil, fmt.Errorf("emulator: evolis: %s panel %s is %dx%d, want %dx%d", side, name, pd.width, pd.lines, width, lines)
			case pd.mono != nil && pd.mono.Rect != image.Rect(0, 0, width, lines):
				return nil, fmt.Errorf("emulator: evolis: %s panel %s is %v, want %dx%d", side, name, pd.mono.Rect, width, lines)
			case pd.plane == nil && !pd.lazy && pd.mono == nil:
				return nil, fmt.Errorf("emulator: evolis: %s panel %s has no data", side, name)
			}
		}
	}
	panels, flipped := f.panels, f.flipped
	return &Job{Card: printer.Card{Geometry: g}, Panels: f.order, landscape: func() (printer.Card, error) {
		return evolisLandscape(g, panels, flipped)
	}}, nil
}

// evolisLandscape lays the panels of a job out as the landscape card.
func evolisLandscape(g printer.Geometry, panels map[string]map[string]*panelData, flipped bool) (printer.Card, error) {
	job := &Job{Card: printer.Card{Geometry: g}}
	for _, side := range []string{"front", "back"} {
		pan := panels[side]
		if side == "back" && pan == nil && !flipped {
			continue
		}
		var s printer.Side
		var err error
		if pan["y"] != nil || pan["m"] != nil || pan["c"] != nil {
			width, lines := printer.Transform{Rotate: evolisRotate}.WireSize(g.Width, g.Height)
			planes := [3]*printer.Plane{}
			for i, n := range []string{"y", "m", "c"} {
				if pan[n] != nil {
					planes[i] = pan[n].dye()
				} else {
					planes[i] = printer.NewPlane(image.Rect(0, 0, width, lines), 7)
				}
			}
			s.Color, err = printer.ComposeColor(planes[0], planes[1], planes[2], printer.Transform{Rotate: evolisRotate}, g.Width, g.Height)
			if err != nil {
				return printer.Card{}, err
			}
		}
		if pan["k"] != nil {
			if s.K, err = printer.MonoFromWire(pan["k"].mono, printer.Transform{Rotate: evolisRotate}, g.Width, g.Height); err != nil {
				return printer.Card{}, err
			}
		}
		if pan["o"] != nil {
			if s.Overlay, err = printer.MonoFromWire(pan["o"].mono, printer.Transform{Rotate: evolisRotate}, g.Width, g.Height); err != nil {
				return printer.Card{}, err
			}
		}
		if side == "front" {
			job.Card.Front = s
		} else {
			job.Card.Back = &s
		}
	}
	return job.Card, nil
}
