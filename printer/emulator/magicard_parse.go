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
// what a strict printer would: a lead-in other than 64 × 0x05, an unknown,
// duplicate, misplaced or malformed header command, a plane length that is
// not the model's, a plane not closed by FS + its letter + ':', a side not
// closed by ETX.

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
	Planes   map[byte][]byte
	Side     printer.Side // decoded, landscape
	// WirePlanes are the planes in wire orientation (line per row), for
	// the emulator's panel PNGs.
	WirePlanes []PanelImage
}

// MagicardJob is a whole parsed job.
type MagicardJob struct {
	Sides []*MagicardSide
	Mag   printer.MagTracks
	// MagVerify is set when the job asked for read-back (MGVON).
	MagVerify bool
}

// Card returns the decoded card in the raster contract.
func (j *MagicardJob) Card() printer.Card {
	f := j.Sides[0]
	c := printer.Card{Geometry: printer.Geometry{DPI: magicard.DPI, Width: f.Height, Height: f.Width}, Front: f.Side, Mag: j.Mag}
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
// print-head position.
func parseMagicardJob(b []byte, format magicard.Format, headPos int) (*MagicardJob, int, error) {
	n := leadRun(b)
	if n == len(b) {
		return nil, 0, errMagicardShort
	}
	if n != magicard.LeadIn {
		return nil, 0, mcErr(magicard.MinorBadLeadIn, "job lead-in of %d × 0x05, want %d", n, magicard.LeadIn)
	}
	job := &MagicardJob{}
	off := n
	for page := 1; ; page++ {
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
	}
	// Decode only once the whole job is in: the parser is called again
	// on every chunk while the job arrives.
	for _, s := range job.Sides {
		if err := s.decode(format, headPos); err != nil {
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
	csize, ksize := magicard.PlaneSize(format, true), magicard.PlaneSize(format, false)
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
		"SOI", "EOI", "DDD", "VER", "TDT", "LAN", "REJ":
		return 0, true
	}
	return 0, false
}

// cmdName splits a header field into its command and value.
func cmdName(f string) (string, string, bool) {
	for _, n := range []string{"OVRON", "OVROFF", "DPXON", "DPXOFF", "MGVON", "MGVOFF"} {
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
	csize, ksize := magicard.PlaneSize(format, true), magicard.PlaneSize(format, false)
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
			want := csize
			if name == "SZK" {
				want = ksize
			}
			if n != want {
				return mcErr(magicard.MinorBadLength, "page %d: %s%d, this printer's planes are %d bytes", page, name, n, want)
			}
			sizes[name[2]] = n
		case "WID":
			n, ok := atoiRange(v, 1, magicard.CanvasDots)
			if !ok {
				return bad("WID%s outside 1–%d", v, magicard.CanvasDots)
			}
			s.Width = n
		case "HGT":
			if v != strconv.Itoa(magicard.Lines) {
				return bad("HGT%s: want %d", v, magicard.Lines)
			}
			s.Height = magicard.Lines
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
			if page != 1 {
				return bad("DPXON on the back")
			}
			s.Duplex = true
		case "DPXOFF":
		case "BAC":
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
	switch {
	case s.Format == "":
		return bad("no IMF")
	case s.Width == 0 || s.Height == 0:
		return bad("no WID/HGT window")
	case !seen["PAG"]:
		return bad("no PAG")
	case s.Duplex != (s.Back != ""):
		return bad("DPXON and BAC go together")
	case s.Overcoat && s.Area.Empty():
		return bad("OVRON without PCT")
	case !s.Overcoat && (!s.Area.Empty() || len(s.Holes) > 0):
		return bad("PCT/NCT without OVRON")
	}
	for _, l := range []byte("BGRK") {
		want := strings.IndexByte(s.Format, l) >= 0
		if _, have := sizes[l]; have != want {
			return mcErr(magicard.MinorBadLength, "page %d: IMF%s and SZ%c disagree", page, s.Format, l)
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
// column r, dot d of a line is card row d (a quarter turn and a mirror).
var magicardWire = printer.Transform{Rotate: 90, Mirror: true}

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

// decode turns the side's planes back into landscape images.
func (s *MagicardSide) decode(format magicard.Format, headPos int) error {
	base := 0
	if format == magicard.FormatEnduro {
		base = min(max(headPos, 0), magicard.CanvasDots-s.Width)
	}
	stripe := magicard.PlaneSize(format, false) / magicard.Lines
	wire := image.Rect(0, 0, s.Width, magicard.Lines)
	w, h := magicard.Lines, s.Width // landscape raster
	side := "front"
	if s.Page == 2 {
		side = "back"
	}
	if strings.HasPrefix(s.Format, "BGR") {
		var pl [3]*printer.Plane
		for i, l := range []byte("BGR") {
			p := printer.NewPlane(wire, 6)
			unpackColour(p, s.Planes[l], format, stripe, base)
			pl[i] = p
			s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: string("ymc"[i]), Image: p, Wire: magicardWire})
		}
		img, err := printer.ComposeColor(pl[0], pl[1], pl[2], magicardWire, w, h)
		if err != nil {
			return fmt.Errorf("emulator: magicard: page %d: %w", s.Page, err)
		}
		s.Side.Color = img
	}
	if k, ok := s.Planes['K']; ok {
		m := printer.NewMono(wire)
		for line := range magicard.Lines {
			src := k[line*stripe : (line+1)*stripe]
			row := m.Pix[line*m.Stride : (line+1)*m.Stride]
			if format == magicard.FormatRio && base == 0 {
				copy(row, src)
				if s.Width&7 != 0 {
					row[len(row)-1] &= byte(0xff << (8 - uint(s.Width&7)))
				}
				continue
			}
			for x := range s.Width {
				if i, mask := magicardDot(format, base+x); src[i]&mask != 0 {
					row[x>>3] |= 0x80 >> uint(x&7)
				}
			}
		}
		s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: "k", Image: m, Wire: magicardWire})
		km, err := printer.MonoFromWire(m, magicardWire, w, h)
		if err != nil {
			return fmt.Errorf("emulator: magicard: page %d: %w", s.Page, err)
		}
		s.Side.K = km
	}
	if s.Overcoat {
		o := printer.NewMono(image.Rect(0, 0, w, h))
		o.Fill(s.Area, true)
		for _, r := range s.Holes {
			o.Fill(r, false)
		}
		s.Side.Overlay = o
		s.WirePlanes = append(s.WirePlanes, PanelImage{Side: side, Panel: "o", Image: o})
	}
	return nil
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
// bit 0 first) into the wire plane p.
func unpackColour(p *printer.Plane, data []byte, format magicard.Format, stripe, base int) {
	lineBytes := stripe * 6
	w := p.Rect.Dx()
	for line := range magicard.Lines {
		src := data[line*lineBytes : (line+1)*lineBytes]
		dst := p.Pix[line*p.Stride : line*p.Stride+w]
		if format == magicard.FormatRio && base == 0 {
			// Eight dots at a time: one byte from each stripe is an 8×8
			// bit matrix whose transpose is the eight 6-bit samples.
			s0, s1, s2 := src[0:stripe], src[stripe:2*stripe], src[2*stripe:3*stripe]
			s3, s4, s5 := src[3*stripe:4*stripe], src[4*stripe:5*stripe], src[5*stripe:6*stripe]
			for g := 0; g*8 < w && g < stripe; g++ {
				t := uint64(s0[g]) | uint64(s1[g])<<8 | uint64(s2[g])<<16 |
					uint64(s3[g])<<24 | uint64(s4[g])<<32 | uint64(s5[g])<<40
				if t == 0 {
					continue
				}
				v := transpose8(t)
				if g*8+8 <= w {
					binary.BigEndian.PutUint64(dst[g*8:], v)
					continue
				}
				for j := 0; g*8+j < w; j++ {
					dst[g*8+j] = byte(v >> (56 - 8*uint(j)))
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
