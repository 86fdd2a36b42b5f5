package layout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/pdf417"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/qrcode"
)

// Symbologies a Barcode element can draw.
const (
	SymQR         = "qr"
	SymPDF417     = "pdf417"
	SymCode128    = "code128"
	SymDataMatrix = "datamatrix"
)

// MaxBarcodeData is the longest barcode content accepted, in bytes.
const MaxBarcodeData = 2048

// Barcode draws a QR code, PDF417, Code 128 or DataMatrix symbol on the dot
// grid: every module is a whole number of printer dots. The symbol sits in
// the box's top-left corner, or is centred in the box when it has a size;
// a symbol bigger than its box is an error.
type Barcode struct {
	Base
	// Symbology is qr, pdf417, code128 or datamatrix.
	Symbology string `toml:"symbology"`
	// Data is the expression giving the content, e.g. "{{.Serial}}".
	Data string `toml:"data"`
	// Module is the module size in dots at 300 dpi (default 4, i.e. 0.34
	// mm); it is multiplied by DPI/300 at other resolutions, so a 600 dpi
	// printer gets 8 dots for 4. For PDF417 it is the narrow bar's width.
	Module int `toml:"module"`
	// Quiet is the quiet zone around the symbol in modules (default 4 for
	// QR, 2 for PDF417 and DataMatrix, 10 for Code 128).
	Quiet *int `toml:"quiet"`
	// ECC is the error-correction level: L, M (default), Q or H for QR;
	// 0–8 (default 2) for PDF417. DataMatrix and Code 128 have none.
	ECC string `toml:"ecc"`
	// Color is the colour of the dark modules (default black).
	Color string `toml:"color"`
	// Knockout clears the other panels under the symbol and its quiet
	// zone (colour to white, K off) so that it scans; default true.
	Knockout *bool `toml:"knockout"`

	expr  *Expr
	col   color.RGBA
	qrECC qrcode.Level
	pdfSL byte
	quiet int
}

// Exprs returns the element's expressions.
func (bc *Barcode) Exprs() []*Expr { return []*Expr{bc.expr} }

// Init checks the symbology, module size and ECC.
func (bc *Barcode) Init(ic *InitContext) error {
	var err error
	if bc.expr, err = ic.Expr("data", bc.Data); err != nil {
		return err
	}
	if bc.Module == 0 {
		bc.Module = 4
	}
	if bc.Module < 1 || bc.Module > 32 {
		return fieldErr("module", fmt.Errorf("%d dots: want 1–32", bc.Module))
	}
	ecc := strings.ToUpper(bc.ECC)
	switch bc.Symbology {
	case SymQR:
		bc.quiet = 4
		levels := map[string]qrcode.Level{"": qrcode.M, "L": qrcode.L, "M": qrcode.M, "Q": qrcode.Q, "H": qrcode.H}
		l, ok := levels[ecc]
		if !ok {
			return fieldErr("ecc", fmt.Errorf("%q: want L, M, Q or H", clip(bc.ECC)))
		}
		bc.qrECC = l
	case SymPDF417:
		bc.quiet = 2
		bc.pdfSL = 2
		if ecc != "" {
			n, err := strconv.Atoi(ecc)
			if err != nil || n < 0 || n > 8 {
				return fieldErr("ecc", fmt.Errorf("%q: want 0–8", clip(bc.ECC)))
			}
			bc.pdfSL = byte(n)
		}
	case SymCode128, SymDataMatrix:
		bc.quiet = 10
		if bc.Symbology == SymDataMatrix {
			bc.quiet = 2
		}
		if ecc != "" {
			return fieldErr("ecc", fmt.Errorf("%s has no error-correction level", bc.Symbology))
		}
	default:
		return fieldErr("symbology", fmt.Errorf("%q: want qr, pdf417, code128 or datamatrix", clip(bc.Symbology)))
	}
	if bc.Quiet != nil {
		if *bc.Quiet < 0 || *bc.Quiet > 40 {
			return fieldErr("quiet", fmt.Errorf("%d modules: want 0–40", *bc.Quiet))
		}
		bc.quiet = *bc.Quiet
	}
	if bc.Symbology == SymCode128 && bc.H <= 0 {
		return fieldErr("h", errors.New("a code128 barcode needs a height h in mm"))
	}
	if bc.Color == "" {
		bc.Color = "black"
	}
	bc.col, err = ic.Color("color", bc.Color)
	return err
}

// symbol is an encoded barcode, one image pixel per module.
type symbol interface {
	Bounds() image.Rectangle
	At(x, y int) color.Color
}

// encode makes the symbol: one image pixel per module. QR goes through
// security/qrcode (the same symbols as boombuler/barcode's encoder, much
// faster); the others through boombuler/barcode.
func (bc *Barcode) encode(s string) (symbol, error) {
	if s == "" {
		return nil, errors.New("empty barcode content")
	}
	if len(s) > MaxBarcodeData {
		return nil, fmt.Errorf("barcode content of %d bytes, limit %d", len(s), MaxBarcodeData)
	}
	switch bc.Symbology {
	case SymQR:
		return qrcode.Encode(s, bc.qrECC, qrcode.Auto)
	case SymPDF417:
		return pdf417.Encode(s, bc.pdfSL)
	case SymCode128:
		return code128.Encode(s)
	default:
		return datamatrix.Encode(s)
	}
}

// Static reports whether the content is fixed (no field expression).
func (bc *Barcode) Static() bool { return bc.expr.static }

// Draw encodes the content and draws the modules.
func (bc *Barcode) Draw(ctx context.Context, dc *DrawContext) error {
	s, err := dc.Eval(bc.expr)
	if err != nil {
		return fieldErr("data", err)
	}
	sym, err := bc.encode(s)
	if err != nil {
		return fieldErr("data", fmt.Errorf("%s: %w", bc.Symbology, err))
	}
	mod := bc.Module * max(1, dc.Geometry.DPI/300)
	sb := sym.Bounds()
	q := bc.quiet * mod
	w := sb.Dx()*mod + 2*q
	rowH := mod
	h := sb.Dy()*mod + 2*q
	box := dc.Rect(bc.Box())
	oneD := sb.Dy() == 1
	if oneD {
		rowH = box.Dy()
		h = rowH
	}
	if (bc.W > 0 && w > box.Dx()) || (bc.H > 0 && h > box.Dy()) {
		return fieldErr("w", fmt.Errorf("%s symbol of %d × %d dots (quiet zone included) does not fit the %d × %d dot box; shorten the data or lower module/ecc",
			bc.Symbology, w, h, box.Dx(), box.Dy()))
	}
	at := box.Min
	if bc.W > 0 {
		at.X += (box.Dx() - w) / 2
	}
	if bc.H > 0 && !oneD {
		at.Y += (box.Dy() - h) / 2
	}
	full := image.Rect(at.X, at.Y, at.X+w, at.Y+h)
	if bc.Knockout == nil || *bc.Knockout {
		for _, p := range []printer.Panel{printer.PanelColor, printer.PanelK} {
			if p == bc.Panel {
				continue
			}
			if p == printer.PanelColor && dc.panels.Color == nil || p == printer.PanelK && dc.panels.K == nil {
				continue
			}
			dc.Fill(p, full, color.White)
		}
	}
	if bc.Panel == printer.PanelColor {
		dc.Fill(bc.Panel, full, color.White)
	} else if bc.Panel == printer.PanelK {
		dc.Mono(bc.Panel).Fill(full, false)
	}
	origin := image.Pt(at.X+q, at.Y)
	if !oneD {
		origin.Y += q
	}
	// Draw each row's runs of dark modules as single rectangles.
	for my := sb.Min.Y; my < sb.Max.Y; my++ {
		y0 := origin.Y + (my-sb.Min.Y)*rowH
		for mx := sb.Min.X; mx < sb.Max.X; {
			if !dark(sym.At(mx, my)) {
				mx++
				continue
			}
			run := mx
			for run < sb.Max.X && dark(sym.At(run, my)) {
				run++
			}
			x0 := origin.X + (mx-sb.Min.X)*mod
			dc.Fill(bc.Panel, image.Rect(x0, y0, x0+(run-mx)*mod, y0+rowH), bc.col)
			mx = run
		}
	}
	return nil
}
