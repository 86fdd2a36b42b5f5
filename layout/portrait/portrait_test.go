package portrait

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/skimage"
)

// The astronaut's pupils in astronaut.png, read off a magnified view.
var (
	astroLeft  = Point{203.5, 102}
	astroRight = Point{245.5, 103}
)

var (
	detOnce sync.Once
	det     *Detector
	detErr  error
)

func detector(t testing.TB) *Detector {
	t.Helper()
	dir := cascades.Dir(t)
	detOnce.Do(func() { det, detErr = Load(dir) })
	if detErr != nil {
		t.Fatal(detErr)
	}
	return det
}

// photoCase is a photograph derived from a real one, with where its eyes
// are (when it has a face) and the verdict of each check.
type photoCase struct {
	name        string
	img         image.Image
	left, right Point // ground truth; zero without a face
	want        map[string]Verdict
	reason      string // expected in Report.Reason
}

// xform maps a point of astronaut.png through an affine change.
func scalePt(p Point, s, dx, dy float64) Point { return Point{p.X*s + dx, p.Y*s + dy} }

func derived(t testing.TB) []photoCase {
	astro := skimage.Load(t, "astronaut.png")
	b := astro.Bounds()
	big := imaging.Resize(astro, 2*b.Dx(), 2*b.Dy(), imaging.CatmullRom)
	// shifted: the photo pasted off-centre on a larger grey canvas.
	shifted := image.NewNRGBA(image.Rect(0, 0, 700, 640))
	draw.Draw(shifted, shifted.Bounds(), image.NewUniform(color.Gray{170}), image.Point{}, draw.Src)
	draw.Draw(shifted, b.Add(image.Pt(150, 110)), astro, image.Point{}, draw.Src)
	// rotated by 14° clockwise about the eyes' midpoint.
	rot := imaging.Rotate(astro, -14, color.Gray{170})
	rotC := Point{float64(rot.Bounds().Dx()) / 2, float64(rot.Bounds().Dy()) / 2}
	rotPt := func(p Point) Point {
		x, y := p.X-float64(b.Dx())/2, p.Y-float64(b.Dy())/2
		a := 14 * math.Pi / 180
		return Point{rotC.X + x*math.Cos(a) - y*math.Sin(a), rotC.Y + x*math.Sin(a) + y*math.Cos(a)}
	}
	twice := image.NewNRGBA(image.Rect(0, 0, 2*b.Dx(), b.Dy()))
	draw.Draw(twice, b, astro, image.Point{}, draw.Src)
	draw.Draw(twice, b.Add(image.Pt(b.Dx(), 0)), astro, image.Point{}, draw.Src)
	noFace := map[string]Verdict{CheckFace: Fail}
	return []photoCase{
		{name: "astronaut", img: astro, left: astroLeft, right: astroRight,
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Pass, CheckRoll: Pass,
				CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}},
		{name: "scaled-up", img: big, left: scalePt(astroLeft, 2, 0, 0), right: scalePt(astroRight, 2, 0, 0),
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Pass, CheckFraming: Pass, CheckRoll: Pass,
				CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}},
		{name: "scaled-down", img: imaging.Resize(astro, b.Dx()*5/8, 0, imaging.Box), left: scalePt(astroLeft, 5.0/8, 0, 0), right: scalePt(astroRight, 5.0/8, 0, 0),
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Fail, CheckFraming: Pass, CheckRoll: Pass, CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}, reason: "(face too small or photo too coarse)"},
		{name: "shifted", img: shifted, left: scalePt(astroLeft, 1, 150, 110), right: scalePt(astroRight, 1, 150, 110),
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Pass, CheckRoll: Pass, CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}},
		{name: "cut", img: imaging.Crop(astro, image.Rect(0, 45, 512, 512)), left: scalePt(astroLeft, 1, 0, -45), right: scalePt(astroRight, 1, 0, -45),
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Fail, CheckRoll: Pass, CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}, reason: "head cut by the photo's edge"},
		{name: "rotated", img: rot, left: rotPt(astroLeft), right: rotPt(astroRight),
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Pass, CheckRoll: Fail, CheckSharpness: Pass, CheckExposure: Pass, CheckBackground: Warn}, reason: "photo: eyes not level (1"},
		{name: "blurred", img: imaging.Blur(astro, 2.5), left: astroLeft, right: astroRight,
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Pass, CheckRoll: Pass, CheckSharpness: Fail, CheckExposure: Pass, CheckBackground: Warn}, reason: "(blurred or out of focus)"},
		{name: "darkened", img: darken(astro, 0.27), left: astroLeft, right: astroRight,
			want: map[string]Verdict{CheckFace: Pass, CheckSize: Warn, CheckFraming: Pass, CheckRoll: Pass, CheckSharpness: Pass, CheckExposure: Fail, CheckBackground: Pass}, reason: "face too dark"},
		{name: "two-faces", img: twice, want: map[string]Verdict{CheckFace: Fail}, reason: "photo: 2 faces found"},
		{name: "chelsea", img: skimage.Load(t, "chelsea.png"), want: noFace, reason: "photo: no face found"},
		{name: "coffee", img: skimage.Load(t, "coffee.png"), want: noFace, reason: "photo: no face found"},
	}
}

func TestDetectAndCheck(t *testing.T) {
	d := detector(t)
	for _, c := range derived(t) {
		t.Run(c.name, func(t *testing.T) {
			rep := d.Check(c.img, DefaultThresholds())
			for _, r := range rep.Checks {
				t.Logf("%-10s %-4s %8.2f  %s", r.Name, r.Verdict, r.Value, r.Message)
			}
			got := map[string]Verdict{}
			for _, r := range rep.Checks {
				got[r.Name] = r.Verdict
			}
			// Every check's verdict, and no other check.
			for name, want := range c.want {
				if g, ok := got[name]; !ok || g != want {
					t.Errorf("check %s = %v (present %v), want %v", name, g, ok, want)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("checks %v, want exactly %v", got, c.want)
			}
			worst := Pass
			for _, v := range c.want {
				worst = max(worst, v)
			}
			if rep.Verdict != worst {
				t.Errorf("verdict %v, want %v", rep.Verdict, worst)
			}
			if c.left != (Point{}) && rep.Face != nil {
				f := rep.Face
				if dl, dr := dist(f.Left, c.left), dist(f.Right, c.right); dl > 3 || dr > 3 {
					t.Errorf("eyes at %v %v, want %v %v (off by %.1f, %.1f px)", f.Left, f.Right, c.left, c.right, dl, dr)
				}
			}
			if c.reason != "" && !contains(rep.Reason(), c.reason) {
				t.Errorf("reason %q does not contain %q", rep.Reason(), c.reason)
			}
		})
	}
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// darken scales every channel by k, as an underexposed shot would be.
func darken(img image.Image, k float64) *image.NRGBA {
	return imaging.AdjustFunc(img, func(c color.NRGBA) color.NRGBA {
		return color.NRGBA{uint8(float64(c.R) * k), uint8(float64(c.G) * k), uint8(float64(c.B) * k), c.A}
	})
}

// TestCropGeometry crops each photo with a face that frames well to a
// 240 × 320 token frame and checks that the true eyes land where the
// standard puts them: 60 px apart, centred, 144 px from the top.
func TestCropGeometry(t *testing.T) {
	d := detector(t)
	const w, h = 240, 320
	wantL, wantR := Point{w/2 - EyeSpan*w/2, EyeLine * h}, Point{w/2 + EyeSpan*w/2, EyeLine * h}
	for _, c := range derived(t) {
		if c.want[CheckFraming] != Pass || c.want[CheckFace] != Pass || c.want[CheckRoll] == Fail {
			continue // (the crop does not turn a tilted head)
		}
		t.Run(c.name, func(t *testing.T) {
			faces := d.Detect(c.img)
			if len(faces) != 1 {
				t.Fatalf("%d faces", len(faces))
			}
			r, fits := CropRect(faces[0], c.img.Bounds(), w, h)
			// A crop moved to fit (within the framing check's slack)
			// moves the eyes with it.
			slack := 0.0
			if !fits {
				slack = framingSlack * h
			}
			if got := float64(r.Dx()) / float64(r.Dy()); math.Abs(got-0.75) > 0.01 {
				t.Errorf("crop %v has aspect %.3f, want 0.75", r, got)
			}
			to := func(p Point) Point {
				return Point{(p.X - float64(r.Min.X)) * w / float64(r.Dx()), (p.Y - float64(r.Min.Y)) * h / float64(r.Dy())}
			}
			gl, gr := to(c.left), to(c.right)
			t.Logf("crop %v: eyes at %.1f, %.1f (standard %v, %v)", r, gl, gr, wantL, wantR)
			if dist(gl, wantL) > 4+slack || dist(gr, wantR) > 4+slack {
				t.Errorf("eyes at %.1f %.1f in the frame, want within %.0f px of %v %v", gl, gr, 4+slack, wantL, wantR)
			}
		})
	}
}

// TestCropRectFits: a face near the photo's edge gets a crop moved (and,
// for a small photo, shrunk) inside the photo, reported as not fitting.
func TestCropRectFits(t *testing.T) {
	b := image.Rect(0, 0, 400, 300)
	tests := []struct {
		name string
		face Face
		fits bool
	}{
		{"centred", Face{Left: Point{180, 120}, Right: Point{220, 120}}, true},
		{"near the top", Face{Left: Point{180, 30}, Right: Point{220, 30}}, false},
		{"larger than the photo", Face{Left: Point{100, 150}, Right: Point{300, 150}}, false},
	}
	for _, tc := range tests {
		r, fits := CropRect(tc.face, b, 3, 4)
		if fits != tc.fits || !r.In(b) || r.Empty() {
			t.Errorf("%s: CropRect = %v, %v; want inside %v, fits %v", tc.name, r, fits, b, tc.fits)
		}
	}
}

// TestLoadMissing: a directory without the cascades says so.
func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, ErrNoCascades) {
		t.Fatalf("Load(empty dir) = %v, want ErrNoCascades", err)
	}
	if _, err := Load(""); !errors.Is(err, ErrNoCascades) {
		t.Fatalf("Load(\"\") = %v, want ErrNoCascades", err)
	}
}

// TestNewBadCascade: truncated or corrupt cascade files are refused, not
// unpacked.
func TestNewBadCascade(t *testing.T) {
	dir := cascades.Dir(t)
	face, err := os.ReadFile(filepath.Join(dir, FaceCascade))
	if err != nil {
		t.Fatal(err)
	}
	pupil, err := os.ReadFile(filepath.Join(dir, PupilCascade))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(face[:len(face)-1], pupil); !errors.Is(err, ErrBadCascade) {
		t.Errorf("truncated face cascade: %v", err)
	}
	if _, err := New(face, pupil[:100]); !errors.Is(err, ErrBadCascade) {
		t.Errorf("truncated pupil cascade: %v", err)
	}
	if _, err := New(pupil, face); !errors.Is(err, ErrBadCascade) {
		t.Errorf("swapped cascades: %v", err)
	}
}

// FuzzNew: no cascade file makes New panic.
func FuzzNew(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 16), make([]byte, 16))
	f.Fuzz(func(t *testing.T, face, pupil []byte) {
		d, err := New(face, pupil)
		if err == nil {
			d.Detect(image.NewGray(image.Rect(0, 0, 64, 64)))
		}
	})
}

// TestFromConfig: the configuration's defaults are the package's.
func TestFromConfig(t *testing.T) {
	if got, want := FromConfig(config.DefaultPortrait()), DefaultThresholds(); got != want {
		t.Errorf("FromConfig(defaults) = %+v, want %+v", got, want)
	}
}

// TestCheckReducedAgrees: a large photo checked from a copy of half its
// size (CheckReduced, as the station checks a large JPEG decoded at 1/2)
// gets the verdict of every check that the whole photo gets, the eyes
// within 3 px of where the whole photo's check puts them, and the photo's
// own size. The photos are the derived cases enlarged twice.
func TestCheckReducedAgrees(t *testing.T) {
	d := detector(t)
	for _, c := range derived(t) {
		t.Run(c.name, func(t *testing.T) {
			b := c.img.Bounds()
			big := imaging.Resize(c.img, 2*b.Dx(), 2*b.Dy(), imaging.CatmullRom)
			half := imaging.Resize(big, b.Dx(), b.Dy(), imaging.Box)
			whole := d.Check(big, DefaultThresholds())
			red := d.CheckReduced(half, 2, big.Bounds(), DefaultThresholds())
			verdicts := func(r Report) map[string]Verdict {
				m := map[string]Verdict{}
				for _, x := range r.Checks {
					m[x.Name] = x.Verdict
				}
				return m
			}
			for i, r := range red.Checks {
				t.Logf("%-10s %-4s %8.2f  %s | whole %-4s %8.2f", r.Name, r.Verdict, r.Value, r.Message, whole.Checks[i].Verdict, whole.Checks[i].Value)
			}
			if w, r := verdicts(whole), verdicts(red); len(w) != len(r) || red.Verdict != whole.Verdict {
				t.Errorf("reduced: %v (%v), whole: %v (%v)", r, red.Verdict, w, whole.Verdict)
			} else {
				for k, v := range w {
					if r[k] != v {
						t.Errorf("check %s: reduced %v, whole %v", k, r[k], v)
					}
				}
			}
			if red.Width != big.Bounds().Dx() || red.Height != big.Bounds().Dy() {
				t.Errorf("reduced report's size %d × %d, want %v", red.Width, red.Height, big.Bounds().Size())
			}
			if (whole.Face == nil) != (red.Face == nil) {
				t.Fatalf("face: whole %v, reduced %v", whole.Face, red.Face)
			}
			if whole.Face != nil {
				if dl, dr := dist(whole.Face.Left, red.Face.Left), dist(whole.Face.Right, red.Face.Right); dl > 3 || dr > 3 {
					t.Errorf("eyes at %v %v reduced, %v %v whole", red.Face.Left, red.Face.Right, whole.Face.Left, whole.Face.Right)
				}
			}
		})
	}
}

// TestPupilRunsIndependent: estimates moved together through the pupil
// localiser end where each ends moved alone.
func TestPupilRunsIndependent(t *testing.T) {
	d := detector(t)
	astro := skimage.Load(t, "astronaut.png")
	g := greyBox(astro, astro.Bounds(), 1)
	var all []estimate
	all = starts(all, astroLeft.Y, astroLeft.X, 12)
	all = starts(all, astroRight.Y+3, astroRight.X-2, 14)
	alone := slices.Clone(all)
	d.pupil.run(g, all)
	for i := range alone {
		one := alone[i : i+1]
		d.pupil.run(g, one)
		if one[0].r != all[i].r || one[0].c != all[i].c {
			t.Errorf("estimate %d: alone (%v, %v), together (%v, %v)", i, one[0].r, one[0].c, all[i].r, all[i].c)
		}
	}
}
