package photogate

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// TestShippedSamplePortraitsPass puts every portrait cardd ships through
// the station's real gate (pigo's face and pupil cascades, the default
// thresholds, hold mode): the sample jobs' portraits ("cardd submit
// --sample", "cardd render --samples") and the first demo jobs' ("cardd
// demo" draws Generate(…, 7)). Each must pass every check, not merely
// escape a hold, so that the demo runs with gate = "hold". Each is checked
// decoded whole and as the station decodes it at intake (a large JPEG at
// 1/2 of its size: layout.Renderer.IntakePhoto).
func TestShippedSamplePortraitsPass(t *testing.T) {
	p := config.DefaultPortrait()
	p.Cascades = cascades.Dir(t)
	log := slog.New(slog.DiscardHandler)
	det := LoadDetector(p, log)
	if det == nil {
		t.Fatal("no detector from the module's cascades")
	}
	var reports []*portrait.Report
	observe := func(r *portrait.Report, _ time.Duration) { reports = append(reports, r) }
	whole, err := FromConfig(p, det, 0, 0, observe, nil, log)
	if err != nil || whole == nil || whole.o.Mode != Hold {
		t.Fatalf("gate %+v, %v: want the default hold gate", whole, err)
	}
	intake, err := FromConfig(p, det, 0, 0, observe, layout.NewRenderer(nil).IntakePhoto, log)
	if err != nil || intake == nil {
		t.Fatalf("gate %+v, %v", intake, err)
	}
	type photo struct {
		name string
		data []byte
	}
	var photos []photo
	jobs, err := samples.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		photos = append(photos, photo{"sample job " + j.Name, j.Data.Photo})
	}
	demo, err := samples.Generate("temporary", 8, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range demo {
		photos = append(photos, photo{fmt.Sprintf("demo job %d", i+1), d.Photo})
	}
	for _, gc := range []struct {
		name string
		g    *Gate
	}{{"whole", whole}, {"intake", intake}} {
		for _, ph := range photos {
			screenOne(t, gc.g, gc.name+": "+ph.name, ph.data, &reports)
		}
	}
}

// screenOne screens one photo with g and requires a pass on every check.
func screenOne(t *testing.T, g *Gate, name string, data []byte, reports *[]*portrait.Report) {
	t.Helper()
	*reports = (*reports)[:0]
	v, err := g.Screen(context.Background(), spool.ScreenRequest{
		Job: &jobfile.Job{ID: "SAMPLE", File: "job.toml", Photo: "photo.jpg"}, Dir: t.TempDir(), Num: 1, Photo: data})
	if err != nil || v.Hold != "" || len(*reports) != 1 {
		t.Errorf("%s: verdict %+v, %v", name, v, err)
		return
	}
	rep := (*reports)[0]
	if rep.Verdict != portrait.Pass {
		t.Errorf("%s: %s: %s", name, rep.Verdict, rep.Reason())
		for _, c := range rep.Checks {
			t.Logf("  %s %s %s", c.Name, c.Verdict, c.Message)
		}
		return
	}
	f := rep.Face
	t.Logf("%s: pass (face score %.0f, eyes %.0f px apart, roll %.1f°)", name, f.Score, f.EyeDistance(), f.Roll())
}
