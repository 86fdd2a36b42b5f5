package layout_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
)

const securityTemplate = `
name = "sectest"

[front]

[[front.element]]
kind = "guilloche"
x = 30.0
y = 4.0
w = 46.0
h = 46.0
seed = 1729
per_card = true

[[front.element]]
kind = "guilloche"
style = "band"
x = 0.5
y = 0.5
w = 84.6
h = 53.0
panel = "color"

[[front.element]]
kind = "photo"
x = 3.0
y = 12.0
w = 25.0
h = 32.0

[[front.element]]
kind = "microtext"
path = "rect"
x = 3.0
y = 12.0
w = 25.0
h = 32.0
text = "{{.Serial}} {{.date_of_birth | date \"20060102\"}}"
separator = "*"

[[front.element]]
kind = "microtext"
x = 31.0
y = 46.0
w = 50.0
text = "{{.surname}}"
negative = true

[[front.element]]
kind = "ghost"
x = 62.0
y = 26.0
w = 16.0
h = 20.0

[[front.element]]
kind = "ghost"
panel = "uv"
x = 62.0
y = 4.0
w = 16.0
h = 20.0

[back]

[[back.element]]
kind = "signed_qr"
x = 50.0
y = 12.0
w = 32.0
h = 32.0
full_name = "{{.given_names}} {{.surname | upper}}"
date_of_birth = "{{.date_of_birth | date \"20060102\"}}"
gender = "{{.sex}}"
nationality = "{{.nationality}}"
country = "EXA"
`

var secNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func secFixture(t testing.TB) (*security.Signer, *security.Verifier) {
	t.Helper()
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, err := security.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	e, err := security.NewTrustEntry("https://id.example.org", s.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := security.NewTrustList(e)
	if err != nil {
		t.Fatal(err)
	}
	return s, security.NewVerifier(tl, nil, func() time.Time { return secNow })
}

func secData() *layout.Data {
	return &layout.Data{
		JobID: "J-1",
		Fields: map[string]string{
			"surname": "Okafor", "given_names": "Amina Jane", "date_of_birth": "1987-04-12",
			"sex": "F", "nationality": "EXA",
		},
		Photo:    samplePhoto(),
		Serial:   "EXMP-01-0000042-" + string(mustCheck("EXMP-01-0000042")),
		CardType: layout.CardPermanent,
		IssuedAt: secNow.Add(-time.Hour),
		Expires:  secNow.AddDate(10, 0, 0),
	}
}

func mustCheck(body string) byte {
	c, err := security.CheckChar(body)
	if err != nil {
		panic(err)
	}
	return c
}

func samplePhoto() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, samples.Portrait(7, 300, 400)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// TestSecurityElementsRoundTrip renders a card with every security kind,
// then decodes the QR code back from the K panel and from a PNG of the
// flattened back, verifies it and compares the signed fields with the
// job's.
func TestSecurityElementsRoundTrip(t *testing.T) {
	s, v := secFixture(t)
	kinds := layout.WithSigner(layout.DefaultKinds(), s, "https://id.example.org")
	tp, err := layout.ParseTemplate("sectest.toml", []byte(securityTemplate), &layout.ParseOptions{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	for _, dpi := range []int{300, 600} {
		t.Run(string(rune('0'+dpi/100))+"00dpi", func(t *testing.T) {
			d := secData()
			g := printer.CR80(dpi)
			card, err := layout.NewRenderer(nil).Render(context.Background(), tp, d, g)
			if err != nil {
				t.Fatal(err)
			}
			if card.Back == nil || card.Back.K == nil {
				t.Fatal("no back K panel")
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, printer.Flatten(card.Back, g)); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for name, src := range map[string]image.Image{"k": card.Back.K, "png": img} {
				res, text, err := security.VerifyRendered(src, v)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !res.Valid() {
					t.Fatalf("%s: verdict %s (%s)", name, res.Verdict, res.Reason)
				}
				c := res.Credential
				if c.ID != d.Serial || c.FullName != "Amina Jane OKAFOR" || c.DateOfBirth != "19870412" ||
					c.Gender != security.GenderFemale || c.Nationality != "EXA" || c.CountryOfIssuance != "EXA" ||
					c.CardType != security.CardPermanent || !c.Expires.Equal(d.Expires) {
					t.Fatalf("%s: signed fields %+v differ from the job", name, c)
				}
				if security.PayloadHash(text) == "" {
					t.Fatal("no payload hash")
				}
			}
			// The front got its features: microtext around the photo in K,
			// guilloche and ghost in colour, the UV ghost.
			f := card.Front
			if f.K == nil || f.K.Count() < 500 {
				t.Fatalf("front K has %d dots of microtext", countOrZero(f.K))
			}
			if f.UV == nil || f.UV.Count() == 0 {
				t.Fatal("no UV ghost")
			}
			if f.Color == nil {
				t.Fatal("no colour panel")
			}
		})
	}
}

func countOrZero(m *printer.Mono) int {
	if m == nil {
		return 0
	}
	return m.Count()
}

// TestSignedQRCapacityError shrinks the QR box until the payload cannot
// fit and checks the error names the template and the sizes.
func TestSignedQRCapacityError(t *testing.T) {
	s, _ := secFixture(t)
	kinds := layout.WithSigner(layout.DefaultKinds(), s, "https://id.example.org")
	src := strings.Replace(securityTemplate, "w = 32.0\nh = 32.0", "w = 14.0\nh = 14.0", 1)
	tp, err := layout.ParseTemplate("sectest.toml", []byte(src), &layout.ParseOptions{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	_, err = layout.NewRenderer(nil).Render(context.Background(), tp, secData(), printer.CR80(300))
	if !errors.Is(err, security.ErrQRTooLarge) {
		t.Fatalf("err = %v, want ErrQRTooLarge", err)
	}
	for _, want := range []string{"sectest", "mm", "version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestSignedQRPreviewKeyIsNotTrusted: without WithSigner the element signs
// with a throwaway key, which the pre-print check refuses.
func TestSignedQRPreviewKeyIsNotTrusted(t *testing.T) {
	_, v := secFixture(t)
	tp, err := layout.ParseTemplate("sectest.toml", []byte(securityTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	card, err := layout.NewRenderer(nil).Render(context.Background(), tp, secData(), printer.CR80(300))
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := security.VerifyRendered(card.Back.K, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != security.VerdictUnknownKey {
		t.Fatalf("preview card verdict %s, want unknown-key", res.Verdict)
	}
}

func TestSecurityElementInitErrors(t *testing.T) {
	tests := []struct{ name, elem, field string }{
		{"microtext bad path", "kind = \"microtext\"\npath = \"spiral\"\nw = 10.0\ntext = \"A\"", "path"},
		{"microtext negative colour", "kind = \"microtext\"\npanel = \"color\"\nnegative = true\nw = 10.0\ntext = \"A\"", "negative"},
		{"guilloche no box", "kind = \"guilloche\"", "w"},
		{"guilloche bad curve", "kind = \"guilloche\"\nw = 10.0\nh = 10.0\ncurve = \"spiral\"", "curve"},
		{"guilloche bad radii", "kind = \"guilloche\"\nw = 10.0\nh = 10.0\nbig_r = 5\nsmall_r = 5", "style"},
		{"guilloche 1-dot colour line", "kind = \"guilloche\"\nw = 10.0\nh = 10.0\nline_width = 1", "line_width"},
		{"ghost on k", "kind = \"ghost\"\npanel = \"k\"\nw = 10.0\nh = 10.0", "panel"},
		{"signed_qr small module", "kind = \"signed_qr\"\nw = 30.0\nh = 30.0\nmodule = 2", "module"},
		{"signed_qr bad ecc", "kind = \"signed_qr\"\nw = 30.0\nh = 30.0\necc = \"Z\"", "ecc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name = \"bad\"\n[front]\n[[front.element]]\n" + tt.elem + "\n"
			_, err := layout.ParseTemplate("bad.toml", []byte(src), nil)
			var le *layout.Error
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *layout.Error", err)
			}
			if le.Field != tt.field && !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %v does not name field %q", err, tt.field)
			}
		})
	}
}

// BenchmarkSecurityFront renders the front of the security test template
// with a cached guilloche (per_card off) and microtext: the cost the
// security features add to one side.
func BenchmarkSecurityFeaturesSide(b *testing.B) {
	src := `
name = "secbench"
[front]
[[front.element]]
kind = "guilloche"
x = 30.0
y = 4.0
w = 46.0
h = 46.0
seed = 1729
[[front.element]]
kind = "guilloche"
style = "band"
x = 0.5
y = 0.5
w = 84.6
h = 53.0
[[front.element]]
kind = "microtext"
path = "rect"
x = 3.0
y = 12.0
w = 25.0
h = 32.0
text = "{{.Serial}} {{.date_of_birth | date \"20060102\"}}"
[[front.element]]
kind = "microtext"
path = "rect"
x = 1.5
y = 1.5
w = 82.6
h = 51.0
text = "REPUBLIC OF EXAMPLE"
[[front.element]]
kind = "microtext"
x = 31.0
y = 46.0
w = 50.0
text = "{{.surname}} {{.surname}}"
negative = true
`
	tp, err := layout.ParseTemplate("secbench.toml", []byte(src), nil)
	if err != nil {
		b.Fatal(err)
	}
	r := layout.NewRenderer(nil)
	d := secData()
	g := printer.CR80(300)
	ctx := context.Background()
	if _, err := r.Render(ctx, tp, d, g); err != nil { // fill the guilloche cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := benchcpu.Process()
	for b.Loop() {
		if _, err := r.Render(ctx, tp, d, g); err != nil {
			b.Fatal(err)
		}
	}
	// The build machine is shared: report the process CPU time per card
	// side too, which contention does not inflate the way it does ns/op.
	benchcpu.ReportProcess(b, cpu0)
}
