package station

import (
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// pngHeader is a PNG of w × h pixels as far as its header says (IHDR
// only): DecodeConfig reads it, nothing can decode it.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk := append([]byte("IHDR"), ihdr...)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// TestIntakeBurnsNoSerial: jobs that cannot print are refused at intake,
// before a serial is allocated: an unknown template, a 30-megapixel photo
// (within the spool's 40 MP header check, beyond the renderer's 24 MP), a
// template that shows a photo with none, a photo that is not an image.
// Before the pre-serial step each of them took a serial, which then went
// to the deny list. The good job beside them gets the first serial.
func TestIntakeBurnsNoSerial(t *testing.T) {
	cfg := testConfig(t)
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 50 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := samples.Generate("temporary", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	good := data[0]
	bad := []struct {
		job    jobfile.Job
		photo  []byte
		reason string
	}{
		{jobfile.Job{ID: "NOTPL-1", Template: "nosuch", Photo: "p.jpg"}, good.Photo, "field template: bad job: no template \"nosuch\""},
		{jobfile.Job{ID: "BIG-1", Template: "temporary", Photo: "p.png"}, pngHeader(6000, 5000), "field photo: bad job: p.png: image has too many pixels: 6000 × 5000"},
		{jobfile.Job{ID: "NOPHOTO-1", Template: "temporary"}, nil, "field photo: bad job: template \"temporary\" shows the holder's photo; the job names none"},
		// Its header reads, its data is cut short ("cardd demo"'s bad job).
		{jobfile.Job{ID: "CUT-1", Template: "temporary", Photo: "p.jpg"}, good.Photo[:600], "field photo: bad job: p.jpg: not a readable JPEG or PNG image"},
	}
	for _, b := range bad {
		j := b.job
		j.Mode, j.Fields = "temporary", good.Fields
		if _, err := st.Submit(&j, b.photo); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Submit(&jobfile.Job{ID: "GOOD-1", Template: "temporary", Mode: "temporary", Fields: good.Fields, Photo: "p.jpg"}, good.Photo); err != nil {
		t.Fatal(err)
	}
	runStation(t, st)
	waitCond(t, "GOOD-1 printed", func() bool {
		j, err := st.Spool().Job("GOOD-1")
		return err == nil && j.State == spool.StateCompleted
	})
	for _, b := range bad {
		j, err := st.Spool().Job(b.job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != spool.StateAborted || !strings.Contains(j.Reason, b.reason) {
			t.Errorf("%s: %s %q, want aborted with %q", b.job.ID, j.State, j.Reason, b.reason)
		}
		if j.Serial != "" || len(j.Voided) > 0 {
			t.Errorf("%s burnt a serial: %q %v", b.job.ID, j.Serial, j.Voided)
		}
	}
	g, _ := st.Spool().Job("GOOD-1")
	if !strings.Contains(g.Serial, "-0000001-") {
		t.Errorf("the good job printed with %q, want the station's first serial", g.Serial)
	}
}

// TestHTTPHostAndHealth: the station's endpoint refuses a foreign Host
// (DNS rebinding) and answers to a name listed in http.allowed_hosts;
// /healthz is healthy while the scheduler turns.
func TestHTTPHostAndHealth(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.AllowedHosts = []string{"desk-7.example"}
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 50 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, st)
	url := "http://" + st.HTTPAddr().String()
	get := func(path, host string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Origin", "http://"+host)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/healthz", "/status", "/ui/", "/verify"} {
		if got := get(path, "evil.example"); got != http.StatusMisdirectedRequest {
			t.Errorf("%s under Host evil.example: %d, want 421", path, got)
		}
		if got := get(path, "desk-7.example:8631"); got != http.StatusOK {
			t.Errorf("%s under an allowed Host: %d, want 200", path, got)
		}
	}
}
