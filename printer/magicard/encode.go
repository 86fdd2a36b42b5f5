package magicard

import (
	"encoding/binary"
	"fmt"
	"image"
	"math/bits"
	"strconv"
	"sync"

	"github.com/cardd/cardd/printer"
)

// Canvas dimensions shared by both plane formats.
const (
	Lines      = 1016 // wire lines per plane, one per card column
	CanvasDots = 672  // dots per line along the card's short edge
	LeadIn     = 64   // 0x05 bytes before each side of a job
	DPI        = 300  // the only resolution these printers take
	// Window is the printable window across the card (WID): 642 dots
	// centred in the canvas, canvas dots WindowStart to WindowStart+641.
	Window      = 642
	WindowStart = (CanvasDots - Window) / 2 // 15
)

// CanvasBase returns the canvas dot where the bottom row of a card raster
// height dots high goes in format f (card row y at base + height − 1 − y,
// see WireTransform): the raster centred on the printable window
// (WindowDot), so that for the 648-row CR80 raster its middle 642 rows fill
// the window; clamped to the canvas. For FormatRio that is dot 12.
func CanvasBase(f Format, height, headPos int) int {
	if f == FormatEnduro {
		return min(max(WindowDot(f, headPos)-(height-Window)/2, 0), max(CanvasDots-height, 0))
	}
	return max(CanvasDots-height, 0) / 2
}

// EnduroHeadCentre is the print-head vertical position at which an
// Enduro's window sits where a Rio's does (dot 15): Magicard's document
// places image row y at canvas dot y + 50 − position.
const EnduroHeadCentre = 50 - WindowStart

// WindowDot returns the canvas dot of the printable window's first row (the
// card's bottom side): WindowStart (15) for FormatRio; for FormatEnduro
// 50 − headPos, the print head's vertical position read with INF, as
// Magicard's document places the image ("y += 50 − position"), clamped
// to the canvas.
func WindowDot(f Format, headPos int) int {
	if f == FormatEnduro {
		return min(max(50-headPos, 0), CanvasDots-Window)
	}
	return WindowStart
}

// Bytes per bit-plane stripe of one line.
const (
	rioStripe    = CanvasDots / 8 // 84
	enduroStripe = 768 / 8        // 96
	colorBits    = 6
)

// PlaneSize returns the exact length of one plane in format f: a 6-bit
// colour plane when colour is true, else the 1-bit K plane.
func PlaneSize(f Format, colour bool) int {
	stripe := rioStripe
	if f == FormatEnduro {
		stripe = enduroStripe
	}
	n := Lines * stripe
	if colour {
		n *= colorBits
	}
	return n
}

// dotPos is where one canvas dot of a line lives inside a stripe.
type dotPos struct {
	off  uint16
	mask byte
}

// dotTable maps the 672 canvas dots of a line to stripe positions.
func dotTable(f Format) *[CanvasDots]dotPos {
	var t [CanvasDots]dotPos
	for y := range CanvasDots {
		if f == FormatRio {
			t[y] = dotPos{uint16(y >> 3), 0x80 >> uint(y&7)}
			continue
		}
		var word, bit int
		if y < 288 {
			word, bit = 6+y/16, 2*(y%16)
		} else {
			word, bit = (y-288)/16, 2*((y-288)%16)+1
		}
		// Big-endian word: bit k lives in byte 3-k/8 of the word.
		t[y] = dotPos{uint16(4*word + 3 - bit/8), 1 << uint(bit%8)}
	}
	return &t
}

// rect is an inclusive rectangle of card dots, as PCT and NCT carry them.
type rect struct{ x1, y1, x2, y2 int }

// String formats r as PCT and NCT carry it: x1,y1,x2,y2.
func (r rect) String() string {
	return strconv.Itoa(r.x1) + "," + strconv.Itoa(r.y1) + "," + strconv.Itoa(r.x2) + "," + strconv.Itoa(r.y2)
}

// dotAt reports whether dot x of a packed row is set.
func dotAt(row []byte, x int) bool { return row[x>>3]&(0x80>>uint(x&7)) != 0 }

// overcoat derives the overcoat area and its holes from an overlay mask of
// w × h dots. on is false when nothing is to be varnished.
func overcoat(m *printer.Mono, w, h, maxHoles int) (on bool, area rect, holes []rect, err error) {
	if m == nil {
		return false, rect{}, nil, nil
	}
	// Rows relative to the mask's origin (Pix always starts at Rect.Min).
	row := func(y int) []byte { return m.Pix[y*m.Stride : y*m.Stride+(w+7)/8] }
	area = rect{w, h, -1, -1}
	for y := range h {
		r := row(y)
		if w&7 != 0 {
			// Ignore bits past the width in the last byte.
			r = append(r[:len(r)-1:len(r)-1], r[len(r)-1]&byte(0xff<<(8-uint(w&7))))
		}
		first, last := -1, -1
		for i, b := range r {
			if b != 0 {
				first = i*8 + bits.LeadingZeros8(b)
				break
			}
		}
		if first < 0 {
			continue
		}
		for i := len(r) - 1; i >= 0; i-- {
			if b := r[i]; b != 0 {
				last = i*8 + 7 - bits.TrailingZeros8(b)
				break
			}
		}
		area.x1, area.y1 = min(area.x1, first), min(area.y1, y)
		area.x2, area.y2 = max(area.x2, last), max(area.y2, y)
	}
	if area.x2 < 0 {
		return false, rect{}, nil, nil
	}
	// Cut the clear dots inside the area into rectangles: runs of clear
	// dots on each row, a run extending the open rectangle with the very
	// same columns on the row above.
	type run struct{ x1, x2 int }
	var open, next []struct {
		r run
		i int
	}
	for y := area.y1; y <= area.y2; y++ {
		r := row(y)
		next = next[:0]
		for x := area.x1; x <= area.x2; {
			if x&63 == 0 && x+64 <= area.x2+1 && binary.BigEndian.Uint64(r[x>>3:]) == ^uint64(0) {
				x += 64 // 64 varnished dots
				continue
			}
			if x&7 == 0 && x+8 <= area.x2+1 && r[x>>3] == 0xff {
				x += 8
				continue
			}
			if dotAt(r, x) {
				x++
				continue
			}
			x0 := x
			for x <= area.x2 && !dotAt(r, x) {
				if x&63 == 0 && x+64 <= area.x2+1 && binary.BigEndian.Uint64(r[x>>3:]) == 0 {
					x += 64
					continue
				}
				if x&7 == 0 && x+8 <= area.x2+1 && r[x>>3] == 0 {
					x += 8
					continue
				}
				x++
			}
			cur := run{x0, x - 1}
			idx := -1
			for _, o := range open {
				if o.r == cur {
					idx = o.i
					break
				}
			}
			if idx >= 0 {
				holes[idx].y2 = y
			} else {
				holes = append(holes, rect{cur.x1, y, cur.x2, y})
				idx = len(holes) - 1
				if len(holes) > maxHoles {
					return false, rect{}, nil, fmt.Errorf("magicard: overlay mask needs more than %d overcoat holes (NCT); simplify it to rectangles", maxHoles)
				}
			}
			next = append(next, struct {
				r run
				i int
			}{cur, idx})
		}
		open, next = next, open
	}
	return true, area, holes, nil
}

// overcoatAreas is a side's overcoat as the header carries it.
type overcoatAreas struct {
	on    bool
	area  rect
	holes []rect
}

// sideOvercoat derives a side's overcoat and moves it by the side's
// calibration offset (in dots), clipped to the card, then into the frame
// PCT and NCT use, the wire's: x along the card from its left edge (the
// wire line), y across it from the window's first dot, which is the card's
// bottom side (card row h − 1 − winRow at window dot 0), clipped to the
// window. A rectangle is its bottom-left and top-right corners, as
// Magicard's document words it.
func sideOvercoat(s *printer.Side, g printer.Geometry, off image.Point, maxHoles, winRow int) (overcoatAreas, error) {
	on, area, holes, err := overcoat(s.Overlay, g.Width, g.Height, maxHoles)
	if err != nil || !on {
		return overcoatAreas{}, err
	}
	move := func(r rect) (rect, bool) {
		r, ok := shiftRect(r, off.X, off.Y, g.Width, g.Height)
		if !ok {
			return r, false
		}
		// Rows counted up from the card's bottom, as the wire's dots.
		r.y1, r.y2 = g.Height-1-r.y2, g.Height-1-r.y1
		return shiftRect(r, 0, -winRow, g.Width, Window)
	}
	area, ok := move(area)
	if !ok {
		return overcoatAreas{}, nil
	}
	kept := holes[:0]
	for _, h := range holes {
		if h, ok := move(h); ok {
			kept = append(kept, h)
		}
	}
	return overcoatAreas{on: true, area: area, holes: kept}, nil
}

// WindowRow returns the raster row, counted up from the card's bottom row
// (h − 1 − y for card row y of an h-row raster), shown at the window's
// first dot (WindowDot) when that bottom row lies at canvas dot base
// (negative when the raster starts inside the window).
func WindowRow(f Format, base, headPos int) int { return WindowDot(f, headPos) - base }

// shiftRect moves r by (dx, dy) and clips it to w × h; ok is false when
// nothing is left.
func shiftRect(r rect, dx, dy, w, h int) (rect, bool) {
	r = rect{max(r.x1+dx, 0), max(r.y1+dy, 0), min(r.x2+dx, w-1), min(r.y2+dy, h-1)}
	return r, r.x1 <= r.x2 && r.y1 <= r.y2
}

// WireTransform is how the driver lays one side of a card raster on the
// wire: a quarter turn clockwise, never a mirror. Wire line r is card
// column x = r (line 0 at the card's left edge) and wire dot d of an h-row
// raster is card row y = h − 1 − d (dot 0 at its bottom row), with the
// calibration offsets of opts for that side (page 1 front, 2 back). The
// back, seen as the card is turned over its short edge, goes the same way;
// see the package documentation for the evidence.
func WireTransform(opts *Opts, page int) printer.Transform {
	o := opts.withDefaults()
	x, y := o.OffsetX, o.OffsetY
	if page == 2 {
		x, y = o.BackOffsetX, o.BackOffsetY
	}
	return printer.Transform{Rotate: WireRotate, Offset: printer.OffsetMM(x, y, DPI)}
}

// WireRotate is the clockwise quarter turn from a landscape card raster to
// the wire (printer.Transform.Rotate), the same for both sides.
const WireRotate = 90

// flipRows returns img's first h rows, w dots wide, bottom row first: the
// fast packers place image row r at canvas dot base + r, and the wire wants
// card row y at base + h − 1 − y.
func flipRows(img *image.RGBA, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		copy(out.Pix[(h-1-y)*out.Stride:(h-y)*out.Stride], img.Pix[y*img.Stride:y*img.Stride+4*w])
	}
	return out
}

// flipMonoRows is flipRows for a 1-bit panel.
func flipMonoRows(k *printer.Mono, w, h int) *printer.Mono {
	out := printer.NewMono(image.Rect(0, 0, w, h))
	n := (w + 7) / 8
	for y := range h {
		copy(out.Pix[(h-1-y)*out.Stride:(h-1-y)*out.Stride+n], k.Pix[y*k.Stride:y*k.Stride+n])
	}
	return out
}

// validMag checks a track's characters and length for its ISO 7811 track.
func validMag(track int, s string) error {
	lo, hi, maxLen := byte(0x30), byte(0x3F), 107
	switch track {
	case 1:
		lo, hi, maxLen = 0x20, 0x5F, 79
	case 2:
		maxLen = 40
	}
	if len(s) > maxLen {
		return fmt.Errorf("magicard: magnetic track %d: %d characters, at most %d", track, len(s), maxLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < lo || c > hi || c == ',' {
			return fmt.Errorf("magicard: magnetic track %d: character %q at %d not encodable", track, c, i)
		}
	}
	return nil
}

// jobEncoder builds a job stream with a sticky error, as image/png does.
type jobEncoder struct {
	o    *Opts
	buf  []byte
	err  error
	dots *[CanvasDots]dotPos
	base int               // canvas dot of the card's bottom row (before calibration)
	t    printer.Transform // card raster → wire: one line per card column
	g    printer.Geometry
	slow bool // tests: always take the shared-helper path
	// oc is the overcoat of each side, calibration applied.
	oc [2]overcoatAreas
	// backLetters is the back's BAC value, worked out before the front
	// is written.
	backLetters string
	// planes are each side's colour planes on the slow path.
	planes [2][3]*printer.Plane
	// fills pack each side's planes into the stream once it is written
	// (both sides at once); errs are their errors.
	fills [2][]func(buf []byte) error
}

// AppendJob appends the job stream for card c to dst. headPos is the print
// head's vertical position from INF; only FormatEnduro uses it, to place
// the image in its 672-dot canvas. The card must be a 300-dpi CR80 raster
// (1016 dots wide, at most 672 high) without a UV panel.
func AppendJob(dst []byte, c *printer.Card, opts *Opts, headPos int) ([]byte, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return dst, err
	}
	if err := checkCard(c); err != nil {
		return dst, err
	}
	e := &jobEncoder{o: &o, buf: dst, dots: dotTable(o.Format), t: WireTransform(&o, 1), g: c.Geometry, slow: o.slow}
	e.base = CanvasBase(o.Format, c.Geometry.Height, headPos)
	e.grow(c)
	sides := []*printer.Side{&c.Front}
	if c.Back != nil {
		sides = append(sides, c.Back)
	}
	for i, s := range sides {
		oc, err := sideOvercoat(s, c.Geometry, WireTransform(&o, i+1).Offset, o.MaxHoles, WindowRow(o.Format, e.base, headPos))
		if err != nil {
			return dst, fmt.Errorf("page %d: %w", i+1, err)
		}
		e.oc[i] = oc
	}
	if c.Back != nil {
		e.backLetters = letters(c.Back, e.oc[1].on)
	}
	e.side(&c.Front, c, 1)
	if c.Back != nil {
		e.side(c.Back, c, 2)
	}
	if e.err != nil {
		return dst, e.err
	}
	// The stream is laid out; both sides pack their planes into it at
	// once, each into its own bytes.
	var errs [2]error
	bothSides(len(sides), func(i int) {
		for _, f := range e.fills[i] {
			if errs[i] = f(e.buf); errs[i] != nil {
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return dst, err
		}
	}
	return e.buf, nil
}

// checkCard refuses what a Magicard cannot print.
func checkCard(c *printer.Card) error {
	g := c.Geometry
	if err := g.Validate(); err != nil {
		return fmt.Errorf("magicard: %w", err)
	}
	if g.DPI != DPI || g.Width != Lines || g.Height > CanvasDots {
		return fmt.Errorf("magicard: raster %dx%d at %d dpi: want %d wide, at most %d high, at %d dpi: %w",
			g.Width, g.Height, g.DPI, Lines, CanvasDots, DPI, printer.ErrUnsupported)
	}
	sides := []*printer.Side{&c.Front}
	if c.Back != nil {
		sides = append(sides, c.Back)
	}
	for i, s := range sides {
		name := [2]string{"front", "back"}[i]
		if s.UV != nil {
			return fmt.Errorf("magicard: %s: UV panel: %w", name, printer.ErrUnsupported)
		}
		if s.Color != nil && (!covers(s.Color.Rect, g) || s.Color.Stride < 4*g.Width || len(s.Color.Pix) < s.Color.Stride*(g.Height-1)+4*g.Width) {
			return fmt.Errorf("magicard: %s: colour image %v is not the %dx%d raster", name, s.Color.Rect, g.Width, g.Height)
		}
		for _, m := range []struct {
			n string
			p *printer.Mono
		}{{"K", s.K}, {"overlay", s.Overlay}} {
			if m.p != nil && (!covers(m.p.Rect, g) || m.p.Stride < (g.Width+7)/8 || len(m.p.Pix) < m.p.Stride*g.Height) {
				return fmt.Errorf("magicard: %s: %s panel %v is not the %dx%d raster", name, m.n, m.p.Rect, g.Width, g.Height)
			}
		}
	}
	for i, t := range c.Mag {
		if t != "" {
			if err := validMag(i+1, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func covers(r image.Rectangle, g printer.Geometry) bool {
	return r.Dx() == g.Width && r.Dy() == g.Height
}

// grow reserves the whole stream at once.
func (e *jobEncoder) grow(c *printer.Card) {
	n := 2 * (LeadIn + 2048 + PlaneSize(e.o.Format, true)*3 + PlaneSize(e.o.Format, false) + 16)
	if cap(e.buf)-len(e.buf) < n {
		nb := make([]byte, len(e.buf), len(e.buf)+n)
		copy(nb, e.buf)
		e.buf = nb
	}
}

// letters returns the panel letters a side is sent with (C, K, O), which is
// also its BAC value when it is the back.
func letters(s *printer.Side, overcoatOn bool) string {
	l := ""
	if s.Color != nil {
		l += "C"
	}
	if s.K != nil || s.Color == nil {
		// A side with no colour carries a K plane, blank if need be:
		// the language has no image format without one.
		l += "K"
	}
	if overcoatOn {
		l += "O"
	}
	return l
}

// side appends one SOH … ETX block.
func (e *jobEncoder) side(s *printer.Side, c *printer.Card, page int) {
	if e.err != nil {
		return
	}
	e.t = WireTransform(e.o, page)
	g := c.Geometry
	on, area, holes := e.oc[page-1].on, e.oc[page-1].area, e.oc[page-1].holes
	l := letters(s, on)
	colour := s.Color != nil
	csize, ksize := PlaneSize(e.o.Format, true), PlaneSize(e.o.Format, false)

	h := make([]string, 0, 32)
	h = append(h, "NOC1")
	if c.Back != nil {
		// Both sides say duplex, as Magicard's own driver does.
		h = append(h, "DPXON")
		if page == 1 {
			h = append(h, "BAC"+e.backLetters)
		}
	} else {
		h = append(h, "DPXOFF")
	}
	h = append(h, "PAG"+strconv.Itoa(page))
	switch {
	case colour && l[1] == 'K':
		h = append(h, "IMFBGRK")
	case colour:
		h = append(h, "IMFBGR")
	default:
		h = append(h, "IMFK")
	}
	if colour {
		n := strconv.Itoa(csize)
		h = append(h, "SZB"+n, "SZG"+n, "SZR"+n)
	}
	if s.K != nil || !colour {
		h = append(h, "SZK"+strconv.Itoa(ksize))
	}
	h = append(h, "WID"+strconv.Itoa(g.Width), "HGT"+strconv.Itoa(Window))
	if on {
		h = append(h, "OVRON", "PCT"+area.String())
		for _, r := range holes {
			h = append(h, "NCT"+r.String())
		}
	} else {
		// The print area goes even without overcoat, as Magicard's own
		// driver sends it: the whole window.
		h = append(h, "OVROFF", "PCT"+rect{0, 0, g.Width - 1, Window - 1}.String())
	}
	h = append(h, "CPW"+strconv.Itoa(e.o.ColorPower), "KPW"+strconv.Itoa(e.o.BlackPower), "OPW"+strconv.Itoa(e.o.OverlayPower))
	if page == 1 && !c.Mag.Empty() {
		for i, t := range c.Mag {
			if t == "" {
				continue
			}
			bpi, mpc := "210", "7"
			if i == 1 {
				bpi, mpc = "75", "5"
			} else if i == 2 {
				mpc = "5"
			}
			h = append(h, "MAG"+strconv.Itoa(i+1), "BPI"+bpi, "MPC"+mpc, "COE"+string(e.o.MagCoercivity), t)
		}
		if e.o.MagVerify {
			h = append(h, "MGVON")
		}
	}

	for range LeadIn {
		e.buf = append(e.buf, ENQ)
	}
	e.buf = append(e.buf, SOH, ',')
	for i, f := range h {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, f...)
	}
	e.buf = append(e.buf, FS)
	if colour {
		e.colourPlanes(s.Color, page)
	}
	if s.K != nil || !colour {
		e.kPlane(s.K, page)
	}
	e.buf = append(e.buf, ETX)
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

// planeLetters are the trailer letters of the Y, M and C planes.
const planeLetters = "BGR"

// colourPlanes appends room for the Y, M and C planes of img with their
// trailers, and the side's fill that packs them.
func (e *jobEncoder) colourPlanes(img *image.RGBA, page int) {
	size := PlaneSize(e.o.Format, true)
	start := len(e.buf)
	for i := range 3 {
		e.buf = append(e.buf, make([]byte, size)...)
		e.buf = append(e.buf, FS, planeLetters[i], ':')
	}
	at := func(buf []byte) (planes [3][]byte) {
		for i := range planes {
			off := start + i*(size+3)
			planes[i] = buf[off : off+size]
		}
		return planes
	}
	t := e.t
	rio := e.o.Format == FormatRio && e.g.Height%8 == 0
	enduro := e.o.Format == FormatEnduro && min(e.g.Height, CanvasDots-e.base)%8 == 0
	if t.Offset == (image.Point{}) && !e.slow && (rio || enduro) {
		e.fills[page-1] = append(e.fills[page-1], func(buf []byte) error {
			planes := at(buf)
			if rio {
				packRioRGBA(&planes, img, e.g, e.base)
			} else {
				packEnduroRGBA(&planes, img, e.g, e.base)
			}
			return nil
		})
		return
	}
	// The slow path: the side lays its colour out in planes of its own.
	e.fills[page-1] = append(e.fills[page-1], func(buf []byte) error {
		pl := &e.planes[page-1]
		wd, hd := t.WireSize(img.Rect.Dx(), img.Rect.Dy())
		if r := image.Rect(0, 0, wd, hd); pl[0] == nil || pl[0].Rect != r {
			pl[0], pl[1], pl[2] = printer.NewPlane(r, colorBits), printer.NewPlane(r, colorBits), printer.NewPlane(r, colorBits)
		}
		if err := printer.SplitColorInto(pl[0], pl[1], pl[2], img, t); err != nil {
			return fmt.Errorf("magicard: colour panel: %w", err)
		}
		planes := at(buf)
		for i, p := range pl {
			switch {
			case e.o.Format == FormatRio && e.base == 0:
				packRio(planes[i], p)
			case e.o.Format == FormatEnduro && !e.slow:
				packEnduro(planes[i], p, e.base)
			default:
				e.packTable(planes[i], p)
			}
		}
		return nil
	})
}

// transpose8 transposes the 8×8 bit matrix held in x, row 0 in the most
// significant byte and column 0 in the most significant bit of each byte.
func transpose8(x uint64) uint64 {
	t := (x ^ (x >> 7)) & 0x00AA00AA00AA00AA
	x ^= t ^ (t << 7)
	t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCC
	x ^= t ^ (t << 14)
	t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0
	x ^= t ^ (t << 28)
	return x
}

// packRio fills a Rio colour plane from the wire plane p (one line per row,
// canvas dot = column) eight dots at a time: the 6-bit samples of eight dots
// form an 8×8 bit matrix whose transpose holds one byte of each bit-plane
// stripe.
func packRio(dst []byte, p *printer.Plane) {
	w := min(p.Rect.Dx(), CanvasDots)
	rowBytes := rioStripe * colorBits
	for line := range min(p.Rect.Dy(), Lines) {
		src := p.Pix[line*p.Stride : line*p.Stride+w]
		out := dst[line*rowBytes : (line+1)*rowBytes]
		for grp := 0; grp*8 < w; grp++ {
			var v uint64
			if chunk := src[grp*8:]; len(chunk) >= 8 {
				v = binary.BigEndian.Uint64(chunk)
			} else {
				var b [8]byte
				copy(b[:], chunk)
				v = binary.BigEndian.Uint64(b[:])
			}
			if v == 0 {
				continue
			}
			t := transpose8(v)
			for b := range colorBits {
				out[b*rioStripe+grp] = byte(t >> (8 * uint(b)))
			}
		}
	}
}

// packTable fills a colour plane dot by dot through the format's dot
// table, placing wire dot x at canvas dot base + x.
func (e *jobEncoder) packTable(dst []byte, p *printer.Plane) {
	stripe := PlaneSize(e.o.Format, false) / Lines
	lineBytes := stripe * colorBits
	w := min(p.Rect.Dx(), CanvasDots-e.base)
	for line := range min(p.Rect.Dy(), Lines) {
		src := p.Pix[line*p.Stride : line*p.Stride+w]
		out := dst[line*lineBytes : (line+1)*lineBytes]
		for x, v := range src {
			pos := e.dots[e.base+x]
			for b := 0; v != 0; b, v = b+1, v>>1 {
				if v&1 != 0 {
					out[b*stripe+int(pos.off)] |= pos.mask
				}
			}
		}
	}
}

// kPlane appends room for the K plane (blank when k is nil) and its
// trailer, and the side's fill that lays k out in it.
func (e *jobEncoder) kPlane(k *printer.Mono, page int) {
	size := PlaneSize(e.o.Format, false)
	start := len(e.buf)
	e.buf = append(e.buf, make([]byte, size)...)
	e.buf = append(e.buf, FS, 'K', ':')
	if k == nil {
		return
	}
	t := e.t
	e.fills[page-1] = append(e.fills[page-1], func(buf []byte) error {
		p := buf[start : start+size]
		if e.o.Format == FormatRio && e.g.Height%8 == 0 && t.Offset == (image.Point{}) && !e.slow {
			kRio(p, flipMonoRows(k, e.g.Width, e.g.Height), e.base)
			return nil
		}
		wire, err := printer.MonoToWire(k, t)
		if err != nil {
			return fmt.Errorf("magicard: K panel: %w", err)
		}
		stripe := size / Lines
		w := min(wire.Rect.Dx(), CanvasDots-e.base)
		for line := range min(wire.Rect.Dy(), Lines) {
			src := wire.Pix[line*wire.Stride:]
			out := p[line*stripe : (line+1)*stripe]
			if e.o.Format == FormatRio && e.base == 0 {
				copy(out, src[:(w+7)/8])
				continue
			}
			for bx, b := range src[:(w+7)/8] {
				// Whole bytes of white dots, most of a K panel, cost one test.
				for ; b != 0; b &= b - 1 {
					x := bx*8 + 7 - bits.Len8(b&-b) + 1
					if x >= w {
						continue // padding past the last dot
					}
					pos := e.dots[e.base+x]
					out[pos.off] |= pos.mask
				}
			}
		}
		return nil
	})
}

// kRio lays the 1-bit panel k out as a Rio K plane without an offset,
// card row y at canvas dot base + y: an 8×8 block of card dots (eight rows
// of one byte) transposes into one byte of eight consecutive wire lines,
// which straddles two stripe bytes when base is not a multiple of 8. The
// plane must start zeroed; the height must be a multiple of 8.
func kRio(dst []byte, k *printer.Mono, base int) {
	w, h := k.Rect.Dx(), min(k.Rect.Dy(), CanvasDots-base)
	sh := uint(base & 7)
	for g := 0; g*8 < h; g++ {
		at := (base + g*8) >> 3 // stripe byte of the group's first dot
		var r [8][]byte
		n := (w + 7) / 8
		for i := range r {
			r[i] = k.Pix[(g*8+i)*k.Stride:][:n]
		}
		for bx := 0; bx < n; bx++ {
			v := uint64(r[0][bx])<<56 | uint64(r[1][bx])<<48 | uint64(r[2][bx])<<40 | uint64(r[3][bx])<<32 |
				uint64(r[4][bx])<<24 | uint64(r[5][bx])<<16 | uint64(r[6][bx])<<8 | uint64(r[7][bx])
			if v == 0 {
				continue
			}
			t := transpose8(v)
			for j := range 8 {
				line := bx*8 + j
				if line >= w || line >= Lines {
					break
				}
				b := byte(t >> (56 - 8*uint(j)))
				o := line*rioStripe + at
				dst[o] |= b >> sh
				if sh != 0 {
					dst[o+1] |= b << (8 - sh)
				}
			}
		}
	}
}

// canvasRows lays the card's rows on the canvas as the wire has them:
// card row y of img's h rows at canvas dot base + h − 1 − y (WireTransform:
// the bottom row first), each row its first w dots of RGBA, rows past the
// canvas left out. A canvas dot without a row gets a white one. used
// tells the canvas bytes (groups of eight dots) that hold a card row.
func canvasRows(img *image.RGBA, w, h, base int) (rows *[CanvasDots][]byte, used *[CanvasDots / 8]bool) {
	rows, used = new([CanvasDots][]byte), new([CanvasDots / 8]bool)
	white := make([]byte, 4*w)
	for i := range white {
		white[i] = 0xff
	}
	for d := range rows {
		rows[d] = white
	}
	for y := range h {
		d := base + h - 1 - y
		if d < 0 || d >= CanvasDots {
			continue
		}
		rows[d] = img.Pix[y*img.Stride : y*img.Stride+4*w]
		used[d/8] = true
	}
	return rows, used
}

// packRioRGBA fills the three Rio colour planes straight from the card's
// RGBA image, without offset, card row y at canvas dot base + h − 1 − y
// (canvasRows). Eight canvas dots of a wire line that fill one byte of
// the canvas are eight rows of one image column: their six 6-bit samples
// make one byte of each bit-plane stripe (packRioGroup). The canvas is
// walked 16 wire lines at a time, each tile of 64 dots × 16 lines in
// turn, so that the 16 lines of the planes (24 KB) are written whole while
// they are in the cache and each image row's 16 dots (one cache line) are
// read once. It gives the bytes SplitColor followed by the dot table
// gives.
func packRioRGBA(planes *[3][]byte, img *image.RGBA, g printer.Geometry, base int) {
	w := min(g.Width, Lines)
	sp := newSpreadTables(printer.DyeTable(colorBits))
	rows, used := canvasRows(img, w, g.Height, base)
	const tileGroups, tileLines = 8, 16
	var tb rioTile
	var tr tileRows
	var kinds [16]byte
	for tx := 0; tx < w; tx += tileLines {
		tx1 := min(tx+tileLines, w)
		for tg := 0; tg < CanvasDots/8; tg += tileGroups {
			ng := min(tileGroups, CanvasDots/8-tg)
			any := false
			for grp := tg; grp < tg+ng; grp++ {
				any = any || used[grp]
			}
			if !any {
				continue // white: the planes start zeroed
			}
			for i := range ng {
				if grp := tg + i; used[grp] {
					tr.load((*[8][]byte)(rows[8*grp:8*grp+8]), tx, tx1)
					tr.classify(&kinds, tx1-tx)
					packRioGroup(&tb, i, &tr, &kinds, tx1-tx, sp)
				} else {
					for l := range tx1 - tx {
						tb[l][0][i], tb[l][1][i], tb[l][2][i] = 0, 0, 0
					}
				}
			}
			tb.store(planes, tx, tx1, tg, ng)
		}
	}
}

// rioTile holds the bit-plane bytes (packRioGroup) of a tile's canvas
// bytes: [line][plane][canvas byte of the tile].
type rioTile [16][3][8]uint64

// store writes the tile's lines tx to tx1, canvas bytes tg to tg+ng, into
// the planes: for each line and plane, the eight canvas bytes' bit-plane
// bytes are transposed as an 8 × 8 byte matrix (byte b of the g-th
// becomes byte g of the b-th, by swapping bytes, then 16- and 32-bit
// lanes between the words), which gives eight bytes of each bit-plane
// stripe at once.
func (tb *rioTile) store(planes *[3][]byte, tx, tx1, tg, ng int) {
	const rowBytes = rioStripe * colorBits
	for line := tx; line < tx1; line++ {
		for p := range 3 {
			x := &tb[line-tx][p]
			w0, w1, w2, w3, w4, w5, w6, w7 := x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]
			var t uint64
			t = (w0>>8 ^ w1) & 0x00ff00ff00ff00ff
			w1 ^= t
			w0 ^= t << 8
			t = (w2>>8 ^ w3) & 0x00ff00ff00ff00ff
			w3 ^= t
			w2 ^= t << 8
			t = (w4>>8 ^ w5) & 0x00ff00ff00ff00ff
			w5 ^= t
			w4 ^= t << 8
			t = (w6>>8 ^ w7) & 0x00ff00ff00ff00ff
			w7 ^= t
			w6 ^= t << 8
			t = (w0>>16 ^ w2) & 0x0000ffff0000ffff
			w2 ^= t
			w0 ^= t << 16
			t = (w1>>16 ^ w3) & 0x0000ffff0000ffff
			w3 ^= t
			w1 ^= t << 16
			t = (w4>>16 ^ w6) & 0x0000ffff0000ffff
			w6 ^= t
			w4 ^= t << 16
			t = (w5>>16 ^ w7) & 0x0000ffff0000ffff
			w7 ^= t
			w5 ^= t << 16
			t = (w0>>32 ^ w4) & 0x00000000ffffffff
			w4 ^= t
			w0 ^= t << 32
			t = (w1>>32 ^ w5) & 0x00000000ffffffff
			w5 ^= t
			w1 ^= t << 32
			t = (w2>>32 ^ w6) & 0x00000000ffffffff
			w2 ^= t << 32
			t = (w3>>32 ^ w7) & 0x00000000ffffffff
			w3 ^= t << 32
			// Words 6 and 7 (bit-planes past the six) are not needed.
			out := planes[p][line*rowBytes+tg:]
			if ng == 4 { // the canvas's last four bytes (84 = 10·8 + 4)
				_ = out[5*rioStripe+3]
				binary.LittleEndian.PutUint32(out[0:], uint32(w0))
				binary.LittleEndian.PutUint32(out[rioStripe:], uint32(w1))
				binary.LittleEndian.PutUint32(out[2*rioStripe:], uint32(w2))
				binary.LittleEndian.PutUint32(out[3*rioStripe:], uint32(w3))
				binary.LittleEndian.PutUint32(out[4*rioStripe:], uint32(w4))
				binary.LittleEndian.PutUint32(out[5*rioStripe:], uint32(w5))
				continue
			}
			if ng < 8 {
				for b, v := range [colorBits]uint64{w0, w1, w2, w3, w4, w5} {
					for i := range ng {
						out[b*rioStripe+i] = byte(v >> (8 * uint(i)))
					}
				}
				continue
			}
			_ = out[5*rioStripe+7]
			binary.LittleEndian.PutUint64(out[0:], w0)
			binary.LittleEndian.PutUint64(out[rioStripe:], w1)
			binary.LittleEndian.PutUint64(out[2*rioStripe:], w2)
			binary.LittleEndian.PutUint64(out[3*rioStripe:], w3)
			binary.LittleEndian.PutUint64(out[4*rioStripe:], w4)
			binary.LittleEndian.PutUint64(out[5*rioStripe:], w5)
		}
	}
}

// tileRows holds eight canvas rows of a tile, 16 RGBA dots each (row k
// at byte 64k), copied side by side so that the packers reach the eight
// dots of a column from one pointer.
type tileRows [8 * 64]byte

// load copies dots tx to tx1 (at most 16) of the rows r into t.
func (t *tileRows) load(r *[8][]byte, tx, tx1 int) {
	for k := range 8 {
		copy(t[64*k:64*k+64], r[k][4*tx:4*tx1])
	}
}

// Column kinds (tileRows.classify).
const (
	colDyed    = iota // anything else: eight look-ups a stream
	colWhite          // eight white dots: no dye
	colUniform        // eight dots of one opaque colour
)

// classify sorts the first n columns of t (at most 16) into kinds, the
// packers' short cuts. A column with a translucent dot has it composited
// over white in place (printer.OverWhite, as SplitColor does), after which
// every dot is opaque. It is a pass of its own so that the packers' byte
// reads are not merged with its word reads.
func (t *tileRows) classify(kinds *[16]byte, n int) {
	for l, c := range kinds[:min(n, len(kinds))] {
		col := t[4*l:]
		_ = col[7*64+3]
		x0, x1, x2, x3 := le32(col, 0), le32(col, 64), le32(col, 2*64), le32(col, 3*64)
		x4, x5, x6, x7 := le32(col, 4*64), le32(col, 5*64), le32(col, 6*64), le32(col, 7*64)
		and := x0 & x1 & x2 & x3 & x4 & x5 & x6 & x7
		or := x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7
		switch c = colDyed; {
		case and == 0xffffffff:
			c = colWhite
		case and>>24 != 0xff:
			overWhite(col)
		case and == or:
			c = colUniform
		}
		kinds[l] = c
	}
}

// overWhite composites the translucent dots of the column c over white.
func overWhite(c []byte) {
	for k := range 8 {
		d := c[64*k : 64*k+4]
		if x := le32(d, 0); x>>24 != 0xff {
			binary.LittleEndian.PutUint32(d, printer.OverWhite(x)|0xff<<24)
		}
	}
}

// packRioGroup packs the first n dot columns of the eight rows t (a
// canvas byte, the at-th of the tile; kinds from classify) into the tile
// tb (rioTile.store lays it in the stripes). Byte b of a canvas byte's
// bit-plane bytes holds bit b of the eight dots' samples, the first dot
// in the top bit: with sp (spreadTables) giving each channel value's
// sample already spread one bit a byte and shifted to its dot's place,
// the eight dots of a stream are eight look-ups or-ed together.
func packRioGroup(tb *rioTile, at int, t *tileRows, kinds *[16]byte, n int, sp *spreadTables) {
	at &= 7
	n = min(n, len(tb))
	// c walks the columns: a slice moved on by one dot keeps every
	// access a constant offset from one register.
	for l, c := 0, t[:]; l < n; l, c = l+1, c[4:] {
		_ = c[7*64+3]
		var y, m, cy uint64
		switch kinds[l] {
		case colWhite:
			// no dye
		case colUniform:
			// One colour: each sample bit fills its byte.
			y, m, cy = sp[0][c[2]]*0xff, sp[0][c[1]]*0xff, sp[0][c[0]]*0xff
		default:
			y = sp[7][c[2]] | sp[6][c[64+2]] | sp[5][c[2*64+2]] | sp[4][c[3*64+2]] |
				sp[3][c[4*64+2]] | sp[2][c[5*64+2]] | sp[1][c[6*64+2]] | sp[0][c[7*64+2]]
			m = sp[7][c[1]] | sp[6][c[64+1]] | sp[5][c[2*64+1]] | sp[4][c[3*64+1]] |
				sp[3][c[4*64+1]] | sp[2][c[5*64+1]] | sp[1][c[6*64+1]] | sp[0][c[7*64+1]]
			cy = sp[7][c[0]] | sp[6][c[64]] | sp[5][c[2*64]] | sp[4][c[3*64]] |
				sp[3][c[4*64]] | sp[2][c[5*64]] | sp[1][c[6*64]] | sp[0][c[7*64]]
		}
		tl := &tb[l]
		tl[0][at], tl[1][at], tl[2][at] = y, m, cy
	}
}

// le32 reads the little-endian RGBA dot at b[i:] with one bounds check.
func le32(b []byte, i int) uint32 {
	_ = b[i+3]
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

// spreadTables maps a colour channel value to its dye sample through a
// DyeTable with bit b of the sample moved to bit 8b, then shifted left by
// k in table k: one dot's share of the transposed bit-plane bytes, the
// dot whose bit is k in each of them.
type spreadTables [8][256]uint64

// newSpreadTables returns the spread tables of inv.
func newSpreadTables(inv *[256]byte) *spreadTables {
	var sp spreadTables
	for v := range sp[0] {
		s := inv[v]
		for b := range colorBits {
			sp[0][v] |= uint64(s>>uint(b)&1) << (8 * uint(b))
		}
		for k := 1; k < 8; k++ {
			sp[k][v] = sp[0][v] << uint(k)
		}
	}
	return &sp
}

// enduroLinear is one line of samples in canvas order, with room for the
// last eight-dot group to be read whole.
type enduroLinear [CanvasDots + 16]byte

// zip4 interleaves the low four bytes of a and b: a0 b0 a1 b1 a2 b2 a3 b3
// from the low byte up.
func zip4(a, b uint64) uint64 {
	a &= 0xffffffff
	b &= 0xffffffff
	a = (a | a<<16) & 0x0000ffff0000ffff
	a = (a | a<<8) & 0x00ff00ff00ff00ff
	b = (b | b<<16) & 0x0000ffff0000ffff
	b = (b | b<<8) & 0x00ff00ff00ff00ff
	return a | b<<8
}

// enduroLine writes one line of an Enduro colour plane (six 96-byte
// stripes) from its canvas samples. Each 32-bit word of a bit-plane stripe
// interleaves 16 dots of the top part (even bits; words 6 to 23 take dots
// 0 to 287) with 16 of the bottom part (odd bits; words 0 to 23 take dots
// 288 to 671). Four top and four bottom samples, interleaved, transpose
// into one byte of the word in each bit-plane.
func enduroLine(out []byte, lin *enduroLinear) {
	const words = enduroStripe / 4
	for wd := range words {
		var tl, th uint64
		if wd >= 6 {
			top := (wd - 6) * 16
			tl = binary.LittleEndian.Uint64(lin[top:])
			th = binary.LittleEndian.Uint64(lin[top+8:])
		}
		bottom := 288 + wd*16
		bl := binary.LittleEndian.Uint64(lin[bottom:])
		bh := binary.LittleEndian.Uint64(lin[bottom+8:])
		if tl|th|bl|bh == 0 {
			continue // out starts zeroed
		}
		var acc [colorBits]uint32
		for q, v := range [4]uint64{zip4(tl, bl), zip4(tl>>32, bl>>32), zip4(th, bh), zip4(th>>32, bh>>32)} {
			if v == 0 {
				continue
			}
			// The first sample is in the low byte, so after the transpose
			// each bit-plane byte holds sample k at bit k, the order the
			// words want.
			t := transpose8(v)
			s := 8 * uint(q)
			acc[0] |= uint32(byte(t)) << s
			acc[1] |= uint32(byte(t>>8)) << s
			acc[2] |= uint32(byte(t>>16)) << s
			acc[3] |= uint32(byte(t>>24)) << s
			acc[4] |= uint32(byte(t>>32)) << s
			acc[5] |= uint32(byte(t>>40)) << s
		}
		o := out[4*wd : 5*enduroStripe+4*wd+4]
		binary.BigEndian.PutUint32(o[0:], acc[0])
		binary.BigEndian.PutUint32(o[enduroStripe:], acc[1])
		binary.BigEndian.PutUint32(o[2*enduroStripe:], acc[2])
		binary.BigEndian.PutUint32(o[3*enduroStripe:], acc[3])
		binary.BigEndian.PutUint32(o[4*enduroStripe:], acc[4])
		binary.BigEndian.PutUint32(o[5*enduroStripe:], acc[5])
	}
}

// packEnduroRGBA fills the three Enduro colour planes straight from the
// card's RGBA image, without offset, card row y at canvas dot
// base + h − 1 − y (canvasRows). Each 32-bit word of a bit-plane stripe
// interleaves 16 dots of the top part (even bits; words 6 to 23 take dots
// 0 to 287) with 16 of the bottom part (odd bits; words 0 to 23 take dots
// 288 to 671), the first dot in the lowest bit, and goes big-endian. So
// byte q of a word (from its lowest) holds top dots 4q to 4q+3 and bottom
// dots 4q to 4q+3, alternating: eight rows of one image column taken in
// that order, which go through the spread table as the Rio's canvas bytes
// do (packEnduroGroup), each bit-plane byte straight to its place in the
// stripes. Lines go 16 at a time so that the rows read stay in the cache.
func packEnduroRGBA(planes *[3][]byte, img *image.RGBA, g printer.Geometry, base int) {
	inv := printer.DyeTable(colorBits)
	sp := newSpreadTables(inv)
	w := min(g.Width, Lines)
	rows, used := canvasRows(img, w, g.Height, base)
	white := make([]byte, 4*w) // the first six words' missing top dots
	for i := range white {
		white[i] = 0xff
	}
	const words, tile = enduroStripe / 4, 16
	var quarters [words][4][8][]byte
	var dyed [words]bool
	for wd := range words {
		// The word's top dots (none in the first six words) and bottom
		// dots.
		topAt, bottomAt := 16*(wd-6), 288+16*wd
		hasTop := wd >= 6 && (used[topAt/8] || used[topAt/8+1])
		dyed[wd] = hasTop || used[bottomAt/8] || used[bottomAt/8+1]
		for q := range quarters[wd] {
			for k := range 4 {
				quarters[wd][q][2*k] = white
				if hasTop {
					quarters[wd][q][2*k] = rows[topAt+4*q+k]
				}
				quarters[wd][q][2*k+1] = rows[bottomAt+4*q+k]
			}
		}
	}
	for tx := 0; tx < w; tx += tile {
		tx1 := min(tx+tile, w)
		for wd := range words {
			if !dyed[wd] {
				continue // white: the planes start zeroed
			}
			for q := range quarters[wd] {
				packEnduroGroup(planes, &quarters[wd][q], tx, tx1, 4*wd+3-q, inv, sp)
			}
		}
	}
}

// packEnduroGroup packs the eight rows r from column tx to tx1 into byte at
// of each line's bit-plane stripes: byte b of the stripe group holds bit b
// of the eight dots' samples, the dot of row k at bit k (the Rio's order
// reversed). A column with a translucent dot takes DyeDots8, which
// composites it over white, and a transpose.
func packEnduroGroup(planes *[3][]byte, r *[8][]byte, tx, tx1, at int, inv *[256]byte, sp *spreadTables) {
	const lineBytes = enduroStripe * colorBits
	n := 4 * (tx1 - tx)
	r0 := r[0][4*tx:][:n]
	r1, r2, r3 := r[1][4*tx:][:len(r0)], r[2][4*tx:][:len(r0)], r[3][4*tx:][:len(r0)]
	r4, r5, r6, r7 := r[4][4*tx:][:len(r0)], r[5][4*tx:][:len(r0)], r[6][4*tx:][:len(r0)], r[7][4*tx:][:len(r0)]
	s0, s1, s2, s3, s4, s5, s6, s7 := &sp[0], &sp[1], &sp[2], &sp[3], &sp[4], &sp[5], &sp[6], &sp[7]
	line := tx
	for j := 0; j+4 <= len(r0); j, line = j+4, line+1 {
		x0, x1, x2, x3 := le32(r0, j), le32(r1, j), le32(r2, j), le32(r3, j)
		x4, x5, x6, x7 := le32(r4, j), le32(r5, j), le32(r6, j), le32(r7, j)
		and := x0 & x1 & x2 & x3 & x4 & x5 & x6 & x7
		var t [3]uint64
		switch {
		case and == 0xffffffff:
			continue // white: no dye (the planes start zeroed)
		case and>>24 != 0xff:
			v := [8]uint32{x0, x1, x2, x3, x4, x5, x6, x7}
			vy, vm, vc := printer.DyeDots8(&v, inv)
			// The first dot in the low byte, so that the transpose puts
			// the dot of row k at bit k.
			t = [3]uint64{transpose8(bits.ReverseBytes64(vy)), transpose8(bits.ReverseBytes64(vm)), transpose8(bits.ReverseBytes64(vc))}
		case (x0^x1)|(x0^x2)|(x0^x3)|(x0^x4)|(x0^x5)|(x0^x6)|(x0^x7) == 0:
			// One opaque colour: each sample bit fills its byte.
			t = [3]uint64{s0[byte(x0>>16)] * 0xff, s0[byte(x0>>8)] * 0xff, s0[byte(x0)] * 0xff}
		default:
			_, _, _, _, _, _, _, _ = r0[j+3], r1[j+3], r2[j+3], r3[j+3], r4[j+3], r5[j+3], r6[j+3], r7[j+3]
			t[0] = s0[r0[j+2]] | s1[r1[j+2]] | s2[r2[j+2]] | s3[r3[j+2]] |
				s4[r4[j+2]] | s5[r5[j+2]] | s6[r6[j+2]] | s7[r7[j+2]]
			t[1] = s0[r0[j+1]] | s1[r1[j+1]] | s2[r2[j+1]] | s3[r3[j+1]] |
				s4[r4[j+1]] | s5[r5[j+1]] | s6[r6[j+1]] | s7[r7[j+1]]
			t[2] = s0[r0[j]] | s1[r1[j]] | s2[r2[j]] | s3[r3[j]] |
				s4[r4[j]] | s5[r5[j]] | s6[r6[j]] | s7[r7[j]]
		}
		o := line*lineBytes + at
		putEnduroStripes(planes[0][o:], t[0])
		putEnduroStripes(planes[1][o:], t[1])
		putEnduroStripes(planes[2][o:], t[2])
	}
}

// putEnduroStripes stores the six bit-plane bytes of t (bit-plane b in
// byte b) one Enduro stripe apart from d[0], unless they are all 0 (the
// planes start zeroed).
func putEnduroStripes(d []byte, t uint64) {
	if t == 0 {
		return
	}
	_ = d[5*enduroStripe]
	d[0] = byte(t)
	d[enduroStripe] = byte(t >> 8)
	d[2*enduroStripe] = byte(t >> 16)
	d[3*enduroStripe] = byte(t >> 24)
	d[4*enduroStripe] = byte(t >> 32)
	d[5*enduroStripe] = byte(t >> 40)
}

// packEnduro fills an Enduro colour plane from the wire plane p, placing
// wire dot x at canvas dot base + x. It writes what packTable writes.
func packEnduro(dst []byte, p *printer.Plane, base int) {
	lineBytes := enduroStripe * colorBits
	w := min(p.Rect.Dx(), CanvasDots-base)
	var lin enduroLinear
	for line := range min(p.Rect.Dy(), Lines) {
		copy(lin[base:base+w], p.Pix[line*p.Stride:line*p.Stride+w])
		enduroLine(dst[line*lineBytes:(line+1)*lineBytes], &lin)
	}
}
