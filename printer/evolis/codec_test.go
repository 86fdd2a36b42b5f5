package evolis

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/cardd/cardd/printer"
)

// Hand-worked codes, independent of the encoder.
func TestDecodeRLEVectors(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		width int
		src   []byte
		want  []byte
	}{
		{"single dots", 7, 3, []byte{1, 2, 127}, []byte{1, 2, 127}},
		{"blank line", 7, 4, []byte{0x80, 0x00}, []byte{0, 0, 0, 0}},
		{"run then dot", 7, 4, []byte{0x85, 3, 9}, []byte{5, 5, 5, 9}},
		{"run to line end", 7, 5, []byte{4, 0x86, 0}, []byte{4, 6, 6, 6, 6}},
		{"6-bit long run", 6, 301, []byte{0x80 | 0x40 | 7, 300 - 256, 1}, append(bytes.Repeat([]byte{7}, 300), 1)},
		{"5-bit longest run", 5, 1024, []byte{0x80 | 0x60 | 31, 1023 - 768, 0}, append(bytes.Repeat([]byte{31}, 1023), 0)},
		{"two lines", 7, 2, []byte{0x81, 0, 3, 4}, []byte{1, 1, 3, 4}},
	}
	for _, tc := range tests {
		lines := len(tc.want) / tc.width
		got := make([]byte, len(tc.want))
		if err := DecodeRLE(got, tc.src, tc.width, lines, tc.depth); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if enc := AppendRLE(nil, tc.want, tc.width, tc.depth); !bytes.Equal(enc, tc.src) {
			t.Errorf("%s: encoder gives % x, want % x", tc.name, enc, tc.src)
		}
	}
}

func TestDecodeRLEErrors(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
	}{
		{"value too large for 5 bits", []byte{0x20, 0, 0, 0}},
		{"run crosses line", []byte{0x81, 5}},
		{"count missing", []byte{1, 2, 3, 0x81}},
		{"short", []byte{1, 2}},
		{"trailing bytes", []byte{0x80, 0, 9}},
	}
	for _, tc := range tests {
		if err := DecodeRLE(make([]byte, 4), tc.src, 4, 1, 5); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if err := DecodeRLE(make([]byte, 4), []byte{0x80, 0}, 4, 1, 8); err == nil {
		t.Error("8-bit run-length accepted")
	}
}

func TestLinesVectors(t *testing.T) {
	raw := []byte{
		0, 0, 0, // white
		0xff, 0xff, 0xff, // black
		0xf0, 0, 0, // one useful byte
		0, 0x0f, 0, // two
		0xff, 0xff, 0xfe, // three
	}
	want := []byte{0x00, 0xff, 1, 0xf0, 2, 0, 0x0f, 3, 0xff, 0xff, 0xfe}
	if got := AppendLines(nil, raw, 3); !bytes.Equal(got, want) {
		t.Errorf("AppendLines = % x, want % x", got, want)
	}
	back := bytes.Repeat([]byte{0xaa}, len(raw))
	if err := DecodeLines(back, want, 3, 5); err != nil || !bytes.Equal(back, raw) {
		t.Errorf("DecodeLines = % x, %v", back, err)
	}
	for _, bad := range [][]byte{{4, 1, 2, 3, 4}, {2, 1}, {0, 0, 0, 0, 0, 0}, {0x80}} {
		if err := DecodeLines(make([]byte, 15), bad, 3, 5); err == nil {
			t.Errorf("% x accepted", bad)
		}
	}
}

func TestParseStatusReplies(t *testing.T) {
	ok := []string{"5,00 Volts", "NO CARD", "5,00 Volts", "NO CARD", "OK", "150", "12", "60"}
	tests := []struct {
		name    string
		replace map[int]string
		state   printer.State
		reasons []printer.Reason
	}{
		{"idle", nil, printer.StateIdle, nil},
		{"cover open", map[int]string{0: "0,00 Volts"}, printer.StateError, []printer.Reason{printer.ReasonCoverOpen}},
		{"printing", map[int]string{1: "CARD"}, printer.StateBusy, nil},
		{"jam", map[int]string{1: "ERR CARD"}, printer.StateError, []printer.Reason{printer.ReasonCardJam}},
		{"feeder empty", map[int]string{2: "0.1V"}, printer.StateError, []printer.Reason{printer.ReasonFeederEmpty}},
		{"hopper full", map[int]string{3: "CARD"}, printer.StateError, []printer.Reason{printer.ReasonHopperFull}},
		{"ribbon out", map[int]string{4: "ERR RIBBON", 5: "0"}, printer.StateError, []printer.Reason{printer.ReasonRibbonOut}},
		{"ribbon low", map[int]string{5: "3"}, printer.StateIdle, []printer.Reason{printer.ReasonRibbonLow}},
	}
	for _, tc := range tests {
		r := append([]string(nil), ok...)
		for i, v := range tc.replace {
			r[i] = v
		}
		st, err := ParseStatus(r, 10)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if st.State != tc.state || len(st.Reasons) != len(tc.reasons) {
			t.Errorf("%s: %s %v, want %s %v", tc.name, st.State, st.Reasons, tc.state, tc.reasons)
			continue
		}
		for i := range tc.reasons {
			if st.Reasons[i] != tc.reasons[i] {
				t.Errorf("%s: reasons %v, want %v", tc.name, st.Reasons, tc.reasons)
			}
		}
	}
	st, err := ParseStatus(ok, 10)
	if err != nil || st.Consumables.RibbonLeft != 150 || st.Consumables.CardsPrinted != 12 || st.Consumables.PanelsPrinted != 60 {
		t.Errorf("counters %+v %v", st.Consumables, err)
	}
	if _, err := ParseStatus([]string{"banana"}, 10); err == nil {
		t.Error("garbage sensor reply accepted")
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add("5,00 Volts", "CARD", "0,00 Volts", "NO CARD", "ERR RIBBON", "12", "3", "99")
	f.Add("", "ERR CARD", "x", "OK", "OK", "-1", "1e9", "4294967296")
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h, i string) {
		st, err := ParseStatus([]string{a, b, c, d, e, g, h, i}, 10)
		if err == nil && st.Blocked() != (st.State == printer.StateError) {
			t.Fatalf("state %s disagrees with reasons %v", st.State, st.Reasons)
		}
		if st.Consumables.RibbonLeft < -1 || st.Consumables.CardsPrinted < -1 {
			t.Fatalf("negative counter %+v", st.Consumables)
		}
		ReplyReasons(a)
		_ = ReplyError("print", b)
	})
}

func FuzzParseVolts(f *testing.F) {
	f.Add("5,00 Volts")
	f.Add("0.0V")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVolts(s)
		if err == nil && (v < 0 || v > 50) {
			t.Fatalf("%q parsed to %v", s, v)
		}
	})
}

func FuzzDecodeRLE(f *testing.F) {
	f.Add([]byte{0x80, 0, 0x85, 3, 9}, uint8(7))
	f.Add([]byte{0xe1, 0x10, 0x80, 0}, uint8(5))
	f.Fuzz(func(t *testing.T, src []byte, d uint8) {
		depth := 5 + int(d%3)
		const width, lines = 24, 4
		dst := make([]byte, width*lines)
		if err := DecodeRLE(dst, src, width, lines, depth); err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again := make([]byte, width*lines)
		if err := DecodeRLE(again, AppendRLE(nil, dst, width, depth), width, lines, depth); err != nil || !bytes.Equal(again, dst) {
			t.Fatalf("re-encoding changed the panel: %v", err)
		}
	})
}

func FuzzDecodeLines(f *testing.F) {
	f.Add([]byte{0, 0xff, 1, 0xf0, 0})
	f.Fuzz(func(t *testing.T, src []byte) {
		const lb, lines = 3, 5
		dst := make([]byte, lb*lines)
		if err := DecodeLines(dst, src, lb, lines); err != nil {
			return
		}
		again := make([]byte, lb*lines)
		if err := DecodeLines(again, AppendLines(nil, dst, lb), lb, lines); err != nil || !bytes.Equal(again, dst) {
			t.Fatalf("re-encoding changed the panel: %v", err)
		}
	})
}

// appendRLEDots is AppendRLE written dot by dot from its description, the
// reference for TestAppendRLEMatchesDots.
func appendRLEDots(dst, samples []byte, width, depth int) []byte {
	mr := maxRun(depth)
	vmask := byte(1<<uint(depth) - 1)
	for off := 0; off+width <= len(samples); off += width {
		line := samples[off : off+width]
		for x := 0; x < width; {
			n := 1
			for x+n < width && line[x+n] == line[x] {
				n++
			}
			v := line[x] & vmask
			switch {
			case n == 1:
				dst = append(dst, v)
			case x+n == width:
				dst = append(dst, 0x80|v, 0)
			default:
				for left := n; left > 0; {
					k := min(left, mr)
					if k == 1 {
						dst = append(dst, v)
					} else {
						dst = append(dst, 0x80|byte(k>>8)<<uint(depth)|v, byte(k))
					}
					left -= k
				}
			}
			x += n
		}
	}
	return dst
}

// TestAppendRLEMatchesDots checks AppendRLE (single codes found eight
// at a time) against a dot-by-dot coder: noise, runs of every length
// from 1 to past the longest code, runs at a line's start and end,
// samples out of range, widths below and above a word, onto a non-empty
// dst.
func TestAppendRLEMatchesDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, depth := range []int{5, 6, 7} {
		for _, width := range []int{1, 2, 7, 8, 9, 10, 17, 64, 648} {
			for kind := range 5 {
				samples := make([]byte, width*9)
				for i := 0; i < len(samples); {
					n := 1
					switch kind {
					case 1: // short runs
						n = 1 + rng.IntN(4)
					case 2: // runs of any length
						n = 1 + rng.IntN(2*maxRun(depth)+3)
					case 3: // mostly noise, some pairs
						n = 1 + rng.IntN(2)*rng.IntN(3)
					}
					v := byte(rng.IntN(1 << uint(depth)))
					if kind == 4 {
						v = byte(rng.Uint32()) // out of range too
					}
					for ; n > 0 && i < len(samples); n-- {
						samples[i] = v
						i++
					}
				}
				prefix := []byte{1, 2, 3}
				got := AppendRLE(bytes.Clone(prefix), samples, width, depth)
				want := appendRLEDots(bytes.Clone(prefix), samples, width, depth)
				if !bytes.Equal(got, want) {
					t.Fatalf("depth %d width %d kind %d: %d bytes, want %d", depth, width, kind, len(got), len(want))
				}
			}
		}
	}
}
