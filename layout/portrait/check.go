package portrait

import (
	"fmt"
	"image"
	"math"
	"strings"
)

// Verdict is the outcome of one check or of a whole photo.
type Verdict int

// Verdicts, in order of severity.
const (
	Pass Verdict = iota
	Warn
	Fail
)

// String is the verdict's name: pass, warn or fail.
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Warn:
		return "warn"
	}
	return "fail"
}

// MarshalText writes the verdict's name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads a verdict's name.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch string(b) {
	case "pass":
		*v = Pass
	case "warn":
		*v = Warn
	case "fail":
		*v = Fail
	default:
		return fmt.Errorf("verdict %q: want pass, warn or fail", clip(string(b)))
	}
	return nil
}

// Names of the checks, in the order a Report lists them.
const (
	CheckFace       = "face"       // exactly one face, its eyes found
	CheckSize       = "size"       // eye distance in the photo's pixels
	CheckFraming    = "framing"    // the head inside the photo, room for the standard crop
	CheckRoll       = "roll"       // eyes level
	CheckSharpness  = "sharpness"  // variance of the Laplacian on the face
	CheckExposure   = "exposure"   // face brightness and clipped shadows/highlights
	CheckBackground = "background" // uniformity beside and above the head
)

// Thresholds are the limits of the checks. A photo warns past a Warn
// limit and fails past a Fail limit. For the upper limits (Roll, Clipped,
// Bright, Background) 0 turns that level off.
type Thresholds struct {
	// EyeDistanceWarn, EyeDistanceFail: least distance between the
	// pupils, in the photo's pixels.
	EyeDistanceWarn, EyeDistanceFail float64
	// RollWarn, RollFail: largest tilt of the eye line, degrees.
	RollWarn, RollFail float64
	// SharpnessWarn, SharpnessFail: least variance of the Laplacian on
	// the face, measured at a normalised scale (eyes about 32 pixels
	// apart).
	SharpnessWarn, SharpnessFail float64
	// ClippedWarn, ClippedFail: largest share (0–1) of the face's pixels
	// clipped black or white.
	ClippedWarn, ClippedFail float64
	// DarkWarn, DarkFail: least mean brightness of the face (0–255).
	DarkWarn, DarkFail float64
	// BrightWarn, BrightFail: largest mean brightness of the face.
	BrightWarn, BrightFail float64
	// BackgroundWarn, BackgroundFail: largest standard deviation of the
	// brightness beside and above the head (0–255).
	BackgroundWarn, BackgroundFail float64
}

// DefaultThresholds are the limits a station uses unless configured.
func DefaultThresholds() Thresholds {
	return Thresholds{
		EyeDistanceWarn: 60, EyeDistanceFail: 30,
		RollWarn: 5, RollFail: 10,
		SharpnessWarn: 60, SharpnessFail: 25,
		ClippedWarn: 0.05, ClippedFail: 0.25,
		DarkWarn: 80, DarkFail: 50,
		BrightWarn: 215, BrightFail: 240,
		BackgroundWarn: 25, BackgroundFail: 0,
	}
}

// Result is the outcome of one check.
type Result struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Value is the measure the verdict was drawn from (see Thresholds).
	Value float64 `json:"value"`
	// Message says what was measured, and what is wrong when it is not a
	// pass: "eyes not level (14°)".
	Message string `json:"message"`
}

// Report is the verdict on one photo with every check.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// Width and Height are the photo's (upright) size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Faces is the number of faces found; Face the best of them.
	Faces  int      `json:"faces"`
	Face   *Face    `json:"face,omitempty"`
	Checks []Result `json:"checks"`
}

// Reason is the first failing (or, without one, warning) check as
// "photo: MESSAGE", or "" for a pass.
func (r Report) Reason() string {
	for _, want := range []Verdict{Fail, Warn} {
		var msgs []string
		for _, c := range r.Checks {
			if c.Verdict == want {
				msgs = append(msgs, c.Message)
			}
		}
		if len(msgs) > 0 {
			return "photo: " + strings.Join(msgs, "; ")
		}
	}
	return ""
}

// Check finds the faces in img (upright) and checks the photo.
func (d *Detector) Check(img image.Image, th Thresholds) Report {
	return Assess(img, d.Detect(img), th)
}

// CheckReduced checks a photo of bounds src (upright) from img, a copy of
// it reduced factor times in each direction (a JPEG decoded at 1/2 of its
// size straight from its coefficients costs a fraction of a whole
// decode): the faces are searched for and measured on img, and the report
// gives sizes, positions and the face in the photo's own pixels, as Check
// on the whole photo does. A factor under 2 is Check.
func (d *Detector) CheckReduced(img image.Image, factor int, src image.Rectangle, th Thresholds) Report {
	if factor < 2 {
		return d.Check(img, th)
	}
	return assess(img, d.Detect(img), factor, src, th)
}

// Scaled returns f with its positions multiplied by s (a face found on a
// copy of a photo reduced s times, in the photo's own pixels).
func (f Face) Scaled(s int) Face {
	k := float64(s)
	f.Box = image.Rect(f.Box.Min.X*s, f.Box.Min.Y*s, f.Box.Max.X*s, f.Box.Max.Y*s)
	f.Left = Point{f.Left.X * k, f.Left.Y * k}
	f.Right = Point{f.Right.X * k, f.Right.Y * k}
	return f
}

// Assess checks img given the faces found in it (best first).
func Assess(img image.Image, faces []Face, th Thresholds) Report {
	return assess(img, faces, 1, img.Bounds(), th)
}

// assess is Assess on img, a copy of the photo of bounds src reduced
// factor times, with faces found on img.
func assess(img image.Image, faces []Face, factor int, src image.Rectangle, th Thresholds) Report {
	b := src
	rep := Report{Width: b.Dx(), Height: b.Dy(), Faces: len(faces)}
	add := func(name string, v Verdict, value float64, format string, args ...any) {
		rep.Checks = append(rep.Checks, Result{Name: name, Verdict: v, Value: value, Message: fmt.Sprintf(format, args...)})
		rep.Verdict = max(rep.Verdict, v)
	}
	switch {
	case len(faces) == 0:
		add(CheckFace, Fail, 0, "no face found")
		return rep
	case len(faces) > 1:
		add(CheckFace, Fail, float64(len(faces)), "%d faces found", len(faces))
		return rep
	}
	// fi is the face on img (the photometric measures are taken there),
	// f the face in the photo's own pixels.
	fi := faces[0]
	f := fi.Scaled(factor)
	rep.Face = &f
	if !f.Eyes {
		add(CheckFace, Fail, 1, "eyes not found (closed, covered or turned away?)")
		return rep
	}
	add(CheckFace, Pass, 1, "one face")

	ed := f.EyeDistance()
	add(CheckSize, below(ed, th.EyeDistanceWarn, th.EyeDistanceFail), ed, "eyes %.0f px apart%s", ed,
		note(below(ed, th.EyeDistanceWarn, th.EyeDistanceFail), " (face too small or photo too coarse)"))

	head := headRect(f)
	switch off := cropOffset(f, b); {
	case !head.In(b):
		out := cutShare(head, b)
		add(CheckFraming, Fail, out, "head cut by the photo's edge (%.0f%% outside)", 100*out)
	case off > framingSlack:
		add(CheckFraming, Warn, off, "too close to the photo's edge for the standard crop (face %.0f%% off its place)", 100*off)
	default:
		add(CheckFraming, Pass, off, "head inside the photo")
	}

	roll := f.Roll()
	v := above(math.Abs(roll), th.RollWarn, th.RollFail)
	if v == Pass {
		add(CheckRoll, v, roll, "eyes level (%.0f°)", roll)
	} else {
		add(CheckRoll, v, roll, "eyes not level (%.0f°)", roll)
	}

	// The measures are taken with the eyes about normEyes pixels apart:
	// on a grid of k × k source pixels, k a whole number (so that a
	// photo's reduced copy is measured on the grid its whole decode is).
	k := max(1, math.Round(ed/normEyes))
	m := measure(img, fi, k/float64(factor))
	v = below(m.sharpness, th.SharpnessWarn, th.SharpnessFail)
	add(CheckSharpness, v, m.sharpness, "sharpness %.0f%s", m.sharpness, note(v, " (blurred or out of focus)"))

	ve := max(above(m.clipped, th.ClippedWarn, th.ClippedFail),
		below(m.mean, th.DarkWarn, th.DarkFail), above(m.mean, th.BrightWarn, th.BrightFail))
	var what string
	switch {
	case ve == Pass:
		what = "exposure good"
	case m.mean < th.DarkWarn:
		what = "face too dark"
	case th.BrightWarn > 0 && m.mean > th.BrightWarn:
		what = "face too bright"
	default:
		what = "shadows or highlights clipped"
	}
	add(CheckExposure, ve, m.mean, "%s (brightness %.0f, %.0f%% clipped)", what, m.mean, 100*m.clipped)

	if m.bgN == 0 {
		add(CheckBackground, Pass, 0, "background not measurable (no room beside the head)")
	} else {
		v = above(m.background, th.BackgroundWarn, th.BackgroundFail)
		add(CheckBackground, v, m.background, "background %s (deviation %.0f)", map[bool]string{true: "uniform", false: "not uniform"}[v == Pass], m.background)
	}
	return rep
}

// framingSlack is how far (a share of the frame) the standard crop may
// have to move to fit the photo and still pass.
const framingSlack = 0.03

// cropOffset is how far the fitted standard crop of a 3 × 4 frame lies
// from the ideal one, as a share of its size (0 when it fits).
func cropOffset(f Face, b image.Rectangle) float64 {
	ideal := IdealRect(f, 3, 4)
	r, _ := CropRect(f, b, 3, 4)
	dx := math.Abs(float64(r.Min.X+r.Max.X-ideal.Min.X-ideal.Max.X)) / 2 / float64(ideal.Dx())
	dy := math.Abs(float64(r.Min.Y+r.Max.Y-ideal.Min.Y-ideal.Max.Y)) / 2 / float64(ideal.Dy())
	return math.Max(math.Max(dx, dy), 1-float64(r.Dx())/float64(ideal.Dx()))
}

// below grades a measure that must not be small.
func below(x, warn, fail float64) Verdict {
	switch {
	case x < fail:
		return Fail
	case x < warn:
		return Warn
	}
	return Pass
}

// above grades a measure that must not be large; a 0 limit is off.
func above(x, warn, fail float64) Verdict {
	switch {
	case fail > 0 && x > fail:
		return Fail
	case warn > 0 && x > warn:
		return Warn
	}
	return Pass
}

func note(v Verdict, s string) string {
	if v == Pass {
		return ""
	}
	return s
}

// cutShare is the share of r's area outside b.
func cutShare(r, b image.Rectangle) float64 {
	in := r.Intersect(b)
	a := float64(r.Dx()) * float64(r.Dy())
	if a <= 0 {
		return 0
	}
	return 1 - float64(in.Dx())*float64(in.Dy())/a
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// measures are the photometric measures of one face.
type measures struct {
	sharpness  float64 // variance of the Laplacian on the face
	mean       float64 // mean brightness of the face
	clipped    float64 // share of face pixels at 0–4 or 251–255
	background float64 // standard deviation beside and above the head
	bgN        int     // background pixels measured
}

// normEyes is the eye distance, in pixels, the measures are taken at.
const normEyes = 32

// measure takes the photometric measures of face on a grey copy of the
// standard crop's region reduced so that the eyes are about normEyes
// pixels apart (so the sharpness does not depend on the photo's size).
//
// The grid's cells are k × k pixels of img: whole blocks averaged when k
// is a whole number, else each cell the mean of what it covers (partial
// pixels weighted by their share).
func measure(img image.Image, f Face, k float64) measures {
	b := img.Bounds()
	ed := f.EyeDistance()
	region := IdealRect(f, 3, 4).Intersect(b)
	var m measures
	if float64(region.Dx()) < 3*k || float64(region.Dy()) < 3*k {
		return m
	}
	var g grey
	if k == math.Trunc(k) {
		g = greyMean(img, region, int(k))
	} else {
		g = greyArea(img, region, k)
	}
	c := f.EyeCentre()
	// to grey pixels
	gx := func(x float64) int { return int((x - float64(region.Min.X)) / k) }
	gy := func(y float64) int { return int((y - float64(region.Min.Y)) / k) }
	// The face: between the eyes' outer corners, from the brows to the mouth.
	x0, x1 := max(1, gx(c.X-0.9*ed)), min(g.w-1, gx(c.X+0.9*ed))
	y0, y1 := max(1, gy(c.Y-0.4*ed)), min(g.h-1, gy(c.Y+1.3*ed))
	var n, sum, sum2, lsum, lsum2, clipped float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			p := g.pix[y*g.w+x]
			v := float64(p)
			sum += v
			sum2 += v * v
			if p <= 4 || p >= 251 {
				clipped++
			}
			l := 4*v - float64(g.pix[(y-1)*g.w+x]) - float64(g.pix[(y+1)*g.w+x]) - float64(g.pix[y*g.w+x-1]) - float64(g.pix[y*g.w+x+1])
			lsum += l
			lsum2 += l * l
			n++
		}
	}
	if n > 0 {
		m.mean = sum / n
		m.clipped = clipped / n
		lm := lsum / n
		m.sharpness = lsum2/n - lm*lm
	}
	// The background: the frame's upper corners beside the head.
	ideal := IdealRect(f, 3, 4)
	bw, bh := 0.18*float64(ideal.Dx()), 0.35*float64(ideal.Dy())
	var bsum, bsum2, bn float64
	for _, cr := range []image.Rectangle{
		image.Rect(ideal.Min.X, ideal.Min.Y, ideal.Min.X+int(bw), ideal.Min.Y+int(bh)),
		image.Rect(ideal.Max.X-int(bw), ideal.Min.Y, ideal.Max.X, ideal.Min.Y+int(bh)),
	} {
		cr = cr.Intersect(region)
		for y := gy(float64(cr.Min.Y)); y < min(g.h, gy(float64(cr.Max.Y))); y++ {
			for x := gx(float64(cr.Min.X)); x < min(g.w, gx(float64(cr.Max.X))); x++ {
				v := float64(g.pix[y*g.w+x])
				bsum += v
				bsum2 += v * v
				bn++
			}
		}
	}
	if bn > 0 {
		bm := bsum / bn
		m.background = math.Sqrt(math.Max(0, bsum2/bn-bm*bm))
		m.bgN = int(bn)
	}
	return m
}

// greyMean returns the luminance of the part r of img averaged over whole
// k × k blocks (a partial block at the edge averages what it covers).
func greyMean(img image.Image, r image.Rectangle, k int) grey {
	w, h := (r.Dx()+k-1)/k, (r.Dy()+k-1)/k
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	sum := make([]uint32, w)
	row := make([]uint8, r.Dx())
	// The last block of a row may be narrower.
	lastW := uint32(r.Dx() - (w-1)*k)
	for oy := 0; oy < h; oy++ {
		clear(sum)
		y0, y1 := r.Min.Y+oy*k, min(r.Max.Y, r.Min.Y+(oy+1)*k)
		for y := y0; y < y1; y++ {
			lumaRow(img, r.Min.X, r.Max.X, y, row)
			for i := range sum {
				var s uint32
				for _, v := range row[i*k : min(i*k+k, len(row))] {
					s += uint32(v)
				}
				sum[i] += s
			}
		}
		n := uint32(y1 - y0)
		o := g.pix[oy*w : (oy+1)*w]
		for i := range o {
			cnt := n * uint32(k)
			if i == w-1 {
				cnt = n * lastW
			}
			o[i] = uint8((sum[i] + cnt/2) / cnt)
		}
	}
	return g
}

// greyArea returns the luminance of the part r of img averaged over cells
// of k × k pixels (k not a whole number): each cell the mean of the pixels
// it covers, a pixel it covers in part weighted by that part. A partial
// cell at the edge averages what it covers.
func greyArea(img image.Image, r image.Rectangle, k float64) grey {
	w, h := int(math.Ceil(float64(r.Dx())/k)), int(math.Ceil(float64(r.Dy())/k))
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	// cover lists, for each cell along one axis, the pixels it covers
	// (offsets from the start) and their weights.
	type part struct {
		i int
		w float64
	}
	cover := func(n, cells int) [][]part {
		out := make([][]part, cells)
		// One array for all the cells' parts: a cell covers at most
		// ⌈k⌉ + 1 pixels.
		all := make([]part, 0, cells*(int(math.Ceil(k))+1))
		for c := range out {
			lo, hi := float64(c)*k, math.Min(float64(c+1)*k, float64(n))
			start := len(all)
			for i := int(lo); float64(i) < hi; i++ {
				if wt := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i)); wt > 0 {
					all = append(all, part{i, wt})
				}
			}
			out[c] = all[start:len(all):len(all)]
		}
		return out
	}
	cols, rows := cover(r.Dx(), w), cover(r.Dy(), h)
	row := make([]uint8, r.Dx())
	sum := make([]float64, w)
	// across holds a source row summed across each cell's columns: the
	// row a cell covers in part is shared with the next cell down.
	across := make([]float64, w)
	last := -1
	for oy, rs := range rows {
		clear(sum)
		var rw float64
		for _, p := range rs {
			if p.i != last {
				lumaRow(img, r.Min.X, r.Max.X, r.Min.Y+p.i, row)
				for ox, cs := range cols {
					var v float64
					for _, q := range cs {
						v += float64(row[q.i]) * q.w
					}
					across[ox] = v
				}
				last = p.i
			}
			for ox, v := range across {
				sum[ox] += v * p.w
			}
			rw += p.w
		}
		o := g.pix[oy*w : (oy+1)*w]
		for ox, cs := range cols {
			var cw float64
			for _, q := range cs {
				cw += q.w
			}
			o[ox] = uint8(math.Min(255, math.Round(sum[ox]/(cw*rw))))
		}
	}
	return g
}
