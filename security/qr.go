package security

import (
	"errors"
	"fmt"
	"image"
	"math"
	bits8 "math/bits"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/qrcode"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
	gzdetector "github.com/makiuchi-d/gozxing/qrcode/detector"
)

// ECC is a QR error-correction level.
type ECC string

// The QR error-correction levels. ECCM is the default.
const (
	ECCL ECC = "L"
	ECCM ECC = "M"
	ECCQ ECC = "Q"
	ECCH ECC = "H"
)

// ParseECC parses "L", "M", "Q" or "H"; "" means ECCM.
func ParseECC(s string) (ECC, error) {
	switch ECC(s) {
	case "":
		return ECCM, nil
	case ECCL, ECCM, ECCQ, ECCH:
		return ECC(s), nil
	}
	return "", fmt.Errorf("QR error correction %q (want L, M, Q or H)", s)
}

func (e ECC) level() (qrcode.Level, error) {
	switch e {
	case ECCL:
		return qrcode.L, nil
	case ECCM, "":
		return qrcode.M, nil
	case ECCQ:
		return qrcode.Q, nil
	case ECCH:
		return qrcode.H, nil
	}
	return 0, fmt.Errorf("QR error correction %q (want L, M, Q or H)", string(e))
}

// QuietZone is the margin around a QR symbol, in modules.
const QuietZone = 4

// ErrQRTooLarge is wrapped by QR capacity errors.
var ErrQRTooLarge = errors.New("QR code does not fit")

// MinDotsPerModule returns the smallest module size allowed at dpi: 4 dots
// at 300 dpi (0.339 mm, the BSI TR-03137 minimum), scaled for other
// resolutions (8 at 600).
func MinDotsPerModule(dpi int) int {
	return max(1, int(math.Ceil(4*float64(dpi)/300)))
}

// QRFit describes how a QR symbol fits a box.
type QRFit struct {
	// Version is the QR version (1..40), Modules its side in modules
	// (17 + 4·version), without the quiet zone.
	Version, Modules int
	// DotsPerModule is the largest whole module size that fits the box.
	DotsPerModule int
	// SideDots is the symbol's side including the quiet zone, in dots.
	SideDots int
	// SideMM is SideDots in millimetres.
	SideMM float64
}

// FitQR computes the QR symbol for text at ecc (encoded in alphanumeric
// mode when text allows, byte mode otherwise) and checks it fits a square
// box of boxMM millimetres at dpi with at least MinDotsPerModule(dpi) dots
// per module and a 4-module quiet zone. The error names the sizes.
func FitQR(text string, ecc ECC, boxMM float64, dpi int) (QRFit, error) {
	if dpi <= 0 || boxMM <= 0 {
		return QRFit{}, fmt.Errorf("QR fit: invalid box %.2f mm at %d dpi", boxMM, dpi)
	}
	sym, err := EncodeQR(text, ecc)
	if err != nil {
		return QRFit{}, err
	}
	return sym.Fit(boxMM, dpi)
}

// QRSymbol is an encoded QR symbol (its module matrix), ready to be
// checked against a box (Fit) and rendered on the dot grid (Render)
// without encoding the text again; encoding, with its mask selection, is
// by far the costly step.
type QRSymbol struct {
	text string
	ecc  ECC
	n    int    // modules per side, without the quiet zone
	dark []bool // n × n, row by row
}

// EncodeQR encodes text at ecc (alphanumeric mode when text allows, byte
// mode otherwise). A text too long for any version wraps ErrQRTooLarge.
func EncodeQR(text string, ecc ECC) (*QRSymbol, error) {
	code, err := encodeQR(text, ecc)
	if err != nil {
		return nil, err
	}
	n := code.Size()
	s := &QRSymbol{text: text, ecc: ecc, n: n, dark: make([]bool, n*n)}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s.dark[y*n+x] = code.Dark(x, y)
		}
	}
	return s, nil
}

// Modules returns the symbol's side in modules, without the quiet zone.
func (s *QRSymbol) Modules() int { return s.n }

// Fit checks the symbol fits a square box of boxMM millimetres at dpi with
// at least MinDotsPerModule(dpi) dots per module and a 4-module quiet
// zone, as FitQR.
func (s *QRSymbol) Fit(boxMM float64, dpi int) (QRFit, error) {
	if dpi <= 0 || boxMM <= 0 {
		return QRFit{}, fmt.Errorf("QR fit: invalid box %.2f mm at %d dpi", boxMM, dpi)
	}
	n := s.n
	f := QRFit{Version: (n - 17) / 4, Modules: n}
	boxDots := int(math.Floor(boxMM*float64(dpi)/25.4 + 1e-9))
	total := n + 2*QuietZone
	f.DotsPerModule = boxDots / total
	min := MinDotsPerModule(dpi)
	if f.DotsPerModule < min {
		need := float64(total*min) * 25.4 / float64(dpi)
		return f, fmt.Errorf("%w: %d characters need QR version %d at ECC %s (%d modules + %d-module quiet zone = %d), "+
			"which at %d dots/module needs a %.1f mm box at %d dpi; the box is %.1f mm (%d dots)",
			ErrQRTooLarge, len(s.text), f.Version, eccName(s.ecc), n, QuietZone, total, min, need, dpi, boxMM, boxDots)
	}
	f.SideDots = total * f.DotsPerModule
	f.SideMM = float64(f.SideDots) * 25.4 / float64(dpi)
	return f, nil
}

// Render draws the symbol with dotsPerModule dots per module and the
// 4-module quiet zone, as RenderQR.
func (s *QRSymbol) Render(dotsPerModule int) (*printer.Mono, error) {
	if dotsPerModule < 1 {
		return nil, fmt.Errorf("render QR: %d dots per module", dotsPerModule)
	}
	side := s.Side(dotsPerModule)
	m := printer.NewMono(image.Rect(0, 0, side, side))
	return m, s.RenderInto(m, image.Point{}, dotsPerModule)
}

// Side is the width and height in dots of the symbol rendered at
// dotsPerModule, its quiet zone included.
func (s *QRSymbol) Side(dotsPerModule int) int { return (s.n + 2*QuietZone) * dotsPerModule }

// RenderInto draws the symbol as Render does into dst, the top-left
// corner of its quiet zone at dot at: the dark modules' dots are set, the
// others left as they are (clear the square first). Each row of modules
// is laid out once as bits and copied to its dotsPerModule dot rows a byte
// at a time; dots outside dst are left out.
func (s *QRSymbol) RenderInto(dst *printer.Mono, at image.Point, dotsPerModule int) error {
	if dotsPerModule < 1 {
		return fmt.Errorf("render QR: %d dots per module", dotsPerModule)
	}
	n, d := s.n, dotsPerModule
	// The row buffer spans the bytes of dst's rows (relative to its
	// Rect.Min.X) that the symbol's modules cover.
	x0 := at.X + QuietZone*d - dst.Rect.Min.X // first module dot, in dst's row
	b0 := x0 >> 3
	if x0 < 0 {
		b0 = -((-x0 + 7) >> 3)
	}
	row := make([]byte, (x0+n*d-8*b0+7)/8)
	for y := range n {
		clear(row)
		dark := false
		for x := range n {
			if !s.dark[y*n+x] {
				continue
			}
			dark = true
			for i := x0 + x*d - 8*b0; i < x0+(x+1)*d-8*b0; i++ {
				row[i>>3] |= 0x80 >> uint(i&7)
			}
		}
		if !dark {
			continue
		}
		for dy := range d {
			ry := at.Y + (QuietZone+y)*d + dy - dst.Rect.Min.Y
			if ry < 0 || ry >= dst.Rect.Dy() {
				continue
			}
			line := dst.Pix[ry*dst.Stride:]
			for i, v := range row {
				if j := b0 + i; j >= 0 && j < dst.Stride && v != 0 {
					if j == dst.Stride-1 {
						// The last byte: no dot past the width.
						if pad := uint(dst.Rect.Dx() % 8); pad != 0 {
							v &= 0xff << (8 - pad)
						}
					}
					line[j] |= v
				}
			}
		}
	}
	return nil
}

func eccName(e ECC) string {
	if e == "" {
		return string(ECCM)
	}
	return string(e)
}

// encodeQR encodes text with security/qrcode, which picks the same symbol
// as boombuler/barcode (the encoder used before) some fifty times faster.
func encodeQR(text string, ecc ECC) (*qrcode.Symbol, error) {
	lvl, err := ecc.level()
	if err != nil {
		return nil, err
	}
	mode := qrcode.Alphanumeric
	for i := 0; i < len(text); i++ {
		if !isQRAlnum(text[i]) {
			mode = qrcode.Byte
			break
		}
	}
	code, err := qrcode.Encode(text, lvl, mode)
	if err != nil {
		return nil, fmt.Errorf("%w: %d characters at ECC %s: %w", ErrQRTooLarge, len(text), eccName(ecc), err)
	}
	return code, nil
}

func isQRAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == ' ' || c == '$' || c == '%' ||
		c == '*' || c == '+' || c == '-' || c == '.' || c == '/' || c == ':'
}

// RenderQR renders text as a QR symbol with dotsPerModule dots per module
// and the 4-module quiet zone, on the dot grid: dark modules are On. The
// image's bounds start at (0, 0).
func RenderQR(text string, ecc ECC, dotsPerModule int) (*printer.Mono, error) {
	if dotsPerModule < 1 {
		return nil, fmt.Errorf("render QR: %d dots per module", dotsPerModule)
	}
	sym, err := EncodeQR(text, ecc)
	if err != nil {
		return nil, err
	}
	return sym.Render(dotsPerModule)
}

// ErrNoQR is returned when no QR code can be read from an image.
var ErrNoQR = errors.New("no readable QR code in the image")

// DecodeQR reads the QR code text from img: first as it is, then, if that
// fails, from downscaled and thresholded copies (a 300 dpi rendering of a
// whole card, or a photo, often decodes better smaller). A copy is made
// only when the ones before it failed.
func DecodeQR(img image.Image) (string, error) {
	if img.Bounds().Empty() {
		return "", ErrNoQR
	}
	m, mono := img.(*printer.Mono)
	if mono {
		// A rendered panel is black and white already: its dots are the
		// bit matrix the detector wants, with no luminance thresholds
		// to compute.
		if text, err := decodeMono(m); err == nil {
			return text, nil
		}
	}
	var lastErr error
	g := toGray(img)
	for i := 0; ; i++ {
		v := qrVariant(g, i, mono)
		if v == nil {
			break
		}
		text, err := decodeQROnce(v)
		if err == nil {
			return text, nil
		}
		lastErr = err
		// The detector sometimes finds the three finder patterns but
		// misjudges the symbol's dimension from them; cutting the symbol
		// out along the finder patterns and reading it as a pure barcode
		// recovers those (square, upright images: renders and scans).
		if text, err := decodeByFinders(v); err == nil {
			return text, nil
		}
	}
	return "", fmt.Errorf("%w (%dx%d): %w", ErrNoQR, img.Bounds().Dx(), img.Bounds().Dy(), lastErr)
}

// decodeMono decodes a QR code from m's dots as they are (On is dark).
func decodeMono(m *printer.Mono) (string, error) {
	bits, err := monoBitMatrix(m)
	if err != nil {
		return "", err
	}
	bmp, err := gozxing.NewBinaryBitmap(&monoBinarizer{m: m, bits: bits})
	if err != nil {
		return "", err
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// monoBitMatrix returns m's dots as a gozxing bit matrix (On is set),
// 32 dots at a time: a matrix row's word j holds dots 32j to 32j+31, dot
// 32j+i in bit i, where the panel's bytes hold dot 8k+i in bit 7-i.
func monoBitMatrix(m *printer.Mono) (*gozxing.BitMatrix, error) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	bits, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	row := gozxing.NewBitArray(w)
	nb := (w + 7) / 8
	for y := range h {
		src := m.Pix[y*m.Stride : y*m.Stride+nb]
		for x := 0; x < w; x += 32 {
			var word uint32
			for i, c := range src[x/8 : min(x/8+4, nb)] {
				word |= uint32(bits8.Reverse8(c)) << (8 * i)
			}
			if rest := w - x; rest < 32 {
				word &= 1<<rest - 1 // dots past the edge
			}
			row.SetBulk(x, word)
		}
		bits.SetRow(y, row)
	}
	return bits, nil
}

// monoBinarizer is a gozxing.Binarizer whose black matrix is given: the
// dots of a 1-bit panel.
type monoBinarizer struct {
	m    *printer.Mono
	bits *gozxing.BitMatrix
}

// GetLuminanceSource returns the panel as grey (made on demand: the QR
// reader does not ask for it).
func (b *monoBinarizer) GetLuminanceSource() gozxing.LuminanceSource {
	g := toGray(b.m)
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Rect.Dx(), g.Rect.Dy(), 0, 0, g.Rect.Dx(), g.Rect.Dy(), false)
	if err != nil {
		return nil
	}
	return src
}

func (b *monoBinarizer) GetBlackRow(y int, row *gozxing.BitArray) (*gozxing.BitArray, error) {
	return b.bits.GetRow(y, row), nil
}

func (b *monoBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) { return b.bits, nil }

func (b *monoBinarizer) CreateBinarizer(source gozxing.LuminanceSource) gozxing.Binarizer {
	return gozxing.NewHybridBinarizer(source)
}

func (b *monoBinarizer) GetWidth() int  { return b.bits.GetWidth() }
func (b *monoBinarizer) GetHeight() int { return b.bits.GetHeight() }

// grayBitmap wraps g's pixels as a gozxing bitmap without converting them
// pixel by pixel (the Y plane of a planar YUV source is exactly a grey
// image).
func grayBitmap(g *image.Gray) (*gozxing.BinaryBitmap, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	pix := g.Pix
	if g.Stride != w {
		pix = make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(pix[y*w:(y+1)*w], g.Pix[y*g.Stride:])
		}
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
}

func decodeQROnce(img *image.Gray) (string, error) {
	bmp, err := grayBitmap(img)
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// decodeByFinders locates the finder patterns of a QR symbol in g, crops
// the symbol with one module of margin and decodes the crop as a pure
// barcode.
func decodeByFinders(g *image.Gray) (string, error) {
	bmp, err := grayBitmap(g)
	if err != nil {
		return "", err
	}
	bits, err := bmp.GetBlackMatrix()
	if err != nil {
		return "", err
	}
	info, err := gzdetector.NewFinderPatternFinder(bits, nil).Find(nil)
	if err != nil {
		return "", err
	}
	pts := []*gzdetector.FinderPattern{info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	ms := 0.0
	for _, p := range pts {
		minX, maxX = math.Min(minX, p.GetX()), math.Max(maxX, p.GetX())
		minY, maxY = math.Min(minY, p.GetY()), math.Max(maxY, p.GetY())
		ms += p.GetEstimatedModuleSize() / 3
	}
	// A finder pattern's centre is 3.5 modules inside the symbol's edge.
	// The finder may also have taken a data pattern for one of the three,
	// so grow the box on each side until a band of two modules beyond it
	// is blank: the quiet zone.
	m := 3.5 * ms
	r := image.Rect(int(minX-m), int(minY-m), int(math.Ceil(maxX+m)), int(math.Ceil(maxY+m))).Intersect(g.Rect)
	r = growToQuietZone(bits, r, max(2, int(math.Ceil(2*ms))))
	if r.Dx() < 21 || r.Dy() < 21 {
		return "", ErrNoQR
	}
	r = r.Inset(-int(math.Ceil(ms))).Intersect(g.Rect)
	crop, err := grayBitmap(g.SubImage(r).(*image.Gray))
	if err != nil {
		return "", err
	}
	res, err := gzqr.NewQRCodeReader().Decode(crop, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// growToQuietZone extends r side by side while the band of width band
// just outside a side has any dark pixel of bits, up to twice its size.
func growToQuietZone(bits *gozxing.BitMatrix, r image.Rectangle, band int) image.Rectangle {
	limit := max(r.Dx(), r.Dy()) * 2
	bounds := image.Rect(0, 0, bits.GetWidth(), bits.GetHeight())
	dark := func(q image.Rectangle) bool {
		q = q.Intersect(bounds)
		for y := q.Min.Y; y < q.Max.Y; y++ {
			for x := q.Min.X; x < q.Max.X; x++ {
				if bits.Get(x, y) {
					return true
				}
			}
		}
		return false
	}
	for grew := true; grew && r.Dx() < limit && r.Dy() < limit; {
		grew = false
		if r.Min.Y > 0 && dark(image.Rect(r.Min.X, r.Min.Y-band, r.Max.X, r.Min.Y)) {
			r.Min.Y--
			grew = true
		}
		if r.Max.Y < bounds.Max.Y && dark(image.Rect(r.Min.X, r.Max.Y, r.Max.X, r.Max.Y+band)) {
			r.Max.Y++
			grew = true
		}
		if r.Min.X > 0 && dark(image.Rect(r.Min.X-band, r.Min.Y, r.Min.X, r.Max.Y)) {
			r.Min.X--
			grew = true
		}
		if r.Max.X < bounds.Max.X && dark(image.Rect(r.Max.X, r.Min.Y, r.Max.X+band, r.Max.Y)) {
			r.Max.X++
			grew = true
		}
	}
	return r
}

// qrVariant returns the i-th image DecodeQR tries, or nil after the last:
// g as it is, then box-downscaled by 2 and 4 and thresholded at mid-grey,
// then g thresholded (left out when g came from a 1-bit image, whose grey
// is black and white already).
func qrVariant(g *image.Gray, i int, fromMono bool) *image.Gray {
	if i == 0 {
		return g
	}
	for _, f := range []int{2, 4} {
		if g.Rect.Dx()/f < 21 || g.Rect.Dy()/f < 21 {
			break
		}
		if i--; i == 0 {
			return threshold(downscale(g, f))
		}
	}
	if i == 1 && !fromMono {
		return threshold(g)
	}
	return nil
}

// toGray converts img to an 8-bit grey image anchored at the origin, with a
// fast path for printer.Mono.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	if m, ok := img.(*printer.Mono); ok {
		// Bit 7-x%8 of byte x/8 of a row is the dot x (from Rect.Min):
		// expand a byte at a time, white where the bit is clear.
		w := b.Dx()
		for y := 0; y < b.Dy(); y++ {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			bits := m.Pix[y*m.Stride:]
			for x := 0; x < w; x += 8 {
				c := bits[x>>3]
				out := row[x:min(x+8, w)]
				for i := range out {
					out[i] = 0xff
					if c&(0x80>>uint(i)) != 0 {
						out[i] = 0
					}
				}
			}
		}
		return g
	}
	switch src := img.(type) {
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	case *image.YCbCr: // JPEG: the Y plane is the luma
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.Pix[y*g.Stride:]
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb, a := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2]), uint32(row[4*x+3])
				// Premultiplied: composite over white, then BT.601 luma.
				r, gg, bb = r+255-a, gg+255-a, bb+255-a
				out[x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
		return g
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.Pix[y*g.Stride:]
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb, a := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2]), uint32(row[4*x+3])
				r, gg, bb = (r*a+255*(255-a))/255, (gg*a+255*(255-a))/255, (bb*a+255*(255-a))/255
				out[x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
		return g
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return g
}

func downscale(g *image.Gray, f int) *image.Gray {
	w, h := g.Rect.Dx()/f, g.Rect.Dy()/f
	d := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum := 0
			for dy := 0; dy < f; dy++ {
				row := g.Pix[(y*f+dy)*g.Stride+x*f:]
				for dx := 0; dx < f; dx++ {
					sum += int(row[dx])
				}
			}
			d.Pix[y*d.Stride+x] = uint8(sum / (f * f))
		}
	}
	return d
}

func threshold(g *image.Gray) *image.Gray {
	t := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		if v >= 0x80 {
			t.Pix[i] = 0xff
		}
	}
	return t
}

// VerifyRendered is the pre-print check: it decodes the QR code back from
// a rendered panel or card image (a *printer.Mono K panel, or the flattened
// side) and verifies it with v. The error is non-nil only when no QR code
// could be read; a QR that reads but does not verify gives a Result whose
// Verdict says why. Callers print only when the error is nil and
// Result.Valid() is true.
func VerifyRendered(img image.Image, v *Verifier) (Result, string, error) {
	text, err := DecodeQR(img)
	if err != nil {
		return Result{}, "", fmt.Errorf("pre-print check: %w", err)
	}
	return v.Verify(text), text, nil
}
