package qrcode

import (
	"math"
	"math/bits"
)

func (r *row) set(x int)      { r[x>>6] |= 1 << uint(x&63) }
func (r *row) clear(x int)    { r[x>>6] &^= 1 << uint(x&63) }
func (r *row) get(x int) bool { return r[x>>6]>>uint(x&63)&1 != 0 }
func (r row) and(o row) row   { return row{r[0] & o[0], r[1] & o[1], r[2] & o[2]} }
func (r row) or(o row) row    { return row{r[0] | o[0], r[1] | o[1], r[2] | o[2]} }
func (r row) xor(o row) row   { return row{r[0] ^ o[0], r[1] ^ o[1], r[2] ^ o[2]} }
func (r row) not() row        { return row{^r[0], ^r[1], ^r[2]} }
func (r row) isZero() bool    { return r[0]|r[1]|r[2] == 0 }
func (r row) count() int {
	return bits.OnesCount64(r[0]) + bits.OnesCount64(r[1]) + bits.OnesCount64(r[2])
}
func (r row) andNot(o row) row { return row{r[0] &^ o[0], r[1] &^ o[1], r[2] &^ o[2]} }
func (r row) shl1() row        { return row{r[0] << 1, r[1]<<1 | r[0]>>63, r[2]<<1 | r[1]>>63} }
func (r row) shr(s uint) row   { return row{r[0]>>s | r[1]<<(64-s), r[1]>>s | r[2]<<(64-s), r[2] >> s} } // 0 ≤ s < 64
func (r row) xnor(o row) row   { return row{^(r[0] ^ o[0]), ^(r[1] ^ o[1]), ^(r[2] ^ o[2])} }

// firstBits returns a row with bits 0 to k-1 set.
func firstBits(k int) row {
	var r row
	for i := range r {
		switch lo := 64 * i; {
		case k >= lo+64:
			r[i] = ^uint64(0)
		case k > lo:
			r[i] = 1<<uint(k-lo) - 1
		}
	}
	return r
}

// grid is a square of modules as rows.
type grid []row

func (g grid) set(x, y int, dark bool) {
	if dark {
		g[y].set(x)
	} else {
		g[y].clear(x)
	}
}

// transpose returns g's columns as rows.
func (g grid) transpose() grid {
	t := make(grid, len(g))
	for y, r := range g {
		for w, v := range r {
			for v != 0 {
				b := bits.TrailingZeros64(v)
				v &= v - 1
				t[64*w+b].set(y)
			}
		}
	}
	return t
}

// functionPatterns returns the values of a version's function modules
// (finders and separators, alignment and timing patterns, the dark
// module, the version information; the format information is left light)
// and which modules are function modules (the format areas included).
func functionPatterns(ver int) (val, fixed grid) {
	n := 17 + 4*ver
	val, fixed = make(grid, n), make(grid, n)
	set := func(x, y int, dark bool) {
		fixed[y].set(x)
		val.set(x, y, dark)
	}
	for _, o := range [3][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		for dy := -1; dy <= 7; dy++ {
			for dx := -1; dx <= 7; dx++ {
				x, y := o[0]+dx, o[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				in := dx >= 0 && dx <= 6 && dy >= 0 && dy <= 6
				ring := dx == 0 || dx == 6 || dy == 0 || dy == 6
				core := dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4
				set(x, y, in && (ring || core))
			}
		}
	}
	pos := alignmentPositions(ver)
	for _, cy := range pos {
		for _, cx := range pos {
			if fixed[cy].get(cx) {
				continue // under a finder
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					set(cx+dx, cy+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		if !fixed[6].get(i) {
			set(i, 6, i%2 == 0)
		}
		if !fixed[i].get(6) {
			set(6, i, i%2 == 0)
		}
	}
	set(8, n-8, true)
	if ver >= 7 {
		v := versionBits(ver)
		for i := 0; i < 18; i++ {
			dark := v>>uint(i)&1 != 0
			set(n-11+i%3, i/3, dark)
			set(i/3, n-11+i%3, dark)
		}
	}
	for _, p := range formatPositions(n) {
		for _, q := range p {
			fixed[q[1]].set(q[0])
		}
	}
	return val, fixed
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// alignmentPositions returns the row (and column) centres of a version's
// alignment patterns: 6, then evenly spaced by an even step up to n-7.
func alignmentPositions(ver int) []int {
	if ver == 1 {
		return nil
	}
	na := ver/7 + 2
	step := 26
	if ver != 32 {
		step = (ver*4 + na*2 + 1) / (na*2 - 2) * 2
	}
	pos := make([]int, na)
	pos[0] = 6
	for i, p := na-1, 17+4*ver-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

// formatBits returns the 15-bit format information of lvl and mask: the 5
// data bits, their BCH(15,5) check bits and the fixed XOR pattern.
func formatBits(lvl Level, mask int) uint32 {
	d := uint32([4]int{L: 1, M: 0, Q: 3, H: 2}[lvl]<<3 | mask)
	r := d << 10
	for i := 14; i >= 10; i-- {
		if r>>uint(i)&1 != 0 {
			r ^= 0x537 << uint(i-10)
		}
	}
	return (d<<10 | r) ^ 0x5412
}

// versionBits returns the 18-bit version information: 6 bits of version
// and their BCH(18,6) check bits.
func versionBits(ver int) uint32 {
	r := uint32(ver) << 12
	for i := 17; i >= 12; i-- {
		if r>>uint(i)&1 != 0 {
			r ^= 0x1F25 << uint(i-12)
		}
	}
	return uint32(ver)<<12 | r
}

// formatPositions returns the (x, y) of the two copies of the format
// information, in the order of its bits from the most significant.
func formatPositions(n int) [2][15][2]int {
	var p [2][15][2]int
	for i := 0; i < 15; i++ {
		switch {
		case i < 6:
			p[0][i] = [2]int{i, 8}
		case i == 6:
			p[0][i] = [2]int{7, 8}
		case i == 7:
			p[0][i] = [2]int{8, 8}
		case i == 8:
			p[0][i] = [2]int{8, 7}
		default:
			p[0][i] = [2]int{8, 14 - i}
		}
		if i < 7 {
			p[1][i] = [2]int{8, n - 1 - i}
		} else {
			p[1][i] = [2]int{n - 15 + i, 8}
		}
	}
	return p
}

// maskFlips reports whether mask k inverts the data module at column x,
// row y.
func maskFlips(k, x, y int) bool {
	switch k {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (y/2+x/3)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	}
	return ((x+y)%2+x*y%3)%2 == 0
}

// maskPeriod divides the period of every mask in x and in y.
const maskPeriod = 12

// place lays the codewords out in the zigzag order of the standard and
// returns the symbol with the mask of lowest penalty.
func place(cw []byte, ver int, lvl Level) *Symbol {
	n := 17 + 4*ver
	val, fixed := functionPatterns(ver)
	data := make(grid, n)
	total := 8 * len(cw)
	bit := 0
	up := true
	for x := n - 1; x >= 1; x -= 2 {
		if x == 6 {
			x = 5 // the vertical timing pattern's column is skipped
		}
		for i := 0; i < n; i++ {
			y := i
			if up {
				y = n - 1 - i
			}
			for _, xx := range [2]int{x, x - 1} {
				if fixed[y].get(xx) {
					continue
				}
				if bit < total && cw[bit>>3]>>uint(7-bit&7)&1 != 0 {
					data[y].set(xx)
				}
				bit++
			}
		}
		up = !up
	}
	all := firstBits(n)
	free := make(grid, n)
	for y := range free {
		free[y] = all.andNot(fixed[y])
	}
	valT, dataT, freeT := val.transpose(), data.transpose(), free.transpose()
	var rowPat, colPat [8][maskPeriod]row
	for k := 0; k < 8; k++ {
		for j := 0; j < maskPeriod; j++ {
			for i := 0; i < n; i++ {
				if maskFlips(k, i, j) {
					rowPat[k][j].set(i)
				}
				if maskFlips(k, j, i) {
					colPat[k][j].set(i)
				}
			}
		}
	}
	fp := formatPositions(n)
	cand, candT := make(grid, n), make(grid, n)
	best := make(grid, n)
	bestMask, bestPenalty := -1, uint(math.MaxUint)
	for k := 0; k < 8; k++ {
		for i := 0; i < n; i++ {
			cand[i] = val[i].or(data[i].xor(rowPat[k][i%maskPeriod].and(free[i])))
			candT[i] = valT[i].or(dataT[i].xor(colPat[k][i%maskPeriod].and(freeT[i])))
		}
		f := formatBits(lvl, k)
		for _, p := range fp {
			for i, q := range p {
				if f>>uint(14-i)&1 != 0 {
					cand[q[1]].set(q[0])
					candT[q[0]].set(q[1])
				}
			}
		}
		if p := penalty(cand, candT, n); p < bestPenalty {
			bestMask, bestPenalty = k, p
			copy(best, cand)
		}
	}
	return &Symbol{version: ver, level: lvl, mask: bestMask, rows: best}
}

// penalty returns the symbol's penalty: rows holds its rows, cols its
// columns, n its side. The rules are read as boombuler/barcode reads
// them: (1) a run of k ≥ 5 same-colour modules in a row or column costs
// k-2; (2) each 2 × 2 block of one colour costs 3; (3) each 11-module
// window of a row or column that is a finder-like pattern (dark, light,
// three dark, light, dark) with four light modules after or before it
// costs 40; (4) 10 for every whole 5 % that the dark share is away from
// 50 %. Symbols up to 64 modules wide (versions 1–11) take a path on
// single words.
func penalty(rows, cols grid, n int) uint {
	var p, dark int
	if n <= 64 {
		v1, v10 := uint64(1)<<uint(n-1)-1, uint64(1)<<uint(n-10)-1
		for i := 0; i < n; i++ {
			r, c := rows[i][0], cols[i][0]
			p += runPenalty64(r, v1) + runPenalty64(c, v1)
			p += 40 * (finderCount64(r, v10) + finderCount64(c, v10))
			if i+1 < n {
				same := ^(r ^ rows[i+1][0])
				p += 3 * bits.OnesCount64(same&(same>>1)&^(r^(r>>1))&v1)
			}
			dark += bits.OnesCount64(r)
		}
	} else {
		v1, v10 := firstBits(n-1), firstBits(n-10)
		for i := 0; i < n; i++ {
			r, c := rows[i], cols[i]
			p += runPenalty(r, v1) + runPenalty(c, v1)
			p += 40 * (finderCount(r, v10) + finderCount(c, v10))
			if i+1 < n {
				// Blocks: r[x] = r'[x], r[x+1] = r'[x+1], r[x] = r[x+1].
				same := r.xnor(rows[i+1])
				p += 3 * same.and(same.shr(1)).and(r.xnor(r.shr(1))).and(v1).count()
			}
			dark += r.count()
		}
	}
	pct := float64(dark) * 100 / float64(n*n)
	lo := math.Abs(math.Floor(pct/5) - 10)
	hi := math.Abs(math.Ceil(pct/5) - 10)
	return uint(p) + uint(math.Min(lo, hi)*10)
}

// runPenalty returns rule 1's penalty for one line r; v1 has the bits of
// the line's first n-1 modules.
func runPenalty(r, v1 row) int {
	// s: module x equals module x+1. t: modules x to x+4 are equal. A run
	// of k ≥ 5 gives k-4 bits of t in a row, and costs k-2: the bits plus
	// two for each group of them.
	s := r.xnor(r.shr(1)).and(v1)
	t := s.and(s.shr(1)).and(s.shr(2)).and(s.shr(3))
	return t.count() + 2*t.andNot(t.shl1()).count()
}

// runPenalty64 is runPenalty for a line of at most 64 modules.
func runPenalty64(r, v1 uint64) int {
	s := ^(r ^ r>>1) & v1
	t := s & (s >> 1) & (s >> 2) & (s >> 3)
	return bits.OnesCount64(t) + 2*bits.OnesCount64(t&^(t<<1))
}

// finderCount returns the number of positions x ≤ n-11 (v10 has their
// bits) where line r holds one of rule 3's two patterns.
func finderCount(r, v10 row) int {
	// core: dark, light, dark, dark, dark, light, dark from x; rare, so
	// most lines stop there.
	nr := r.not()
	core := r.and(nr.shr(1)).and(r.shr(2))
	if core.isZero() {
		return 0
	}
	core = core.and(r.shr(3)).and(r.shr(4)).and(nr.shr(5)).and(r.shr(6))
	if core.isZero() {
		return 0
	}
	light4 := nr.and(nr.shr(1)).and(nr.shr(2)).and(nr.shr(3)) // light x to x+3
	after := core.and(light4.shr(7))
	before := light4.and(core.shr(4))
	return after.or(before).and(v10).count()
}

// finderCount64 is finderCount for a line of at most 64 modules.
func finderCount64(r, v10 uint64) int {
	nr := ^r
	core := r & (nr >> 1) & (r >> 2)
	if core == 0 {
		return 0
	}
	core &= (r >> 3) & (r >> 4) & (nr >> 5) & (r >> 6)
	if core == 0 {
		return 0
	}
	light4 := nr & (nr >> 1) & (nr >> 2) & (nr >> 3)
	return bits.OnesCount64((core&(light4>>7) | light4&(core>>4)) & v10)
}
