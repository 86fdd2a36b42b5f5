package photogate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/skimage"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestScreen(t *testing.T) {
	det, err := portrait.Load(cascades.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	astro := skimage.Load(t, "astronaut.png")
	photos := map[string][]byte{
		"astronaut": pngOf(t, astro),
		"blurred":   pngOf(t, imaging.Blur(astro, 2.5)),
		"cat":       pngOf(t, skimage.Load(t, "chelsea.png")),
		"broken":    []byte("\x89PNG\r\n\x1a\nnot really"),
	}
	req := func(t *testing.T, name string) spool.ScreenRequest {
		return spool.ScreenRequest{Job: &jobfile.Job{ID: name, File: "job.toml", Photo: name + ".png"}, Dir: t.TempDir(), Num: 7, Photo: photos[name]}
	}
	tests := []struct {
		mode     Mode
		photo    string
		hold     string // "" for no hold
		verdict  portrait.Verdict
		noReport bool
	}{
		{Hold, "astronaut", "", portrait.Warn, false},
		{Hold, "cat", "photo: no face found", portrait.Fail, false},
		{Hold, "blurred", "(blurred or out of focus)", portrait.Fail, false},
		{Warn, "cat", "", portrait.Fail, false},
		{Off, "cat", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode)+"/"+tc.photo, func(t *testing.T) {
			g, err := New(Options{Detector: det, Thresholds: portrait.DefaultThresholds(), Mode: tc.mode}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := req(t, tc.photo)
			v, err := g.Screen(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.hold == "") != (v.Hold == "") || !strings.Contains(v.Hold, tc.hold) {
				t.Errorf("hold %q, want %q", v.Hold, tc.hold)
			}
			rep, err := ReadReport(r.Dir)
			if tc.noReport {
				if !errors.Is(err, jobfile.ErrMissing) {
					t.Errorf("gate off kept a report: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tc.verdict || len(rep.Checks) == 0 {
				t.Errorf("report %+v, want verdict %v", rep, tc.verdict)
			}
			if ents, _ := os.ReadDir(r.Dir); len(ents) != 1 {
				t.Errorf("job directory holds %d entries, want the report only", len(ents))
			}
		})
	}
	t.Run("undecodable", func(t *testing.T) {
		g, _ := New(Options{Detector: det, Mode: Hold}, nil)
		_, err := g.Screen(context.Background(), req(t, "broken"))
		var je *jobfile.Error
		if !errors.As(err, &je) || je.Field != "photo" || !errors.Is(err, spool.ErrBadJob) {
			t.Errorf("broken photo: %v, want a bad-job error on field photo", err)
		}
	})
	t.Run("no-photo", func(t *testing.T) {
		g, _ := New(Options{Detector: det, Mode: Hold}, nil)
		r := req(t, "none")
		if v, err := g.Screen(context.Background(), r); err != nil || v.Hold != "" {
			t.Errorf("job without a photo: %+v, %v", v, err)
		}
	})
	if _, err := New(Options{Mode: Hold}, nil); err == nil {
		t.Error("a gate without a detector was made")
	}
}

func TestFromConfig(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	p := config.DefaultPortrait()
	p.Cascades = t.TempDir()
	if det := LoadDetector(p, log); det != nil {
		t.Fatal("a detector from an empty directory")
	}
	if g, err := FromConfig(p, nil, 0, 0, nil, nil, log); g != nil || err != nil {
		t.Errorf("gate without a detector: %v, %v", g, err)
	}
	p.Cascades = cascades.Dir(t)
	det := LoadDetector(p, log)
	if det == nil {
		t.Fatal("no detector from the module's cascades")
	}
	g, err := FromConfig(p, det, 0, 0, nil, nil, log)
	if err != nil || g == nil || g.o.Mode != Hold || g.o.Thresholds != portrait.DefaultThresholds() {
		t.Errorf("gate %+v, %v", g, err)
	}
	p.Gate = config.GateOff
	if g, err := FromConfig(p, det, 0, 0, nil, nil, log); g != nil || err != nil {
		t.Errorf("gate off: %v, %v", g, err)
	}
}

// FuzzKeptReport: a report file a producer planted in the job directory
// is outside input; whatever it holds, reading it neither panics nor
// yields a face for bytes it was not computed on.
func FuzzKeptReport(f *testing.F) {
	f.Add([]byte(`{"photo_sha256":"00","report":{"verdict":"pass","faces":1,"face":{"eyes":true}}}`))
	f.Add([]byte(`{"report":{"verdict":"bogus"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/"+ReportFile, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ReadReport(dir)
		if f := KeptFace(dir, sha256.Sum256([]byte("some other photo"))); f != nil {
			t.Errorf("a face %+v for bytes the report does not name", f)
		}
	})
}

// BenchmarkWriteReport is the report kept beside each job at intake: a
// file created, written and closed (here over the previous iteration's,
// removed first, which a job's fresh directory does not need).
func BenchmarkWriteReport(b *testing.B) {
	path := filepath.Join(b.TempDir(), ReportFile)
	rep := &portrait.Report{Verdict: portrait.Pass}
	sum := sha256.Sum256(bytes.Repeat([]byte{0xFF}, 50_000))
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for b.Loop() {
		if err := writeReport(path, sum, rep); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTornReport: a report cut short by a crash at any byte (a prefix of
// what writeReport writes; the file is never overwritten in place) reads
// as no report and yields no face, so the face is searched again.
func TestTornReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ReportFile)
	sum := sha256.Sum256([]byte("photo"))
	face := portrait.Face{Box: image.Rect(1, 2, 30, 31), Left: portrait.Point{X: 10, Y: 10}, Right: portrait.Point{X: 20, Y: 11}, Eyes: true}
	rep := &portrait.Report{Verdict: portrait.Pass, Width: 40, Height: 50, Faces: 1, Face: &face, Checks: []portrait.Result{{Name: "eyes", Verdict: portrait.Pass, Message: "level"}}}
	if err := writeReport(path, sum, rep); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f := KeptFace(dir, sum); f == nil || *f != face {
		t.Fatalf("KeptFace of the whole report = %v", f)
	}
	for n := 0; n < len(whole); n++ {
		if err := os.WriteFile(path, whole[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReport(dir); err == nil {
			t.Fatalf("a report cut at byte %d of %d read back", n, len(whole))
		}
		if f := KeptFace(dir, sum); f != nil {
			t.Fatalf("a report cut at byte %d of %d yields a face", n, len(whole))
		}
	}
	// Written again over the torn one (a job admitted again after the crash).
	if err := writeReport(path, sum, rep); err != nil {
		t.Fatal(err)
	}
	if f := KeptFace(dir, sum); f == nil || *f != face {
		t.Fatalf("KeptFace after writing over a torn report = %v", f)
	}
}
