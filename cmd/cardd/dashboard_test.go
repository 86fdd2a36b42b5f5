package main

import (
	"bytes"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
)

// TestDashboardPrivacy runs the daemon with the emulator, prints two
// cards and reads every dashboard page: with dashboard.preview off no
// holder field appears and there is no preview; with it on the preview is
// a JPEG of the card last composed.
func TestDashboardPrivacy(t *testing.T) {
	t.Parallel()
	for _, preview := range []bool{false, true} {
		t.Run(map[bool]string{false: "preview off", true: "preview on"}[preview], func(t *testing.T) {
			t.Parallel()
			work, out := t.TempDir(), t.TempDir()
			cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			withoutCardImages(cfg)
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.Dashboard.Preview = preview
			st, addr := startDaemon(t, cfg)
			jobs := submitDemoJobs(t, cfg, "temporary", 2)
			waitFor(t, "two cards", func() bool { return st.Spool().Counts()[spool.StateCompleted] == 2 })
			get := func(path string) (int, string, []byte) {
				t.Helper()
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode, resp.Header.Get("Content-Type"), b
			}
			for _, page := range []string{"/ui/", "/ui/queue", "/ui/outcomes", "/ui/batches", "/ui/snapshot"} {
				code, _, body := get(page)
				if code != 200 {
					t.Fatalf("%s: %d", page, code)
				}
				if page != "/ui/batches" && !strings.Contains(string(body), "emulator") {
					t.Errorf("%s does not name the printer", page)
				}
				checked := 0
				for _, j := range jobs[:2] {
					for k, v := range j.Fields {
						if len(v) < 4 {
							continue
						}
						checked++
						if strings.Contains(string(body), v) {
							t.Errorf("%s shows holder field %s (%q)", page, k, v)
						}
					}
				}
				if checked < 4 {
					t.Fatalf("only %d holder fields to look for", checked)
				}
			}
			_, _, outcomes := get("/ui/outcomes")
			for _, j := range jobs[:2] {
				sj, _ := st.Spool().Job(j.ID)
				if !strings.Contains(string(outcomes), sj.Serial) || !strings.Contains(string(outcomes), j.ID) {
					t.Errorf("outcomes lack job %s or serial %s", j.ID, sj.Serial)
				}
			}
			code, ctype, img := get("/ui/preview.jpg")
			if !preview {
				if code != http.StatusNotFound {
					t.Errorf("preview with preview off: %d", code)
				}
				return
			}
			if code != 200 || ctype != "image/jpeg" {
				t.Fatalf("preview: %d %s", code, ctype)
			}
			m, err := jpeg.Decode(bytes.NewReader(img))
			if err != nil {
				t.Fatal(err)
			}
			if b := m.Bounds(); b.Dx() != station.PreviewWidth || b.Dy() < station.PreviewWidth/2 || b.Dy() > station.PreviewWidth*2/3 {
				t.Errorf("preview %v, want %d wide, card-shaped", b, station.PreviewWidth)
			}
		})
	}
}
