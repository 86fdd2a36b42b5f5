package qrcode

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"strings"
	"testing"

	bqr "github.com/boombuler/barcode/qr"
	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

var levels = []Level{L, M, Q, H}

func boombulerLevel(l Level) bqr.ErrorCorrectionLevel {
	return [4]bqr.ErrorCorrectionLevel{bqr.L, bqr.M, bqr.Q, bqr.H}[l]
}

func boombulerMode(m Mode) bqr.Encoding {
	return [4]bqr.Encoding{bqr.Auto, bqr.Numeric, bqr.AlphaNumeric, bqr.Unicode}[m]
}

// capacity returns how many characters of mode m version v holds at lvl.
func capacity(v int, lvl Level, m Mode) int {
	bitsFree := 8*dataCodewords(v, lvl) - 4 - countBits(m, v)
	switch m {
	case Numeric:
		n := bitsFree / 10 * 3
		switch bitsFree % 10 {
		case 4, 5, 6:
			n++
		case 7, 8, 9:
			n += 2
		}
		return n
	case Alphanumeric:
		n := bitsFree / 11 * 2
		if bitsFree%11 >= 6 {
			n++
		}
		return n
	}
	return bitsFree / 8
}

const (
	digits = "0123456789"
	alnum  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
)

// randomPayload returns a text that needs version v at lvl in mode m (for
// Byte, random bytes, UTF-8 or not).
func randomPayload(rng *rand.Rand, v int, lvl Level, m Mode) string {
	lo := 1
	if v > 1 {
		lo = capacity(v-1, lvl, m) + 1
	}
	n := lo + rng.IntN(capacity(v, lvl, m)-lo+1)
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch m {
		case Numeric:
			b.WriteByte(digits[rng.IntN(len(digits))])
		case Alphanumeric:
			b.WriteByte(alnum[rng.IntN(len(alnum))])
		default:
			b.WriteByte(byte(rng.IntN(256)))
		}
	}
	return b.String()
}

// sameAsBoombuler fails unless Encode and boombuler's encoder give the same
// symbol, module for module.
func sameAsBoombuler(t *testing.T, text string, lvl Level, m Mode) *Symbol {
	t.Helper()
	got, err := Encode(text, lvl, m)
	if err != nil {
		t.Fatalf("Encode(%q, %s, %s): %v", text, lvl, m, err)
	}
	want, err := bqr.Encode(text, boombulerLevel(lvl), boombulerMode(m))
	if err != nil {
		t.Fatalf("boombuler Encode(%q, %s, %s): %v", text, lvl, m, err)
	}
	n := want.Bounds().Dx()
	if got.Size() != n {
		t.Fatalf("Encode(%q, %s, %s): %d modules (version %d), boombuler %d", text, lvl, m, got.Size(), got.Version(), n)
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r, _, _, _ := want.At(x, y).RGBA()
			if got.Dark(x, y) != (r < 0x8000) {
				t.Fatalf("Encode(%q, %s, %s), version %d mask %d: module (%d, %d) differs from boombuler's symbol",
					text, lvl, m, got.Version(), got.Mask(), x, y)
			}
		}
	}
	return got
}

// TestMatchesBoombuler encodes 2,000 seeded random payloads at every level,
// in the modes the project uses (alphanumeric and byte for signed
// credentials, auto for barcode elements), over every version from 1 to 40
// (most of them up to 22; every 37th payload, which cycles through the
// levels, is of a version from 23 to 40, each three times), and checks each
// symbol is boombuler's, module for module: the same version, data layout,
// format information and mask choice. Nearly all the time is boombuler's
// (its mask penalties), about 20 s of CPU; -short and -race run 300.
func TestMatchesBoombuler(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	count := 2000
	if testing.Short() || raceEnabled {
		count = 300
	}
	modes := []Mode{Alphanumeric, Byte, Auto}
	masks := map[int]int{}
	versions := map[int]bool{}
	for i := 0; i < count; i++ {
		lvl := levels[i%4]
		m := modes[(i/4)%len(modes)]
		v := 1 + rng.IntN(22)
		if i%37 == 0 {
			v = 23 + (i/37)%18
		}
		gen := m
		if m == Auto {
			gen = []Mode{Numeric, Alphanumeric, Byte}[rng.IntN(3)]
		}
		text := randomPayload(rng, v, lvl, gen)
		s := sameAsBoombuler(t, text, lvl, m)
		masks[s.Mask()]++
		versions[s.Version()] = true
	}
	if len(masks) != 8 {
		t.Errorf("masks chosen %v: want all eight exercised", masks)
	}
	if len(versions) != 40 {
		t.Errorf("%d versions exercised, want 40", len(versions))
	}
	t.Logf("%d payloads; masks chosen %v", count, masks)
}

// TestMatchesBoombulerEdges covers the texts at the edges: empty, one
// character, each mode at exactly a version's capacity and one past it.
func TestMatchesBoombulerEdges(t *testing.T) {
	for _, lvl := range levels {
		texts := []string{"", "0", "A", "a", "HTTPS://EXAMPLE.ORG/", "Grüße, Zoë", "0123456789012345"}
		for _, m := range []Mode{Numeric, Alphanumeric, Byte} {
			for _, v := range []int{1, 2, 6, 7, 9, 10, 26} {
				c := capacity(v, lvl, m)
				for _, n := range []int{c, c + 1} {
					texts = append(texts, strings.Repeat(string("7Kk"[m-1]), n))
				}
			}
		}
		for _, text := range texts {
			sameAsBoombuler(t, text, lvl, Auto)
		}
	}
}

// TestAutoDigitsWithSign documents where Auto departs from boombuler on
// purpose: boombuler's numeric mode accepts "+12" (strconv.Atoi reads the
// sign) and encodes it as 12, a symbol that reads "012"; Encode puts such
// text in alphanumeric mode, which reads back as written.
func TestAutoDigitsWithSign(t *testing.T) {
	s, err := Encode("+12", M, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, s); got != "+12" {
		t.Errorf("decoded %q, want +12", got)
	}
}

func TestCapacityErrors(t *testing.T) {
	for _, lvl := range levels {
		for _, m := range []Mode{Numeric, Alphanumeric, Byte} {
			c := capacity(40, lvl, m)
			text := strings.Repeat("1", c)
			if _, err := Encode(text, lvl, m); err != nil {
				t.Errorf("%s %s %d characters (the capacity): %v", lvl, m, c, err)
			}
			if _, err := Encode(text+"1", lvl, m); !errors.Is(err, ErrTooLong) {
				t.Errorf("%s %s %d characters: got %v, want ErrTooLong", lvl, m, c+1, err)
			}
		}
	}
	if _, err := Encode("abc", M, Alphanumeric); !errors.Is(err, ErrBadChar) {
		t.Errorf("lower case in alphanumeric mode: got %v, want ErrBadChar", err)
	}
	if _, err := Encode("12a", M, Numeric); !errors.Is(err, ErrBadChar) {
		t.Errorf("letter in numeric mode: got %v, want ErrBadChar", err)
	}
}

// TestTotalCodewords checks the closed form of the data modules against
// a count of the modules left free by the function patterns.
func TestTotalCodewords(t *testing.T) {
	for v := 1; v <= 40; v++ {
		_, fixed := functionPatterns(v)
		n := 17 + 4*v
		free := 0
		for _, r := range fixed {
			free += n - r.count()
		}
		if free != rawModules(v) {
			t.Errorf("version %d: %d free modules, closed form %d", v, free, rawModules(v))
		}
	}
}

// decode reads s back with the ZXing decoder, at 4 pixels a module with a
// quiet zone of 4 modules.
func decode(t *testing.T, s *Symbol) string {
	t.Helper()
	const px, quiet = 4, 4
	side := (s.Size() + 2*quiet) * px
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < s.Size(); y++ {
		for x := 0; x < s.Size(); x++ {
			if s.Dark(x, y) {
				for dy := 0; dy < px; dy++ {
					for dx := 0; dx < px; dx++ {
						img.Pix[((quiet+y)*px+dy)*side+(quiet+x)*px+dx] = 0
					}
				}
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode version %d: %v", s.Version(), err)
	}
	return res.GetText()
}

// TestRoundTrip reads symbols back with an independent decoder (ZXing's).
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i, v := range []int{1, 3, 7, 11, 20} {
		for _, lvl := range levels {
			for _, m := range []Mode{Numeric, Alphanumeric} {
				text := randomPayload(rng, v, lvl, m)
				s, err := Encode(text, lvl, m)
				if err != nil {
					t.Fatal(err)
				}
				if got := decode(t, s); got != text {
					t.Errorf("case %d: version %d %s %s: decoded %q, want %q", i, v, lvl, m, got, text)
				}
			}
		}
	}
	text := "Grüße aus Köln · ID 4711"
	s, err := Encode(text, Q, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, s); got != text {
		t.Errorf("byte mode: decoded %q, want %q", got, text)
	}
}

// version11 is a text that needs a version-11 symbol at level M in
// alphanumeric mode (as the signed credential on a card does).
func version11(b *testing.B) string {
	text := strings.Repeat("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N", 10)[:capacity(11, M, Alphanumeric)-3]
	s, err := Encode(text, M, Alphanumeric)
	if err != nil || s.Version() != 11 {
		b.Fatalf("test text: version %v, %v", s, err)
	}
	return text
}

// BenchmarkEncodeV11 encodes a version-11 symbol (cpu-ns/op: CPU time).
func BenchmarkEncodeV11(b *testing.B) {
	text := version11(b)
	for _, impl := range []string{"qrcode", "boombuler"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := benchcpu.Process()
			defer func() { benchcpu.ReportProcess(b, cpu0) }()
			for b.Loop() {
				var err error
				if impl == "qrcode" {
					_, err = Encode(text, M, Alphanumeric)
				} else {
					_, err = bqr.Encode(text, bqr.M, bqr.AlphaNumeric)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleEncode() {
	s, err := Encode("HELLO WORLD", Q, Auto)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Version(), s.Size(), s.Level())
	// Output: 1 21 Q
}

// FuzzEncode encodes arbitrary text (job data reaches the encoder) at
// every level: no panic, and for short texts boombuler's symbol.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "0", "HELLO WORLD", "+12", "Grüße", "\xff\x00", strings.Repeat("9", 40)} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, lvl uint8) {
		l := Level(lvl % 4)
		s, err := Encode(text, l, Auto)
		if err != nil {
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("Encode(%q, %s): %v", text, l, err)
			}
			return
		}
		if s.Size() != 17+4*s.Version() || s.Mask() < 0 || s.Mask() > 7 {
			t.Fatalf("Encode(%q, %s): size %d, version %d, mask %d", text, l, s.Size(), s.Version(), s.Mask())
		}
		// Signs are where boombuler's Auto mode errs (TestAutoDigitsWithSign).
		if len(text) <= 64 && !strings.ContainsAny(text, "+-") {
			sameAsBoombuler(t, text, l, Auto)
		}
	})
}
