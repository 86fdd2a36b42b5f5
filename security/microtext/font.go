// Package microtext draws microtext: text in a bitmap font designed on the
// printer's dot grid, small enough to read as a line at arm's length, laid
// along straight lines, rectangle borders and arcs, positive (dots set) or
// negative (a set band with the glyphs left clear). It draws into a
// printer.Mono, the 1-bit K (or UV) panel, and never anti-aliases.
//
// Two cuts are built in: Cut300, 5 dots cap height (0.42 mm at 300 dpi),
// and Cut600, 7 dots cap height (0.30 mm at 600 dpi). Both have the capital
// letters, the digits and - . / * + : < and space.
package microtext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Glyph is one character's bitmap: Rows[y] has Width bits, bit Width-1-x
// for column x (the leftmost column is the highest bit).
type Glyph struct {
	Width int
	Rows  []uint16
}

// On reports whether the glyph's dot at column x, row y is set.
func (g *Glyph) On(x, y int) bool {
	if x < 0 || y < 0 || x >= g.Width || y >= len(g.Rows) {
		return false
	}
	return g.Rows[y]>>uint(g.Width-1-x)&1 != 0
}

// Font is a bitmap font cut for one resolution. It is immutable.
type Font struct {
	// Name names the cut ("300", "600").
	Name string
	// DPI is the resolution the cut is designed for.
	DPI int
	// CapHeight is the height of every glyph, in dots.
	CapHeight int
	// Spacing is the clear dots between two glyphs.
	Spacing int
	glyphs  map[rune]*Glyph
	order   string
}

// Glyph returns the glyph for r, or nil if the font lacks it.
func (f *Font) Glyph(r rune) *Glyph { return f.glyphs[r] }

// Charset returns every character of the font, in design order.
func (f *Font) Charset() string { return f.order }

// Check returns an error naming the first character of text that the font
// lacks. Lower-case letters are lacking: callers upper-case first
// (Normalize).
func (f *Font) Check(text string) error {
	for i, r := range text {
		if f.glyphs[r] == nil {
			return fmt.Errorf("microtext %s: character %q at offset %d is not in the font (it has %q)", f.Name, r, i, f.order)
		}
	}
	return nil
}

// Normalize upper-cases text and replaces characters the font lacks by
// '-', so that data bound from a job (names with accents, lower case) can
// always be drawn.
func (f *Font) Normalize(text string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(text) {
		if f.glyphs[r] == nil {
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Advance returns the width of text in dots, spacing included between
// glyphs (none after the last). Unknown characters count as zero.
func (f *Font) Advance(text string) int {
	w, n := 0, 0
	for _, r := range text {
		if g := f.glyphs[r]; g != nil {
			w += g.Width
			n++
		}
	}
	if n > 1 {
		w += (n - 1) * f.Spacing
	}
	return w
}

// newFont builds a font from glyph art: each entry is a character followed
// by CapHeight rows of '#' (set) and '.' (clear), all of the same width.
func newFont(name string, dpi, capHeight, spacing int, art []string) *Font {
	f := &Font{Name: name, DPI: dpi, CapHeight: capHeight, Spacing: spacing, glyphs: map[rune]*Glyph{}}
	for _, a := range art {
		fields := strings.Fields(a)
		r, _ := utf8.DecodeRuneInString(a)
		rows := fields[1:]
		if a[0] == ' ' { // the space glyph: "  .. .. .."
			r = ' '
			rows = fields
		}
		if len(rows) != capHeight {
			panic(fmt.Sprintf("microtext %s: glyph %q has %d rows, want %d", name, r, len(rows), capHeight))
		}
		g := &Glyph{Width: len(rows[0]), Rows: make([]uint16, capHeight)}
		for y, row := range rows {
			if len(row) != g.Width {
				panic(fmt.Sprintf("microtext %s: glyph %q row %d has width %d, want %d", name, r, y, len(row), g.Width))
			}
			for x := 0; x < len(row); x++ {
				if row[x] == '#' {
					g.Rows[y] |= 1 << uint(g.Width-1-x)
				}
			}
		}
		if _, dup := f.glyphs[r]; dup {
			panic(fmt.Sprintf("microtext %s: glyph %q defined twice", name, r))
		}
		f.glyphs[r] = g
		f.order += string(r)
	}
	return f
}

// Cut300 returns the 300 dpi cut: 5 dots cap height (0.42 mm), mostly 3
// dots wide.
func Cut300() *Font { return newFont("300", 300, 5, 1, art300) }

// Cut600 returns the 600 dpi cut: 7 dots cap height (0.30 mm), 5 dots wide.
func Cut600() *Font { return newFont("600", 600, 7, 1, art600) }

// ForDPI returns the cut designed for dpi: Cut600 from 600 dpi up, else
// Cut300.
func ForDPI(dpi int) *Font {
	if dpi >= 600 {
		return Cut600()
	}
	return Cut300()
}

// The glyphs are our own design, drawn for these sizes.
var art300 = []string{
	"A .#. #.# ### #.# #.#",
	"B ##. #.# ##. #.# ##.",
	"C .## #.. #.. #.. .##",
	"D ##. #.# #.# #.# ##.",
	"E ### #.. ##. #.. ###",
	"F ### #.. ##. #.. #..",
	"G .## #.. #.# #.# .##",
	"H #.# #.# ### #.# #.#",
	"I ### .#. .#. .#. ###",
	"J ..# ..# ..# #.# .#.",
	"K #.# #.# ##. #.# #.#",
	"L #.. #.. #.. #.. ###",
	"M #...# ##.## #.#.# #...# #...#",
	"N #..# ##.# #.## #..# #..#",
	"O .#. #.# #.# #.# .#.",
	"P ##. #.# ##. #.. #..",
	"Q .#. #.# #.# ##. .##",
	"R ##. #.# ##. #.# #.#",
	"S .## #.. .#. ..# ##.",
	"T ### .#. .#. .#. .#.",
	"U #.# #.# #.# #.# ###",
	"V #.# #.# #.# #.# .#.",
	"W #...# #...# #.#.# ##.## #...#",
	"X #.# #.# .#. #.# #.#",
	"Y #.# #.# .#. .#. .#.",
	"Z ### ..# .#. #.. ###",
	"0 ### #.# #.# #.# ###",
	"1 .#. ##. .#. .#. ###",
	"2 ##. ..# .#. #.. ###",
	"3 ##. ..# .#. ..# ##.",
	"4 #.# #.# ### ..# ..#",
	"5 ### #.. ##. ..# ##.",
	"6 .## #.. ### #.# ###",
	"7 ### ..# .#. .#. .#.",
	"8 ### #.# ### #.# ###",
	"9 ### #.# ### ..# ##.",
	"- ... ... ### ... ...",
	". . . . . #",
	"/ ..# ..# .#. #.. #..",
	"* ... #.# .#. #.# ...",
	"+ ... .#. ### .#. ...",
	": . # . # .",
	"< ..# .#. #.. .#. ..#",
	"  .. .. .. .. ..",
}

var art600 = []string{
	"A .###. #...# #...# ##### #...# #...# #...#",
	"B ####. #...# #...# ####. #...# #...# ####.",
	"C .###. #...# #.... #.... #.... #...# .###.",
	"D ####. #...# #...# #...# #...# #...# ####.",
	"E ##### #.... #.... ####. #.... #.... #####",
	"F ##### #.... #.... ####. #.... #.... #....",
	"G .###. #...# #.... #.### #...# #...# .####",
	"H #...# #...# #...# ##### #...# #...# #...#",
	"I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
	"J ..### ...#. ...#. ...#. ...#. #..#. .##..",
	"K #...# #..#. #.#.. ##... #.#.. #..#. #...#",
	"L #.... #.... #.... #.... #.... #.... #####",
	"M #...# ##.## #.#.# #.#.# #...# #...# #...#",
	"N #...# #...# ##..# #.#.# #..## #...# #...#",
	"O .###. #...# #...# #...# #...# #...# .###.",
	"P ####. #...# #...# ####. #.... #.... #....",
	"Q .###. #...# #...# #...# #.#.# #..#. .##.#",
	"R ####. #...# #...# ####. #.#.. #..#. #...#",
	"S .###. #...# #.... .###. ....# #...# .###.",
	"T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
	"U #...# #...# #...# #...# #...# #...# .###.",
	"V #...# #...# #...# #...# #...# .#.#. ..#..",
	"W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
	"X #...# #...# .#.#. ..#.. .#.#. #...# #...#",
	"Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
	"Z ##### ....# ...#. ..#.. .#... #.... #####",
	"0 .###. #...# #..## #.#.# ##..# #...# .###.",
	"1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
	"2 .###. #...# ....# ...#. ..#.. .#... #####",
	"3 ##### ...#. ..#.. ...#. ....# #...# .###.",
	"4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.",
	"5 ##### #.... ####. ....# ....# #...# .###.",
	"6 ..##. .#... #.... ####. #...# #...# .###.",
	"7 ##### ....# ...#. ..#.. .#... .#... .#...",
	"8 .###. #...# #...# .###. #...# #...# .###.",
	"9 .###. #...# #...# .#### ....# ...#. .##..",
	"- .... .... .... #### .... .... ....",
	". .. .. .. .. .. ## ##",
	"/ ....# ...#. ...#. ..#.. .#... .#... #....",
	"* ..... #.#.# .###. ##### .###. #.#.# .....",
	"+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....",
	": .. ## ## .. ## ## ..",
	"< ...#. ..#.. .#... #.... .#... ..#.. ...#.",
	"  ... ... ... ... ... ... ...",
}
