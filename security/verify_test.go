package security

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"errors"
	"fmt"
	"github.com/andybalholm/brotli"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/base45"
)

const testIssuer = "https://id.example.org"

var (
	t0      = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	testNow = func() time.Time { return t0 }
)

func testKey(tb testing.TB, alg Alg) crypto.Signer {
	tb.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func testCredential() Credential {
	return Credential{
		Issuer:            testIssuer,
		IssuedAt:          t0.Add(-time.Hour),
		NotBefore:         t0.Add(-time.Hour),
		Expires:           t0.Add(30 * 24 * time.Hour),
		ID:                "CARD-01-0000042-" + string(mustCheckChar("CARD-01-0000042")),
		FullName:          "AMINA JANE OKAFOR-DUBOIS",
		DateOfBirth:       "19870412",
		Gender:            GenderFemale,
		Nationality:       "NGA",
		LegalStatus:       "citizen",
		CountryOfIssuance: "NGA",
		CardType:          CardTemporary,
	}
}

func mustCheckChar(body string) byte {
	c, err := CheckChar(body)
	if err != nil {
		panic(err)
	}
	return c
}

type fixture struct {
	signer   *Signer
	verifier *Verifier
}

func newFixture(tb testing.TB, alg Alg, deny ...string) fixture {
	tb.Helper()
	s, err := NewSigner(testKey(tb, alg))
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewTrustEntry(testIssuer, s.Public(), t0.AddDate(-1, 0, 0), t0.AddDate(5, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	tl, err := NewTrustList(e)
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{s, NewVerifier(tl, NewDenyList(t0, deny), testNow)}
}

func (f fixture) sign(tb testing.TB, c Credential) string {
	tb.Helper()
	text, err := f.signer.Sign(c)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Alg{AlgEd25519, AlgES256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg)
			c := testCredential()
			c.Face = &Face{Data: bytes.Repeat([]byte{1, 2, 3}, 40), SubFormat: FaceWEBP}
			text := f.sign(t, c)
			for i := 0; i < len(text); i++ {
				if !isQRAlnum(text[i]) {
					t.Fatalf("QR text has non-alphanumeric character %q", text[i])
				}
			}
			res := f.verifier.Verify(text)
			if !res.Valid() {
				t.Fatalf("verdict %s (%s), want valid", res.Verdict, res.Reason)
			}
			if res.Kid != f.signer.KeyID().String() || res.Issuer != testIssuer || res.Alg != alg {
				t.Fatalf("result kid %s issuer %s alg %s", res.Kid, res.Issuer, res.Alg)
			}
			assertSameCredential(t, *res.Credential, c)
		})
	}
}

func assertSameCredential(t *testing.T, got, want Credential) {
	t.Helper()
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.Expires.Equal(want.Expires) {
		t.Errorf("times: got %v %v %v, want %v %v %v", got.IssuedAt, got.NotBefore, got.Expires, want.IssuedAt, want.NotBefore, want.Expires)
	}
	got.IssuedAt, got.NotBefore, got.Expires = want.IssuedAt, want.NotBefore, want.Expires
	if (got.Face == nil) != (want.Face == nil) || got.Face != nil && (!bytes.Equal(got.Face.Data, want.Face.Data) || got.Face.SubFormat != want.Face.SubFormat) {
		t.Errorf("face: got %+v, want %+v", got.Face, want.Face)
	}
	got.Face, want.Face = nil, nil
	if got != want {
		t.Errorf("credential:\n got %+v\nwant %+v", got, want)
	}
}

// TestSignDeterministicPayload checks that the claims encode
// deterministically (Ed25519 signatures are deterministic too, so the whole
// text is).
func TestSignDeterministicPayload(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	if a, b := f.sign(t, testCredential()), f.sign(t, testCredential()); a != b {
		t.Fatal("two signatures of the same credential differ")
	}
}

func TestVerifyVerdicts(t *testing.T) {
	f := newFixture(t, AlgEd25519, "REVK-01-0000001-"+string(mustCheckChar("REVK-01-0000001")))
	other := newFixture(t, AlgEd25519)
	good := f.sign(t, testCredential())

	expired := testCredential()
	expired.IssuedAt, expired.NotBefore, expired.Expires = t0.AddDate(0, -2, 0), t0.AddDate(0, -2, 0), t0.AddDate(0, -1, 0)
	future := testCredential()
	future.NotBefore = t0.Add(24 * time.Hour)
	revoked := testCredential()
	revoked.ID = "REVK-01-0000001-" + string(mustCheckChar("REVK-01-0000001"))
	wrongIssuer := testCredential()
	wrongIssuer.Issuer = "https://forger.example"

	// A payload signed by our key, then given another key's kid: the
	// signature no longer matches → bad signature (our kid is known).
	resigned := resignWithKid(t, other.signer, testCredential(), f.signer.KeyID())

	tests := []struct {
		name string
		text string
		want Verdict
	}{
		{"valid", good, VerdictValid},
		{"flipped byte in signature", flipCOSEByte(t, good, -3), VerdictBadSignature},
		{"flipped byte in payload", flipCOSEByte(t, good, 40), VerdictBadSignature},
		{"flipped Base45 character", flipText(good, len(good)/2), VerdictMalformed},
		{"signed by another key", other.sign(t, testCredential()), VerdictUnknownKey},
		{"re-signed with another key under our kid", resigned, VerdictBadSignature},
		{"expired", f.sign(t, expired), VerdictExpired},
		{"not yet valid", f.sign(t, future), VerdictNotYetValid},
		{"revoked", f.sign(t, revoked), VerdictRevoked},
		{"issuer not the key's", f.sign(t, wrongIssuer), VerdictUnknownKey},
		{"truncated", good[:len(good)-6], VerdictMalformed},
		{"truncated to 1 char", good[:1], VerdictMalformed},
		{"empty", "", VerdictMalformed},
		{"garbage", "HELLO WORLD THIS IS NOT A CARD", VerdictMalformed},
		{"lower case", strings.ToLower(good), VerdictMalformed},
		{"huge", strings.Repeat("A", MaxQRText+3), VerdictMalformed},
		{"zip bomb", zlibBase45(t, bytes.Repeat([]byte{0}, 1<<20)), VerdictMalformed},
		{"not COSE", zlibBase45(t, []byte{0xa1, 0x01, 0x02}), VerdictMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.verifier.Verify(tt.text)
			if res.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, tt.want)
			}
			if res.Verdict != VerdictValid && res.Reason == "" {
				t.Fatal("no reason given")
			}
		})
	}
}

func zlibBase45(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return base45.Encode(buf.Bytes())
}

// flipCOSEByte decodes the text, flips one byte of the COSE_Sign1 at i
// (negative counts from the end), and re-encodes it.
func flipCOSEByte(t *testing.T, text string, i int) string {
	t.Helper()
	z, err := base45.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := inflate(z)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(raw)
	}
	raw[i] ^= 0x01
	return zlibBase45(t, raw)
}

func flipText(text string, i int) string {
	b := []byte(text)
	if b[i] == 'Z' {
		b[i] = 'a'
	} else {
		b[i] = 'a' // outside the alphabet
	}
	return string(b)
}

func resignWithKid(t *testing.T, s *Signer, c Credential, kid KeyID) string {
	t.Helper()
	forged := &Signer{key: s.key, alg: s.alg, kid: s.kid, signer: s.signer}
	forged.headers.Protected = maps(s.headers.Protected)
	forged.headers.Protected[int64(4)] = kid[:]
	text, err := forged.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func maps(m map[any]any) map[any]any {
	out := make(map[any]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestVerifyKeyValidityWindow(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	e, err := NewTrustEntry(testIssuer, f.signer.Public(), t0.AddDate(-3, 0, 0), t0.AddDate(-2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := NewTrustList(e)
	if err != nil {
		t.Fatal(err)
	}
	res := NewVerifier(tl, nil, testNow).Verify(f.sign(t, testCredential()))
	if res.Verdict != VerdictUnknownKey {
		t.Fatalf("verdict %s (%s), want unknown-key for a key no longer trusted", res.Verdict, res.Reason)
	}
}

func TestTrustListRejectsWrongKid(t *testing.T) {
	k := testKey(t, AlgEd25519)
	e, err := NewTrustEntry(testIssuer, k.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.KID = "0000000000000000"
	if _, err := NewTrustList(e); err == nil {
		t.Fatal("trust entry with a wrong kid accepted")
	}
}

func TestTrustAndDenyListFiles(t *testing.T) {
	f := newFixture(t, AlgES256)
	e, _ := NewTrustEntry(testIssuer, f.signer.Public(), t0, t0.AddDate(1, 0, 0))
	b, err := MarshalTrustList([]TrustEntry{e})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ParseTrustList(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.Entries(); len(got) != 1 || got[0].KID != f.signer.KeyID().String() {
		t.Fatalf("entries %+v", got)
	}
	if _, err := ParseTrustList(strings.NewReader(`{"keys":[],"extra":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	d := NewDenyList(t0, []string{"B", "A", "B"})
	db, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ParseDenyList(bytes.NewReader(db))
	if err != nil {
		t.Fatal(err)
	}
	if !d2.Contains("A") || !d2.Contains("B") || d2.Contains("C") || len(d2.Serials) != 2 {
		t.Fatalf("deny list round trip: %+v", d2)
	}
}

// TestRoundTripThroughPNG is the card round trip: sign, render the QR on
// the 300 dpi dot grid into a full card K panel, encode it as PNG, decode
// the PNG, read the QR back, verify, and compare the fields.
func TestRoundTripThroughPNG(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	c := testCredential()
	text := f.sign(t, c)
	g := printer.CR80(300)
	fit, err := FitQR(text, ECCM, 30, g.DPI)
	if err != nil {
		t.Fatal(err)
	}
	if fit.DotsPerModule < 4 {
		t.Fatalf("fit %+v", fit)
	}
	k := renderCardK(t, g, text, 4)
	var buf bytes.Buffer
	if err := png.Encode(&buf, printer.Flatten(&printer.Side{K: k}, g)); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]image.Image{"png": img, "mono": k} {
		res, got, err := VerifyRendered(src, f.verifier)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != text || !res.Valid() {
			t.Fatalf("%s: verdict %s (%s)", name, res.Verdict, res.Reason)
		}
		assertSameCredential(t, *res.Credential, c)
	}
}

// renderCardK draws a QR at dpm dots per module on the right of a card K
// panel with some clutter (a frame and text-like bars) around it.
func renderCardK(tb testing.TB, g printer.Geometry, text string, dpm int) *printer.Mono {
	tb.Helper()
	q, err := RenderQR(text, ECCM, dpm)
	if err != nil {
		tb.Fatal(err)
	}
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(20, 20, g.Width-20, 24), true)
	for i := 0; i < 6; i++ {
		k.Fill(image.Rect(40, 80+60*i, 400, 110+60*i), true)
	}
	off := image.Pt(g.Width-q.Rect.Dx()-40, (g.Height-q.Rect.Dy())/2)
	for y := 0; y < q.Rect.Dy(); y++ {
		for x := 0; x < q.Rect.Dx(); x++ {
			k.SetBit(off.X+x, off.Y+y, q.BitAt(x, y))
		}
	}
	return k
}

func TestFitQR(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	text := f.sign(t, testCredential())
	tests := []struct {
		name   string
		ecc    ECC
		box    float64
		dpi    int
		wantOK bool
		minDPM int
	}{
		{"300dpi 30mm", ECCM, 30, 300, true, 4},
		{"600dpi 30mm", ECCM, 30, 600, true, 8},
		{"300dpi 12mm", ECCM, 12, 300, false, 0},
		{"600dpi 15mm", ECCH, 15, 600, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := FitQR(text, tt.ecc, tt.box, tt.dpi)
			if !tt.wantOK {
				if err == nil {
					t.Fatalf("fit %+v, want ErrQRTooLarge", fit)
				}
				if !strings.Contains(err.Error(), "mm") || !strings.Contains(err.Error(), "version") {
					t.Fatalf("error does not name the sizes: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fit.DotsPerModule < tt.minDPM || fit.SideMM > tt.box || fit.Modules != 17+4*fit.Version {
				t.Fatalf("fit %+v", fit)
			}
		})
	}
}

// signedPart returns the payload and protected header of a COSE_Sign1,
// tagged or not: the bytes the signature covers.
func signedPart(raw []byte) (payload, protected []byte, ok bool) {
	msg, err := decodeSign1(raw)
	if err != nil {
		return nil, nil, false
	}
	return msg.Payload, msg.Headers.RawProtected, true
}

// forged reports whether raw, which the verifier called valid, holds
// anything but exactly the payload and protected header signed in good.
func forged(raw, good []byte) bool {
	p, h, ok := signedPart(raw)
	gp, gh, _ := signedPart(good)
	return !ok || !bytes.Equal(p, gp) || !bytes.Equal(h, gh)
}

func assertNotForged(t *testing.T, raw, good []byte) {
	t.Helper()
	if forged(raw, good) {
		t.Fatalf("forgery reported valid: %x", raw)
	}
}

// FuzzVerify mutates QR texts (the fuzzer's own mutations of the signed
// card in zlib and Brotli, tagged, untagged and CWT-tagged forms). Any
// text the verifier calls valid must carry exactly the signed payload and
// protected header: the zlib, Brotli and tag layers are not signed and may
// differ, the signed bytes may not.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, AlgEd25519)
	good := fx.sign(f, testCredential())
	gz, _ := base45.Decode(good)
	graw, err := inflate(gz)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add("")
	f.Add(zlibBase45Seed([]byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, 0xa0, 0x41, 0x00, 0x40}))
	for _, raw := range coseForms(f, graw) {
		f.Add(zlibBase45Seed(raw))
		f.Add(brotliBase45Seed(raw))
	}
	f.Fuzz(func(t *testing.T, text string) {
		res := fx.verifier.Verify(text)
		if res.Verdict == "" {
			t.Fatal("empty verdict")
		}
		if res.Valid() {
			z, _ := base45.Decode(text)
			raw, err := inflate(z)
			if err != nil {
				t.Fatalf("valid verdict for a text that does not inflate: %q", text)
			}
			assertNotForged(t, raw, graw)
		}
	})
}

// coseForms returns a tagged COSE_Sign1 (tag 18) in the three forms a
// verifier reads: as it is, untagged, and inside the CWT tag 61.
func coseForms(tb testing.TB, tagged []byte) [][]byte {
	tb.Helper()
	if len(tagged) < 2 || tagged[0] != 0xd2 {
		tb.Fatalf("not a tagged COSE_Sign1: %x", tagged)
	}
	return [][]byte{tagged, tagged[1:], append([]byte{0xd8, tagCWT}, tagged...)}
}

// FuzzVerifyCOSE fuzzes below the Base45 and compression layers, where the
// mutations reach the CBOR and COSE decoders directly: the fuzzer mutates
// the signed message (in each outer form). A "valid" verdict for anything
// but exactly the signed payload and protected header is a forgery.
func FuzzVerifyCOSE(f *testing.F) {
	fx := newFixture(f, AlgEd25519)
	raw, err := fx.signer.SignCOSE(testCredential())
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range coseForms(f, raw) {
		f.Add(b)
	}
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Add(mosipExample(f, "cwt"))
	f.Add(mosipExample(f, "untagged"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := fx.verifier.VerifyCOSE(b)
		if res.Verdict == "" {
			t.Fatal("empty verdict")
		}
		if res.Valid() {
			assertNotForged(t, b, raw)
		}
	})
}

// TestFuzzOraclesCatchForgery checks the fuzz targets' oracle itself: a
// message signed by the trusted key over another payload (what a forgery
// that got past the verifier would look like) is caught, and the
// re-tagged original is not.
func TestFuzzOraclesCatchForgery(t *testing.T) {
	fx := newFixture(t, AlgEd25519)
	raw, err := fx.signer.SignCOSE(testCredential())
	if err != nil {
		t.Fatal(err)
	}
	c := testCredential()
	c.FullName = "Someone Else"
	other, err := fx.signer.SignCOSE(c)
	if err != nil {
		t.Fatal(err)
	}
	if !fx.verifier.VerifyCOSE(other).Valid() {
		t.Fatal("the other message does not verify")
	}
	for _, b := range coseForms(t, raw) {
		assertNotForged(t, b, raw)
	}
	if !forged(other, raw) {
		t.Fatal("the oracle let a different signed payload pass")
	}
}

func brotliBase45Seed(b []byte) string {
	var buf bytes.Buffer
	bw := brotli.NewWriter(&buf)
	bw.Write(b)
	bw.Close()
	return base45.Encode(buf.Bytes())
}

func zlibBase45Seed(b []byte) string {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return base45.Encode(buf.Bytes())
}

// TestDecodeQRFalseFinder decodes a rendered back K panel on which the
// QR detector takes a data pattern for a finder pattern and misjudges the
// symbol's dimension; DecodeQR must recover it through the finder crop.
func TestDecodeQRFalseFinder(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "qr_false_finder.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := DecodeQR(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base45.Decode(text); err != nil || len(text) < 200 {
		t.Fatalf("decoded %d characters: %v", len(text), err)
	}
}

// TestDecodeQRManySymbols renders many different signed payloads at 4 and
// 5 dots per module on a card K panel with clutter and checks every one
// reads back (the detector's false finders are payload-dependent).
func TestDecodeQRManySymbols(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	g := printer.CR80(300)
	n := 24
	if testing.Short() {
		n = 6
	}
	for i := 0; i < n; i++ {
		c := testCredential()
		c.ID = fmt.Sprintf("CARD-01-%07d-%c", i+1, mustCheckChar(fmt.Sprintf("CARD-01-%07d", i+1)))
		text := f.sign(t, c)
		for _, dpm := range []int{4, 5} {
			k := renderCardK(t, g, text, dpm)
			got, err := DecodeQR(k)
			if err != nil || got != text {
				t.Fatalf("serial %s at %d dots/module: %v", c.ID, dpm, err)
			}
		}
	}
}

// TestDecodeQRImageTypes reads the same card back from the image types the
// decoders produce (fast paths) and from a generic image.
func TestDecodeQRImageTypes(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	text := f.sign(t, testCredential())
	g := printer.CR80(300)
	k := renderCardK(t, g, text, 4)
	rgba := printer.Flatten(&printer.Side{K: k}, g)
	gray := image.NewGray(rgba.Rect)
	nrgba := image.NewNRGBA(rgba.Rect)
	ycc := image.NewYCbCr(rgba.Rect, image.YCbCrSubsampleRatio420)
	for y := 0; y < g.Height; y++ {
		for x := 0; x < g.Width; x++ {
			v := uint8(255)
			if k.BitAt(x, y) {
				v = 0
			}
			gray.Pix[gray.PixOffset(x, y)] = v
			nrgba.Set(x, y, rgba.At(x, y))
			ycc.Y[ycc.YOffset(x, y)] = v
		}
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	paletted := image.NewPaletted(rgba.Rect, []color.Color{color.White, color.Black})
	draw.Draw(paletted, paletted.Rect, rgba, image.Point{}, draw.Src)
	for name, img := range map[string]image.Image{"mono": k, "rgba": rgba, "gray": gray, "nrgba": nrgba, "ycbcr": ycc, "paletted": paletted} {
		got, err := DecodeQR(img)
		if err != nil || got != text {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDecodeQRFromScan simulates a scan or photo of a printed card: the
// rendered side resampled to a non-integer scale, blurred a little, grey
// background, JPEG-compressed.
func TestDecodeQRFromScan(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	text := f.sign(t, testCredential())
	g := printer.CR80(300)
	card := printer.Flatten(&printer.Side{K: renderCardK(t, g, text, 4)}, g)
	for _, tc := range []struct{ scale, angle float64 }{{0.77, 0}, {1.6, 0}, {1.1, 4}} {
		scale := tc.scale
		img := imaging.Resize(card, int(float64(g.Width)*scale), 0, imaging.Lanczos)
		if tc.angle != 0 {
			img = imaging.Rotate(img, tc.angle, color.White)
		}
		img = imaging.Blur(img, 0.6)
		img = imaging.AdjustBrightness(imaging.AdjustContrast(img, -25), -8)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
			t.Fatal(err)
		}
		scan, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeQR(scan)
		if err != nil || got != text {
			t.Fatalf("scale %.2f: %v", scale, err)
		}
		if r := f.verifier.Verify(got); !r.Valid() {
			t.Fatalf("scale %.2f: %s", scale, r.Verdict)
		}
	}
}

// TestQRSymbolRoundTrip: a symbol encoded once fits and renders like
// FitQR and RenderQR, and the rendered symbol decodes back to the text.
func TestQRSymbolRoundTrip(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	text := f.sign(t, testCredential())
	sym, err := EncodeQR(text, ECCM)
	if err != nil {
		t.Fatal(err)
	}
	for _, dpi := range []int{300, 600} {
		want, err := FitQR(text, ECCM, 26, dpi)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sym.Fit(26, dpi)
		if err != nil || got != want {
			t.Fatalf("%d dpi: Fit = %+v, %v; FitQR = %+v", dpi, got, err, want)
		}
		if sym.Modules() != want.Modules {
			t.Errorf("Modules() = %d, want %d", sym.Modules(), want.Modules)
		}
		m, err := sym.Render(got.DotsPerModule)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := RenderQR(text, ECCM, got.DotsPerModule)
		if err != nil {
			t.Fatal(err)
		}
		if m.Rect != ref.Rect || !bytes.Equal(m.Pix, ref.Pix) {
			t.Fatalf("%d dpi: Render differs from RenderQR", dpi)
		}
		g := image.NewGray(m.Rect)
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
				if !m.BitAt(x, y) {
					g.Pix[g.PixOffset(x, y)] = 0xff
				}
			}
		}
		dec, err := DecodeQR(g)
		if err != nil || dec != text {
			t.Fatalf("%d dpi: decoded %q, %v; want the signed text", dpi, dec, err)
		}
	}
	if _, err := sym.Fit(10, 300); !errors.Is(err, ErrQRTooLarge) {
		t.Errorf("10 mm box: err = %v, want ErrQRTooLarge", err)
	}
	if _, err := sym.Render(0); err == nil {
		t.Error("Render(0) accepted")
	}
}
