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
	t := e.t
	rio := e.o.Format == FormatRio && e.g.Height%8 == 0
	enduro := e.o.Format == FormatEnduro && min(e.g.Height, CanvasDots-e.base)%8 == 0
	fast := t.Offset == (image.Point{}) && !e.slow && (rio || enduro)
	for i := range 3 {
		if fast && cap(e.buf)-len(e.buf) >= size {
			// The fast packers write every byte of the planes: the
			// room need not be cleared first (grow reserved it).
			e.buf = e.buf[:len(e.buf)+size]
		} else {
			e.buf = append(e.buf, make([]byte, size)...)
		}
		e.buf = append(e.buf, FS, planeLetters[i], ':')
	}
	at := func(buf []byte) (planes [3][]byte) {
		for i := range planes {
			off := start + i*(size+3)
			planes[i] = buf[off : off+size]
		}
		return planes
	}
	if fast {
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
			kRio(p, k, e.g.Height, e.base)
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

// kRio lays the first height rows of the 1-bit panel k out as a Rio K
// plane without an offset, card row y at canvas dot
// base + height − 1 − y (WireTransform: the bottom row first): an 8×8
// block of card dots (eight rows of one byte, read from the bottom up)
// transposes into one byte of eight consecutive wire lines, which
// straddles two stripe bytes when base is not a multiple of 8. The plane
// must start zeroed; height must be a multiple of 8.
func kRio(dst []byte, k *printer.Mono, height, base int) {
	w, h := k.Rect.Dx(), min(height, CanvasDots-base)
	sh := uint(base & 7)
	for g := 0; g*8 < h; g++ {
		at := (base + g*8) >> 3 // stripe byte of the group's first dot
		var r [8][]byte
		n := (w + 7) / 8
		for i := range r {
			r[i] = k.Pix[(height-1-(g*8+i))*k.Stride:][:n]
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

// rowStride is the distance between image rows the fast packers read: a
// CR80 raster's rows side by side (an image with another stride is copied
// so first).
const rowStride = 4 * Lines

// canvasQuads lays the card's rows on the canvas four dots at a time, as
// the wire has them: card row y of an h-row image at canvas dot
// base + h − 1 − y (WireTransform: the bottom row first). Quad q holds
// canvas dots 4q to 4q+3, dot k of wire line x at byte
// (3 − k)·rowStride + 4x: four image rows read in place (their order
// reversed by the offsets), or a copy for a quad the image only partly
// covers (white dots where it does not), or nil for four white dots.
type canvasQuads struct {
	q [CanvasDots / 4][]byte
	// white is a quad of white dots.
	white []byte
}

// newCanvasQuads lays the first h rows of img on the canvas from dot base.
func newCanvasQuads(img *image.RGBA, h, base int) *canvasQuads {
	const quadBytes = 3*rowStride + 4*Lines
	pix := img.Pix
	if img.Stride != rowStride {
		pix = make([]byte, h*rowStride)
		for y := range h {
			copy(pix[y*rowStride:(y+1)*rowStride], img.Pix[y*img.Stride:])
		}
	}
	white := func() []byte {
		b := make([]byte, quadBytes)
		for i := range b {
			b[i] = 0xff
		}
		return b
	}
	cq := &canvasQuads{white: white()}
	for q := range cq.q {
		y3 := base + h - 1 - (4*q + 3) // the image row of the quad's last dot
		switch {
		case y3 >= 0 && y3+3 < h:
			cq.q[q] = pix[y3*rowStride : y3*rowStride+quadBytes]
		case y3+3 >= 0 && y3 < h:
			b := white()
			for k := range 4 {
				if y := y3 + 3 - k; y >= 0 && y < h {
					copy(b[(3-k)*rowStride:(3-k)*rowStride+4*Lines], pix[y*rowStride:])
				}
			}
			cq.q[q] = b
		}
	}
	return cq
}

// pair returns quads i and j for a packer (a white quad for a nil one);
// ok is false when both are white.
func (cq *canvasQuads) pair(i, j int) (a, b []byte, ok bool) {
	a, b = cq.q[i], cq.q[j]
	if a == nil && b == nil {
		return nil, nil, false
	}
	if a == nil {
		a = cq.white
	}
	if b == nil {
		b = cq.white
	}
	return a, b, true
}

// packRioRGBA fills the three Rio colour planes straight from the card's
// RGBA image, without offset, card row y at canvas dot base + h − 1 − y
// (canvasQuads). Eight canvas dots of a wire line that fill one byte of
// the canvas are eight rows of one image column: their six 6-bit samples
// make one byte of each bit-plane stripe (packColumns). The canvas is
// walked 64 wire lines at a time (rioTile), each tile of 64 dots × 64
// lines in turn, so that the 64 lines of the planes (97 KB) are written
// whole while they are in the cache and each image row's 64 dots (four
// cache lines, which the prefetcher follows) are
// read once. It gives the bytes SplitColor followed by the dot table
// gives.
func packRioRGBA(planes *[3][]byte, img *image.RGBA, g printer.Geometry, base int) {
	w := min(g.Width, Lines)
	// Dot k of a canvas byte has its sample bits at bit 7 − k.
	sp := newSpreadTables(printer.DyeTable(colorBits), [8]int{7, 6, 5, 4, 3, 2, 1, 0})
	cq := newCanvasQuads(img, g.Height, base)
	const tileGroups, tileLines = 8, len(rioTile{})
	var tb rioTile
	var tr translucentTile
	for tx := 0; tx < w; tx += tileLines {
		n := min(tileLines, w-tx)
		for tg := 0; tg < CanvasDots/8; tg += tileGroups {
			ng := min(tileGroups, CanvasDots/8-tg)
			// Every tile is stored, white ones too: the planes are not
			// cleared before.
			for i := range ng {
				if a, b, ok := cq.pair(2*(tg+i), 2*(tg+i)+1); ok {
					packColumns(&tb, i, a[4*tx:], b[4*tx:], n, sp, &tr)
				} else {
					for l := range n {
						tb[l][0][i], tb[l][1][i], tb[l][2][i] = 0, 0, 0
					}
				}
			}
			tb.store(planes, tx, tx+n, tg, ng)
		}
	}
}

// rioTile holds the bit-plane bytes (packColumns) of a tile's canvas
// bytes: [line][plane][canvas byte of the tile].
type rioTile [64][3][8]uint64

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

// translucentTile is where packColumns composites a tile with a
// translucent dot over white: two quads of a tile's dots, laid out as
// canvasQuads lays them.
type translucentTile struct{ a, b []byte }

// packColumns packs n wire lines (at most a rioTile's, an even number) of eight
// canvas dots into column at of dst, for each line l and colour plane p
// (Y, M, C) dst[l][p][at]: the eight dots' 6-bit samples transposed,
// byte b holding bit b of each sample. The dots are four in a and four in
// b, each laid out as canvasQuads lays a quad, from the tile's first line;
// sp (spreadTables) orders them: table i takes a's dots 0 to 3 for i < 4,
// b's dots 0 to 3 for i ≥ 4, and puts the dot's sample bits at its bit in
// each byte. A tile of white dots is all zeros; a tile with a translucent
// dot is copied to tr and composited over white (printer.OverWhite, as
// SplitColor does) first.
func packColumns(dst *rioTile, at int, a, b []byte, n int, sp *spreadTables, tr *translucentTile) {
	const rs = rowStride
	at &= 7
	n = min(n, len(dst))
	_, _ = a[3*rs+4*n-1], b[3*rs+4*n-1]
	and := ^uint64(0)
	for i, x, y := 0, a, b; i < n/2; i, x, y = i+1, x[8:], y[8:] {
		_, _ = x[3*rs+7], y[3*rs+7]
		and &= le64(x) & le64(x[rs:]) & le64(x[2*rs:]) & le64(x[3*rs:]) &
			le64(y) & le64(y[rs:]) & le64(y[2*rs:]) & le64(y[3*rs:])
	}
	if and == ^uint64(0) {
		for l := range n {
			dst[l][0][at], dst[l][1][at], dst[l][2][at] = 0, 0, 0
		}
		return
	}
	const opaque = 0xff000000_ff000000
	if and&opaque != opaque {
		a, b = tr.composite(a, b, n)
	}
	// a and b walk the lines: every read is a constant offset from them.
	for l := 0; l < n; l, a, b = l+1, a[4:], b[4:] {
		_, _ = a[3*rs+3], b[3*rs+3]
		y := sp[0][a[3*rs+2]] | sp[1][a[2*rs+2]] | sp[2][a[rs+2]] | sp[3][a[2]] |
			sp[4][b[3*rs+2]] | sp[5][b[2*rs+2]] | sp[6][b[rs+2]] | sp[7][b[2]]
		m := sp[0][a[3*rs+1]] | sp[1][a[2*rs+1]] | sp[2][a[rs+1]] | sp[3][a[1]] |
			sp[4][b[3*rs+1]] | sp[5][b[2*rs+1]] | sp[6][b[rs+1]] | sp[7][b[1]]
		c := sp[0][a[3*rs]] | sp[1][a[2*rs]] | sp[2][a[rs]] | sp[3][a[0]] |
			sp[4][b[3*rs]] | sp[5][b[2*rs]] | sp[6][b[rs]] | sp[7][b[0]]
		d := &dst[l]
		d[0][at], d[1][at], d[2][at] = y, m, c
	}
}

// composite copies n lines of the quads a and b into t with every
// translucent dot composited over white, and returns the copies.
func (t *translucentTile) composite(a, b []byte, n int) (ca, cb []byte) {
	if t.a == nil {
		t.a, t.b = make([]byte, 3*rowStride+4*len(rioTile{})), make([]byte, 3*rowStride+4*len(rioTile{}))
	}
	for i, src := range [2][]byte{a, b} {
		dst := [2][]byte{t.a, t.b}[i]
		for k := range 4 {
			row := dst[k*rowStride : k*rowStride+4*n]
			copy(row, src[k*rowStride:])
			for j := 0; j < len(row); j += 4 {
				if x := le32(row, j); x>>24 != 0xff {
					binary.LittleEndian.PutUint32(row[j:], printer.OverWhite(x)|0xff<<24)
				}
			}
		}
	}
	return t.a, t.b
}

// le32 reads the little-endian RGBA dot at b[i:] with one bounds check.
func le32(b []byte, i int) uint32 {
	_ = b[i+3]
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

// le64 reads eight bytes at b[0:] little-endian.
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// spreadTables maps a colour channel value to its dye sample through a
// DyeTable with bit b of the sample moved to bit 8b, then shifted left by
// the bit the table's dot takes in each byte: one dot's share of the
// transposed bit-plane bytes. Which table takes which dot is the
// packer's (packColumns).
type spreadTables [8][256]uint64

// newSpreadTables returns the spread tables of inv, table i shifted left
// by bit[i].
func newSpreadTables(inv *[256]byte, bit [8]int) *spreadTables {
	var sp spreadTables
	for v := range sp[0] {
		var spread uint64
		for b := range colorBits {
			spread |= uint64(inv[v]>>uint(b)&1) << (8 * uint(b))
		}
		for i, k := range bit {
			sp[i][v] = spread << uint(k)
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
// base + h − 1 − y (canvasQuads). Each 32-bit word of a bit-plane stripe
// interleaves 16 dots of the top part (even bits; words 6 to 23 take dots
// 0 to 287) with 16 of the bottom part (odd bits; words 0 to 23 take dots
// 288 to 671), the first dot in the lowest bit, and goes big-endian. So
// byte q of a word (from its lowest) holds top dots 4q to 4q+3 and bottom
// dots 4q to 4q+3, alternating: a top and a bottom quad of one image
// column, which go through the spread tables as the Rio's canvas bytes do
// (packColumns), each bit-plane byte straight to its place in the
// stripes. Lines go 64 at a time so that the lines written and the rows
// read stay in the cache.
func packEnduroRGBA(planes *[3][]byte, img *image.RGBA, g printer.Geometry, base int) {
	const lineBytes = enduroStripe * colorBits
	// Top dot k of a byte has its sample bits at bit 2k, bottom dot k at
	// bit 2k+1.
	sp := newSpreadTables(printer.DyeTable(colorBits), [8]int{0, 2, 4, 6, 1, 3, 5, 7})
	w := min(g.Width, Lines)
	cq := newCanvasQuads(img, g.Height, base)
	const words, tile = enduroStripe / 4, len(rioTile{})
	var tb rioTile
	var tr translucentTile
	for tx := 0; tx < w; tx += tile {
		n := min(tile, w-tx)
		for wd := range words {
			// The word's top quads (none in the first six words) and
			// bottom quads.
			for q := range 4 {
				top, bottom := -1, 72+4*wd+q
				if wd >= 6 {
					top = 4*(wd-6) + q
				}
				a, b, ok := cq.q[bottom], cq.q[bottom], true
				if top >= 0 {
					a, b, ok = cq.pair(top, bottom)
				} else if b == nil {
					ok = false
				} else {
					a = cq.white
				}
				if ok {
					packColumns(&tb, q, a[4*tx:], b[4*tx:], n, sp, &tr)
				} else {
					for l := range n {
						tb[l][0][q], tb[l][1][q], tb[l][2][q] = 0, 0, 0
					}
				}
			}
			tb.storeEnduro(planes, tx, tx+n, wd)
		}
	}
}

// storeEnduro stores word wd of lines tx to tx1 of the three Enduro colour
// planes' six bit-plane stripes (96 bytes apart) from the tile's first
// four columns of bit-plane bytes (packColumns: bit-plane b in byte b),
// column q being byte 3 − q of the big-endian word. Pairs of bytes, then
// of 16-bit lanes, are interleaved so that each 32-bit lane holds one
// stripe's word.
func (tb *rioTile) storeEnduro(planes *[3][]byte, tx, tx1, wd int) {
	const lineBytes = enduroStripe * colorBits
	const even8, odd8 = 0x00ff00ff_00ff00ff, 0xff00ff00_ff00ff00
	const even16, odd16 = 0x0000ffff_0000ffff, 0xffff0000_ffff0000
	for line := tx; line < tx1; line++ {
		for p := range planes {
			t := &tb[line-tx][p]
			t0, t1, t2, t3 := t[0], t[1], t[2], t[3]
			// 16-bit lanes of (t3, t2) and (t1, t0) bytes: even and odd
			// planes.
			e32 := t3&even8 | (t2&even8)<<8
			o32 := (t3>>8)&even8 | t2&odd8
			e10 := t1&even8 | (t0&even8)<<8
			o10 := (t1>>8)&even8 | t0&odd8
			// 32-bit lanes: planes 0 and 4, 2 (and 6), 1 and 5, 3 (and 7).
			w04 := e32&even16 | (e10&even16)<<16
			w2 := (e32>>16)&even16 | e10&odd16
			w15 := o32&even16 | (o10&even16)<<16
			w3 := (o32>>16)&even16 | o10&odd16
			d := planes[p][line*lineBytes+4*wd:]
			_ = d[5*enduroStripe+3]
			binary.LittleEndian.PutUint32(d[0:], uint32(w04))
			binary.LittleEndian.PutUint32(d[enduroStripe:], uint32(w15))
			binary.LittleEndian.PutUint32(d[2*enduroStripe:], uint32(w2))
			binary.LittleEndian.PutUint32(d[3*enduroStripe:], uint32(w3))
			binary.LittleEndian.PutUint32(d[4*enduroStripe:], uint32(w04>>32))
			binary.LittleEndian.PutUint32(d[5*enduroStripe:], uint32(w15>>32))
		}
	}
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
