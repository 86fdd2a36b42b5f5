package ipp

import (
	"bytes"
	"encoding/binary"
	"image"
	"math"
)

// The document formats the driver can write, in the order it prefers them.
// Both are the raster stream CUPS defined (version 2: a sync word, then per
// page a 1796-byte header and run-length coded lines); PWG raster is its
// profile for IPP Everywhere printers, recognised by "PwgRaster" in the
// header's first field. A CUPS queue with a raster driver (a vendor's or
// Gutenprint's) takes application/vnd.cups-raster straight into the
// driver's filter; image/pwg-raster is what a driverless printer takes.
const (
	FormatCUPSRaster = "application/vnd.cups-raster"
	FormatPWGRaster  = "image/pwg-raster"
)

// rasterHeaderSize is the size of one page header of a version 2 stream.
const rasterHeaderSize = 1796

// Colour spaces of the page header.
const (
	cspaceRGB  = 1  // CUPS_CSPACE_RGB, what CUPS raster drivers take
	cspaceSRGB = 19 // CUPS_CSPACE_SRGB, PWG raster's 24-bit colour
)

// pageSetup is what the page headers of one document say.
type pageSetup struct {
	format        string // FormatCUPSRaster or FormatPWGRaster
	dpi           int
	width, height int     // the page in dots
	widthPt       float64 // the page in points (1/72 inch)
	heightPt      float64
	mediaName     string // PWG media name, when known
	duplex        bool
	tumble        bool // two-sided-short-edge: the back turns over the short edge
	pages         int
}

// header field offsets of a version 2 page header (big-endian integers).
const (
	offMediaClass    = 0
	offDuplex        = 272
	offHWResolution  = 276
	offBBox          = 284
	offNumCopies     = 340
	offPageSize      = 352
	offTumble        = 368
	offWidth         = 372
	offHeight        = 376
	offBitsPerColor  = 384
	offBitsPerPixel  = 388
	offBytesPerLine  = 392
	offColorOrder    = 396
	offColorSpace    = 400
	offNumColors     = 420
	offCupsPageSize  = 428
	offCupsBBox      = 436
	offTotalPages    = 452 // cupsInteger[0], PWG's TotalPageCount
	offCrossFeed     = 456 // cupsInteger[1], PWG's CrossFeedTransform
	offFeed          = 460 // cupsInteger[2], PWG's FeedTransform
	offRenderIntent  = 1668
	offPageSizeName  = 1732
	rasterFieldBytes = 64
)

// appendHeader appends one page header for setup.
func appendHeader(dst []byte, s *pageSetup) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, rasterHeaderSize)...)
	h := dst[start:]
	u32 := func(off int, v uint32) { binary.BigEndian.PutUint32(h[off:], v) }
	f32 := func(off int, v float64) { binary.BigEndian.PutUint32(h[off:], math.Float32bits(float32(v))) }
	str := func(off int, v string) { copy(h[off:off+rasterFieldBytes-1], v) }
	space := uint32(cspaceRGB)
	if s.format == FormatPWGRaster {
		str(offMediaClass, "PwgRaster")
		space = cspaceSRGB
		u32(offTotalPages, uint32(s.pages))
		u32(offCrossFeed, 1)
		u32(offFeed, 1)
		str(offRenderIntent, "perceptual")
	}
	if s.duplex {
		u32(offDuplex, 1)
		if s.tumble {
			u32(offTumble, 1)
		}
	}
	u32(offHWResolution, uint32(s.dpi))
	u32(offHWResolution+4, uint32(s.dpi))
	wpt, hpt := uint32(math.Round(s.widthPt)), uint32(math.Round(s.heightPt))
	u32(offBBox+8, wpt)
	u32(offBBox+12, hpt)
	u32(offNumCopies, 1)
	u32(offPageSize, wpt)
	u32(offPageSize+4, hpt)
	u32(offWidth, uint32(s.width))
	u32(offHeight, uint32(s.height))
	u32(offBitsPerColor, 8)
	u32(offBitsPerPixel, 24)
	u32(offBytesPerLine, uint32(3*s.width))
	u32(offColorOrder, 0) // chunky: R, G, B of each dot together
	u32(offColorSpace, space)
	u32(offNumColors, 3)
	f32(offCupsPageSize, s.widthPt)
	f32(offCupsPageSize+4, s.heightPt)
	f32(offCupsBBox+8, s.widthPt)
	f32(offCupsBBox+12, s.heightPt)
	str(offPageSizeName, s.mediaName)
	return dst
}

// appendRaster appends a whole raster document: the sync word, then each
// page's header and its lines. Every page is an RGBA image of exactly
// s.width × s.height dots whose alpha is ignored (pages are opaque).
func appendRaster(dst []byte, s *pageSetup, pages []*image.RGBA) []byte {
	dst = append(dst, "RaS2"...)
	for _, p := range pages {
		dst = appendHeader(dst, s)
		dst = appendLines(dst, p)
	}
	return dst
}

// appendLines codes a page's lines as version 2 streams do: each group of
// identical lines is a repeat count (lines − 1) and then the line as runs
// of dots, a control byte 0–127 meaning the next dot repeated byte+1 times
// and 129–255 meaning 257−byte literal dots follow.
func appendLines(dst []byte, img *image.RGBA) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	row := func(y int) []byte {
		o := y * img.Stride
		return img.Pix[o : o+4*w]
	}
	for y := 0; y < h; {
		line := row(y)
		n := 1
		for y+n < h && n < 256 && (bytes.Equal(line, row(y+n)) || equalRGB(line, row(y+n))) {
			n++
		}
		dst = append(dst, byte(n-1))
		dst = appendRuns(dst, line, w)
		y += n
	}
	return dst
}

// rgbAt returns dot i of an RGBA row as one number, alpha left out.
func rgbAt(line []byte, i int) uint32 {
	return binary.LittleEndian.Uint32(line[4*i:]) & 0x00ffffff
}

// equalRGB reports whether two RGBA rows have the same colours.
func equalRGB(a, b []byte) bool {
	for i := 0; i+4 <= len(a); i += 4 {
		if binary.LittleEndian.Uint32(a[i:])&0x00ffffff != binary.LittleEndian.Uint32(b[i:])&0x00ffffff {
			return false
		}
	}
	return true
}

// appendRuns codes one line of w RGBA dots as runs of RGB dots.
func appendRuns(dst, line []byte, w int) []byte {
	for i := 0; i < w; {
		c := rgbAt(line, i)
		j := i + 1
		for j < w && j-i < 128 && rgbAt(line, j) == c {
			j++
		}
		if j-i >= 2 || j == w {
			dst = append(dst, byte(j-i-1), line[4*i], line[4*i+1], line[4*i+2])
			i = j
			continue
		}
		// Literal dots up to the start of the next run of two.
		j = i + 1
		for j < w && j-i < 128 && !(j+1 < w && rgbAt(line, j) == rgbAt(line, j+1)) {
			j++
		}
		n := j - i
		if n == 1 {
			dst = append(dst, 0)
		} else {
			dst = append(dst, byte(257-n))
		}
		for k := i; k < j; k++ {
			dst = append(dst, line[4*k], line[4*k+1], line[4*k+2])
		}
		i = j
	}
	return dst
}
