package main

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // decode JPEG scans and photos of cards
	_ "image/png"  // decode PNG renderings
	"io"
	"os"
	"strings"
	"time"

	"github.com/cardd/cardd/internal/textsafe"
	"github.com/cardd/cardd/security"
)

// maxVerifyImagePixels bounds the images "cardd verify" decodes (a 600 dpi
// scan of a whole A4 page is about 35 Mpixel).
const maxVerifyImagePixels = 64 << 20

// cmdVerify is "cardd verify": check a card's signed QR code offline.
func cmdVerify(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "verify", "(--image FILE | --text STRING) [--trust FILE] [--deny FILE] [--json]",
		"Reads the QR code of a card from a PNG or JPEG image (a rendering, scan or photo) or takes\n"+
			"its text, checks the signature against the trust list, the deny list and the validity\n"+
			"dates, and prints the holder's signed fields and a verdict: valid, expired, not-yet-valid,\n"+
			"revoked, unknown-key, bad-signature or malformed. Exits 0 only when the card is valid.")
	imgPath := fs.String("image", "", "PNG or JPEG image holding the card's QR code")
	text := fs.String("text", "", "the QR code text (Base45), instead of --image")
	trustPath := fs.String("trust", "", "trust list JSON file (from \"cardd keys trust-entry\"); default: the --config station's; without one no key is trusted")
	denyPath := fs.String("deny", "", "deny list JSON file (from \"cardd audit export\")")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	at := fs.String("at", "", "verify as of this time (RFC 3339) instead of now")
	cfgPath := fs.String("config", "", "station config file to take the trust and deny lists from (security.trust_list, security.deny_list)")
	exportPage := fs.String("export-page", "", "instead of verifying, write the officers' offline verifier page with the --trust and --deny lists inside to `FILE`")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *exportPage != "" {
		return exportVerifyPage(ctx, e, *exportPage, *trustPath, *denyPath, fs.NArg())
	}
	if (*imgPath == "") == (*text == "") || fs.NArg() != 0 {
		return usageError{"need exactly one of --image FILE or --text STRING"}
	}
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath, "")
		if err != nil {
			return err
		}
		if *trustPath == "" {
			*trustPath = cfg.Security.TrustList
		}
		if *denyPath == "" {
			// The station's deny list exists once "cardd audit export"
			// (or the daemon) has written it.
			if _, err := os.Stat(cfg.Security.DenyList); err == nil {
				*denyPath = cfg.Security.DenyList
			}
		}
	}
	now := time.Now
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError{fmt.Sprintf("--at: %v", err)}
		}
		now = func() time.Time { return t }
	}
	var trust *security.TrustList
	if *trustPath != "" {
		t, err := security.LoadTrustList(*trustPath)
		if err != nil {
			return configError{Err: err}
		}
		trust = t
	}
	var deny *security.DenyList
	if *denyPath != "" {
		d, err := security.LoadDenyList(*denyPath)
		if err != nil {
			return configError{Err: err}
		}
		deny = d
	}
	v := security.NewVerifier(trust, deny, now)

	qrText := *text
	if *imgPath != "" {
		img, err := decodeImageFile(*imgPath)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		qrText, err = security.DecodeQR(img)
		if err != nil {
			return fmt.Errorf("verify %s: %w", *imgPath, err)
		}
	}
	res := v.Verify(strings.TrimRight(qrText, "\r\n"))
	if *asJSON {
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		printVerifyResult(e.stdout, res)
	}
	if !res.Valid() {
		return errSilentFailure
	}
	return nil
}

// decodeImageFile decodes a PNG or JPEG after checking its dimensions.
func decodeImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("verify %s: not a PNG or JPEG image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxVerifyImagePixels {
		return nil, fmt.Errorf("verify %s: %s image of %dx%d pixels is too large (max %d Mpixel)", path, format, cfg.Width, cfg.Height, maxVerifyImagePixels>>20)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	return img, nil
}

// printVerifyResult prints a verification result for a person. Every
// string that came from the card (even a verified one's: the issuer signs
// what the producer sent) is escaped (textsafe): no newline, escape
// sequence or bidi control of a field reaches the terminal raw.
func printVerifyResult(w io.Writer, r security.Result) {
	fmt.Fprintf(w, "verdict: %s\n", textsafe.Escape(string(r.Verdict)))
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", textsafe.Escape(r.Reason))
	}
	if r.Issuer != "" {
		fmt.Fprintf(w, "issuer: %s\n", textsafe.Escape(r.Issuer))
	}
	if r.Kid != "" {
		fmt.Fprintf(w, "kid: %s\n", textsafe.Escape(r.Kid))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"issued", r.IssuedAt}, {"valid from", r.NotBefore}, {"expires", r.Expires}} {
		if !t.v.IsZero() {
			fmt.Fprintf(w, "%s: %s\n", t.name, t.v.UTC().Format(time.RFC3339))
		}
	}
	if len(r.Fields) == 0 {
		return
	}
	if r.Valid() {
		fmt.Fprintln(w, "signed fields:")
	} else {
		fmt.Fprintln(w, "fields (NOT VERIFIED, do not rely on them):")
	}
	for _, f := range r.Fields {
		fmt.Fprintf(w, "  %-20s %s\n", textsafe.Escape(f.Label)+":", textsafe.Escape(f.Value))
	}
}
