package station

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/internal/skimage"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// TestPhotoGate runs a station with face detection on real photographs:
// a portrait prints; a photo without a face is held at intake with the
// reason and no serial, its checks kept beside it; "cardd jobs release JOB
// --reason WHY" (a control request) overrides the check, which the audit
// log records, and the job prints.
func TestPhotoGate(t *testing.T) {
	cfg := testConfig(t)
	cfg.Portrait.Cascades = cascades.Dir(t)
	pngOf := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	astro, cat := pngOf(skimage.Load(t, "astronaut.png")), pngOf(skimage.Load(t, "chelsea.png"))
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, err := samples.Generate("temporary", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		id    string
		photo []byte
	}{{"FACE-1", astro}, {"CAT-1", cat}} {
		if _, err := st.Submit(&jobfile.Job{ID: j.id, Template: "temporary", Mode: "temporary", Fields: data[0].Fields, Photo: "photo.png"}, j.photo); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	start := time.Now()
	waitFor := func(id string, want spool.State) spool.Job {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Minute); ; {
			j, err := st.Spool().Job(id)
			if err == nil && j.State == want {
				t.Logf("%s %s after %v", id, want, time.Since(start))
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not %s after %v: %+v, %v", id, want, time.Since(start), j, err)
			}
			time.Sleep(20 * time.Millisecond) // polling the spool's state, not waiting for it to happen
		}
	}
	waitFor("FACE-1", spool.StateCompleted)
	held := waitFor("CAT-1", spool.StateHeld)
	if held.Reason != "photo: no face found" || held.Serial != "" || len(held.Voided) > 0 || !held.Checked {
		t.Errorf("held job: reason %q, serial %q, voided %v, checked %v", held.Reason, held.Serial, held.Voided, held.Checked)
	}
	rep, err := photogate.ReadReport(st.Spool().JobDir(held.Num))
	if err != nil || rep.Verdict != portrait.Fail || rep.Faces != 0 {
		t.Errorf("kept report %+v, %v", rep, err)
	}
	name, err := spool.SendRequest(cfg.Paths.Spool, &spool.Request{Action: spool.ActionRelease, Job: "CAT-1", Reason: "the cat is the holder", By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := spool.WaitResponse(t.Context(), cfg.Paths.Spool, name, 20*time.Millisecond)
	if err != nil || !resp.OK {
		t.Fatalf("override: %+v, %v", resp, err)
	}
	j := waitFor("CAT-1", spool.StateCompleted)
	if j.Serial == "" {
		t.Error("overridden job completed without a serial")
	}
	var metrics strings.Builder
	if mfs, err := st.metrics.Registry().Gather(); err == nil {
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					metrics.WriteString(mf.GetName() + "{" + l.GetName() + "=" + l.GetValue() + "} ")
				}
			}
		}
	}
	for _, want := range []string{"cardd_photo_checks_total{verdict=fail}", "cardd_photo_checks_total{verdict=warn}", "cardd_photo_check_failures_total{check=face}"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s: %s", want, metrics.String())
		}
	}
	b, err := os.ReadFile(cfg.Security.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "override-check") || !strings.Contains(string(b), "the cat is the holder") {
		t.Errorf("audit log has no override record:\n%s", b)
	}
}

// TestFaceFitPrinted prints a card whose portrait element has fit =
// "face" (the shipped temporary template) on the emulator and
// finds the eyes on the printed card where the token portrait puts them
// in the element's box: level, 45 % down, a quarter of its width apart,
// centred (within 5 dots).
func TestFaceFitPrinted(t *testing.T) {
	cfg := testConfig(t)
	casc := cascades.Dir(t)
	cfg.Portrait.Cascades = casc
	tdir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "layout", "samples", "templates", "temporary.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// The box the eyes are measured in below, and the shipped fit.
	const photoEl = "name = \"portrait\"\nx = 3.0\ny = 10.5\nw = 24.0\nh = 31.0\n"
	_, el, ok := strings.Cut(string(src), photoEl)
	if el, _, _ = strings.Cut(el, "[["); !ok || !strings.Contains(el, "fit = \"face\"\n") {
		t.Fatalf("the shipped temporary template's portrait element changed (box %q, fit = \"face\"); update the test", photoEl)
	}
	tmpl := string(src)
	emblem, err := os.ReadFile(filepath.Join("..", "layout", "samples", "templates", "emblem.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "temporary.toml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "emblem.png"), emblem, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Paths.Templates = tdir
	// The astronaut with room around her, so the standard crop fits.
	var photo bytes.Buffer
	if err := png.Encode(&photo, imaging.Paste(imaging.New(712, 712, color.Gray{Y: 170}), skimage.Load(t, "astronaut.png"), image.Pt(100, 100))); err != nil {
		t.Fatal(err)
	}
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, err := samples.Generate("temporary", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Submit(&jobfile.Job{ID: "FIT-1", Template: "temporary", Mode: "temporary", Fields: data[0].Fields, Photo: "photo.png"}, photo.Bytes()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	start := time.Now()
	out := filepath.Join(cfg.Printers[0].Emulator.Output, "card-0001-front.png")
	for deadline := time.Now().Add(5 * time.Minute); ; {
		j, err := st.Spool().Job("FIT-1")
		if err == nil && j.State == spool.StateCompleted {
			break
		}
		if err == nil && (j.State.Final() || j.State == spool.StateHeld) {
			t.Fatalf("job %s: %s", j.State, j.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not printed after %v", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond) // polling the spool's state
	}
	t.Logf("printed after %v", time.Since(start))
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	card, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The element's box in dots, as the renderer places it.
	g := printer.CR80(cfg.Printers[0].Resolution)
	dpmm := g.DotsPerMM()
	dots := func(mm float64) int { return int(math.Round(mm * dpmm)) }
	origin := image.Pt((card.Bounds().Dx()-dots(85.6))/2, (card.Bounds().Dy()-dots(53.98))/2)
	box := image.Rect(dots(3), dots(10.5), dots(27), dots(41.5)).Add(origin).Add(card.Bounds().Min)
	det, err := portrait.Load(casc)
	if err != nil {
		t.Fatal(err)
	}
	faces := det.Detect(imaging.Crop(card, box))
	if len(faces) != 1 || !faces[0].Eyes {
		t.Fatalf("faces in the printed portrait (box %v of %v): %+v", box, card.Bounds(), faces)
	}
	w, h := float64(box.Dx()), float64(box.Dy())
	wantL := portrait.Point{X: w/2 - portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	wantR := portrait.Point{X: w/2 + portrait.EyeSpan*w/2, Y: portrait.EyeLine * h}
	f0 := faces[0]
	t.Logf("printed box %v: eyes at %.1f %.1f, standard %.1f %.1f", box, f0.Left, f0.Right, wantL, wantR)
	if math.Hypot(f0.Left.X-wantL.X, f0.Left.Y-wantL.Y) > 5 || math.Hypot(f0.Right.X-wantR.X, f0.Right.Y-wantR.Y) > 5 {
		t.Errorf("eyes at %.1f %.1f on the card, want within 5 dots of %.1f %.1f", f0.Left, f0.Right, wantL, wantR)
	}
}
