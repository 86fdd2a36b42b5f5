package portrait

import (
	"encoding/binary"
	"math"

	pigo "github.com/esimov/pigo/core"
)

// faceCascade is the face detector's cascade (pigo's facefinder, Markuš
// et al., "Object detection with pixel intensity comparisons organized in
// decision trees"): trees of pixel-pair comparisons, their leaves'
// scores added up in order, the window rejected as soon as the sum falls
// to a tree's threshold.
//
// It is evaluated here rather than with pigo's RunCascade, which works
// out the positions of a comparison's pixels with six multiplications:
// upright, a pixel's row (or column) offset from the window's centre
// depends only on the window's size and on one byte of the comparison's
// code, so for each size a table of the 256 row offsets (in pixels of the
// image, times its row length) and one of the 256 column offsets give it
// with two lookups. The arithmetic is pigo's, so the windows found and
// their scores are exactly pigo's (TestCascadeAsPigo). Only trees of
// depth 6 (facefinder's) are evaluated here; a cascade of another depth
// is left to pigo.
type faceCascade struct {
	trees []tree6
}

// tree6 is a tree of depth 6, in 512 bytes.
type tree6 struct {
	// nodes are the inner nodes, root first, the children of node n at
	// 2n+1 and 2n+2: row and column of two pixels relative to the
	// window's centre, in 1/256 of its size, biased by 128 (0 is -128),
	nodes     [63][4]uint8
	threshold float32
	preds     [64]float32 // per leaf
}

// parseFaceCascade reads a face cascade already checked by
// checkFaceCascade; nil when its trees are not of depth 6.
func parseFaceCascade(b []byte) *faceCascade {
	if binary.LittleEndian.Uint32(b[8:]) != 6 {
		return nil
	}
	c := &faceCascade{trees: make([]tree6, binary.LittleEndian.Uint32(b[12:]))}
	pos := 16
	for i := range c.trees {
		t := &c.trees[i]
		for n := range t.nodes {
			for k := range t.nodes[n] {
				t.nodes[n][k] = b[pos] ^ 0x80
				pos++
			}
		}
		for l := range t.preds {
			t.preds[l] = math.Float32frombits(binary.LittleEndian.Uint32(b[pos:]))
			pos += 4
		}
		t.threshold = math.Float32frombits(binary.LittleEndian.Uint32(b[pos:]))
		pos += 4
	}
	return c
}

// Pigo's rotation of the comparisons' positions: cosine and sine of k/32
// of a turn, ×256.
var (
	qCos = [33]int{256, 251, 236, 212, 181, 142, 97, 49, 0, -49, -97, -142, -181, -212, -236, -251, -256, -251, -236, -212, -181, -142, -97, -49, 0, 49, 97, 142, 181, 212, 236, 251, 256}
	qSin = [33]int{0, 49, 97, 142, 181, 212, 236, 251, 256, 251, 236, 212, 181, 142, 97, 49, 0, -49, -97, -142, -181, -212, -236, -251, -256, -251, -236, -212, -181, -142, -97, -49, 0}
)

// offsets are an upright window size's pixel offsets from the window's
// centre by biased code: pigo's pixel ((256r+code·s)>>8, (256c+code·s)>>8)
// of a window at (r, c) is (r+(code·s)>>8, c+(code·s)>>8) exactly (the
// shift floors), at r·dim+c + rows[code+128] + cols[code+128].
type offsets struct {
	rows, cols [256]int
}

func (o *offsets) reset(s, dim int) {
	for i := range 256 {
		d := ((i - 128) * s) >> 8
		o.rows[i], o.cols[i] = d*dim, d
	}
}

// run is pigo's RunCascade on the image p with the search cp, at angle a
// (a fraction of a turn; 0 upright, else one of pigo's 32 steps, the
// image square): the windows of every size from cp.MinSize to cp.MaxSize
// whose score is positive, in pigo's order and with pigo's scores.
func (c *faceCascade) run(cp pigo.CascadeParams, a float64) []pigo.Detection {
	var dets []pigo.Detection
	k := 0
	if a > 0 {
		k = int(32 * min(a, 1))
	}
	var (
		o offsets
		b batch
	)
	pix, rows, cols, dim := cp.Pixels, cp.Rows, cp.Cols, cp.Dim
	if k == 0 && cp.MinSize <= cp.MaxSize {
		// The smallest windows are the most.
		s := cp.MinSize
		step, half := int(math.Max(cp.ShiftFactor*float64(s), 1)), s/2+1
		b.grow(max(0, (rows-2*half)/step+1) * max(0, (cols-2*half)/step+1))
	}
	for s := cp.MinSize; s <= cp.MaxSize; s = int(float64(s) + math.Max(2, float64(s)*cp.ScaleFactor-float64(s))) {
		step := int(math.Max(cp.ShiftFactor*float64(s), 1))
		half := s/2 + 1
		if k != 0 {
			for r := half; r <= rows-half; r += step {
				for col := half; col <= cols-half; col += step {
					if q := c.classifyRotated(pix, r, col, s*qCos[k], s*qSin[k], rows, dim); q > 0 {
						dets = append(dets, pigo.Detection{Row: r, Col: col, Scale: s, Q: q})
					}
				}
			}
			continue
		}
		o.reset(s, dim)
		b.reset()
		for r := half; r <= rows-half; r += step {
			for col := half; col <= cols-half; col += step {
				b.add(r*dim + col)
			}
		}
		c.classify(&o, pix, &b)
		// The survivors, in the order of the windows.
		w := 0
		for r := half; r <= rows-half; r += step {
			for col := half; col <= cols-half; col += step {
				if q := b.score[w]; q > 0 {
					dets = append(dets, pigo.Detection{Row: r, Col: col, Scale: s, Q: q})
				}
				w++
			}
		}
	}
	return dets
}

// batch is the windows of one size, classified together.
type batch struct {
	score []float32 // per window: the sum of its trees' predictions, then its score
	// alive are the windows not rejected yet, their pixel at the
	// window's centre and their current node.
	alive []int32
	base  []int32
	node  []uint8
}

// grow makes room for n windows.
func (b *batch) grow(n int) {
	b.score = make([]float32, 0, n)
	b.alive = make([]int32, 0, n)
	b.base = make([]int32, 0, n)
	b.node = make([]uint8, 0, n)
}

func (b *batch) reset() {
	b.score, b.alive, b.base, b.node = b.score[:0], b.alive[:0], b.base[:0], b.node[:0]
}

// add adds the window centred on pixel base.
func (b *batch) add(base int) {
	b.alive = append(b.alive, int32(len(b.score)))
	b.score = append(b.score, 0)
	b.base = append(b.base, int32(base))
	b.node = append(b.node, 0)
}

// classify scores the upright windows of b, of the size o is for: a
// window's score (b.score) is ≤ 0 when the cascade rejects it. The
// windows go through each tree together, level by level: a tree's walk
// is a chain of dependent loads (its node, the two pixels, the next
// node), and the walks of different windows overlap; and a tree's nodes,
// once read, serve the other windows from the cache. Each window's sum
// is added up in the order of the trees, as pigo adds it.
func (c *faceCascade) classify(o *offsets, pix []uint8, b *batch) {
	score := b.score
	alive, base, node := b.alive, b.base, b.node
	for i := range c.trees {
		if len(alive) == 0 {
			break
		}
		t := &c.trees[i]
		node = node[:len(alive)]
		base = base[:len(alive)]
		t.walk(o, pix, base, node)
		j := 0
		for k, w := range alive {
			sum := score[w] + t.preds[(int(node[k])-63)&63]
			if sum <= t.threshold {
				score[w] = -1
				continue
			}
			score[w] = sum
			alive[j], base[j] = w, base[k]
			j++
		}
		alive = alive[:j]
	}
	last := c.trees[len(c.trees)-1].threshold
	for _, w := range alive {
		score[w] -= last
	}
}

// walk takes each window centred on a pixel of base down the tree, level
// by level, and leaves its leaf in node (63 to 126).
func (t *tree6) walk(o *offsets, pix []uint8, base []int32, node []uint8) {
	rows, cols := &o.rows, &o.cols
	base = base[:len(node)]
	clear(node)
	for range 6 {
		for k, n := range node {
			q := &t.nodes[n]
			p := int(base[k])
			a := int(pix[p+rows[q[0]]+cols[q[1]]])
			b := int(pix[p+rows[q[2]]+cols[q[3]]])
			// 2n+2 when a ≤ b, else 2n+1 (without a branch: it goes
			// either way as often).
			node[k] = uint8(2*int(n) + 2 + (b-a)>>63)
		}
	}
}

// classifyRotated is classify for a window at (r, col) turned by pigo's
// qcos, qsin (×256 and the window's size): a pixel is at
// (r+(qcos·code₀−qsin·code₁)>>16, col+(qsin·code₀+qcos·code₁)>>16),
// clamped to the square of side rows.
func (c *faceCascade) classifyRotated(pix []uint8, r, col, qcos, qsin, rows, dim int) float32 {
	var out float32
	at := func(q0, q1 uint8) int {
		y, x := int(q0)-128, int(q1)-128
		ry := min(rows-1, max(0, r+(qcos*y-qsin*x)>>16))
		rx := min(rows-1, max(0, col+(qsin*y+qcos*x)>>16))
		return int(pix[ry*dim+rx])
	}
	for i := range c.trees {
		t := &c.trees[i]
		n := 0
		for range 6 {
			q := &t.nodes[n]
			n = 2*n + 2 + (at(q[2], q[3])-at(q[0], q[1]))>>63
		}
		out += t.preds[(n-63)&63]
		if out <= t.threshold {
			return -1
		}
	}
	return out - c.trees[len(c.trees)-1].threshold
}
