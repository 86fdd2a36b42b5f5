package portrait

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
)

// pupils is the pupil localiser: an ensemble of regression trees in
// stages (Markuš et al., "Eye pupil localization with an ensemble of
// randomized trees", the model pigo ships as cascade/puploc). Each tree
// compares pairs of pixels placed relative to the current estimate and
// scaled by its size, and its leaf moves the estimate; each stage then
// shrinks the size. The estimate is run from a few jittered starts and
// the median kept.
//
// It is evaluated here rather than with pigo's RunDetector because that
// one draws its jitter from the global random source (the same photo
// would not always get the same verdict) and always costs 63 runs (its
// median mixes in stale results with fewer).
type pupils struct {
	stages, trees, depth int
	shrink               float32
	codes                []int8    // per tree, 4 per inner node: row, col of two pixels (×size/256)
	preds                []float32 // per tree, 2 per leaf: row and column moves (×size)
}

// parsePupils reads a pupil cascade already checked by checkPupilCascade.
func parsePupils(b []byte) *pupils {
	p := &pupils{
		stages: int(binary.LittleEndian.Uint32(b[0:])),
		shrink: math.Float32frombits(binary.LittleEndian.Uint32(b[4:])),
		trees:  int(binary.LittleEndian.Uint32(b[8:])),
		depth:  int(binary.LittleEndian.Uint32(b[12:])),
	}
	leaves := 1 << p.depth
	n := p.stages * p.trees
	p.codes = make([]int8, 0, n*4*(leaves-1))
	p.preds = make([]float32, 0, n*2*leaves)
	pos := 16
	for range n {
		for _, c := range b[pos : pos+4*(leaves-1)] {
			p.codes = append(p.codes, int8(c))
		}
		pos += 4 * (leaves - 1)
		for range 2 * leaves {
			p.preds = append(p.preds, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
			pos += 4
		}
	}
	return p
}

// pupilRuns is the number of jittered starts per eye; pupilSeed seeds
// their jitter so a photo always gets the same answer.
const (
	pupilRuns = 15
	pupilSeed = 0x70757069
)

// estimate is one run of the localiser: its current position and size,
// and the move the current stage's trees add up.
type estimate struct {
	r, c, s float64
	dr, dc  float32
}

// starts appends the jittered starts around a pupil estimate (row, col)
// of size s to e.
func starts(e []estimate, row, col, s float64) []estimate {
	rng := rand.New(rand.NewPCG(pupilSeed, uint64(row)<<32|uint64(col)))
	for range pupilRuns {
		r := row + s*0.15*(0.5-rng.Float64())
		c := col + s*0.15*(0.5-rng.Float64())
		e = append(e, estimate{r: r, c: c, s: s * (0.925 + 0.15*rng.Float64())})
	}
	return e
}

// median is the median row and column of the runs e (pupilRuns of them).
func median(e []estimate) (float64, float64) {
	var rs, cs [pupilRuns]float64
	for i := range rs {
		rs[i], cs[i] = e[i].r, e[i].c
	}
	slices.Sort(rs[:])
	slices.Sort(cs[:])
	return rs[pupilRuns/2], cs[pupilRuns/2]
}

// locate2 refines the estimates of both pupils, (r1, c1) and (r2, c2) of
// size s (about a quarter of the face's width), on g and returns the new
// estimates: each the median of pupilRuns runs from jittered starts.
func (p *pupils) locate2(g grey, r1, c1, r2, c2, s float64) (float64, float64, float64, float64) {
	var buf [2 * pupilRuns]estimate
	e := starts(starts(buf[:0], r1, c1, s), r2, c2, s)
	p.run(g, e)
	r1, c1 = median(e[:pupilRuns])
	r2, c2 = median(e[pupilRuns:])
	return r1, c1, r2, c2
}

// run moves every estimate in e (at most 2 × pupilRuns) through every
// stage. Each estimate moves exactly as it would alone; they go through
// each tree together, level by level, because the model (1.2 MB) does not
// stay in the cache: a level's reads for the different estimates do not
// wait on each other, and a tree's upper nodes, once read, serve them all.
func (p *pupils) run(g grey, e []estimate) {
	inner := 1<<p.depth - 1
	codes, preds := p.codes, p.preds
	ct, pt := 0, 0 // current tree's codes and predictions
	w, h := g.w, g.h
	pix := g.pix
	for range p.stages {
		for i := range e {
			e[i].dr, e[i].dc = 0, 0
		}
		// Each run's position and size in the grey copy's fixed point.
		var pos [2 * pupilRuns]struct{ r256, c256, si int }
		ps := pos[:len(e)]
		for i := range ps {
			ps[i].si = int(math.Round(e[i].s))
			ps[i].r256, ps[i].c256 = int(e[i].r*256), int(e[i].c*256)
		}
		var idxs [2 * pupilRuns]int
		ix := idxs[:len(e)]
		for range p.trees {
			tc := codes[ct : ct+4*inner]
			tp := preds[pt : pt+2*(inner+1)]
			clear(ix)
			// Level by level, every run: the runs' reads of the
			// tree's nodes do not wait on each other.
			for range p.depth {
				for i, q := range ps {
					idx := ix[i]
					n := tc[4*idx : 4*idx+4 : 4*idx+4]
					r1 := min(h-1, max(0, (q.r256+int(n[0])*q.si)>>8))
					c1 := min(w-1, max(0, (q.c256+int(n[1])*q.si)>>8))
					r2 := min(h-1, max(0, (q.r256+int(n[2])*q.si)>>8))
					c2 := min(w-1, max(0, (q.c256+int(n[3])*q.si)>>8))
					idx = 2*idx + 1
					if pix[r1*w+c1] > pix[r2*w+c2] {
						idx++
					}
					ix[i] = idx
				}
			}
			for i, idx := range ix {
				leaf := idx - inner
				e[i].dr += tp[2*leaf]
				e[i].dc += tp[2*leaf+1]
			}
			ct += 4 * inner
			pt += 2 * (inner + 1)
		}
		for i := range e {
			x := &e[i]
			x.r += float64(x.dr) * x.s
			x.c += float64(x.dc) * x.s
			x.s *= float64(p.shrink)
		}
	}
}
