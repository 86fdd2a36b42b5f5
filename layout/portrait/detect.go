package portrait

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	pigo "github.com/esimov/pigo/core"
)

// File names of the trained cascades inside a cascade directory, as the
// pigo module ships them under cascade/.
const (
	FaceCascade  = "facefinder"
	PupilCascade = "puploc"
)

// ErrNoCascades means the cascade directory lacks the trained files; a
// station without them composes without face detection.
var ErrNoCascades = errors.New("face detection cascades not found")

// ErrBadCascade means a cascade file is not in pigo's format.
var ErrBadCascade = errors.New("not a pigo cascade file")

// Point is a position in the source image's pixel coordinates (continuous:
// the centre of pixel (x, y) is (x+0.5, y+0.5)).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Face is one face found in a photo.
type Face struct {
	// Box is the square the face detector found, in source pixels.
	Box image.Rectangle `json:"box"`
	// Score is the detector's confidence (pigo's cluster quality).
	Score float64 `json:"score"`
	// Left and Right are the pupils as seen in the picture (Left is the
	// subject's right eye). Eyes is false when the pupil localiser found
	// no plausible pair; Left and Right are then estimated from Box.
	Left  Point `json:"left_eye"`
	Right Point `json:"right_eye"`
	Eyes  bool  `json:"eyes"`
}

// EyeDistance is the distance between the pupils in source pixels.
func (f Face) EyeDistance() float64 { return math.Hypot(f.Right.X-f.Left.X, f.Right.Y-f.Left.Y) }

// EyeCentre is the midpoint of the pupils.
func (f Face) EyeCentre() Point { return Point{(f.Left.X + f.Right.X) / 2, (f.Left.Y + f.Right.Y) / 2} }

// Roll is the angle of the eye line in degrees, positive when the
// right-hand eye (in the picture) is lower.
func (f Face) Roll() float64 {
	return math.Atan2(f.Right.Y-f.Left.Y, f.Right.X-f.Left.X) * 180 / math.Pi
}

// Detector finds faces and pupils with pigo's pixel-comparison cascades.
// It is safe for concurrent use.
type Detector struct {
	face    *pigo.Pigo   // pigo's cascade: its clustering of windows
	cascade *faceCascade // the same, evaluated here; nil: by pigo
	pupil   *pupils
	dir     string
}

// Load reads the cascades FaceCascade and PupilCascade from dir. A
// missing file gives an error wrapping ErrNoCascades.
func Load(dir string) (*Detector, error) {
	if dir == "" {
		return nil, fmt.Errorf("portrait: %w: no cascade directory configured", ErrNoCascades)
	}
	face, err := os.ReadFile(filepath.Join(dir, FaceCascade))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("portrait: %w: %w", ErrNoCascades, err)
	}
	if err != nil {
		return nil, fmt.Errorf("portrait: %w", err)
	}
	pupil, err := os.ReadFile(filepath.Join(dir, PupilCascade))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("portrait: %w: %w", ErrNoCascades, err)
	}
	if err != nil {
		return nil, fmt.Errorf("portrait: %w", err)
	}
	d, err := New(face, pupil)
	if err != nil {
		return nil, fmt.Errorf("portrait: %s: %w", dir, err)
	}
	d.dir = dir
	return d, nil
}

// New returns a detector from the contents of the face and pupil
// cascade files. Their sizes are checked against their headers first:
// pigo's unpacking trusts its input.
func New(face, pupil []byte) (*Detector, error) {
	if err := checkFaceCascade(face); err != nil {
		return nil, fmt.Errorf("%s: %w", FaceCascade, err)
	}
	if err := checkPupilCascade(pupil); err != nil {
		return nil, fmt.Errorf("%s: %w", PupilCascade, err)
	}
	f, err := pigo.NewPigo().Unpack(face)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", FaceCascade, ErrBadCascade, err)
	}
	return &Detector{face: f, cascade: parseFaceCascade(face), pupil: parsePupils(pupil)}, nil
}

// Dir is the directory the cascades were loaded from ("" for New).
func (d *Detector) Dir() string { return d.dir }

// checkFaceCascade checks the face cascade's length: 8 bytes of header,
// the tree depth and count, then per tree its node codes (4 bytes per
// inner node), a float per leaf and a threshold.
func checkFaceCascade(b []byte) error {
	if len(b) < 16 {
		return fmt.Errorf("%w: %d bytes", ErrBadCascade, len(b))
	}
	depth := binary.LittleEndian.Uint32(b[8:])
	trees := binary.LittleEndian.Uint32(b[12:])
	if depth < 1 || depth > 12 || trees < 1 || trees > 1<<16 {
		return fmt.Errorf("%w: depth %d, %d trees", ErrBadCascade, depth, trees)
	}
	leaves := int64(1) << depth
	if want := 16 + int64(trees)*(4*leaves-4+4*leaves+4); int64(len(b)) != want {
		return fmt.Errorf("%w: %d bytes, header says %d", ErrBadCascade, len(b), want)
	}
	return nil
}

// checkPupilCascade checks the pupil cascade's length: stages, scale
// factor, trees per stage and depth, then per tree its node codes and two
// floats per leaf.
func checkPupilCascade(b []byte) error {
	if len(b) < 16 {
		return fmt.Errorf("%w: %d bytes", ErrBadCascade, len(b))
	}
	stages := binary.LittleEndian.Uint32(b[0:])
	trees := binary.LittleEndian.Uint32(b[8:])
	depth := binary.LittleEndian.Uint32(b[12:])
	if stages < 1 || stages > 64 || trees < 1 || trees > 1<<12 || depth < 1 || depth > 12 {
		return fmt.Errorf("%w: %d stages, %d trees, depth %d", ErrBadCascade, stages, trees, depth)
	}
	leaves := int64(1) << depth
	if want := 16 + int64(stages)*int64(trees)*(4*leaves-4+8*leaves); int64(len(b)) != want {
		return fmt.Errorf("%w: %d bytes, header says %d", ErrBadCascade, len(b), want)
	}
	return nil
}

// Tuning of the search. Faces are searched for on a grey copy whose short
// side is about detectSide pixels (the cascade scores faces under about
// 25 pixels poorly); a face must be at least minFace of the image's short
// side. Pupils are then localised on a grey copy of the
// face region in which the face is about refineFace pixels wide.
//
// The fine pass's score (the sum of its windows' scores in the best
// cluster) grows with the density of its grid. At a shift of fineShift
// upright faces score 38–240 (the test photos and 56 sample portraits,
// whole and at half size), the coarse pass's false candidates on
// photos without a face (found with a far denser coarse grid) at most 5,
// and a face tilted by 14° about 15 upright, found then by the tilted
// cascade. A shift of 0.07 costs twice the time for twice the scores and
// pupils found no closer to the truth.
const (
	detectSide  = 200
	minFace     = 0.15
	minScore    = 20 // of the fine pass
	fineShift   = 0.1
	fineScale   = 1.1
	refineFace  = 160
	clusterIoU  = 0.2
	shiftFactor = 0.15
	scaleFactor = 1.15
)

// Detect returns the faces in img (upright: EXIF orientation applied),
// best first.
func (d *Detector) Detect(img image.Image) []Face {
	b := img.Bounds()
	if b.Dx() < 24 || b.Dy() < 24 {
		return nil
	}
	f := max(1, min(b.Dx(), b.Dy())/detectSide)
	g := greyBox(img, b, f)
	dets := d.findFaces(g, 0)
	if len(dets) == 0 {
		// A tilted head: try the cascade turned by ±1/32 of a turn.
		for _, a := range []float64{1.0 / 32, 31.0 / 32} {
			if dets = d.findFaces(g.square(), a); len(dets) > 0 {
				break
			}
		}
	}
	faces := make([]Face, 0, len(dets))
	for _, det := range dets {
		s := float64(det.Scale) * float64(f)
		cx, cy := (float64(det.Col)+0.5)*float64(f)+float64(b.Min.X), (float64(det.Row)+0.5)*float64(f)+float64(b.Min.Y)
		fc := Face{
			Box:   image.Rect(int(math.Round(cx-s/2)), int(math.Round(cy-s/2)), int(math.Round(cx+s/2)), int(math.Round(cy+s/2))),
			Score: float64(det.Q),
		}
		d.eyes(img, &fc, cx, cy, s)
		faces = append(faces, fc)
	}
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].Score > faces[j].Score })
	return faces
}

// findFaces runs the face cascade on g at angle a (a fraction of a full
// turn): a coarse pass over the whole image finds candidates, and a fine
// pass around each one (a denser grid of positions and sizes) scores it;
// a candidate whose fine score is under minScore is dropped.
func (d *Detector) findFaces(g grey, a float64) []pigo.Detection {
	cp := cascadeParams(g)
	if cp.MinSize > cp.MaxSize {
		return nil
	}
	var out []pigo.Detection
	for _, c := range d.face.ClusterDetections(d.runCascade(cp, a), clusterIoU) {
		if f, ok := d.refine(g, c, a); ok && float64(f.Q) >= minScore {
			out = append(out, f)
		}
	}
	// Two candidates may refine to the same face.
	return d.face.ClusterDetections(out, clusterIoU)
}

// refine rescans the neighbourhood of candidate c densely and returns
// the best cluster there.
func (d *Detector) refine(g grey, c pigo.Detection, a float64) (pigo.Detection, bool) {
	// Windows up to 5/4 of the candidate's size, centred within 3/20 of
	// it from the candidate's centre.
	h := c.Scale * 4 / 5
	r := image.Rect(c.Col-h, c.Row-h, c.Col+h, c.Row+h).Intersect(image.Rect(0, 0, g.w, g.h))
	sub := g.crop(r)
	if a != 0 {
		sub = sub.square()
	}
	cp := pigo.CascadeParams{
		MinSize:     max(20, c.Scale*4/5),
		MaxSize:     min(min(sub.w, sub.h), c.Scale*5/4),
		ShiftFactor: fineShift,
		ScaleFactor: fineScale,
		ImageParams: pigo.ImageParams{Pixels: sub.pix, Rows: sub.h, Cols: sub.w, Dim: sub.w},
	}
	if cp.MinSize > cp.MaxSize {
		return pigo.Detection{}, false
	}
	var best pigo.Detection
	for _, f := range d.face.ClusterDetections(d.runCascade(cp, a), clusterIoU) {
		if f.Q > best.Q {
			best = f
		}
	}
	if best.Q <= 0 {
		return best, false
	}
	best.Row += r.Min.Y
	best.Col += r.Min.X
	return best, true
}

// runCascade runs the face cascade on cp's image at angle a: pigo's
// RunCascade, evaluated by faceCascade when it can.
func (d *Detector) runCascade(cp pigo.CascadeParams, a float64) []pigo.Detection {
	if d.cascade == nil {
		return d.face.RunCascade(cp, a)
	}
	return d.cascade.run(cp, a)
}

// cascadeParams are the face search's parameters on g.
func cascadeParams(g grey) pigo.CascadeParams {
	short := min(g.w, g.h)
	return pigo.CascadeParams{
		MinSize:     max(20, int(float64(short)*minFace)),
		MaxSize:     short,
		ShiftFactor: shiftFactor,
		ScaleFactor: scaleFactor,
		ImageParams: pigo.ImageParams{Pixels: g.pix, Rows: g.h, Cols: g.w, Dim: g.w},
	}
}

// eyes localises the pupils of the face centred at (cx, cy) of size s
// (source pixels) on a grey copy of the face's region.
func (d *Detector) eyes(img image.Image, fc *Face, cx, cy, s float64) {
	// Estimates from the face box alone (pigo's face box: the eyes sit
	// a little above its centre, about a third of its width apart).
	fc.Left = Point{cx - 0.175*s, cy - 0.075*s}
	fc.Right = Point{cx + 0.18*s, cy - 0.075*s}
	r := image.Rect(int(cx-0.75*s), int(cy-0.75*s), int(cx+0.75*s), int(cy+0.75*s)).Intersect(img.Bounds())
	f := max(1, int(s/refineFace))
	if r.Dx() < 2*f || r.Dy() < 2*f {
		return
	}
	g := greyBox(img, r, f)
	// Face geometry in the grey copy's pixels.
	gs := s / float64(f)
	gx := func(x float64) float64 { return (x - float64(r.Min.X)) / float64(f) }
	gy := func(y float64) float64 { return (y - float64(r.Min.Y)) / float64(f) }
	back := func(row, col float64) (Point, bool) {
		if row <= 0 || col <= 0 || row >= float64(g.h) || col >= float64(g.w) {
			return Point{}, false
		}
		return Point{col*float64(f) + float64(r.Min.X), row*float64(f) + float64(r.Min.Y)}, true
	}
	lr, lc, rr, rc := d.pupil.locate2(g, gy(fc.Left.Y), gx(fc.Left.X), gy(fc.Right.Y), gx(fc.Right.X), gs*0.25)
	l, okl := back(lr, lc)
	rt, okr := back(rr, rc)
	if !okl || !okr {
		return
	}
	// Plausible: left of each other, inside the face box, about a third
	// of the box apart, and each near its estimate.
	dist := math.Hypot(rt.X-l.X, rt.Y-l.Y)
	if rt.X <= l.X || dist < 0.2*s || dist > 0.6*s ||
		math.Hypot(l.X-fc.Left.X, l.Y-fc.Left.Y) > 0.2*s || math.Hypot(rt.X-fc.Right.X, rt.Y-fc.Right.Y) > 0.2*s {
		return
	}
	fc.Left, fc.Right, fc.Eyes = l, rt, true
}

// grey is an 8-bit luminance image, row-major without padding.
type grey struct {
	pix  []uint8
	w, h int
}

// crop returns a copy of the part r of g.
func (g grey) crop(r image.Rectangle) grey {
	out := grey{pix: make([]uint8, r.Dx()*r.Dy()), w: r.Dx(), h: r.Dy()}
	for y := 0; y < out.h; y++ {
		copy(out.pix[y*out.w:(y+1)*out.w], g.pix[(r.Min.Y+y)*g.w+r.Min.X:])
	}
	return out
}

// square returns g padded with mid-grey to a square (pigo's rotated
// cascade clamps columns to the row count).
func (g grey) square() grey {
	n := max(g.w, g.h)
	if g.w == g.h {
		return g
	}
	out := grey{pix: make([]uint8, n*n), w: n, h: n}
	for i := range out.pix {
		out.pix[i] = 128
	}
	for y := 0; y < g.h; y++ {
		copy(out.pix[y*n:], g.pix[y*g.w:(y+1)*g.w])
	}
	return out
}

// greyBox returns the luminance of the part r of img reduced f times:
// each output pixel averages the (at most) 2 × 2 source pixels at the
// centre of its f × f block, which is enough for the cascades and reads a
// fraction of a large photo. Blocks past r's edge use its last pixels.
func greyBox(img image.Image, r image.Rectangle, f int) grey {
	w, h := (r.Dx()+f-1)/f, (r.Dy()+f-1)/f
	g := grey{pix: make([]uint8, w*h), w: w, h: h}
	n := min(f, 2)
	off := (f - n) / 2
	// The blocks whose two columns are both inside r (all but perhaps
	// the last): their columns are x0+f·i+off and the next.
	inside := w
	for inside > 0 && r.Min.X+(inside-1)*f+off+n > r.Max.X {
		inside--
	}
	// The columns read: lo..hi-1.
	lo := min(r.Min.X+off, r.Max.X-1)
	hi := min(r.Min.X+(w-1)*f+off+n, r.Max.X)
	var bufs [2][]uint8
	for gy := 0; gy < h; gy++ {
		var rows [2][]uint8
		for k := 0; k < n; k++ {
			rows[k] = lumaRowOf(img, lo, hi, min(r.Min.Y+gy*f+off+k, r.Max.Y-1), &bufs[k])
		}
		o := g.pix[gy*w : (gy+1)*w]
		if n == 1 {
			copy(o, rows[0]) // f is 1: every column
			continue
		}
		r0, r1 := rows[0], rows[1]
		for i := range o[:inside] {
			a := f * i // lo is r.Min.X+off when a block is inside
			if a+1 >= len(r0) || a+1 >= len(r1) {
				break // never: a+1 < hi-lo (lets the compiler drop the bounds checks)
			}
			o[i] = uint8((uint32(r0[a]) + uint32(r0[a+1]) + uint32(r1[a]) + uint32(r1[a+1]) + 2) >> 2)
		}
		// The blocks cut by r's edge: their columns clamped to r.
		for i := inside; i < w; i++ {
			a := min(r.Min.X+f*i+off, r.Max.X-1) - lo
			b := min(r.Min.X+f*i+off+1, r.Max.X-1) - lo
			o[i] = uint8((uint32(r0[a]) + uint32(r0[b]) + uint32(r1[a]) + uint32(r1[b]) + 2) >> 2)
		}
	}
	return g
}

// lumaRowOf returns the luminance of img's pixels x0..x1-1 of row y: a
// part of the luminance plane of a YCbCr or grey image, else written into
// *buf (made when too small) by lumaRow.
func lumaRowOf(img image.Image, x0, x1, y int, buf *[]uint8) []uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		return m.Y[m.YOffset(x0, y):][:x1-x0]
	case *image.Gray:
		return m.Pix[m.PixOffset(x0, y):][:x1-x0]
	}
	if cap(*buf) < x1-x0 {
		*buf = make([]uint8, x1-x0)
	}
	*buf = (*buf)[:x1-x0]
	lumaRow(img, x0, x1, y, *buf)
	return *buf
}

// lumaRow writes the luminance (Rec. 601) of img's pixels x0..x1-1 of row
// y into dst, reading the common image types' pixels directly.
func lumaRow(img image.Image, x0, x1, y int, dst []uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		copy(dst, m.Y[m.YOffset(x0, y):][:x1-x0])
	case *image.Gray:
		copy(dst, m.Pix[m.PixOffset(x0, y):][:x1-x0])
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x0, y):][:4*(x1-x0)]
		for i := range dst[:x1-x0] {
			q := p[4*i : 4*i+4 : 4*i+4]
			// Over white: a transparent pixel is paper.
			a := uint32(q[3])
			l := (19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) + 1<<15) >> 16
			dst[i] = uint8((l*a + 255*(255-a) + 127) / 255)
		}
	case *image.RGBA:
		p := m.Pix[m.PixOffset(x0, y):][:4*(x1-x0)]
		for i := range dst[:x1-x0] {
			q := p[4*i : 4*i+4 : 4*i+4]
			l := (19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) + 1<<15) >> 16
			dst[i] = uint8(min(255, l+255-uint32(q[3]))) // premultiplied, over white
		}
	default:
		for i := range dst[:x1-x0] {
			dst[i] = color.GrayModel.Convert(img.At(x0+i, y)).(color.Gray).Y
		}
	}
}
