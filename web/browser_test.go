package web

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/base45"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive. Without one the browser tests are
// skipped, except under CI=true, where they must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: install it with 'apt-get install -y --no-install-recommends chromium' to run the verifier page's browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a
// tab context. It also records every network request the tab makes.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) (context.Context, *requestLog) {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Only a hung browser ends here; every step waits for its event.
	ctx = testwait.Context(t, ctx)
	reqs := &requestLog{}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			reqs.add(e.Request.URL)
		case *runtime.EventExceptionThrown:
			reqs.addException(e.ExceptionDetails.Text + " " + describeException(e.ExceptionDetails))
		}
	}); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	enable := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	})
	if err := chromedp.Do(ctx, enable); err != nil {
		t.Fatalf("Chromium %s: enable network events: %v", path, err)
	}
	return ctx, reqs
}

// requestLog records what a tab did that a test forbids: network
// requests and uncaught script exceptions.
type requestLog struct {
	mu         sync.Mutex
	urls       []string
	exceptions []string
}

func (r *requestLog) addException(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exceptions = append(r.exceptions, s)
}

// check fails the test on any request outside the page or any uncaught
// exception.
func (r *requestLog) check(t *testing.T, page string) {
	t.Helper()
	if out := r.outside(page); len(out) != 0 {
		t.Errorf("the page made network requests: %q", out)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exceptions) != 0 {
		t.Errorf("uncaught exceptions in the page: %q", r.exceptions)
	}
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil || d.Exception == nil {
		return ""
	}
	return d.Exception.Description
}

func (r *requestLog) add(u string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, u)
}

// outside returns the requests to anything but the page itself and the
// page-local blob: and data: URLs.
func (r *requestLog) outside(page string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, u := range r.urls {
		if u == page || strings.HasPrefix(u, "blob:") || strings.HasPrefix(u, "data:") {
			continue
		}
		out = append(out, u)
	}
	return out
}

// cardKit signs test credentials and knows the lists to embed.
type cardKit struct {
	signer  *security.Signer
	trust   *security.TrustList
	deny    *security.DenyList
	issuer  string
	now     time.Time
	face    []byte
	esKey   crypto.Signer
	esEntry security.TrustEntry
}

func newCardKit(t *testing.T) *cardKit {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	const issuer = "https://id.example.org"
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, err := security.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := security.NewTrustEntry(issuer, key.Public(), now.AddDate(-3, 0, 0), now.AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	esKey, err := security.GenerateKey(security.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	esEntry, err := security.NewTrustEntry(issuer, esKey.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := security.NewTrustList(entry, esEntry)
	if err != nil {
		t.Fatal(err)
	}
	return &cardKit{
		signer: s, trust: trust, deny: security.NewDenyList(now, []string{"REVOKED-0001"}),
		issuer: issuer, now: now, face: tinyFace(t), esKey: esKey, esEntry: esEntry,
	}
}

// tinyFace returns a small PNG to sign as the face thumbnail.
func tinyFace(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 24, 32))
	for y := range 32 {
		for x := range 24 {
			img.SetGray(x, y, color.Gray{uint8(40 + 6*x + 2*y)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (k *cardKit) credential(id string) security.Credential {
	return security.Credential{
		Issuer: k.issuer, IssuedAt: k.now.Add(-time.Hour), NotBefore: k.now.Add(-time.Hour), Expires: k.now.AddDate(0, 0, 30),
		ID: id, FullName: "ALICE EXAMPLE", DateOfBirth: "19900214", Gender: security.GenderFemale,
		Nationality: "XK", CountryOfIssuance: "XK", LegalStatus: "citizen", CardType: security.CardTemporary,
		Face: &security.Face{Data: k.face, SubFormat: security.FacePNG},
	}
}

func (k *cardKit) sign(t *testing.T, c security.Credential) string {
	t.Helper()
	text, err := k.signer.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// tamper changes one letter of the signed full name inside the COSE_Sign1
// and re-encodes it: the structure stays valid, the signature does not.
func tamper(t *testing.T, text, from, to string) string {
	t.Helper()
	z, err := base45.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(from)) || len(from) != len(to) {
		t.Fatalf("tamper: %q not in the payload", from)
	}
	raw = bytes.Replace(raw, []byte(from), []byte(to), 1)
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return base45.Encode(buf.Bytes())
}

// cardImage renders text as a QR code placed on a white 1016×648 card (a
// CR80 side at 300 dpi), as the K panel would carry it, and writes a PNG.
func cardImage(t *testing.T, dir, name, text string) string {
	t.Helper()
	qr, err := security.RenderQR(text, security.ECCM, 4)
	if err != nil {
		t.Fatal(err)
	}
	card := image.NewGray(image.Rect(0, 0, 1016, 648))
	draw.Draw(card, card.Bounds(), image.White, image.Point{}, draw.Src)
	// some dark "artwork" so the QR is not alone on the card
	draw.Draw(card, image.Rect(40, 40, 300, 360), image.NewUniform(color.Gray{90}), image.Point{}, draw.Src)
	at := image.Pt(1016-40-qr.Bounds().Dx(), 648-40-qr.Bounds().Dy())
	for y := 0; y < qr.Bounds().Dy(); y++ {
		for x := 0; x < qr.Bounds().Dx(); x++ {
			if qr.BitAt(qr.Bounds().Min.X+x, qr.Bounds().Min.Y+y) {
				card.SetGray(at.X+x, at.Y+y, color.Gray{0})
			}
		}
	}
	path := filepath.Join(dir, name+".png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, card); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// pageVerdict waits for the page to show a final verdict and returns it,
// logging how long the page took.
func pageVerdict(t *testing.T, ctx context.Context) string {
	t.Helper()
	start := time.Now()
	v, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(() => { const v = document.getElementById("verdict").dataset.verdict; return v && v !== "reading" ? v : false; })()`,
		chromedp.WithPollingTimeout(testwait.Limit())))
	if err != nil {
		t.Fatalf("waiting for a verdict (%v): %v", time.Since(start).Round(time.Millisecond), err)
	}
	t.Logf("verdict %s after %v", v, time.Since(start).Round(time.Millisecond))
	return v
}

func TestBrowserVerifierImages(t *testing.T) {
	ctx, reqs := newBrowser(t)
	kit := newCardKit(t)
	srv := httptest.NewServer(VerifyHandler(func(context.Context) (PageOptions, error) {
		return PageOptions{Trust: kit.trust, Deny: kit.deny, Generated: kit.now}, nil
	}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	pageURL := srv.URL + "/verify"

	valid := kit.sign(t, kit.credential("XK-0001-00042-7"))
	expired := kit.credential("XK-0001-00043-5")
	expired.IssuedAt, expired.NotBefore, expired.Expires = kit.now.AddDate(-1, 0, 0), kit.now.AddDate(-1, 0, 0), kit.now.AddDate(0, 0, -1)

	dir := t.TempDir()
	cases := []struct {
		name, text, want string
		fields           map[string]string
	}{
		{"valid", valid, "valid", map[string]string{"full_name": "ALICE EXAMPLE", "id": "XK-0001-00042-7", "date_of_birth": "1990-02-14"}},
		{"tampered", tamper(t, valid, "ALICE", "ALICF"), "bad-signature", map[string]string{"full_name": "ALICF EXAMPLE"}},
		{"expired", kit.sign(t, expired), "expired", map[string]string{"id": "XK-0001-00043-5"}},
		{"revoked", kit.sign(t, kit.credential("REVOKED-0001")), "revoked", nil},
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("body[data-ready]"))); err != nil {
		t.Fatalf("load %s: %v", pageURL, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := cardImage(t, dir, tc.name, tc.text)
			// the same image through the Go verifier gives the same verdict
			goRes, _, err := security.VerifyRendered(mustDecodePNG(t, img), security.NewVerifier(kit.trust, kit.deny, nil))
			if err != nil {
				t.Fatalf("Go side cannot read %s: %v", img, err)
			}
			if string(goRes.Verdict) != tc.want {
				t.Fatalf("Go verifier says %s (%s), test wants %s", goRes.Verdict, goRes.Reason, tc.want)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("verdict").dataset.verdict = "reading"`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{img})); err != nil {
				t.Fatal(err)
			}
			if got := pageVerdict(t, ctx); got != tc.want {
				reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("reason").textContent`))
				t.Fatalf("page verdict %q (%s), want %q", got, reason, tc.want)
			}
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
				`Object.fromEntries([...document.querySelectorAll("#fields tr")].map(tr => [tr.dataset.field, tr.querySelector("td").textContent]))`))
			if err != nil {
				t.Fatal(err)
			}
			for field, want := range tc.fields {
				if got := shown[field]; got != want {
					t.Errorf("field %s = %q, want %q (page shows %q)", field, got, want, shown)
				}
			}
			// the signed face shows once the signature verified, never on a forgery
			if tc.want == "bad-signature" {
				if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("face").hidden`)); err != nil || shown {
					t.Errorf("face of a card with a bad signature shown (%v)", err)
				}
			} else if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const f = document.getElementById("face"); return !f.hidden && f.complete && f.naturalWidth === 24; })()`,
				chromedp.WithPollingTimeout(testwait.Limit()))); err != nil {
				t.Errorf("face thumbnail not shown: %v", err)
			}
			warn, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("unverified").hidden`))
			if err != nil {
				t.Fatal(err)
			}
			if warn != (tc.want != "valid") {
				t.Errorf("'not verified' warning shown = %v for verdict %s", warn, tc.want)
			}
		})
	}
	reqs.check(t, pageURL)
}

func mustDecodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestBrowserVerifierAgreesWithGo checks, through the text entry, that the
// page and package security's Verifier reach the same verdict for each kind
// of card and for broken inputs.
func TestBrowserVerifierAgreesWithGo(t *testing.T) {
	ctx, reqs := newBrowser(t)
	kit := newCardKit(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "verify.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePage(f, PageOptions{Trust: kit.trust, Deny: kit.deny}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pageURL := (&url.URL{Scheme: "file", Path: page}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("body[data-ready]"))); err != nil {
		t.Fatalf("load %s: %v", pageURL, err)
	}

	valid := kit.sign(t, kit.credential("XK-1"))
	notYet := kit.credential("XK-2")
	notYet.NotBefore, notYet.Expires = kit.now.AddDate(0, 0, 2), kit.now.AddDate(0, 0, 30)
	beforeKey := kit.credential("XK-3")
	beforeKey.IssuedAt, beforeKey.NotBefore = kit.now.AddDate(-4, 0, 0), time.Time{}
	wrongIssuer := kit.credential("XK-4")
	wrongIssuer.Issuer = "https://evil.example"
	other, _ := security.GenerateKey(security.AlgEd25519)
	otherSigner, _ := security.NewSigner(other)
	otherText, err := otherSigner.Sign(kit.credential("XK-5"))
	if err != nil {
		t.Fatal(err)
	}
	esSigner, err := security.NewSigner(kit.esKey)
	if err != nil {
		t.Fatal(err)
	}
	esText, err := esSigner.Sign(kit.credential("XK-6"))
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{
		"valid":          valid,
		"es256":          esText,
		"not-yet-valid":  kit.sign(t, notYet),
		"before-key":     kit.sign(t, beforeKey),
		"wrong-issuer":   kit.sign(t, wrongIssuer),
		"other-key":      otherText,
		"tampered":       tamper(t, valid, "XK-1", "XK-9"),
		"truncated":      valid[:len(valid)/2],
		"truncated-3":    valid[:len(valid)-3],
		"garbage":        "HELLO WORLD",
		"not-base45":     "abc",
		"empty":          "",
		"zlib-of-junk":   zlibBase45(t, []byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}),
		"untagged":       zlibBase45(t, []byte{0x84, 0x40, 0xa0, 0x40, 0x40}),
		"deep-array":     zlibBase45(t, bytes.Repeat([]byte{0x81}, 200)),
		"zlib-bomb":      zlibBase45(t, make([]byte, 64<<10)),
		"trailing-bytes": zlibBase45(t, append(mustInflate(t, valid), 0x00)),
		// Claim 169 allows Brotli as well as zlib: the same cards
		// compressed by the Go side's Brotli encoder.
		"brotli-valid":     brotliBase45(t, mustInflate(t, valid)),
		"brotli-es256":     brotliBase45(t, mustInflate(t, esText)),
		"brotli-untagged":  brotliBase45(t, mustInflate(t, valid)[1:]),
		"brotli-cwt":       brotliBase45(t, append([]byte{0xd8, 0x3d}, mustInflate(t, valid)...)),
		"brotli-tampered":  brotliBase45(t, flipLast(mustInflate(t, valid))),
		"brotli-revoked":   brotliBase45(t, mustInflate(t, kit.sign(t, kit.credential(kit.deny.Serials[0])))),
		"brotli-truncated": brotliTruncated(t, mustInflate(t, valid)),
		"brotli-bomb":      brotliBase45(t, make([]byte, 1<<20)),
		"brotli-of-junk":   brotliBase45(t, []byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}),
	}
	// Besides agreeing with Go, these must get exactly this verdict.
	expect := map[string]string{
		"valid": "valid", "es256": "valid",
		"brotli-valid": "valid", "brotli-es256": "valid", "brotli-untagged": "valid", "brotli-cwt": "valid",
		"brotli-tampered": "bad-signature", "brotli-revoked": "revoked",
		"brotli-truncated": "malformed", "brotli-bomb": "malformed", "brotli-of-junk": "malformed",
	}
	goV := security.NewVerifier(kit.trust, kit.deny, nil)
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			want := goV.Verify(text)
			type verdict struct {
				Verdict string `json:"verdict"`
				Reason  string `json:"reason"`
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[verdict](`window.carddVerifyText(`+jsString(text)+`)`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != string(want.Verdict) {
				t.Errorf("page says %s (%s), Go says %s (%s)", got.Verdict, got.Reason, want.Verdict, want.Reason)
			}
			if v, ok := expect[name]; ok && got.Verdict != v {
				t.Errorf("page says %s (%s), want %s", got.Verdict, got.Reason, v)
			}
		})
	}
	reqs.check(t, pageURL)
}

func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func zlibBase45(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return base45.Encode(buf.Bytes())
}

// brotliBase45 compresses raw with the Go side's Brotli encoder
// (andybalholm/brotli, as security's tests do) and Base45-encodes it: a
// Claim 169 payload in the form an issuer other than cardd may send.
func brotliBase45(t *testing.T, raw []byte) string {
	t.Helper()
	return base45.Encode(brotliBytes(t, raw))
}

func brotliBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	bw.Write(raw)
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// brotliTruncated is a Brotli stream of raw cut short by a third.
func brotliTruncated(t *testing.T, raw []byte) string {
	t.Helper()
	b := brotliBytes(t, raw)
	return base45.Encode(b[:len(b)*2/3])
}

// flipLast returns b with its last byte's lowest bit flipped (a COSE
// signature that no longer verifies).
func flipLast(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}

func mustInflate(t *testing.T, text string) []byte {
	t.Helper()
	z, err := base45.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestBrowserVerifierMutations is a differential fuzz run with a fixed
// seed: mutated COSE_Sign1 bytes and mutated QR texts go through the page
// and through package security's Verifier, which must reach the same
// verdict; the page must never fail to answer.
func TestBrowserVerifierMutations(t *testing.T) {
	ctx, reqs := newBrowser(t)
	kit := newCardKit(t)
	page := filepath.Join(t.TempDir(), "verify.html")
	b, err := Page(PageOptions{Trust: kit.trust, Deny: kit.deny})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate((&url.URL{Scheme: "file", Path: page}).String()), chromedp.WaitReady(chromedp.CSS("body[data-ready]"))); err != nil {
		t.Fatal(err)
	}
	valid := kit.sign(t, kit.credential("XK-7"))
	raw := mustInflate(t, valid)
	rng := rand.New(rand.NewPCG(169, 45))
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var texts []string
	for i := 0; i < 300; i++ {
		switch i % 3 {
		case 0: // flip bits in the COSE_Sign1
			m := bytes.Clone(raw)
			for range 1 + rng.IntN(3) {
				m[rng.IntN(len(m))] ^= byte(1 << rng.IntN(8))
			}
			texts = append(texts, zlibBase45(t, m))
		case 1: // cut or extend the COSE_Sign1
			n := rng.IntN(len(raw))
			texts = append(texts, zlibBase45(t, append(bytes.Clone(raw[:n]), raw[len(raw)-rng.IntN(len(raw)-n+1):]...)))
		case 2: // change characters of the text
			m := []byte(valid)
			for range 1 + rng.IntN(4) {
				m[rng.IntN(len(m))] = alphabet[rng.IntN(len(alphabet))]
			}
			texts = append(texts, string(m))
		}
	}
	arg, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`(async (ts) => { const out = []; for (const t of ts) out.push((await window.carddVerifyText(t)).verdict); return out; })(`+string(arg)+`)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("page answered %d of %d texts", len(got), len(texts))
	}
	v := security.NewVerifier(kit.trust, kit.deny, nil)
	counts := map[string]int{}
	for i, text := range texts {
		want := v.Verify(text)
		counts[got[i]]++
		if got[i] != string(want.Verdict) {
			t.Errorf("mutation %d: page says %s, Go says %s (%s); text %q", i, got[i], want.Verdict, want.Reason, text)
		}
	}
	t.Logf("verdicts of %d mutations: %v", len(texts), counts)
	reqs.check(t, (&url.URL{Scheme: "file", Path: page}).String())
}

// writeY4M writes img as a one-frame YUV4MPEG2 video (grey: the chroma
// planes are neutral), which Chromium's fake camera plays in a loop.
func writeY4M(t *testing.T, path string, img *image.Gray) {
	t.Helper()
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	for y := range h {
		b.Write(img.Pix[y*img.Stride : y*img.Stride+w])
	}
	b.Write(bytes.Repeat([]byte{128}, 2*((w+1)/2)*((h+1)/2)))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserVerifierCamera scans a card with the camera: Chromium's fake
// capture device plays a video of a rendered card, the page reads the QR
// code from the getUserMedia stream and shows the verdict.
func TestBrowserVerifierCamera(t *testing.T) {
	kit := newCardKit(t)
	dir := t.TempDir()
	pngPath := cardImage(t, dir, "camera", kit.sign(t, kit.credential("XK-0001-00077-1")))
	gray := image.NewGray(image.Rect(0, 0, 1016, 648))
	draw.Draw(gray, gray.Bounds(), mustDecodePNG(t, pngPath), image.Point{}, draw.Src)
	video := filepath.Join(dir, "card.y4m")
	writeY4M(t, video, gray)
	ctx, reqs := newBrowser(t,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video))
	srv := httptest.NewServer(VerifyHandler(func(context.Context) (PageOptions, error) {
		return PageOptions{Trust: kit.trust, Deny: kit.deny}, nil
	}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	pageURL := srv.URL + "/verify"
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("body[data-ready]")),
		chromedp.Click(chromedp.ID("scan"))); err != nil {
		t.Fatal(err)
	}
	if got := pageVerdict(t, ctx); got != "valid" {
		reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("reason").textContent`))
		t.Fatalf("camera scan: verdict %q (%s), want valid", got, reason)
	}
	serial, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#fields tr[data-field="id"] td').textContent`))
	if err != nil || serial != "XK-0001-00077-1" {
		t.Errorf("serial shown %q (%v)", serial, err)
	}
	// the camera is released once the code is read
	stopped, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("video").hidden && document.getElementById("scan").textContent === "Scan with camera"`))
	if err != nil || !stopped {
		t.Errorf("camera still on after the scan (%v)", err)
	}
	reqs.check(t, pageURL)
}

// TestBrowserVerifierEscapesFields: a card whose signed fields carry a
// newline with a forged verdict, an escape sequence and bidi overrides
// (signed by a key the page does not trust) shows them escaped: the
// officer sees \u{202e} and \n, not reordered or hidden text.
func TestBrowserVerifierEscapesFields(t *testing.T) {
	ctx, reqs := newBrowser(t)
	kit := newCardKit(t)
	page := filepath.Join(t.TempDir(), "verify.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePage(f, PageOptions{Trust: kit.trust, Deny: kit.deny}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pageURL := (&url.URL{Scheme: "file", Path: page}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("body[data-ready]"))); err != nil {
		t.Fatalf("load %s: %v", pageURL, err)
	}
	c := kit.credential("XK-7")
	c.FullName = "ALICE\u202eELPMAXE\u2066 X\u2069\nverdict: valid\x1b[2J"
	other, _ := security.GenerateKey(security.AlgEd25519)
	signer, _ := security.NewSigner(other)
	text, err := signer.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.carddVerifyText(`+jsString(text)+`).then(() => document.getElementById("fields").textContent)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\u202e", "\u2066", "\u2069", "\n", "\x1b"} {
		if strings.Contains(shown, bad) {
			t.Errorf("fields keep %q: %q", bad, shown)
		}
	}
	if !strings.Contains(shown, `ALICE\u{202e}ELPMAXE\u{2066} X\u{2069}\nverdict: valid\x1b[2J`) {
		t.Errorf("fields lack the escaped name: %q", shown)
	}
	reqs.check(t, pageURL)
}
