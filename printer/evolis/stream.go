package evolis

import (
	"encoding/binary"
	"fmt"
	"image"
	"strconv"
	"strings"
	"sync"

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

// encoder holds buffers reused from card to card.
type encoder struct {
	o     *Opts
	sides [2]sideEncoder
	// stream is the last stream built, whose buffers the next reuses.
	stream Stream
}

// sideEncoder holds one side's buffers: the two sides of a card are
// prepared and packed concurrently, each with its own.
type sideEncoder struct {
	o       *Opts
	t       printer.Transform
	y, m, c *printer.Plane
	band    [3]*printer.Plane // a band of wire lines of Y, M and C (codeBands)
	// bandView and subView are codeBands' views of a band and of its
	// card columns, kept here so that each band allocates nothing.
	bandView [3]printer.Plane
	subView  image.RGBA
	wire     *printer.Mono // a 1-bit panel on the wire, before line coding
	// bufs hold the prepared (coded) data of up to five downloads.
	bufs [5][]byte
	// scratchColor serves PackColor when it cannot pack in one pass.
	scratchColor printer.ColorScratch
	// colourImg is the side's colour image while its uncompressed dye
	// panels wait to be packed.
	colourImg image.Image
	dls       []download
	err       error
}

// download is one panel download of a side: its command and header
// fields, and either its data, prepared (non-nil), or the size of data to
// be packed straight into the stream later: by fill, or, for the three
// uncompressed dye panels, by one PackColor from the Y download (colour).
type download struct {
	cmd  string
	head []string
	data []byte
	size int
	// fill packs the panel into dst (len size).
	fill   func(dst []byte) error
	colour bool
	at     int // where the data lies in the stream (set when written)
}

// Encode builds the command stream that prints c with the options o (nil
// for DefaultOpts): error mode and ribbon, the job start, magnetic tracks,
// the front panels, the back panels after Sv, and the job end. It is what
// Dev.Print sends, command by command.
func Encode(c *printer.Card, o *Opts) (*Stream, error) {
	return new(encoder).encode(c, o)
}

// CardPanels returns how many ribbon panels printing c takes as Encode
// sends it: on each side three dye panels for a colour image (none with a
// half-panel ribbon when the image carries no dye at all), one for K and
// one for the overlay. Each is one panel download, and the printer counts
// every panel it prints (Rco;p), so the panel counter moves by exactly
// this much for a card printed whole. A card Encode refuses is refused
// with the same error.
func CardPanels(c *printer.Card, o *Opts) (int, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	if err := o.validate(); err != nil {
		return 0, err
	}
	if err := checkCard(c, o); err != nil {
		return 0, err
	}
	g := c.Geometry
	sides := []*printer.Side{&c.Front}
	if c.Back != nil {
		sides = append(sides, c.Back)
	}
	offsets := [2]image.Point{printer.OffsetMM(o.OffsetXMM, o.OffsetYMM, g.DPI), printer.OffsetMM(o.BackOffsetXMM, o.BackOffsetYMM, g.DPI)}
	n := 0
	for i, s := range sides {
		switch {
		case s.Color != nil && HalfPanel(o.Ribbon):
			// As halfColor decides: dye panels only when some dye.
			se := sideEncoder{o: o, t: printer.Transform{Rotate: WireRotate, Offset: offsets[i]}}
			width, lines := se.t.WireSize(g.Width, g.Height)
			if !se.split(s.Color, width, lines) {
				return 0, se.err
			}
			if anyDye(se.y.Pix) || anyDye(se.m.Pix) || anyDye(se.c.Pix) {
				n += 3
			}
		case s.Color != nil:
			n += 3
		}
		if s.K != nil {
			n++
		}
		if s.Overlay != nil {
			n++
		}
	}
	return n, nil
}

// encode is Encode with e's buffers (planes, panels, the stream itself),
// kept from card to card: the Stream it returns holds e's buffers and is
// valid until the next call.
//
// It works in three steps: both sides prepare their downloads at once
// (coding compressed and half panels), the stream is written with room
// for the uncompressed panels, and both sides pack those into the stream
// at once.
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
	sides := []*printer.Side{&c.Front}
	if c.Back != nil {
		sides = append(sides, c.Back)
	}
	offsets := [2]image.Point{printer.OffsetMM(o.OffsetXMM, o.OffsetYMM, g.DPI), printer.OffsetMM(o.BackOffsetXMM, o.BackOffsetYMM, g.DPI)}
	for i := range sides {
		se := &e.sides[i]
		if se.o == nil || se.o.ColorDepth != o.ColorDepth {
			se.y, se.m, se.c = nil, nil, nil // planes of another depth
		}
		se.o, se.t, se.err = o, printer.Transform{Rotate: WireRotate, Offset: offsets[i]}, nil
	}
	e.o = o
	bothSides(len(sides), func(i int) { e.sides[i].prepare(sides[i], g) })
	for i := range sides {
		if err := e.sides[i].err; err != nil {
			return nil, err
		}
	}

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
	for i := range sides {
		w.text(false, [2]string{"Sr", "Sv"}[i])
		for k := range e.sides[i].dls {
			dl := &e.sides[i].dls[k]
			w.download(dl.cmd, dl.head, func(b []byte) ([]byte, error) {
				dl.at = len(b)
				if dl.data != nil {
					return append(b, dl.data...), nil
				}
				return grow(b, dl.size), nil
			})
		}
	}
	w.text(true, "Se")
	if w.err != nil {
		return nil, w.err
	}
	bothSides(len(sides), func(i int) { e.sides[i].pack(w.s.Bytes) })
	for i := range sides {
		se := &e.sides[i]
		err := se.err
		// Keep no reference to this card's images until the next one.
		se.colourImg = nil
		clear(se.dls)
		if err != nil {
			return nil, err
		}
	}
	e.stream = w.s
	return &w.s, nil
}

// bothSides runs f for sides 0 … n−1 (n is 1 or 2), the second side on
// its own goroutine, and waits for both.
func bothSides(n int, f func(int)) {
	if n < 2 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f(1)
	}()
	f(0)
	wg.Wait()
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

// prepare lists the side's downloads, Y, M, C, K, O, coding those that
// are compressed or half panels into the side's buffers. Uncompressed
// full panels are packed later, straight into the stream (pack).
func (se *sideEncoder) prepare(s *printer.Side, g printer.Geometry) {
	se.dls = se.dls[:0]
	width, lines := se.t.WireSize(g.Width, g.Height)
	depth := se.o.ColorDepth
	switch {
	case s.Color != nil && HalfPanel(se.o.Ribbon):
		se.halfColor(s.Color, width, lines)
		if se.err != nil {
			return
		}
	case s.Color != nil && !se.o.Compress:
		n := printer.PackedLen(width*lines, depth)
		levels := strconv.Itoa(LevelsForDepth(depth))
		img := s.Color
		se.dls = append(se.dls,
			download{cmd: "Db", head: []string{"y", levels}, size: n, colour: true},
			download{cmd: "Db", head: []string{"m", levels}, size: n},
			download{cmd: "Db", head: []string{"c", levels}, size: n})
		se.colourImg = img
	case s.Color != nil:
		for i := range 3 {
			se.bufs[i] = se.bufs[i][:0]
		}
		if se.t == (printer.Transform{Rotate: WireRotate}) && lines%8 == 0 {
			// A band of wire lines at a time, whose planes stay small.
			if !se.codeBands(s.Color, width) {
				return
			}
		} else {
			if !se.split(s.Color, width, lines) {
				return
			}
			for i, p := range []*printer.Plane{se.y, se.m, se.c} {
				se.bufs[i] = AppendRLE(se.bufs[i], p.Pix, width, depth)
			}
		}
		levels := strconv.Itoa(LevelsForDepth(depth))
		for i, name := range []string{"y", "m", "c"} {
			se.dls = append(se.dls, download{cmd: "Dbc", head: []string{name, levels, strconv.Itoa(len(se.bufs[i]))}, data: se.bufs[i]})
		}
	}
	for i, p := range []struct {
		name string
		mono *printer.Mono
	}{{"k", s.K}, {"o", s.Overlay}} {
		if p.mono != nil {
			se.mono(3+i, p.name, p.mono, width, lines)
		}
	}
}

// bandLines is the most wire lines codeBands lays out at a time.
const bandLines = 64

// codeBands run-length codes the dye panels of img into the side's first
// three buffers band by band: with the wire turned a quarter turn (wire
// line L is card column L), a band of wire lines is the card columns of a
// narrow sub-image, laid out through the same fast path as a whole side but
// into planes of a band's lines (124 KB instead of 2 MB a side). Each line
// is coded on its own, so the bytes are those of the whole panel.
func (se *sideEncoder) codeBands(img *image.RGBA, width int) bool {
	r := image.Rect(0, 0, width, bandLines)
	if se.band[0] == nil || se.band[0].Rect != r || se.band[0].Depth != se.o.ColorDepth {
		for i := range se.band {
			se.band[i] = printer.NewPlane(r, se.o.ColorDepth)
		}
	}
	b := img.Rect
	band, sub := &se.bandView, &se.subView
	for x := b.Min.X; x < b.Max.X; x += bandLines {
		n := min(bandLines, b.Max.X-x)
		for i, p := range se.band {
			band[i] = printer.Plane{Pix: p.Pix[:n*width], Stride: width, Rect: image.Rect(0, 0, width, n), Depth: p.Depth}
		}
		*sub = image.RGBA{Pix: img.Pix[img.PixOffset(x, b.Min.Y):], Stride: img.Stride, Rect: image.Rect(x, b.Min.Y, x+n, b.Max.Y)}
		if err := printer.SplitColorInto(&band[0], &band[1], &band[2], sub, se.t); err != nil {
			se.err = fmt.Errorf("evolis: colour: %w", err)
			return false
		}
		for i := range band {
			se.bufs[i] = AppendRLE(se.bufs[i], band[i].Pix, width, se.o.ColorDepth)
		}
	}
	return true
}

// split lays the side's colour image out in the side's planes.
func (se *sideEncoder) split(img image.Image, width, lines int) bool {
	if r := image.Rect(0, 0, width, lines); se.y == nil || se.y.Rect != r {
		se.y = printer.NewPlane(r, se.o.ColorDepth)
		se.m = printer.NewPlane(r, se.o.ColorDepth)
		se.c = printer.NewPlane(r, se.o.ColorDepth)
	}
	if err := printer.SplitColorInto(se.y, se.m, se.c, img, se.t); err != nil {
		se.err = fmt.Errorf("evolis: colour: %w", err)
		return false
	}
	return true
}

// pack fills the side's uncompressed downloads in the stream b.
func (se *sideEncoder) pack(b []byte) {
	for i := range se.dls {
		dl := &se.dls[i]
		switch {
		case dl.colour:
			m, c := &se.dls[i+1], &se.dls[i+2]
			if err := printer.PackColor(b[dl.at:dl.at+dl.size], b[m.at:m.at+m.size], b[c.at:c.at+c.size], se.colourImg, se.t, se.o.ColorDepth, &se.scratchColor); err != nil {
				se.err = fmt.Errorf("evolis: colour: %w", err)
				return
			}
		case dl.fill != nil:
			if err := dl.fill(b[dl.at : dl.at+dl.size]); err != nil {
				se.err = err
				return
			}
		}
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

// halfColor prepares the dye downloads of img for a half-panel ribbon:
// only the wire lines (card columns) from the first to the last that carry
// any dye, at most HalfPanelLines of them, with Dbp (or Dbpc compressed). A
// side whose colour image carries no dye at all sends no dye panel.
func (se *sideEncoder) halfColor(img image.Image, width, lines int) {
	if !se.split(img, width, lines) {
		return
	}
	first, last := -1, -1
	for line := range lines {
		for _, p := range []*printer.Plane{se.y, se.m, se.c} {
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
		se.err = fmt.Errorf("evolis: colour spans card columns %d to %d (%d dots); a half-panel ribbon (%s) dyes at most %d: %w", first, last, count, se.o.Ribbon, HalfPanelLines, printer.ErrUnsupported)
		return
	}
	depth := se.o.ColorDepth
	levels := strconv.Itoa(LevelsForDepth(depth))
	for i, p := range []struct {
		name  string
		plane *printer.Plane
	}{{"y", se.y}, {"m", se.m}, {"c", se.c}} {
		part := p.plane.Pix[first*width : (last+1)*width]
		head := []string{p.name, levels, strconv.Itoa(first), strconv.Itoa(count)}
		if !se.o.Compress {
			se.bufs[i] = printer.PackSamples(se.bufs[i][:0], part, depth)
			se.dls = append(se.dls, download{cmd: "Dbp", head: head, data: se.bufs[i]})
			continue
		}
		se.bufs[i] = AppendRLE(se.bufs[i][:0], part, width, depth)
		se.dls = append(se.dls, download{cmd: "Dbpc", head: append(head, strconv.Itoa(len(se.bufs[i]))), data: se.bufs[i]})
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

// mono lists the download of a 1-bit panel in buffer slot k: laid out on
// the wire straight into the stream when uncompressed, line coded now
// when compressed.
func (se *sideEncoder) mono(k int, name string, m *printer.Mono, width, lines int) {
	r := image.Rect(0, 0, width, lines)
	stride := (width + 7) / 8
	if !se.o.Compress {
		t := se.t
		se.dls = append(se.dls, download{cmd: "Db", head: []string{name, "2"}, size: stride * lines, fill: func(dst []byte) error {
			wire := &printer.Mono{Pix: dst, Stride: stride, Rect: r}
			if err := printer.MonoToWireInto(wire, m, t); err != nil {
				return fmt.Errorf("evolis: panel %s: %w", name, err)
			}
			return nil
		}})
		return
	}
	if se.wire == nil || se.wire.Rect != r {
		se.wire = printer.NewMono(r)
	}
	if err := printer.MonoToWireInto(se.wire, m, se.t); err != nil {
		se.err = fmt.Errorf("evolis: panel %s: %w", name, err)
		return
	}
	se.bufs[k] = AppendLines(se.bufs[k][:0], se.wire.Pix, se.wire.Stride)
	se.dls = append(se.dls, download{cmd: "Dbc", head: []string{name, "2", strconv.Itoa(len(se.bufs[k]))}, data: se.bufs[k]})
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
