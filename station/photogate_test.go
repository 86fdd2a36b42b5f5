package station

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/internal/skimage"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/layout/samples"
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
	b, err := os.ReadFile(cfg.Security.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "override-check") || !strings.Contains(string(b), "the cat is the holder") {
		t.Errorf("audit log has no override record:\n%s", b)
	}
}
