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

// locate refines a pupil estimate (row, col) of size s (about a quarter
// of the face's width) on g and returns the new estimate.
func (p *pupils) locate(g grey, row, col, s float64) (float64, float64) {
	rng := rand.New(rand.NewPCG(pupilSeed, uint64(row)<<32|uint64(col)))
	rs := make([]float64, pupilRuns)
	cs := make([]float64, pupilRuns)
	for i := range pupilRuns {
		r := row + s*0.15*(0.5-rng.Float64())
		c := col + s*0.15*(0.5-rng.Float64())
		sc := s * (0.925 + 0.15*rng.Float64())
		rs[i], cs[i] = p.run(g, r, c, sc)
	}
	slices.Sort(rs)
	slices.Sort(cs)
	return rs[pupilRuns/2], cs[pupilRuns/2]
}

// run moves one estimate through every stage.
func (p *pupils) run(g grey, r, c, s float64) (float64, float64) {
	inner := 1<<p.depth - 1
	codes, preds := p.codes, p.preds
	ct, pt := 0, 0 // current tree's codes and predictions
	for range p.stages {
		var dr, dc float32
		si := int(math.Round(s))
		r256, c256 := int(r*256), int(c*256)
		for range p.trees {
			tc := codes[ct : ct+4*inner]
			idx := 0
			for range p.depth {
				n := tc[4*idx : 4*idx+4 : 4*idx+4]
				r1 := min(g.h-1, max(0, (r256+int(n[0])*si)>>8))
				c1 := min(g.w-1, max(0, (c256+int(n[1])*si)>>8))
				r2 := min(g.h-1, max(0, (r256+int(n[2])*si)>>8))
				c2 := min(g.w-1, max(0, (c256+int(n[3])*si)>>8))
				idx = 2*idx + 1
				if g.pix[r1*g.w+c1] > g.pix[r2*g.w+c2] {
					idx++
				}
			}
			leaf := idx - inner
			dr += preds[pt+2*leaf]
			dc += preds[pt+2*leaf+1]
			ct += 4 * inner
			pt += 2 * (inner + 1)
		}
		r += float64(dr) * s
		c += float64(dc) * s
		s *= float64(p.shrink)
	}
	return r, c
}
