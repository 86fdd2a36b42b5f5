package emulator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/magicard"
)

// The Magicard front end's strict job parser. It reads what a Magicard
// printer reads (see package printer/magicard for the language) and refuses
// what a strict printer would: a side not preceded by a lead-in of 64 ×
// 0x05, an unknown, duplicate, misplaced or malformed header command, a
// plane length that is not the model's, a plane not closed by FS + its
// letter + ':', a side not closed by ETX.
//
// It takes what Magicard's own driver and Gutenprint send as well as what
// printer/magicard sends: the window as WID1016,HGT642 (Magicard's
// document, Gutenprint and printer/magicard) or the older WID642,HGT1016;
// PCT without overcoat; the driver's other header commands
// (VER, LAN, TDT, REJ, ESS, KEE, RT2, SLW, NNN, USF, HKT, CKI, HKM, TRO,
// HPH, PAT, ICC, LC<n>); and Gutenprint's 8-bit planes (X-GP-8, each colour
// plane 672 × 1016 bytes, reduced to 6 bits as its backend does, X-GP-RK
// taking resin black where all three dyes are full).

// errMagicardShort means the buffer ends before the job or command does.
var errMagicardShort = errors.New("emulator: magicard: incomplete")

// MagicardError is a job or command the Magicard front end refused; Minor is
// the magicard.Minor… code the printer reports with magicard.MajorCommand.
type MagicardError struct {
	Minor int
	Msg   string
}

// Error describes the refusal.
func (e *MagicardError) Error() string {
	return fmt.Sprintf("emulator: magicard: %s (minor %d)", e.Msg, e.Minor)
}

// Unwrap makes a refused job match printer.ErrProtocol.
func (e *MagicardError) Unwrap() error { return printer.ErrProtocol }

func mcErr(minor int, format string, args ...any) error {
	return &MagicardError{Minor: minor, Msg: fmt.Sprintf(format, args...)}
}

// MagicardSide is one side block of a job as the printer read it.
type MagicardSide struct {
	Page     int      // PAG value: 1 front, 2 back
	Header   []string // the header's comma-separated fields, verbatim
	Format   string   // IMF value: BGR, BGRK or K
	Width    int      // WID: dots along the card's short edge
	Height   int      // HGT: lines along the card's long edge
	Overcoat bool     // OVRON
	Area     image.Rectangle
	Holes    []image.Rectangle
	Duplex   bool   // DPXON
	Back     string // BAC value
	Powers   [3]int // CPW, KPW, OPW (0 when absent)
	Wide     bool   // X-GP-8: colour planes of 8 bits a dot, one byte each
	RK       bool   // X-GP-RK: resin black taken from full Y, M and C
	Planes   map[byte][]byte
	// Side is the side decoded in landscape; its colour and K are laid
	// out by MagicardJob.landscape, when someone looks at the card.
	Side printer.Side
	// wire are the colour planes and wireK the K plane in wire
	// orientation still to lay out in Side (nil once done).
	wire  [3]*printer.Plane
	wireK *printer.Mono
	// WirePlanes are the planes in wire orientation (line per row), for
	// the emulator's panel PNGs.
	WirePlanes []PanelImage
}

// MagicardJob is a whole parsed job.
type MagicardJob struct {
	// Height is the raster height of the card (the emulator's geometry).
	Height int
	Sides  []*MagicardSide
	Mag    printer.MagTracks
	// MagVerify is set when the job asked for read-back (MGVON).
	MagVerify bool
}

// landscape lays every side's colour and K out in landscape (Side) if that
// is still to do, and returns the card.
func (j *MagicardJob) landscape() (printer.Card, error) {
	w, h := magicard.Lines, j.Height
	for _, s := range j.Sides {
		if s.wire[0] != nil {
			img, err := printer.ComposeColor(s.wire[0], s.wire[1], s.wire[2], magicardWire, w, h)
			if err != nil {
				return printer.Card{}, fmt.Errorf("emulator: magicard: page %d: %w", s.Page, err)
			}
			s.Side.Color, s.wire = img, [3]*printer.Plane{}
		}
		if s.wireK != nil {
			km, err := printer.MonoFromWire(s.wireK, magicardWire, w, h)
			if err != nil {
				return printer.Card{}, fmt.Errorf("emulator: magicard: page %d: %w", s.Page, err)
			}
			s.Side.K, s.wireK = km, nil
		}
	}
	return j.Card(), nil
}

// Card returns the decoded card in the raster contract, colour and K as
// far as landscape has laid them out.
func (j *MagicardJob) Card() printer.Card {
	f := j.Sides[0]
	c := printer.Card{Geometry: printer.Geometry{DPI: magicard.DPI, Width: f.Height, Height: j.Height}, Front: f.Side, Mag: j.Mag}
	if len(j.Sides) > 1 {
		b := j.Sides[1].Side
		c.Back = &b
	}
	return c
}

// leadRun counts the 0x05 bytes at the start of b.
func leadRun(b []byte) int {
	n := 0
	for n < len(b) && b[n] == magicard.ENQ {
		n++
	}
	return n
}

// maxHeader bounds a side header (the MAG tracks are its largest part).
const maxHeader = 4096

// parseMagicardJob parses one job at the start of b. It returns the job and
// the number of bytes it took, errMagicardShort when b ends too soon, or a
// *MagicardError. format and headPos are the printer's plane layout and
// print-head position, height the card raster's height in dots.
func parseMagicardJob(b []byte, format magicard.Format, headPos, height int) (*MagicardJob, int, error) {
	job := &MagicardJob{Height: height}
	off := 0
	for page := 1; ; page++ {
		// Every side has its own lead-in, as Magicard's driver sends it.
		n := leadRun(b[off:])
		if off+n == len(b) {
			return nil, 0, errMagicardShort
		}
		if n != magicard.LeadIn {
			return nil, 0, mcErr(magicard.MinorBadLeadIn, "page %d: lead-in of %d × 0x05, want %d", page, n, magicard.LeadIn)
		}
		off += n
		s, used, err := parseMagicardSide(b[off:], page, format, job)
		if err != nil {
			return nil, 0, err
		}
		off += used
		job.Sides = append(job.Sides, s)
		if page == 2 || !s.Duplex {
			break
		}
	}
	if f := job.Sides[0]; f.Duplex {
		back := job.Sides[1]
		if want := sideLetters(back); want != f.Back {
			return nil, 0, mcErr(magicard.MinorBadHeader, "BAC%s announces a back of %s, the back is %s", f.Back, f.Back, want)
		}
		if back.Width != f.Width || back.Height != f.Height {
			return nil, 0, mcErr(magicard.MinorBadHeader, "back window %dx%d differs from front %dx%d", back.Width, back.Height, f.Width, f.Height)
		}
		if !back.Duplex {
			return nil, 0, mcErr(magicard.MinorBadHeader, "page 2 of a duplex job without DPXON")
		}
	}
	// Decode only once the whole job is in: the parser is called again
	// on every chunk while the job arrives.
	for _, s := range job.Sides {
		if err := s.decode(format, headPos, height); err != nil {
			return nil, 0, err
		}
	}
	return job, off, nil
}

// sideLetters is the BAC spelling of what a side carries.
func sideLetters(s *MagicardSide) string {
	l := ""
	if strings.HasPrefix(s.Format, "BGR") {
		l += "C"
	}
	if strings.HasSuffix(s.Format, "K") {
		l += "K"
	}
	if s.RK {
		l += "K"
	}
	if s.Overcoat {
		l += "O"
	}
	return l
}

// parseMagicardSide parses SOH ',' header FS planes ETX at the start of b.
func parseMagicardSide(b []byte, page int, format magicard.Format, job *MagicardJob) (*MagicardSide, int, error) {
	if len(b) < 2 {
		return nil, 0, errMagicardShort
	}
	if b[0] != magicard.SOH || b[1] != ',' {
		return nil, 0, mcErr(magicard.MinorBadLeadIn, "page %d: starts %q, want SOH ','", page, b[:2])
	}
	end := bytes.IndexByte(b[2:min(len(b), 2+maxHeader+1)], magicard.FS)
	if end < 0 {
		if len(b) > 2+maxHeader {
			return nil, 0, mcErr(magicard.MinorBadHeader, "page %d: header longer than %d bytes", page, maxHeader)
		}
		return nil, 0, errMagicardShort
	}
	s := &MagicardSide{Planes: map[byte][]byte{}}
	if err := s.parseHeader(string(b[2:2+end]), page, format, job); err != nil {
		return nil, 0, err
	}
	off := 2 + end + 1
	csize, ksize := s.planeSizes(format)
	for _, letter := range []byte(s.Format) {
		size := csize
		if letter == 'K' {
			size = ksize
		}
		if len(b) < off+size+3 {
			return nil, 0, errMagicardShort
		}
		data := b[off : off+size]
		tr := b[off+size : off+size+3]
		if tr[0] != magicard.FS || tr[1] != letter || tr[2] != ':' {
			// A trailer found early means the plane was short.
			if i := bytes.Index(b[off:off+size+3], []byte{magicard.FS, letter, ':'}); i >= 0 {
				return nil, 0, mcErr(magicard.MinorBadLength, "page %d: plane %c is %d bytes, SZ%c says %d", page, letter, i, letter, size)
			}
			return nil, 0, mcErr(magicard.MinorBadTrailer, "page %d: plane %c not closed by FS %c ':' after %d bytes (found % x)", page, letter, letter, size, tr)
		}
		s.Planes[letter] = data
		off += size + 3
	}
	if len(b) <= off {
		return nil, 0, errMagicardShort
	}
	if b[off] != magicard.ETX {
		return nil, 0, mcErr(magicard.MinorBadEnd, "page %d: %#02x after the last plane, want ETX", page, b[off])
	}
	s.Page = page
	return s, off + 1, nil
}

// planeSizes returns the lengths a side's colour and K planes must have:
// the model's 6-bit and 1-bit planes, or Gutenprint's 8-bit colour planes
// of the Rio canvas (X-GP-8).
func (s *MagicardSide) planeSizes(format magicard.Format) (int, int) {
	if s.Wide {
		return magicard.CanvasDots * magicard.Lines, magicard.PlaneSize(format, false)
	}
	return magicard.PlaneSize(format, true), magicard.PlaneSize(format, false)
}

// headerArity returns, for a header command the emulated printer knows,
// the number of comma-separated fields that follow it.
func headerArity(name string) (int, bool) {
	switch name {
	case "PCT", "NCT":
		return 3, true
	case "MAG":
		return 4, true
	case "NOC", "IMF", "SZB", "SZG", "SZR", "SZK", "WID", "HGT",
		"OVRON", "OVROFF", "DPXON", "DPXOFF", "BAC", "PAG",
		"CPW", "KPW", "OPW", "MGVON", "MGVOFF", "XCO", "YCO",
		"SOI", "EOI", "DDD", "VER", "TDT", "LAN", "REJ",
		// Magicard's driver and Gutenprint: copies, unknown fixed
		// words, Colorsure, HoloKote and HoloPatch, gamma, media type.
		"ESS", "KEE", "RT2", "SLW", "NNN", "USF", "HKT", "CKI", "HKM",
		"TRO", "HPH", "PAT", "ICC", "LC1", "LC3", "LC6", "LC8",
		"X-GP-8", "X-GP-RK":
		return 0, true
	}
	return 0, false
}

// cmdName splits a header field into its command and value.
func cmdName(f string) (string, string, bool) {
	for _, n := range []string{"OVRON", "OVROFF", "DPXON", "DPXOFF", "MGVON", "MGVOFF", "KEE", "RT2", "X-GP-8", "X-GP-RK"} {
		if f == n {
			return n, "", true
		}
	}
	if len(f) < 3 {
		return "", "", false
	}
	name := f[:3]
	if _, ok := headerArity(name); !ok {
		return "", "", false
	}
	return name, f[3:], true
}

func atoiRange(v string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strings.HasPrefix(v, "+") {
		return 0, false
	}
	return n, true
}

// parseHeader reads the header fields into s (and the job's MAG tracks).
func (s *MagicardSide) parseHeader(h string, page int, format magicard.Format, job *MagicardJob) error {
	bad := func(format string, args ...any) error {
		return mcErr(magicard.MinorBadHeader, "page %d: "+format, append([]any{page}, args...)...)
	}
	fields := strings.Split(h, ",")
	s.Header = fields
	seen := map[string]bool{}
	sizes := map[byte]int{}
	var hgt int
	for i := 0; i < len(fields); i++ {
		name, v, ok := cmdName(fields[i])
		if !ok {
			return bad("unknown header command %q", fields[i])
		}
		if i == 0 && name != "NOC" {
			return bad("header starts with %q, NOC must come first", fields[i])
		}
		if name != "NCT" && name != "MAG" {
			if seen[name] {
				return bad("%s given twice", name)
			}
			seen[name] = true
		}
		extra, _ := headerArity(name)
		if i+extra >= len(fields) {
			return bad("%s needs %d more fields", name, extra)
		}
		args := fields[i+1 : i+1+extra]
		i += extra
		switch name {
		case "NOC":
			if v != "1" {
				return bad("NOC%s: the emulator prints one copy per job", v)
			}
		case "IMF":
			if v != "BGR" && v != "BGRK" && v != "K" {
				return bad("IMF%s: want BGR, BGRK or K", v)
			}
			s.Format = v
		case "SZB", "SZG", "SZR", "SZK":
			n, ok := atoiRange(v, 0, 1<<30)
			if !ok {
				return bad("%s%s: not a length", name, v)
			}
			sizes[name[2]] = n
		case "WID":
			n, ok := atoiRange(v, 1, magicard.Lines)
			if !ok {
				return bad("WID%s outside 1–%d", v, magicard.Lines)
			}
			s.Width = n
		case "HGT":
			n, ok := atoiRange(v, 1, magicard.Lines)
			if !ok {
				return bad("HGT%s outside 1–%d", v, magicard.Lines)
			}
			hgt = n
		case "X-GP-8":
			if format != magicard.FormatRio {
				return bad("X-GP-8 (8-bit planes) on an Enduro-format printer")
			}
			s.Wide = true
		case "X-GP-RK":
			s.RK = true
		case "ESS":
			if v != "1" {
				return bad("ESS%s: the emulator prints one copy per job", v)
			}
		case "ICC":
			if _, ok := atoiRange(v, 0, 2); !ok {
				return bad("ICC%s: want 0, 1 or 2", v)
			}
		case "OVRON":
			if seen["OVROFF"] {
				return bad("OVRON and OVROFF")
			}
			s.Overcoat = true
		case "OVROFF":
			if seen["OVRON"] {
				return bad("OVRON and OVROFF")
			}
		case "PCT", "NCT":
			var c [4]int
			for k, a := range append([]string{v}, args...) {
				n, ok := atoiRange(a, 0, 1025)
				if !ok {
					return bad("%s coordinate %q", name, a)
				}
				c[k] = n
			}
			if c[0] > c[2] || c[1] > c[3] {
				return bad("%s%d,%d,%d,%d: corners reversed", name, c[0], c[1], c[2], c[3])
			}
			r := image.Rect(c[0], c[1], c[2]+1, c[3]+1)
			if name == "PCT" {
				s.Area = r
			} else {
				if len(s.Holes) >= 256 {
					return bad("more than 256 NCT holes")
				}
				s.Holes = append(s.Holes, r)
			}
		case "DPXON":
			s.Duplex = true
		case "DPXOFF":
		case "BAC":
			if page != 1 {
				return bad("BAC on the back")
			}
			switch v {
			case "CKO", "CK", "CO", "C", "KO", "K":
			default:
				return bad("BAC%s: want CKO, CK, CO, C, KO or K", v)
			}
			s.Back = v
		case "PAG":
			if v != strconv.Itoa(page) {
				return bad("PAG%s on page %d", v, page)
			}
		case "CPW", "KPW", "OPW":
			n, ok := atoiRange(v, 1, 100)
			if !ok {
				return bad("%s%s outside 1–100", name, v)
			}
			s.Powers[strings.Index("CKO", name[:1])] = n
		case "MAG":
			if page != 1 {
				return bad("MAG on the back")
			}
			if err := parseMag(v, args, job); err != nil {
				return bad("%v", err)
			}
		case "MGVON":
			job.MagVerify = true
		case "XCO", "YCO", "SOI", "EOI", "DDD":
			if _, ok := atoiRange(v, 0, 1016); !ok {
				return bad("%s%s: not a position", name, v)
			}
		}
	}
	// The window: WID dots across the card and HGT lines along it, or
	// the other way round as Gutenprint writes them.
	switch {
	case hgt == magicard.Lines && s.Width <= magicard.CanvasDots:
	case s.Width == magicard.Lines && hgt > 0 && hgt <= magicard.CanvasDots:
		s.Width = hgt
	case s.Width == 0 || hgt == 0:
		return bad("no WID/HGT window")
	default:
		return bad("window WID%d,HGT%d: want one side of %d lines and one of at most %d dots", s.Width, hgt, magicard.Lines, magicard.CanvasDots)
	}
	s.Height = magicard.Lines
	if s.Wide && s.Format == "BGRK" && !s.RK {
		// Gutenprint's backend adds K itself; raw 8-bit data has none.
		return bad("X-GP-8 with a K plane")
	}
	if s.RK && !s.Wide {
		return bad("X-GP-RK without X-GP-8")
	}
	switch {
	case s.Format == "":
		return bad("no IMF")
	case !seen["PAG"]:
		return bad("no PAG")
	case page == 1 && s.Duplex != (s.Back != ""):
		return bad("DPXON and BAC go together")
	case s.Overcoat && s.Area.Empty():
		return bad("OVRON without PCT")
	case !s.Overcoat && len(s.Holes) > 0:
		return bad("NCT without OVRON")
	}
	if s.RK {
		// The K plane is made from the colour planes, not sent.
		s.Format = strings.TrimSuffix(s.Format, "K")
	}
	csize, ksize := s.planeSizes(format)
	for _, l := range []byte("BGRK") {
		want := strings.IndexByte(s.Format, l) >= 0
		n, have := sizes[l]
		if have != want {
			return mcErr(magicard.MinorBadLength, "page %d: IMF%s and SZ%c disagree", page, s.Format, l)
		}
		size := csize
		if l == 'K' {
			size = ksize
		}
		if have && n != size {
			return mcErr(magicard.MinorBadLength, "page %d: SZ%c%d, this printer's planes are %d bytes", page, l, n, size)
		}
	}
	return nil
}

// parseMag reads MAG<t>,BPI<d>,MPC<b>,COE<c>,<data>.
func parseMag(v string, args []string, job *MagicardJob) error {
	t, ok := atoiRange(v, 1, 3)
	if !ok {
		return fmt.Errorf("MAG%s: track 1–3", v)
	}
	if job.Mag[t-1] != "" {
		return fmt.Errorf("MAG%d given twice", t)
	}
	if args[0] != "BPI75" && args[0] != "BPI210" {
		return fmt.Errorf("MAG%d: %q, want BPI75 or BPI210", t, args[0])
	}
	if args[1] != "MPC5" && args[1] != "MPC7" {
		return fmt.Errorf("MAG%d: %q, want MPC5 or MPC7", t, args[1])
	}
	if args[2] != "COEH" && args[2] != "COEL" {
		return fmt.Errorf("MAG%d: %q, want COEH or COEL", t, args[2])
	}
	data := args[3]
	lo, hi := byte(0x30), byte(0x3F)
	if args[1] == "MPC7" {
		lo, hi = 0x20, 0x5F
	}
	if data == "" {
		return fmt.Errorf("MAG%d: no data", t)
	}
	for i := 0; i < len(data); i++ {
		if data[i] < lo || data[i] > hi {
			return fmt.Errorf("MAG%d: %q cannot be encoded at %s", t, data[i], args[1])
		}
	}
	job.Mag[t-1] = data
	return nil
}

// magicardWire is how a Magicard lays the card on the wire: line r is card
// column r, dot d of a line (from the raster's first canvas dot) is card
// row h − 1 − d, the card's bottom row first: a quarter turn, never a
// mirror (see package printer/magicard).
var magicardWire = printer.Transform{Rotate: magicard.WireRotate}

// magicardDot returns where canvas dot d of a line lives: the byte within a
// stripe and the bit mask, for the plane format f.
func magicardDot(f magicard.Format, d int) (int, byte) {
	if f == magicard.FormatRio {
		return d / 8, 0x80 >> uint(d%8)
	}
	// Enduro: 24 big-endian 32-bit words; dots 0–287 on the even bits
	// of words 6–23, dots 288–671 on the odd bits of words 0–23, bits
	// counted from each word's least significant end.
	word, bit := 6+d/16, 2*(d%16)
	if d >= 288 {
		word, bit = (d-288)/16, 2*((d-288)%16)+1
	}
	return 4*word + 3 - bit/8, 1 << uint(bit%8)
}

// decode turns the side's planes back into wire planes (WirePlanes), laid
// out in landscape images of height rows by MagicardJob.landscape: card
// row y is canvas dot base + height − 1 − y
// (magicard.CanvasBase, magicardWire), and the overcoat's window frame
// (PCT, NCT) counts up from row magicard.WindowRow counted from the
// card's bottom, for a 642-dot window; a window edge stands for the card's
// edge, the window being wider than the card.
func (s *MagicardSide) decode(format magicard.Format, headPos, height int) error {
	base := magicard.CanvasBase(format, height, headPos)
	stripe := magicard.PlaneSize(format, false) / magicard.Lines
	wire := image.Rect(0, 0, height, magicard.Lines)
	w, h := magicard.Lines, height // landscape raster
	side := "front"
	if s.Page == 2 {
		side = "back"
	}
	var k *printer.Mono
	if strings.HasPrefix(s.Format, "BGR") {
		var pl [3]*printer.Plane
		for i, l := range []byte("BGR") {
			p := printer.NewPlane(wire, 6)
			if s.Wide {
				unpackWide(p, s.Planes[l], base)
			} else {
				unpackColour(p, s.Planes[l], format, stripe, base)
			}
			pl[i] = p
		}
		if s.RK {
			k = extractK(pl)
		}
		for i, p := range pl {
			s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: string("ymc"[i]), Image: p, Wire: magicardWire})
		}
		s.wire = pl // laid out in landscape when someone looks at the card
	}
	if kp, ok := s.Planes['K']; ok {
		k = printer.NewMono(wire)
		for line := range magicard.Lines {
			src := kp[line*stripe : (line+1)*stripe]
			row := k.Pix[line*k.Stride : (line+1)*k.Stride]
			if format == magicard.FormatRio {
				shiftCopy(row, src, base, height)
				continue
			}
			for x := range height {
				if i, mask := magicardDot(format, base+x); src[i]&mask != 0 {
					row[x>>3] |= 0x80 >> uint(x&7)
				}
			}
		}
	}
	if k != nil {
		s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: "k", Image: k, Wire: magicardWire})
		s.wireK = k
	}
	if s.Overcoat {
		// PCT and NCT count y up from the window's first dot, which
		// shows the raster row h − 1 − win (the card's bottom side).
		win := magicard.WindowRow(format, base, headPos)
		card := func(r image.Rectangle) image.Rectangle {
			r = r.Add(image.Pt(0, win))
			if r.Min.Y <= win {
				r.Min.Y = 0
			}
			if r.Max.Y >= win+s.Width {
				r.Max.Y = h
			}
			r.Min.Y, r.Max.Y = h-r.Max.Y, h-r.Min.Y
			return r.Intersect(image.Rect(0, 0, w, h))
		}
		o := printer.NewMono(image.Rect(0, 0, w, h))
		o.Fill(card(s.Area), true)
		for _, r := range s.Holes {
			o.Fill(card(r), false)
		}
		s.Side.Overlay = o
		s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: "o", Image: o})
	}
	return nil
}

// shiftCopy copies the n canvas dots from dot base of a 1-bit stripe src
// into row (dot 0 first, most significant bit first).
func shiftCopy(row, src []byte, base, n int) {
	at, sh := base>>3, uint(base&7)
	for i := 0; i*8 < n; i++ {
		b := src[at+i] << sh
		if sh != 0 && at+i+1 < len(src) {
			b |= src[at+i+1] >> (8 - sh)
		}
		row[i] = b
	}
	if n&7 != 0 {
		row[(n-1)>>3] &= byte(0xff << (8 - uint(n&7)))
	}
}

// unpackWide reads one of Gutenprint's 8-bit colour planes (X-GP-8: 1016
// rows of 672 bytes, one per canvas dot) into the 6-bit wire plane p, as its
// backend reduces them (the top six bits).
func unpackWide(p *printer.Plane, data []byte, base int) {
	w := p.Rect.Dx()
	for line := range magicard.Lines {
		src := data[line*magicard.CanvasDots+base : line*magicard.CanvasDots+base+w]
		dst := p.Pix[line*p.Stride : line*p.Stride+w]
		for i, v := range src {
			dst[i] = v >> 2
		}
	}
}

// extractK takes resin black out of the colour planes where all three are
// at full dye (X-GP-RK), as Gutenprint's backend does, and returns it.
func extractK(pl [3]*printer.Plane) *printer.Mono {
	k := printer.NewMono(pl[0].Rect)
	w := pl[0].Rect.Dx()
	for line := range pl[0].Rect.Dy() {
		y := pl[0].Pix[line*pl[0].Stride : line*pl[0].Stride+w]
		m := pl[1].Pix[line*pl[1].Stride : line*pl[1].Stride+w]
		c := pl[2].Pix[line*pl[2].Stride : line*pl[2].Stride+w]
		for x := range y {
			if y[x] == 63 && m[x] == 63 && c[x] == 63 {
				y[x], m[x], c[x] = 0, 0, 0
				k.Pix[line*k.Stride+x>>3] |= 0x80 >> uint(x&7)
			}
		}
	}
	return k
}

// transpose8 transposes an 8×8 bit matrix, row 0 in the most significant
// byte, column 0 in each byte's most significant bit.
func transpose8(x uint64) uint64 {
	t := (x ^ (x >> 7)) & 0x00AA00AA00AA00AA
	x ^= t ^ (t << 7)
	t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCC
	x ^= t ^ (t << 14)
	t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0
	x ^= t ^ (t << 28)
	return x
}

// unpackColour reads a 6-bit colour plane (six bit-plane stripes per line,
// bit 0 first) into the wire plane p, canvas dot base + x to wire dot x.
func unpackColour(p *printer.Plane, data []byte, format magicard.Format, stripe, base int) {
	lineBytes := stripe * 6
	w := p.Rect.Dx()
	for line := range magicard.Lines {
		src := data[line*lineBytes : (line+1)*lineBytes]
		dst := p.Pix[line*p.Stride : line*p.Stride+w]
		if format == magicard.FormatRio {
			// Canvas byte j: one byte from each stripe is an 8×8 bit
			// matrix whose transpose is the eight 6-bit samples of dots
			// 8j … 8j+7, wire dots 8j−base onwards.
			s0, s1, s2 := src[0:stripe], src[stripe:2*stripe], src[2*stripe:3*stripe]
			s3, s4, s5 := src[3*stripe:4*stripe], src[4*stripe:5*stripe], src[5*stripe:6*stripe]
			for j := base >> 3; j < stripe && 8*j-base < w; j++ {
				t := uint64(s0[j]) | uint64(s1[j])<<8 | uint64(s2[j])<<16 |
					uint64(s3[j])<<24 | uint64(s4[j])<<32 | uint64(s5[j])<<40
				if t == 0 {
					continue
				}
				v := transpose8(t)
				x0 := 8*j - base
				if x0 >= 0 && x0+8 <= w {
					binary.BigEndian.PutUint64(dst[x0:], v)
					continue
				}
				for k := range 8 {
					if x := x0 + k; x >= 0 && x < w {
						dst[x] = byte(v >> (56 - 8*uint(k)))
					}
				}
			}
			continue
		}
		for x := range w {
			i, mask := magicardDot(format, base+x)
			var v byte
			for b := range 6 {
				if src[b*stripe+i]&mask != 0 {
					v |= 1 << uint(b)
				}
			}
			dst[x] = v
		}
	}
}
