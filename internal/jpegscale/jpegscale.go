// Package jpegscale decodes baseline JPEG images at 1/2, 1/4 or 1/8 of
// their size straight from the DCT coefficients: each 8 × 8 block becomes
// 4 × 4, 2 × 2 or 1 × 1 pixels by an inverse DCT over its lowest
// frequencies only, which is all that survives the reduction. A card's
// portrait is a few hundred dots wide; a camera photo is several times
// that, and decoding it whole (image/jpeg) only to throw most of it away
// costs more than anything else on the card.
//
// Only what cameras and phones write is handled: baseline or extended
// sequential Huffman coding with 8-bit samples, one interleaved scan,
// greyscale or YCbCr with 4:4:4, 4:2:2, 4:2:0 or 4:4:0 chroma, restart
// intervals. Anything else (progressive, arithmetic coding, 12-bit, CMYK,
// Adobe-transformed RGB, several scans) is ErrUnsupported, and a damaged
// file is an error: the caller then decodes with image/jpeg, which stays
// the authority on what a file holds. Why not libjpeg-turbo, whose
// scaled decoding is the model here: it needs cgo, which the project
// keeps to the USB transport and the command (internal/archtest), and the
// renderer is pure Go.
package jpegscale

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Errors of Decode.
var (
	// ErrUnsupported means the file uses a JPEG feature this decoder
	// leaves to image/jpeg.
	ErrUnsupported = errors.New("jpegscale: unsupported JPEG")
	// ErrFormat means the file is not a well-formed JPEG.
	ErrFormat = errors.New("jpegscale: malformed JPEG")
)

func formatErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, a...))
}

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}

// Size returns the size of an image of w × h pixels decoded at 1/denom.
func Size(w, h, denom int) (int, int) { return (w + denom - 1) / denom, (h + denom - 1) / denom }

// maxPixels bounds the images decoded here (callers check their own,
// lower limits before decoding).
const maxPixels = 1 << 26

type component struct {
	id     byte
	h, v   int // sampling factors
	tq     int // quantisation table
	td, ta int // Huffman tables of the scan
	pred   int32
	pix    []uint8 // the plane, padded to whole MCUs
	stride int
}

type decoder struct {
	data    []byte
	pos     int
	w, h    int
	comps   []component
	quant   [4][64]int32 // zigzag order
	qset    [4]bool
	huff    [2][4]*huffman // [class][table]
	restart int
	adobe   bool
	n       int  // output block side: 8/denom
	slowAC  bool // for tests: AC coefficients without huffman.fast
	basis   [8][8]float32
}

// Decode decodes a JPEG at 1/denom of its size (denom 2, 4 or 8): an
// *image.YCbCr for a colour image, an *image.Gray for a greyscale one,
// of Size(width, height, denom) pixels with bounds from the origin.
func Decode(data []byte, denom int) (image.Image, error) {
	if denom != 2 && denom != 4 && denom != 8 {
		return nil, fmt.Errorf("jpegscale: scale 1/%d: want 1/2, 1/4 or 1/8", denom)
	}
	d := &decoder{data: data, n: 8 / denom}
	for x := 0; x < d.n; x++ {
		for u := 0; u < d.n; u++ {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			d.basis[x][u] = float32(c / 2 * math.Cos(float64((2*x+1)*u)*math.Pi/float64(2*d.n)))
		}
	}
	return d.decode()
}

func (d *decoder) u16(at int) int { return int(d.data[at])<<8 | int(d.data[at+1]) }

func (d *decoder) decode() (image.Image, error) {
	if len(d.data) < 4 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return nil, formatErr("no SOI marker")
	}
	d.pos = 2
	scanned := false
	for {
		// A marker: 0xFF, optional fill bytes 0xFF, the code.
		if d.pos >= len(d.data) || d.data[d.pos] != 0xFF {
			return nil, formatErr("marker expected at byte %d", d.pos)
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return nil, formatErr("truncated marker")
		}
		m := d.data[d.pos]
		d.pos++
		if m == 0xD9 { // EOI
			if !scanned {
				return nil, formatErr("no image data")
			}
			return d.image(), nil
		}
		if m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			continue // stray RST or TEM: no segment
		}
		if d.pos+2 > len(d.data) {
			return nil, formatErr("truncated segment length")
		}
		n := d.u16(d.pos)
		if n < 2 || d.pos+n > len(d.data) {
			return nil, formatErr("segment %#x of %d bytes at byte %d overruns the file", m, n, d.pos)
		}
		seg := d.data[d.pos+2 : d.pos+n]
		d.pos += n
		var err error
		switch {
		case m == 0xC0 || m == 0xC1:
			if d.comps != nil {
				return nil, formatErr("second SOF")
			}
			err = d.parseSOF(seg)
		case m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, unsupported("SOF%d (progressive, lossless or arithmetic)", m-0xC0)
		case m == 0xCC:
			return nil, unsupported("arithmetic coding conditioning")
		case m == 0xC4:
			err = d.parseDHT(seg)
		case m == 0xDB:
			err = d.parseDQT(seg)
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, formatErr("DRI of %d bytes", len(seg))
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDA:
			if scanned {
				return nil, unsupported("several scans")
			}
			if err = d.parseSOS(seg); err == nil {
				err = d.scan()
				scanned = true
			}
		case m == 0xDC:
			return nil, unsupported("DNL")
		case m == 0xEE:
			if len(seg) >= 5 && string(seg[:5]) == "Adobe" {
				d.adobe = true // colour transform unknown to us: leave it to image/jpeg
			}
		}
		if err != nil {
			return nil, err
		}
		if d.adobe {
			return nil, unsupported("Adobe APP14 colour transform")
		}
	}
}

func (d *decoder) parseSOF(s []byte) error {
	if len(s) < 6 {
		return formatErr("short SOF")
	}
	if s[0] != 8 {
		return unsupported("%d-bit samples", s[0])
	}
	d.h, d.w = int(s[1])<<8|int(s[2]), int(s[3])<<8|int(s[4])
	if d.w == 0 || d.h == 0 {
		return unsupported("image height from DNL")
	}
	if d.w*d.h > maxPixels {
		return unsupported("%d × %d pixels", d.w, d.h)
	}
	nf := int(s[5])
	if nf != 1 && nf != 3 {
		return unsupported("%d components", nf)
	}
	if len(s) != 6+3*nf {
		return formatErr("SOF of %d bytes for %d components", len(s), nf)
	}
	d.comps = make([]component, nf)
	for i := range d.comps {
		c := &d.comps[i]
		p := s[6+3*i:]
		c.id, c.h, c.v, c.tq = p[0], int(p[1]>>4), int(p[1]&15), int(p[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return formatErr("component %d: sampling %d×%d, table %d", i, c.h, c.v, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return formatErr("component id %d repeated", c.id)
			}
		}
	}
	if nf == 1 {
		d.comps[0].h, d.comps[0].v = 1, 1 // one component: one block an MCU
		return nil
	}
	y, cb, cr := d.comps[0], d.comps[1], d.comps[2]
	if cb.h != 1 || cb.v != 1 || cr.h != 1 || cr.v != 1 || y.h > 2 || y.v > 2 {
		return unsupported("sampling %d×%d, %d×%d, %d×%d", y.h, y.v, cb.h, cb.v, cr.h, cr.v)
	}
	return nil
}

func (d *decoder) parseDQT(s []byte) error {
	for len(s) > 0 {
		pq, tq := s[0]>>4, int(s[0]&15)
		if tq > 3 || pq > 1 {
			return formatErr("DQT table %d precision %d", tq, pq)
		}
		n := 1 + 64*(1+int(pq))
		if len(s) < n {
			return formatErr("short DQT")
		}
		for k := 0; k < 64; k++ {
			if pq == 0 {
				d.quant[tq][k] = int32(s[1+k])
			} else {
				d.quant[tq][k] = int32(s[1+2*k])<<8 | int32(s[2+2*k])
			}
		}
		d.qset[tq] = true
		s = s[n:]
	}
	return nil
}

func (d *decoder) parseSOS(s []byte) error {
	if d.comps == nil {
		return formatErr("SOS before SOF")
	}
	if len(s) < 1 {
		return formatErr("short SOS")
	}
	ns := int(s[0])
	if ns != len(d.comps) {
		return unsupported("scan of %d of %d components", ns, len(d.comps))
	}
	if len(s) != 4+2*ns {
		return formatErr("SOS of %d bytes for %d components", len(s), ns)
	}
	for i := 0; i < ns; i++ {
		c := &d.comps[i]
		if s[1+2*i] != c.id {
			return unsupported("scan components out of frame order")
		}
		c.td, c.ta = int(s[2+2*i]>>4), int(s[2+2*i]&15)
		if c.td > 3 || c.ta > 3 || d.huff[0][c.td] == nil || d.huff[1][c.ta] == nil {
			return formatErr("component %d: Huffman tables %d/%d undefined", i, c.td, c.ta)
		}
		if !d.qset[c.tq] {
			return formatErr("component %d: quantisation table %d undefined", i, c.tq)
		}
	}
	ss, se, a := s[1+2*ns], s[2+2*ns], s[3+2*ns]
	if ss != 0 || se != 63 || a != 0 {
		return unsupported("spectral selection %d–%d, approximation %#x", ss, se, a)
	}
	return nil
}

// image allocates nothing: it wraps the decoded planes.
func (d *decoder) image() image.Image {
	w, h := Size(d.w, d.h, 8/d.n)
	if len(d.comps) == 1 {
		c := d.comps[0]
		return &image.Gray{Pix: c.pix, Stride: c.stride, Rect: image.Rect(0, 0, w, h)}
	}
	ratio := image.YCbCrSubsampleRatio444
	switch y := d.comps[0]; {
	case y.h == 2 && y.v == 2:
		ratio = image.YCbCrSubsampleRatio420
	case y.h == 2:
		ratio = image.YCbCrSubsampleRatio422
	case y.v == 2:
		ratio = image.YCbCrSubsampleRatio440
	}
	return &image.YCbCr{
		Y: d.comps[0].pix, Cb: d.comps[1].pix, Cr: d.comps[2].pix,
		YStride: d.comps[0].stride, CStride: d.comps[1].stride,
		SubsampleRatio: ratio, Rect: image.Rect(0, 0, w, h),
	}
}
