package evolis

import (
	"encoding/binary"
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/cardd/cardd/printer"
)

// Command is one framed command inside a Stream.
type Command struct {
	// Name is the command's name ("Ss", "Db" …).
	Name string
	// Start and End delimit the frame (ESC to CR inclusive) in Stream.Bytes.
	Start, End int
	// Data is the offset in Stream.Bytes where a download's binary data
	// starts (0 for text commands).
	Data int
	// Moves is true for a command that may take a card from the feeder or
	// move it (a download, Smw, Se).
	Moves bool
}

// Stream is an encoded print job: the bytes and where each command lies.
type Stream struct {
	Bytes    []byte
	Commands []Command
}

// Frame returns the bytes of command i.
func (s *Stream) Frame(i int) []byte {
	c := s.Commands[i]
	return s.Bytes[c.Start:c.End]
}

// streamWriter builds a Stream with a sticky error, as image/png's encoder
// does: after the first failure every call is a no-op and Err reports it.
type streamWriter struct {
	s   Stream
	err error
}

func (w *streamWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// text appends ESC name;args… CR.
func (w *streamWriter) text(moves bool, name string, args ...string) {
	if w.err != nil {
		return
	}
	start := len(w.s.Bytes)
	b := append(w.s.Bytes, ESC)
	b = append(b, name...)
	for _, a := range args {
		b = append(b, ';')
		b = append(b, a...)
	}
	b = append(b, CR)
	w.s.Bytes = b
	w.s.Commands = append(w.s.Commands, Command{Name: name, Start: start, End: len(b), Moves: moves})
}

// download appends ESC head DATA CR, where fill appends the data.
func (w *streamWriter) download(name string, head []string, fill func([]byte) ([]byte, error)) {
	if w.err != nil {
		return
	}
	start := len(w.s.Bytes)
	b := append(w.s.Bytes, ESC)
	b = append(b, name...)
	for _, a := range head {
		b = append(b, ';')
		b = append(b, a...)
	}
	b = append(b, ';')
	data := len(b)
	b, err := fill(b)
	if err != nil {
		w.fail(err)
		return
	}
	b = append(b, CR)
	w.s.Bytes = b
	w.s.Commands = append(w.s.Commands, Command{Name: name, Start: start, End: len(b), Data: data, Moves: true})
}

// encoder holds buffers reused across the panels of one card.
type encoder struct {
	o       *Opts
	t       printer.Transform
	y, m, c *printer.Plane
	scratch []byte
	wire    *printer.Mono // a 1-bit panel on the wire, before line coding
	// scratchColor serves PackColor when it cannot pack in one pass.
	scratchColor printer.ColorScratch
	// stream is the last stream built, whose buffers the next reuses.
	stream Stream
}

// Encode builds the command stream that prints c with the options o (nil
// for DefaultOpts): error mode and ribbon, the job start, magnetic tracks,
// the front panels, the back panels after Sv, and the job end. It is what
// Dev.Print sends, command by command.
func Encode(c *printer.Card, o *Opts) (*Stream, error) {
	return new(encoder).encode(c, o)
}

// encode is Encode with e's buffers (planes, panels, the stream itself),
// kept from card to card: the Stream it returns holds e's buffers and is
// valid until the next call.
func (e *encoder) encode(c *printer.Card, o *Opts) (*Stream, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := checkCard(c, o); err != nil {
		return nil, err
	}
	g := c.Geometry
	if e.o == nil || e.o.ColorDepth != o.ColorDepth {
		e.y, e.m, e.c = nil, nil, nil // planes of another depth
	}
	e.o = o
	enc := e
	front := printer.Transform{Rotate: WireRotate, Offset: printer.OffsetMM(o.OffsetXMM, o.OffsetYMM, g.DPI)}
	back := printer.Transform{Rotate: WireRotate, Offset: printer.OffsetMM(o.BackOffsetXMM, o.BackOffsetYMM, g.DPI)}
	var w streamWriter
	if n := estimate(c, o); cap(e.stream.Bytes) >= n {
		w.s.Bytes, w.s.Commands = e.stream.Bytes[:0], e.stream.Commands[:0]
	} else {
		w.s.Bytes, w.s.Commands = make([]byte, 0, n), e.stream.Commands[:0]
	}
	w.text(false, "Pem", "2")
	if o.Ribbon != "" {
		w.text(false, "Pr", o.Ribbon)
	}
	w.text(false, "Ss")
	if !c.Mag.Empty() {
		for i, tr := range c.Mag {
			if tr != "" {
				w.text(false, "Dm", strconv.Itoa(i+1), tr)
			}
		}
		w.text(true, "Smw")
	}
	w.text(false, "Sr")
	enc.t = front
	enc.side(&w, &c.Front, g)
	if c.Back != nil {
		w.text(false, "Sv")
		enc.t = back
		enc.side(&w, c.Back, g)
	}
	w.text(true, "Se")
	if w.err != nil {
		return nil, w.err
	}
	e.stream = w.s
	return &w.s, nil
}

// estimate returns a first capacity for the stream: its exact size when
// uncompressed, a quarter of that when compressed (typical of cards; the
// buffer grows for a noisier one).
func estimate(c *printer.Card, o *Opts) int {
	n := 256
	px := c.Geometry.Width * c.Geometry.Height
	for _, s := range []*printer.Side{&c.Front, c.Back} {
		if s == nil {
			continue
		}
		if s.Color != nil {
			n += 3 * (PanelBytes(px, 1, o.ColorDepth) + 16)
		}
		if s.K != nil {
			n += PanelBytes(px, 1, 1) + 16
		}
		if s.Overlay != nil {
			n += PanelBytes(px, 1, 1) + 16
		}
	}
	if o.Compress {
		n /= 4
	}
	return n
}

func checkCard(c *printer.Card, o *Opts) error {
	if c == nil {
		return fmt.Errorf("evolis: nil card")
	}
	g := c.Geometry
	if err := g.Validate(); err != nil {
		return fmt.Errorf("evolis: %w", err)
	}
	if g.Height%8 != 0 {
		return fmt.Errorf("evolis: raster height %d is not a whole number of bytes per wire line", g.Height)
	}
	if c.Back != nil && !o.Duplex {
		return fmt.Errorf("evolis: card has a back side but the printer has no flipper: %w", printer.ErrUnsupported)
	}
	if !c.Mag.Empty() && !o.Magnetic {
		return fmt.Errorf("evolis: card has stripe data but the printer has no encoder: %w", printer.ErrUnsupported)
	}
	for i, tr := range c.Mag {
		if tr != "" && !validTrackData(i+1, tr) {
			return fmt.Errorf("evolis: magnetic track %d: invalid data for the ISO character set or too long", i+1)
		}
	}
	for name, s := range map[string]*printer.Side{"front": &c.Front, "back": c.Back} {
		if s == nil {
			continue
		}
		if s.UV != nil {
			return fmt.Errorf("evolis: %s side has a UV panel: %w", name, printer.ErrUnsupported)
		}
		if s.Color != nil && s.Color.Bounds().Size() != g.Bounds().Size() {
			return fmt.Errorf("evolis: %s colour image is %v, want %v", name, s.Color.Bounds().Size(), g.Bounds().Size())
		}
		for pn, m := range map[string]*printer.Mono{"k": s.K, "overlay": s.Overlay} {
			if m != nil && m.Rect.Size() != g.Bounds().Size() {
				return fmt.Errorf("evolis: %s %s panel is %v, want %v", name, pn, m.Rect.Size(), g.Bounds().Size())
			}
		}
	}
	return nil
}

// validTrackData checks the ISO 7811 character set and length of a track:
// track 1 takes 0x20–0x5F (76 characters), tracks 2 and 3 take 0x30–0x3F
// (37 and 104).
func validTrackData(track int, data string) bool {
	limits := [3]int{76, 37, 104}
	if len(data) > limits[track-1] {
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

// side appends the downloads of one side: Y, M, C, K, O.
func (e *encoder) side(w *streamWriter, s *printer.Side, g printer.Geometry) {
	if w.err != nil {
		return
	}
	width, lines := e.t.WireSize(g.Width, g.Height)
	switch {
	case s.Color != nil && HalfPanel(e.o.Ribbon):
		e.halfColor(w, s.Color, width, lines)
		if w.err != nil {
			return
		}
	case s.Color != nil && !e.o.Compress:
		e.packedColor(w, s.Color, width*lines)
		if w.err != nil {
			return
		}
	case s.Color != nil:
		if r := image.Rect(0, 0, width, lines); e.y == nil || e.y.Rect != r {
			e.y = printer.NewPlane(r, e.o.ColorDepth)
			e.m = printer.NewPlane(r, e.o.ColorDepth)
			e.c = printer.NewPlane(r, e.o.ColorDepth)
		}
		if err := printer.SplitColorInto(e.y, e.m, e.c, s.Color, e.t); err != nil {
			w.fail(fmt.Errorf("evolis: colour: %w", err))
			return
		}
		for _, p := range []struct {
			name  string
			plane *printer.Plane
		}{{"y", e.y}, {"m", e.m}, {"c", e.c}} {
			e.dye(w, p.name, p.plane, width)
		}
	}
	for _, p := range []struct {
		name string
		mono *printer.Mono
	}{{"k", s.K}, {"o", s.Overlay}} {
		if p.mono == nil {
			continue
		}
		e.mono(w, p.name, p.mono, width, lines)
	}
}

// HalfPanelLines is the most wire lines a half-panel colour download
// carries (the colour panels of a "ymckos" ribbon cover about 35 mm of the
// card's length).
const HalfPanelLines = 420

// HalfPanel reports whether the ribbon's colour panels are half panels
// ("ymckos", "ymckokos"), sent with Dbp/Dbpc.
func HalfPanel(ribbon string) bool {
	r := strings.ToLower(ribbon)
	return strings.HasPrefix(r, "ymc") && strings.HasSuffix(r, "s")
}

// halfColor appends the dye downloads of img for a half-panel ribbon: only
// the wire lines (card columns) from the first to the last that carry any
// dye, at most HalfPanelLines of them, with Dbp (or Dbpc compressed). A
// side whose colour image carries no dye at all sends no dye panel.
func (e *encoder) halfColor(w *streamWriter, img image.Image, width, lines int) {
	if r := image.Rect(0, 0, width, lines); e.y == nil || e.y.Rect != r {
		e.y = printer.NewPlane(r, e.o.ColorDepth)
		e.m = printer.NewPlane(r, e.o.ColorDepth)
		e.c = printer.NewPlane(r, e.o.ColorDepth)
	}
	if err := printer.SplitColorInto(e.y, e.m, e.c, img, e.t); err != nil {
		w.fail(fmt.Errorf("evolis: colour: %w", err))
		return
	}
	first, last := -1, -1
	for line := range lines {
		for _, p := range []*printer.Plane{e.y, e.m, e.c} {
			if anyDye(p.Pix[line*width : (line+1)*width]) {
				if first < 0 {
					first = line
				}
				last = line
				break
			}
		}
	}
	if first < 0 {
		return
	}
	count := last - first + 1
	if count > HalfPanelLines {
		w.fail(fmt.Errorf("evolis: colour spans card columns %d to %d (%d dots); a half-panel ribbon (%s) dyes at most %d: %w", first, last, count, e.o.Ribbon, HalfPanelLines, printer.ErrUnsupported))
		return
	}
	levels := strconv.Itoa(LevelsForDepth(e.o.ColorDepth))
	for _, p := range []struct {
		name  string
		plane *printer.Plane
	}{{"y", e.y}, {"m", e.m}, {"c", e.c}} {
		part := p.plane.Pix[first*width : (last+1)*width]
		head := []string{p.name, levels, strconv.Itoa(first), strconv.Itoa(count)}
		if !e.o.Compress {
			w.download("Dbp", head, func(b []byte) ([]byte, error) {
				return printer.PackSamples(b, part, e.o.ColorDepth), nil
			})
			continue
		}
		e.scratch = AppendRLE(e.scratch[:0], part, width, e.o.ColorDepth)
		w.download("Dbpc", append(head, strconv.Itoa(len(e.scratch))), func(b []byte) ([]byte, error) {
			return append(b, e.scratch...), nil
		})
	}
}

// anyDye reports whether any sample of b is not zero, eight at a time.
func anyDye(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:]) != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] != 0 {
			return true
		}
	}
	return false
}

// packedColor appends the three uncompressed dye downloads of img, the
// samples quantised, laid out and packed straight into the stream.
func (e *encoder) packedColor(w *streamWriter, img image.Image, dots int) {
	depth := e.o.ColorDepth
	n := printer.PackedLen(dots, depth)
	levels := strconv.Itoa(LevelsForDepth(depth))
	var at [3]int
	for i, name := range []string{"y", "m", "c"} {
		w.download("Db", []string{name, levels}, func(b []byte) ([]byte, error) {
			at[i] = len(b)
			return grow(b, n), nil
		})
	}
	if w.err != nil {
		return
	}
	b := w.s.Bytes
	if err := printer.PackColor(b[at[0]:at[0]+n], b[at[1]:at[1]+n], b[at[2]:at[2]+n], img, e.t, depth, &e.scratchColor); err != nil {
		w.fail(fmt.Errorf("evolis: colour: %w", err))
	}
}

func (e *encoder) dye(w *streamWriter, name string, p *printer.Plane, width int) {
	levels := strconv.Itoa(LevelsForDepth(p.Depth))
	if !e.o.Compress {
		w.download("Db", []string{name, levels}, func(b []byte) ([]byte, error) {
			return printer.PackSamples(b, p.Pix, p.Depth), nil
		})
		return
	}
	e.scratch = AppendRLE(e.scratch[:0], p.Pix, width, p.Depth)
	w.download("Dbc", []string{name, levels, strconv.Itoa(len(e.scratch))}, func(b []byte) ([]byte, error) {
		return append(b, e.scratch...), nil
	})
}

// mono appends the download of a 1-bit panel, laid out on the wire
// straight into the stream when uncompressed.
func (e *encoder) mono(w *streamWriter, name string, m *printer.Mono, width, lines int) {
	r := image.Rect(0, 0, width, lines)
	stride := (width + 7) / 8
	if !e.o.Compress {
		w.download("Db", []string{name, "2"}, func(b []byte) ([]byte, error) {
			at := len(b)
			b = grow(b, stride*lines)
			wire := &printer.Mono{Pix: b[at:], Stride: stride, Rect: r}
			if err := printer.MonoToWireInto(wire, m, e.t); err != nil {
				return nil, fmt.Errorf("evolis: panel %s: %w", name, err)
			}
			return b, nil
		})
		return
	}
	if e.wire == nil || e.wire.Rect != r {
		e.wire = printer.NewMono(r)
	}
	if err := printer.MonoToWireInto(e.wire, m, e.t); err != nil {
		w.fail(fmt.Errorf("evolis: panel %s: %w", name, err))
		return
	}
	e.scratch = AppendLines(e.scratch[:0], e.wire.Pix, e.wire.Stride)
	w.download("Dbc", []string{name, "2", strconv.Itoa(len(e.scratch))}, func(b []byte) ([]byte, error) {
		return append(b, e.scratch...), nil
	})
}

// grow extends b by n bytes (their contents unspecified), reallocating
// with room to spare when its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
