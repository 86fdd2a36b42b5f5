package printer

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
)

// TestPackColorMatchesSplitAndPack checks PackColor byte for byte against
// SplitColor followed by PackSamples, on its fast path (quarter turns,
// whole bytes) and off it (offsets, mirroring, odd sizes, other image
// types), with translucent pixels.
func TestPackColorMatchesSplitAndPack(t *testing.T) {
	type tc struct {
		w, h  int
		min   image.Point
		tr    Transform
		depth int
		nrgba bool
		// blocks paints blocks of one colour (white, opaque, translucent)
		// over the image, for the one-colour shortcuts.
		blocks bool
	}
	var cases []tc
	for _, rot := range []int{0, 90, 180, 270} {
		for _, mirror := range []bool{false, true} {
			for _, depth := range []int{5, 6, 7, 8} {
				cases = append(cases, tc{w: 136, h: 72, tr: Transform{Rotate: rot, Mirror: mirror}, depth: depth})
			}
		}
	}
	cases = append(cases,
		tc{w: 1016, h: 648, tr: Transform{Rotate: 270}, depth: 7},
		tc{w: 1016, h: 648, tr: Transform{Rotate: 90}, depth: 6},
		tc{w: 136, h: 72, min: image.Pt(-5, 9), tr: Transform{Rotate: 270}, depth: 7},
		tc{w: 136, h: 72, tr: Transform{Rotate: 270, Offset: image.Pt(3, -2)}, depth: 7},
		tc{w: 133, h: 70, tr: Transform{Rotate: 270}, depth: 7},
		tc{w: 136, h: 72, tr: Transform{Rotate: 270}, depth: 7, nrgba: true},
		tc{w: 1016, h: 648, tr: Transform{Rotate: 90}, depth: 7},
		tc{w: 1016, h: 648, tr: Transform{Rotate: 90}, depth: 7, blocks: true},
		tc{w: 136, h: 72, tr: Transform{Rotate: 270}, depth: 7, blocks: true},
		tc{w: 136, h: 72, tr: Transform{Rotate: 90, Mirror: true}, depth: 7, blocks: true},
	)
	for _, c := range cases {
		name := fmt.Sprintf("%dx%d@%v/rot%d/mirror=%v/off=%v/%dbit/nrgba=%v/blocks=%v", c.w, c.h, c.min, c.tr.Rotate, c.tr.Mirror, c.tr.Offset, c.depth, c.nrgba, c.blocks)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := testRGBA(c.min, c.w, c.h)
			// Some translucent dots (premultiplied).
			for i := 0; i < len(src.Pix); i += 4 * 37 {
				src.Pix[i+3] = byte(i)
				for k := 0; k < 3; k++ {
					src.Pix[i+k] = min(src.Pix[i+k], src.Pix[i+3])
				}
			}
			if c.blocks {
				paintBlocks(src)
			}
			var img image.Image = src
			if c.nrgba {
				n := image.NewNRGBA(src.Rect)
				draw.Draw(n, n.Rect, src, src.Rect.Min, draw.Src)
				img = n
			}
			py, pm, pc, err := SplitColor(img, c.tr, c.depth)
			if err != nil {
				t.Fatal(err)
			}
			wd, hd := c.tr.WireSize(c.w, c.h)
			n := PackedLen(wd*hd, c.depth)
			got := [3][]byte{make([]byte, n), make([]byte, n), make([]byte, n)}
			for i := range got {
				for j := range got[i] {
					got[i][j] = 0xa5 // no stale byte may survive
				}
			}
			if err := PackColor(got[0], got[1], got[2], img, c.tr, c.depth, &ColorScratch{}); err != nil {
				t.Fatal(err)
			}
			for i, p := range []*Plane{py, pm, pc} {
				want := PackSamples(nil, p.Pix, c.depth)
				if !bytes.Equal(got[i], want) {
					k := 0
					for k < len(want) && got[i][k] == want[k] {
						k++
					}
					t.Fatalf("plane %d differs from byte %d of %d", i, k, len(want))
				}
			}
		})
	}
}

// paintBlocks fills blocks of src with one colour each, cycling through
// white, opaque colours and a translucent one (premultiplied), at sizes
// and places that are not aligned to groups of eight dots.
func paintBlocks(src *image.RGBA) {
	colours := []color.RGBA{{0xff, 0xff, 0xff, 0xff}, {200, 30, 40, 0xff}, {0, 0, 0, 0xff}, {1, 254, 127, 0xff}, {60, 20, 90, 128}}
	b := src.Rect
	for i := 0; ; i++ {
		x0, y0 := b.Min.X+(i*37)%b.Dx(), b.Min.Y+(i*23)%b.Dy()
		r := image.Rect(x0, y0, x0+13+i%29, y0+9+(i*7)%31).Intersect(b)
		draw.Draw(src, r, image.NewUniform(colours[i%len(colours)]), image.Point{}, draw.Src)
		if i > b.Dx()*b.Dy()/200 {
			return
		}
	}
}

func TestPackColorRejectsWrongLengths(t *testing.T) {
	src := testRGBA(image.Point{}, 16, 8)
	n := PackedLen(16*8, 7)
	for _, lens := range [][3]int{{n - 1, n, n}, {n, n + 1, n}, {n, n, 0}} {
		err := PackColor(make([]byte, lens[0]), make([]byte, lens[1]), make([]byte, lens[2]), src, Transform{Rotate: 270}, 7, nil)
		if err == nil {
			t.Errorf("lengths %v accepted", lens)
		}
	}
	if err := PackColor(make([]byte, n), make([]byte, n), make([]byte, n), src, Transform{Rotate: 45}, 7, nil); err == nil {
		t.Error("rotation 45 accepted")
	}
	if err := PackColor(nil, nil, nil, src, Transform{}, 9, nil); err == nil {
		t.Error("depth 9 accepted")
	}
}

func BenchmarkPackColorEvolis(b *testing.B) {
	src := testRGBA(image.Point{}, 1016, 648)
	n := PackedLen(1016*648, 7)
	y, m, c := make([]byte, n), make([]byte, n), make([]byte, n)
	b.ReportAllocs()
	done := benchcpu.ThreadMeter(b)
	for b.Loop() {
		if err := PackColor(y, m, c, src, Transform{Rotate: 270}, 7, nil); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// TestColorRoundTripWholeBytes runs SplitColor and ComposeColor through
// their quarter-turn fast paths (sides multiples of 8) for every rotation
// and mirroring, and checks each dot against the source quantised.
func TestColorRoundTripWholeBytes(t *testing.T) {
	const w, h = 136, 72
	for _, depth := range []int{5, 7, 8} {
		for _, rot := range []int{0, 90, 180, 270} {
			for _, mirror := range []bool{false, true} {
				tr := Transform{Rotate: rot, Mirror: mirror}
				src := testRGBA(image.Pt(3, -4), w, h)
				y, m, c, err := SplitColor(src, tr, depth)
				if err != nil {
					t.Fatal(err)
				}
				back, err := ComposeColor(y, m, c, tr, w, h)
				if err != nil {
					t.Fatal(err)
				}
				for py := 0; py < h; py++ {
					for px := 0; px < w; px++ {
						s := src.RGBAAt(px+3, py-4)
						want := color.RGBA{Quantize(s.R, depth), Quantize(s.G, depth), Quantize(s.B, depth), 0xff}
						if g := back.RGBAAt(px, py); g != want {
							t.Fatalf("depth %d %+v (%d,%d): got %v want %v", depth, tr, px, py, g, want)
						}
					}
				}
			}
		}
	}
}

func TestPlaneFromWire(t *testing.T) {
	const w, h = 37, 20
	src := testRGBA(image.Pt(2, 5), w, h)
	for _, tr := range []Transform{{}, {Rotate: 90}, {Rotate: 180}, {Rotate: 270}, {Rotate: 90, Mirror: true}, {Rotate: 270, Mirror: true}} {
		y, _, _, err := SplitColor(src, tr, 6)
		if err != nil {
			t.Fatal(err)
		}
		back, err := PlaneFromWire(y, tr, w, h)
		if err != nil {
			t.Fatal(err)
		}
		if back.Rect != image.Rect(0, 0, w, h) || back.Depth != 6 {
			t.Fatalf("%+v: plane %v depth %d", tr, back.Rect, back.Depth)
		}
		lut := quantLUT(6)
		for py := 0; py < h; py++ {
			for px := 0; px < w; px++ {
				if got, want := back.Sample(px, py), lut[0xff-src.RGBAAt(px+2, py+5).B]; got != want {
					t.Fatalf("%+v (%d,%d): sample %d, want %d", tr, px, py, got, want)
				}
			}
		}
		if _, err := PlaneFromWire(y, tr, w+1, h); err == nil {
			t.Errorf("%+v: wrong size accepted", tr)
		}
	}
}

// TestDye7MatchesTable checks the arithmetic 7-bit path against the table
// path for every channel value and random columns, both directions, and
// that a translucent dot sends the caller to the table.
func TestDye7MatchesTable(t *testing.T) {
	inv := DyeTable(7)
	const stride = 4
	col := make([]byte, 8*stride)
	check := func() {
		t.Helper()
		wy, wm, wc := DyeColumn8(col, stride, inv)
		for _, back := range []bool{false, true} {
			y, m, c, ok := dye7(col, stride, back)
			if back {
				y, m, c = bits.ReverseBytes64(y), bits.ReverseBytes64(m), bits.ReverseBytes64(c)
			}
			if !ok || y != wy || m != wm || c != wc {
				t.Fatalf("column % x back=%v: %x %x %x ok=%v, table %x %x %x", col, back, y, m, c, ok, wy, wm, wc)
			}
		}
	}
	for v := range 256 {
		for i := range 8 {
			col[4*i], col[4*i+1], col[4*i+2], col[4*i+3] = byte(v), byte(255-v), byte(v*7), 0xff
		}
		check()
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		for i := range 8 {
			col[4*i], col[4*i+1], col[4*i+2], col[4*i+3] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0xff
		}
		check()
	}
	col[4*5+3] = 0x80
	if _, _, _, ok := dye7(col, stride, false); ok {
		t.Error("translucent dot taken by the arithmetic path")
	}
}

// TestPack7GroupMatchesRows checks pack7Group (four columns at a time in
// assembly where there is; a row's last group through a scratch) against
// pack7Rows on rows of every width the
// driver can give and some it cannot, walked forward and backward, with
// opaque noise, one-colour stretches, white, and translucent dots
// scattered, in a block's first or last column, or everywhere.
func TestPack7GroupMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inv := DyeTable(7)
	for _, cols := range []int{2, 4, 6, 8, 10, 16, 30, 64, 66, 256} {
		for _, back := range []bool{false, true} {
			for mode := range 6 {
				n := 4 * cols
				const pad = 24
				stride := n + pad
				pix := make([]byte, 8*stride)
				for i := range pix {
					pix[i] = byte(rng.Uint32())
					if i%4 == 3 {
						pix[i] = 0xff
					}
				}
				dot := func(row, col int) []byte { return pix[row*stride+4*col : row*stride+4*col+4] }
				switch mode {
				case 1: // one colour, with white runs
					for row := range 8 {
						for col := range cols {
							copy(dot(row, col), []byte{200, 30, 40, 0xff})
							if col%5 < 2 {
								copy(dot(row, col), []byte{0xff, 0xff, 0xff, 0xff})
							}
						}
					}
				case 2: // translucent dots scattered
					for range cols / 3 {
						d := dot(rng.IntN(8), rng.IntN(cols))
						d[3] = byte(rng.IntN(255))
						d[0], d[1], d[2] = min(d[0], d[3]), min(d[1], d[3]), min(d[2], d[3])
					}
				case 3: // translucent in a block's first column
					for col := 0; col < cols; col += 8 {
						copy(dot(7, col), []byte{10, 20, 30, 40})
					}
				case 4: // translucent in a block's last column
					for col := 3; col < cols; col += 4 {
						copy(dot(0, col), []byte{0, 0, 0, 0})
					}
				case 5: // all translucent
					for row := range 8 {
						for col := range cols {
							copy(dot(row, col), []byte{50, 60, 70, 80})
						}
					}
				}
				var r [8][]byte
				dotStride := stride
				for k := range r {
					row := k
					if back {
						row, dotStride = 7-k, -stride
					}
					r[k] = pix[row*stride : row*stride+n]
				}
				// Column j's group at off + j·step: forward or backward
				// through the wire rows, 7-byte groups with room around.
				for _, st := range []struct {
					step int
					last bool
				}{{11, false}, {-11, false}, {11, true}, {-11, true}} {
					step, last := st.step, st.last
					size := cols*11 + 16
					off := 3
					if step < 0 {
						off = size - 16
					}
					got, want := make([]byte, size), make([]byte, size)
					for i := range got {
						got[i], want[i] = 0xa5, 0xa5
					}
					gy, gm, gc := got[:], bytes.Clone(got), bytes.Clone(got)
					wy, wm, wc := want[:], bytes.Clone(want), bytes.Clone(want)
					pack7Group(gy, gm, gc, &r, dotStride, off, step, last, inv)
					pack7Rows(wy, wm, wc, &r, off, step, last, inv)
					for i, p := range [][2][]byte{{gy, wy}, {gm, wm}, {gc, wc}} {
						if !bytes.Equal(p[0], p[1]) {
							t.Fatalf("%d columns, back=%v, mode %d, step %d, last=%v: stream %d differs\n got %x\nwant %x", cols, back, mode, step, last, i, p[0], p[1])
						}
					}
				}
			}
		}
	}
}

// TestDye7QuarterMatchesGo checks packQuarter at 7 bits one sample a byte
// (four columns at a time in assembly where there is) against its Go
// path: both quarter turns, mirrored or not, sizes from one group to a
// card, noise with translucent dots and one-colour blocks, into planes
// of stale bytes.
func TestDye7QuarterMatchesGo(t *testing.T) {
	for _, size := range []image.Point{{8, 8}, {16, 8}, {24, 16}, {136, 72}, {200, 64}, {1016, 648}} {
		for _, tr := range []Transform{{Rotate: 90}, {Rotate: 270}, {Rotate: 90, Mirror: true}, {Rotate: 270, Mirror: true}} {
			for _, blocks := range []bool{false, true} {
				src := testRGBA(image.Point{}, size.X, size.Y)
				for i := 0; i < len(src.Pix); i += 4 * 53 {
					src.Pix[i+3] = byte(i)
					for k := range 3 {
						src.Pix[i+k] = min(src.Pix[i+k], src.Pix[i+3])
					}
				}
				if blocks {
					paintBlocks(src)
				}
				a := tr.affine(size.X, size.Y)
				n := size.X * size.Y
				var got, want [3][]byte
				for i := range got {
					got[i], want[i] = bytes.Repeat([]byte{0xa5}, n), bytes.Repeat([]byte{0xa5}, n)
				}
				packQuarter(got[0], got[1], got[2], src, a, 7, 8)
				packQuarterGo(want[0], want[1], want[2], src, a, 7, 8)
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						k := 0
						for got[i][k] == want[i][k] {
							k++
						}
						t.Fatalf("%v %+v blocks=%v: plane %d differs from byte %d", size, tr, blocks, i, k)
					}
				}
			}
		}
	}
}
