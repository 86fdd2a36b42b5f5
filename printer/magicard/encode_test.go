package magicard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestTranspose8(t *testing.T) {
	t.Parallel()
	naive := func(x uint64) uint64 {
		var r uint64
		for i := range 8 {
			for j := range 8 {
				// bit (row i, col j): byte i from the top, bit j from the MSB.
				if x>>(63-8*i-j)&1 != 0 {
					r |= 1 << (63 - 8*j - i)
				}
			}
		}
		return r
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		x := rng.Uint64()
		if got, want := transpose8(x), naive(x); got != want {
			t.Fatalf("transpose8(%#x) = %#x, want %#x", x, got, want)
		}
	}
}

func TestDotTable(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatRio, FormatEnduro} {
		t.Run(f.String(), func(t *testing.T) {
			stripe := PlaneSize(f, false) / Lines
			seen := map[dotPos]int{}
			tab := dotTable(f)
			for d, p := range tab {
				if int(p.off) >= stripe || p.mask == 0 || p.mask&(p.mask-1) != 0 {
					t.Fatalf("dot %d: bad position %+v (stripe %d)", d, p, stripe)
				}
				if prev, dup := seen[p]; dup {
					t.Fatalf("dots %d and %d share %+v", prev, d, p)
				}
				seen[p] = d
			}
		})
	}
	// Spot checks of the documented Enduro layout: dot 0 is bit 0 of word
	// 6 (the last byte of that big-endian word), dot 288 bit 1 of word 0.
	tab := dotTable(FormatEnduro)
	for _, c := range []struct {
		dot  int
		want dotPos
	}{{0, dotPos{27, 0x01}}, {1, dotPos{27, 0x04}}, {4, dotPos{26, 0x01}}, {288, dotPos{3, 0x02}}, {671, dotPos{92, 0x80}}} {
		if got := tab[c.dot]; got != c.want {
			t.Errorf("enduro dot %d at %+v, want %+v", c.dot, got, c.want)
		}
	}
}

func TestOvercoat(t *testing.T) {
	t.Parallel()
	r := image.Rect(0, 0, 100, 50)
	full := printer.NewMono(r)
	full.Fill(r, true)
	holed := printer.NewMono(r)
	holed.Fill(r, true)
	holed.Fill(image.Rect(10, 20, 30, 25), false)
	holed.Fill(image.Rect(50, 0, 60, 50), false)
	partial := printer.NewMono(r)
	partial.Fill(image.Rect(5, 6, 20, 30), true)
	checker := printer.NewMono(r)
	for y := range 50 {
		for x := range 100 {
			checker.SetBit(x, y, (x+y)%2 == 0)
		}
	}
	tests := []struct {
		name    string
		m       *printer.Mono
		on      bool
		area    rect
		holes   []rect
		wantErr bool
	}{
		{"nil", nil, false, rect{}, nil, false},
		{"empty", printer.NewMono(r), false, rect{}, nil, false},
		{"full", full, true, rect{0, 0, 99, 49}, nil, false},
		{"holes", holed, true, rect{0, 0, 99, 49}, []rect{{50, 0, 59, 49}, {10, 20, 29, 24}}, false},
		{"partial", partial, true, rect{5, 6, 19, 29}, nil, false},
		{"checker", checker, false, rect{}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			on, area, holes, err := overcoat(tc.m, 100, 50, 32)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if on != tc.on || area != tc.area || fmt.Sprint(holes) != fmt.Sprint(tc.holes) {
				t.Errorf("overcoat = %v %v %v, want %v %v %v", on, area, holes, tc.on, tc.area, tc.holes)
			}
		})
	}
}

// goldenCase is one byte-exact golden stream.
type goldenCase struct {
	name    string
	card    func() *printer.Card
	opts    Opts
	headPos int
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"simplex", func() *printer.Card { return SampleCard(false, false) }, DefaultOpts, 0},
		{"duplex-mag", func() *printer.Card { return SampleCard(true, true) }, DefaultOpts, 0},
		{"k-only", func() *printer.Card {
			c := SampleCard(false, false)
			c.Front.Color, c.Front.Overlay = nil, nil
			return c
		}, DefaultOpts, 0},
		{"offset-powers", func() *printer.Card { return SampleCard(false, false) },
			Opts{OffsetX: 1.5, OffsetY: -0.5, ColorPower: 60, BlackPower: 45, OverlayPower: 70, MagVerify: true}, 0},
		{"enduro-duplex", func() *printer.Card { return SampleCard(true, false) }, Opts{Format: FormatEnduro}, EnduroHeadCentre},
	}
}

func TestGoldenStreams(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendJob(nil, tc.card(), &tc.opts, tc.headPos)
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join("testdata", tc.name+".bin.gz")
			txt := filepath.Join("testdata", tc.name+".txt")
			ann := annotate(t, got)
			if *update {
				writeGz(t, bin, got)
				if err := os.WriteFile(txt, []byte(ann), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readGz(t, bin)
			wantAnn, err := os.ReadFile(txt)
			if err != nil {
				t.Fatal(err)
			}
			if ann != string(wantAnn) {
				t.Errorf("stream structure differs from %s:\n--- got\n%s\n--- want\n%s", txt, ann, wantAnn)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("stream differs from %s at byte %d (got %d bytes, want %d); run with -update if intended", bin, i, len(got), len(want))
			}
		})
	}
}

// annotate describes a stream: the lead-in, each side's header fields and
// each plane's length and SHA-256, so a golden diff is readable.
func annotate(t *testing.T, b []byte) string {
	t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "total %d bytes, sha256 %x\n", len(b), sha256.Sum256(b))
	off := 0
	for off < len(b) {
		n := 0
		for off+n < len(b) && b[off+n] == ENQ {
			n++
		}
		fmt.Fprintf(&sb, "lead-in %d x 05\n", n)
		off += n
		if b[off] != SOH || b[off+1] != ',' {
			t.Fatalf("byte %d: no SOH ','", off)
		}
		end := bytes.IndexByte(b[off:], FS)
		hdr := string(b[off+2 : off+end])
		fmt.Fprintf(&sb, "SOH , header:\n")
		var sizes []int
		for _, f := range strings.Split(hdr, ",") {
			fmt.Fprintf(&sb, "  %s\n", f)
			var n int
			if _, err := fmt.Sscanf(f, "SZ%c%d", new(rune), &n); err == nil && len(f) > 3 && strings.HasPrefix(f, "SZ") {
				sizes = append(sizes, n)
			}
		}
		off += end + 1
		for _, size := range sizes {
			data := b[off : off+size]
			tr := b[off+size : off+size+3]
			fmt.Fprintf(&sb, "plane %d bytes, sha256 %x, %d non-zero, trailer % x\n", size, sha256.Sum256(data), size-bytes.Count(data, []byte{0}), tr)
			off += size + 3
		}
		fmt.Fprintf(&sb, "end % x\n", b[off])
		off++
	}
	return sb.String()
}

func writeGz(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGz(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendJobRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c *printer.Card, o *Opts)
		is     error
		substr string
	}{
		{"uv", func(c *printer.Card, o *Opts) { c.Front.UV = printer.NewMono(c.Geometry.Bounds()) }, printer.ErrUnsupported, "UV"},
		{"600dpi", func(c *printer.Card, o *Opts) { c.Geometry = printer.CR80(600) }, printer.ErrUnsupported, "600 dpi"},
		{"small colour", func(c *printer.Card, o *Opts) { c.Front.Color = image.NewRGBA(image.Rect(0, 0, 10, 10)) }, nil, "colour image"},
		{"small K", func(c *printer.Card, o *Opts) { c.Front.K = printer.NewMono(image.Rect(0, 0, 10, 10)) }, nil, "K panel"},
		{"mag comma", func(c *printer.Card, o *Opts) { c.Mag[0] = "%A,B?" }, nil, "track 1"},
		{"mag track 2 letters", func(c *printer.Card, o *Opts) { c.Mag[1] = ";ABC?" }, nil, "track 2"},
		{"mag too long", func(c *printer.Card, o *Opts) { c.Mag[1] = strings.Repeat("1", 41) }, nil, "at most 40"},
		{"power", func(c *printer.Card, o *Opts) { o.ColorPower = 101 }, nil, "ColorPower"},
		{"coercivity", func(c *printer.Card, o *Opts) { o.MagCoercivity = 'X' }, nil, "MagCoercivity"},
		{"overlay too complex", func(c *printer.Card, o *Opts) {
			for x := 0; x < 200; x += 2 {
				c.Front.Overlay.SetBit(x, 10, false)
			}
		}, nil, "overcoat holes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := SampleCard(false, false)
			o := DefaultOpts
			tc.mutate(c, &o)
			_, err := AppendJob(nil, c, &o, 0)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err %q does not mention %q", err, tc.substr)
			}
		})
	}
}

// TestStreamLayout checks the parts of the framing the golden files would
// only show in bulk: lead-in, SOH ',', NOC first, trailers, ETX.
func TestStreamLayout(t *testing.T) {
	t.Parallel()
	b, err := AppendJob(nil, SampleCard(true, true), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:LeadIn], bytes.Repeat([]byte{ENQ}, LeadIn)) || b[64] != SOH || b[65] != ',' {
		t.Fatalf("lead-in % x", b[:66])
	}
	hdr := string(b[66 : 66+bytes.IndexByte(b[66:], FS)])
	// The overcoat is in the wire's frame, counted from the card's
	// bottom-left corner: card rows 644–3 are window dots 0–641, so the
	// chip hole at rows 194–349 is 295–450 (Gutenprint's smart-card hole).
	for _, want := range []string{"NOC1,DPXON,BACKO,PAG1,IMFBGRK,SZB512064,SZG512064,SZR512064,SZK85344,WID1016,HGT642,OVRON,PCT0,0,1015,641,NCT90,295,260,450,",
		"MAG1,BPI210,MPC7,COEH,%B1234567890^CARDD/TEST^2812?,MAG2,BPI75,MPC5,COEH,;1234567890=2812?,MAG3,BPI210,MPC5,COEH"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("front header %q lacks %q", hdr, want)
		}
	}
	// The back has its own lead-in and says DPXON too.
	back := bytes.LastIndex(b, bytes.Repeat([]byte{ENQ}, LeadIn))
	if back <= 0 || !bytes.HasPrefix(b[back+LeadIn:], []byte("\x01,NOC1,DPXON,PAG2,")) {
		t.Errorf("back block starts %q", b[back:back+LeadIn+20])
	}
	want := 2*LeadIn + 2*2 + 3*(512064+3) + 2*(85344+3) + 2
	if len(b) < want {
		t.Errorf("stream %d bytes, want more than %d", len(b), want)
	}
	if b[len(b)-1] != ETX {
		t.Errorf("stream ends %#x, want ETX", b[len(b)-1])
	}
}

func BenchmarkAppendJobDuplex(b *testing.B) {
	for _, f := range []Format{FormatRio, FormatEnduro} {
		b.Run(f.String(), func(b *testing.B) {
			c := SampleCard(true, true)
			c.Back.Color = c.Front.Color // duplex YMCKO both sides
			o := Opts{Format: f}
			b.ReportAllocs()
			// The two sides are packed on two goroutines: count the
			// process's CPU time, not one thread's.
			start := benchcpu.Process()
			for b.Loop() {
				if _, err := AppendJob(nil, c, &o, EnduroHeadCentre); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}

// TestFastPathMatchesHelpers checks that the native fast paths (colour
// straight from RGBA, K by block transpose) write exactly the bytes the
// shared panel helpers' path writes, including translucent pixels and
// images whose bounds do not start at the origin.
func TestFastPathMatchesHelpers(t *testing.T) {
	t.Parallel()
	shifted := func() *printer.Card {
		c := SampleCard(true, false)
		g := c.Geometry
		r := image.Rect(7, -3, 7+g.Width, -3+g.Height)
		img := image.NewRGBA(r)
		for y := 0; y < g.Height; y++ {
			copy(img.Pix[y*img.Stride:], c.Front.Color.Pix[y*c.Front.Color.Stride:(y+1)*c.Front.Color.Stride])
		}
		for i := 3; i < len(img.Pix); i += 4 * 37 {
			a := img.Pix[i] / 2 // translucent, premultiplied
			img.Pix[i-3], img.Pix[i-2], img.Pix[i-1], img.Pix[i] = min(img.Pix[i-3], a), min(img.Pix[i-2], a), min(img.Pix[i-1], a), a
		}
		c.Front.Color = img
		k := printer.NewMono(image.Rect(-5, 11, -5+g.Width, 11+g.Height))
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				k.SetBit(x-5, y+11, c.Front.K.BitAt(x, y))
			}
		}
		c.Front.K = k
		return c
	}
	// padded: the card's colour is a sub-image of a wider image, its rows
	// further apart than a CR80 raster's, with a translucent dot.
	padded := func() *printer.Card {
		c := SampleCard(true, false)
		g := c.Geometry
		wide := image.NewRGBA(image.Rect(0, 0, g.Width+5, g.Height))
		for y := 0; y < g.Height; y++ {
			copy(wide.Pix[y*wide.Stride:], c.Front.Color.Pix[y*c.Front.Color.Stride:(y+1)*c.Front.Color.Stride])
		}
		wide.Pix[4*300+3] = 0x40 // dot (300, 0): translucent over whatever it had
		wide.Pix[4*300], wide.Pix[4*300+1], wide.Pix[4*300+2] = 0x10, 0x20, 0x30
		c.Front.Color = wide.SubImage(g.Bounds()).(*image.RGBA)
		return c
	}
	for _, tc := range []struct {
		name    string
		card    func() *printer.Card
		format  Format
		headPos int
	}{
		{"sample duplex", func() *printer.Card { return SampleCard(true, true) }, FormatRio, 0},
		{"padded rows", padded, FormatRio, 0},
		{"enduro padded rows", padded, FormatEnduro, 3},
		{"shifted translucent", shifted, FormatRio, 0},
		{"enduro", func() *printer.Card { return SampleCard(true, true) }, FormatEnduro, 12},
		{"enduro shifted head 0", shifted, FormatEnduro, 0},
		{"enduro shifted head 5", shifted, FormatEnduro, 5},
		{"enduro head 40 (clamped)", func() *printer.Card { return SampleCard(true, true) }, FormatEnduro, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOpts
			o.Format = tc.format
			fast, err := AppendJob(nil, tc.card(), &o, tc.headPos)
			if err != nil {
				t.Fatal(err)
			}
			o.slow = true
			slow, err := AppendJob(nil, tc.card(), &o, tc.headPos)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast, slow) {
				i := 0
				for i < len(fast) && fast[i] == slow[i] {
					i++
				}
				t.Fatalf("fast path differs from the helpers' path at byte %d of %d", i, len(fast))
			}
		})
	}
}

// TestEnduroPlacement: an Enduro's window sits at canvas dot 50 − the
// print head's vertical position, as Magicard's document places the image,
// and the raster is centred on it; PCT and NCT count from the window's
// first dot whatever the position. A Rio's window is at dot 15.
func TestEnduroPlacement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f                 Format
		head, height      int
		win, base, winRow int
	}{
		{FormatRio, 0, 648, 15, 12, 3},
		{FormatRio, 40, 648, 15, 12, 3},
		{FormatEnduro, EnduroHeadCentre, 648, 15, 12, 3},
		{FormatEnduro, 20, 648, 30, 24, 6}, // the raster would pass the canvas: kept on it
		{FormatEnduro, 50, 648, 0, 0, 0},   // window at the canvas's edge: the raster clamped
		{FormatEnduro, 0, 648, 30, 24, 6},  // 50 − 0 past the canvas: clamped both ways
		{FormatEnduro, 35, 642, 15, 15, 0},
	} {
		win, base := WindowDot(tc.f, tc.head), CanvasBase(tc.f, tc.height, tc.head)
		if row := WindowRow(tc.f, base, tc.head); win != tc.win || base != tc.base || row != tc.winRow {
			t.Errorf("%v head %d height %d: window dot %d, base %d, window row %d; want %d, %d, %d",
				tc.f, tc.head, tc.height, win, base, row, tc.win, tc.base, tc.winRow)
		}
	}
}
