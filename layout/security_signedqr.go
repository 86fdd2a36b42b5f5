package layout

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
)

// SignedQR draws the card's signed QR code (package security): a MOSIP
// Claim 169 credential with the card serial, the holder's fields, the card
// type and validity, signed by the issuer key, zlib-compressed and Base45
// encoded in alphanumeric mode. The fields come from the same job data as
// the printed text, through expressions. The symbol uses whole dots per
// module, at least 4 at 300 dpi (8 at 600), with a 4-module quiet zone; a
// payload that cannot fit the box is an error naming the template and the
// sizes.
//
// The issuer key comes from the kind table: build it with WithSigner. With
// the plain DefaultKinds the element signs with a public preview key
// derived from PreviewIssuer (verifiers answer unknown-key), so previews
// render, the same on every run, but such a card can never pass the
// pre-print check against a real trust list.
//
//	[[back.element]]
//	kind = "signed_qr"
//	x = 56.0
//	y = 20.0
//	w = 28.0
//	h = 28.0
//	ecc = "M"
//	full_name = "{{.given_names}} {{.surname | upper}}"
//	date_of_birth = "{{.date_of_birth | date \"20060102\"}}"
//	gender = "{{.sex | default \"\"}}"
//	nationality = "{{.nationality}}"
//	country = "EXA"
type SignedQR struct {
	Base
	// ECC is the QR error-correction level: L, M (default), Q or H.
	ECC string `toml:"ecc"`
	// Module is the module size in dots at 300 dpi (scaled with the
	// resolution); 0 picks the largest that fits, never under 4.
	Module int `toml:"module"`
	// FullName, DateOfBirth (YYYYMMDD), Gender (M, F, X or empty),
	// Nationality, LegalStatus and Country (of issuance) are expressions
	// for the signed Claim 169 attributes; an empty expression leaves the
	// attribute out.
	FullName    string `toml:"full_name"`
	DateOfBirth string `toml:"date_of_birth"`
	Gender      string `toml:"gender"`
	Nationality string `toml:"nationality"`
	LegalStatus string `toml:"legal_status"`
	Country     string `toml:"country"`
	// FacePixels, when positive, adds a small grey JPEG thumbnail of the
	// portrait FacePixels wide (Claim 169 attribute 62). It costs QR
	// capacity: 48 pixels is about 600 bytes.
	FacePixels int `toml:"face_pixels"`

	signer *security.Signer
	issuer string

	ecc   security.ECC
	exprs [6]*Expr
}

// WithSigner returns a copy of kinds whose signed_qr elements sign with s
// for issuer (the credential's iss, a URI matching the verifiers' trust
// list).
func WithSigner(kinds Kinds, s *security.Signer, issuer string) Kinds {
	out := make(Kinds, len(kinds))
	for k, v := range kinds {
		out[k] = v
	}
	k := out["signed_qr"]
	k.New = func() Element { return &SignedQR{signer: s, issuer: issuer} }
	if k.Panel == "" {
		k.Panel = printer.PanelK
	}
	out["signed_qr"] = k
	return out
}

// PreviewIssuer is the issuer of credentials signed with a throwaway key.
const PreviewIssuer = "urn:cardd:preview-unsigned"

// previewKey is the preview signing key: derived from PreviewIssuer, a
// published constant, so it is the same everywhere and no one may trust it.
func previewKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(PreviewIssuer))
	return ed25519.NewKeyFromSeed(seed[:])
}

// PreviewPublicKey returns the public half of the preview key that signs
// previews rendered without a station's signer, so that a station check
// (cardd doctor) can refuse a signing key or trust list entry that is it.
func PreviewPublicKey() ed25519.PublicKey {
	return previewKey().Public().(ed25519.PublicKey)
}

// Exprs returns the element's expressions.
func (q *SignedQR) Exprs() []*Expr {
	var out []*Expr
	for _, e := range q.exprs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// needsPhoto: see Template.NeedsPhoto.
func (q *SignedQR) needsPhoto() bool { return q.FacePixels > 0 }

// Init compiles the field expressions and checks the options.
func (q *SignedQR) Init(ic *InitContext) error {
	if q.Box().Empty() {
		return fieldErr("w", errors.New("a signed QR code needs a box: w and h in mm"))
	}
	var err error
	if q.ecc, err = security.ParseECC(strings.ToUpper(q.ECC)); err != nil {
		return fieldErr("ecc", err)
	}
	if q.Module < 0 || q.Module > 16 {
		return fieldErr("module", fmt.Errorf("%d dots: want 4–16 or 0 for the largest that fits", q.Module))
	}
	if q.Module > 0 && q.Module < 4 {
		return fieldErr("module", fmt.Errorf("%d dots: a scanned card needs at least 4 dots per module at 300 dpi", q.Module))
	}
	if q.FacePixels < 0 || q.FacePixels > 96 {
		return fieldErr("face_pixels", fmt.Errorf("%d: want 0–96", q.FacePixels))
	}
	for i, f := range []struct{ key, src string }{
		{"full_name", q.FullName}, {"date_of_birth", q.DateOfBirth}, {"gender", q.Gender},
		{"nationality", q.Nationality}, {"legal_status", q.LegalStatus}, {"country", q.Country},
	} {
		if f.src == "" {
			continue
		}
		if q.exprs[i], err = ic.Expr(f.key, f.src); err != nil {
			return err
		}
	}
	if q.signer == nil {
		// The preview key is derived from a published constant: anyone
		// can sign with it, so no verifier may trust it, and previews and
		// golden images come out the same on every run.
		if q.signer, err = security.NewSigner(previewKey()); err != nil {
			return err
		}
		q.issuer = PreviewIssuer
	}
	return nil
}

func parseGender(s string) (security.Gender, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return security.GenderUnset, nil
	case "M", "MALE":
		return security.GenderMale, nil
	case "F", "FEMALE":
		return security.GenderFemale, nil
	case "X", "O", "OTHER":
		return security.GenderOther, nil
	}
	return 0, fmt.Errorf("gender %q: want M, F, X or empty", clip(s))
}

// credential builds the credential for the card being drawn.
func (q *SignedQR) credential(dc *DrawContext) (security.Credential, error) {
	d := dc.Data
	if d.Serial == "" {
		return security.Credential{}, fieldErr("w", errors.New("the card has no serial to sign"))
	}
	if d.IssuedAt.IsZero() {
		return security.Credential{}, fieldErr("w", errors.New("the card has no issue time to sign"))
	}
	c := security.Credential{
		Issuer: q.issuer, IssuedAt: d.IssuedAt.Truncate(1e9), NotBefore: d.IssuedAt.Truncate(1e9), Expires: d.Expires,
		ID: d.Serial, CardType: security.CardType(d.CardType),
	}
	if !c.Expires.IsZero() {
		c.Expires = c.Expires.Truncate(1e9)
	}
	keys := []string{"full_name", "date_of_birth", "gender", "nationality", "legal_status", "country"}
	var vals [6]string
	for i, e := range q.exprs {
		if e == nil {
			continue
		}
		v, err := dc.Eval(e)
		if err != nil {
			return c, fieldErr(keys[i], err)
		}
		vals[i] = strings.TrimSpace(v)
	}
	c.FullName, c.DateOfBirth, c.Nationality, c.LegalStatus, c.CountryOfIssuance = vals[0], vals[1], vals[3], vals[4], vals[5]
	g, err := parseGender(vals[2])
	if err != nil {
		return c, fieldErr("gender", err)
	}
	c.Gender = g
	if q.FacePixels > 0 {
		src, err := dc.ScaledPhoto(q.FacePixels, q.FacePixels*4/3, .5, .5)
		if err != nil {
			return c, fieldErr("face_pixels", err)
		}
		thumb := imaging.Grayscale(src)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: 40}); err != nil {
			return c, fieldErr("face_pixels", err)
		}
		c.Face = &security.Face{Data: buf.Bytes(), SubFormat: security.FaceJPEG}
	}
	if err := c.Validate(); err != nil {
		return c, fieldErr("date_of_birth", err)
	}
	return c, nil
}

// Draw signs the credential and draws the symbol centred in the box.
func (q *SignedQR) Draw(ctx context.Context, dc *DrawContext) error {
	if q.issuer == PreviewIssuer {
		dc.Log.Warn("signed_qr: signing with a throwaway preview key; build the kinds with layout.WithSigner to print")
	}
	c, err := q.credential(dc)
	if err != nil {
		return err
	}
	text, err := q.signer.Sign(c)
	if err != nil {
		return err
	}
	box := dc.Rect(q.Box())
	side := min(box.Dx(), box.Dy())
	dpi := dc.Geometry.DPI
	// Fit the symbol on the 300 dpi grid and scale the module size with
	// the resolution, so the code has the same physical size on 300 and
	// 600 dpi printers (the 600 dpi minimum, 8 dots, is the 300 dpi
	// minimum doubled).
	scale := max(1, dpi/300)
	sideMM := float64(side) * 25.4 / float64(dpi)
	qs, err := security.EncodeQR(text, q.ecc)
	if err != nil {
		return fieldErr("w", fmt.Errorf("template %q, card %s: %w", dc.Template.Name, dc.Data.Serial, err))
	}
	fit, err := qs.Fit(sideMM, dpi/scale)
	if err != nil {
		return fieldErr("w", fmt.Errorf("template %q, card %s: %w", dc.Template.Name, dc.Data.Serial, err))
	}
	dpm := fit.DotsPerModule * scale
	if q.Module > 0 {
		want := q.Module * scale
		if want > dpm {
			need := float64((fit.Modules+2*security.QuietZone)*want) * 25.4 / float64(dpi)
			return fieldErr("module", fmt.Errorf("template %q, card %s: QR version %d at %d dots/module needs %.1f mm, the box is %.1f mm",
				dc.Template.Name, dc.Data.Serial, fit.Version, want, need, sideMM))
		}
		dpm = want
	}
	if dpm < 1 {
		return fieldErr("w", fmt.Errorf("QR at %d dots per module", dpm))
	}
	symSide := qs.Side(dpm)
	at := image.Pt(box.Min.X+(box.Dx()-symSide)/2, box.Min.Y+(box.Dy()-symSide)/2)
	full := image.Rect(0, 0, symSide, symSide).Add(at)
	// Knock out everything under the symbol and its quiet zone so it
	// scans: white on the colour panel, no resin, and the K symbol.
	if dc.panels.Color != nil {
		dc.Fill(printer.PanelColor, full, color.White)
	}
	k := dc.Mono(printer.PanelK)
	k.Fill(full, false)
	// Straight onto the panel, a row of modules at a time.
	if err := qs.RenderInto(k, at, dpm); err != nil {
		return fieldErr("w", err)
	}
	dc.Log.Debug("signed_qr", "version", fit.Version, "dots_per_module", dpm, "chars", len(text),
		"side_mm", math.Round(float64(full.Dx())*254/float64(dpi))/10)
	return nil
}
