package layout

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/skimage"
	"github.com/cardd/cardd/layout/portrait"
)

// TestFaceFit crops real photographs with fit = "face" to a 240 × 320 box
// and finds the eyes in the result where the token portrait puts them
// (60 px apart, centred, 144 px from the top, within 4 px), for the photo
// as a PNG and as a JPEG stored sideways with an EXIF orientation.
func TestFaceFit(t *testing.T) {
	det, err := portrait.Load(cascades.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	// The astronaut with room around her, so the standard crop fits.
	astro := imaging.Paste(imaging.New(712, 712, color.Gray{170}), skimage.Load(t, "astronaut.png"), image.Pt(100, 100))
	var pngBuf, jpgBuf bytes.Buffer
	if err := png.Encode(&pngBuf, astro); err != nil {
		t.Fatal(err)
	}
	// Stored turned a quarter left; orientation 6 says "turn right".
	if err := jpeg.Encode(&jpgBuf, imaging.Rotate90(astro), &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	sideways := exifJPEG(t, jpgBuf.Bytes(), 6, binary.BigEndian)
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 240, 320
	wantL := portrait.Point{X: w/2 - portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	wantR := portrait.Point{X: w/2 + portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	for _, tc := range []struct {
		name  string
		photo []byte
	}{{"png", pngBuf.Bytes()}, {"exif-rotated-jpeg", sideways}} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRenderer(&Options{Faces: det})
			dc := &DrawContext{Template: tp, Data: &Data{Photo: tc.photo, PhotoName: tc.name}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
			out, err := dc.faceScaledPhoto(w, h, .5, .5, kernelCatmullRom)
			if err != nil {
				t.Fatal(err)
			}
			faces := det.Detect(out)
			if len(faces) != 1 || !faces[0].Eyes {
				t.Fatalf("faces in the crop: %+v", faces)
			}
			f := faces[0]
			t.Logf("eyes in the crop: %.1f %.1f", f.Left, f.Right)
			if d1, d2 := math.Hypot(f.Left.X-wantL.X, f.Left.Y-wantL.Y), math.Hypot(f.Right.X-wantR.X, f.Right.Y-wantR.Y); d1 > 4 || d2 > 4 {
				t.Errorf("eyes at %.1f %.1f, want within 4 px of %v %v", f.Left, f.Right, wantL, wantR)
			}
		})
	}
	t.Run("no-detector", func(t *testing.T) {
		r := NewRenderer(nil)
		dc := &DrawContext{Template: tp, Data: &Data{Photo: pngBuf.Bytes()}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
		a, err := dc.faceScaledPhoto(w, h, .5, .5, kernelCatmullRom)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dc.scaledPhoto(w, h, .5, .5, kernelCatmullRom)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Error("without a detector, fit = face is not the anchored crop")
		}
	})
	t.Run("no-face", func(t *testing.T) {
		var buf bytes.Buffer
		if err := png.Encode(&buf, skimage.Load(t, "coffee.png")); err != nil {
			t.Fatal(err)
		}
		r := NewRenderer(&Options{Faces: det})
		dc := &DrawContext{Template: tp, Data: &Data{Photo: buf.Bytes()}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
		if _, ok, err := dc.FaceCrop(image.Rect(0, 0, 600, 400), w, h); ok || err != nil {
			t.Errorf("FaceCrop of a photo without a face: ok %v, err %v", ok, err)
		}
		if _, err := dc.faceScaledPhoto(w, h, .5, .5, kernelCatmullRom); err != nil {
			t.Errorf("no face: %v (want the anchored crop)", err)
		}
	})
}

func TestPhotoFitKey(t *testing.T) {
	if _, err := parseT(t, side+"kind = \"photo\"\nw = 10.0\nh = 10.0\nfit = \"face\"\n"); err != nil {
		t.Errorf("fit = face: %v", err)
	}
	_, err := parseT(t, side+"kind = \"photo\"\nw = 10.0\nh = 10.0\nfit = \"cover\"\n")
	if err == nil || !strings.Contains(err.Error(), "fit") || !strings.Contains(err.Error(), "want fill or face") {
		t.Errorf("fit = cover: %v", err)
	}
}

// TestFaceFitHint: faces the caller found already (Data.Faces) place the
// crop without a detector.
func TestFaceFitHint(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	photo := pngBytes(t, 400, 400, color.White)
	face := portrait.Face{Left: portrait.Point{X: 180, Y: 150}, Right: portrait.Point{X: 220, Y: 150}, Eyes: true}
	r := NewRenderer(nil)
	dc := &DrawContext{Template: tp, Data: &Data{Photo: photo, Faces: []portrait.Face{face}}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
	got, ok, err := dc.FaceCrop(image.Rect(0, 0, 400, 400), 240, 320)
	want, _ := portrait.CropRect(face, image.Rect(0, 0, 400, 400), 240, 320)
	if err != nil || !ok || got != want {
		t.Errorf("FaceCrop with a hint = %v, %v, %v; want %v", got, ok, err, want)
	}
}

// BenchmarkFaceFit1MP is one portrait box (283 × 366 dots, the shipped
// templates' 24 × 31 mm at 300 dpi) filled from a 1 MP JPEG portrait per
// card: by the anchor, with fit = "face" searching the photo, and with
// fit = "face" given the face the photo gate found (Data.Faces).
func BenchmarkFaceFit1MP(b *testing.B) {
	det, err := portrait.Load(cascades.Dir(b))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, imaging.Resize(skimage.Load(b, "astronaut.png"), 1024, 1024, imaging.CatmullRom), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	photo := buf.Bytes()
	img, err := decodeLimited(photo, "p.jpg", 1<<24, 1<<24)
	if err != nil {
		b.Fatal(err)
	}
	faces := det.Detect(img)
	tp, err := parseT(b, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		b.Fatal(err)
	}
	const w, h = 283, 366
	for _, bc := range []struct {
		name  string
		face  bool
		faces []portrait.Face
	}{{"anchor", false, nil}, {"face-search", true, nil}, {"face-given", true, faces}} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewRenderer(&Options{Faces: det})
			b.ReportAllocs()
			defer benchcpu.ThreadMeter(b)()
			for b.Loop() {
				dc := &DrawContext{Template: tp, Data: &Data{Photo: photo, Faces: bc.faces}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
				var err error
				if bc.face {
					_, err = dc.faceScaledPhoto(w, h, .5, 0, kernelCatmullRom)
				} else {
					_, err = dc.scaledPhoto(w, h, .5, 0, kernelCatmullRom)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFaceFitFromIntakeDecode: a large JPEG portrait (3 × astronaut.png,
// with room around it) cropped from the eyes to a box about half its face
// crop's size is resampled from the photo decoded at 1/2 of its size —
// the decode the job's intake made (IntakePhoto), taken once and only by
// the same job — and the eyes land where the token portrait puts them
// (within 4 px). The face is searched for on the half-size decode too.
func TestFaceFitFromIntakeDecode(t *testing.T) {
	det, err := portrait.Load(cascades.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	astro := skimage.Load(t, "astronaut.png")
	big := imaging.Resize(astro, 3*astro.Bounds().Dx(), 0, imaging.CatmullRom)
	canvas := imaging.Paste(imaging.New(big.Bounds().Dx()+400, big.Bounds().Dy()+400, color.Gray{170}), big, image.Pt(200, 200))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, canvas, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	photo := buf.Bytes()
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 240, 320
	wantL := portrait.Point{X: w/2 - portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	wantR := portrait.Point{X: w/2 + portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	r := NewRenderer(&Options{Faces: det})
	sum := sha256.Sum256(photo)
	intake := func() *DecodedPhoto {
		dp, err := r.IntakePhoto("JOB-1", photo, sum, "p.jpg")
		if err != nil || dp.Factor != 2 || dp.Bounds != canvas.Bounds() {
			t.Fatalf("IntakePhoto: %+v, %v; want factor 2, bounds %v", dp, err, canvas.Bounds())
		}
		return dp
	}
	dp := intake()
	// The photo's SHA-256 as the caller computed it (Data.PhotoSHA256) or
	// left zero for the renderer to compute: either finds the decode; a
	// digest of other bytes does not.
	for _, c := range []struct {
		job  string
		sum  [sha256.Size]byte
		take bool
	}{
		{"JOB-2", [sha256.Size]byte{}, false},
		{"JOB-1", sha256.Sum256([]byte("other bytes")), false},
		{"JOB-1", sum, true},
		{"JOB-1", [sha256.Size]byte{}, true},
	} {
		job := c.job
		if c.take && c.sum == ([sha256.Size]byte{}) {
			dp = intake() // taken by the case before: kept again
		}
		dc := &DrawContext{Template: tp, Data: &Data{JobID: job, Photo: photo, PhotoSHA256: c.sum, PhotoName: "p.jpg"}, r: r, card: &renderCard{cache: map[string]any{}}, Log: r.log}
		out, err := dc.faceScaledPhoto(w, h, .5, .5, kernelCatmullRom)
		if err != nil {
			t.Fatal(err)
		}
		if _, whole := dc.card.cache["layout.photo"]; whole {
			t.Errorf("%s: the photo was decoded whole", job)
		}
		half, ok := dc.card.cache["layout.photo/1:2"]
		if !ok {
			t.Fatalf("%s: not made from the half-size decode", job)
		}
		if same := half == dp.Image; same != c.take {
			t.Errorf("%s (sum %x): the intake's decode taken: %v, want %v", job, c.sum[:4], same, c.take)
		}
		faces := det.Detect(out)
		if len(faces) != 1 || !faces[0].Eyes {
			t.Fatalf("%s: faces in the crop: %+v", job, faces)
		}
		f := faces[0]
		if d1, d2 := math.Hypot(f.Left.X-wantL.X, f.Left.Y-wantL.Y), math.Hypot(f.Right.X-wantR.X, f.Right.Y-wantR.Y); d1 > 4 || d2 > 4 {
			t.Errorf("%s: eyes at %.1f %.1f, want within 4 px of %v %v", job, f.Left, f.Right, wantL, wantR)
		}
	}
	if _, ok := r.photos.get(photoKey{job: "JOB-1", sum: sum, denom: 2}, false); ok {
		t.Error("the intake's decode is still kept after the job's card took it")
	}
}
