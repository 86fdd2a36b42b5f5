package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/skimage"
	"github.com/cardd/cardd/layout/portrait"
)

func TestPhotoCheck(t *testing.T) {
	casc := cascades.Dir(t)
	dir := skimage.Dir(t)
	astro, coffee := filepath.Join(dir, "astronaut.png"), filepath.Join(dir, "coffee.png")
	code, out, errs := runRender(t, "photo", "check", "--cascades", casc, astro)
	if code != exitOK {
		t.Fatalf("astronaut: exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{astro + ": warn (512 × 512, 1 face)", "size       warn  eyes", "roll       pass  eyes level"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runRender(t, "photo", "check", "--json", "--cascades", casc, astro, coffee, filepath.Join(dir, "missing.png"))
	if code != exitFailure {
		t.Errorf("a photo without a face and a missing file: exit %d, want %d", code, exitFailure)
	}
	var res []photoResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if len(res) != 3 || res[0].Report == nil || res[0].Report.Verdict != portrait.Warn ||
		res[1].Report == nil || res[1].Report.Verdict != portrait.Fail || res[1].Reason != "photo: no face found" || res[2].Error == "" {
		t.Errorf("--json results: %+v", res)
	}
	code, _, errs = runRender(t, "photo", "check", "--cascades", t.TempDir(), astro)
	if code != exitFailure || !strings.Contains(errs, "face detection unavailable") {
		t.Errorf("no cascades: exit %d, %s", code, errs)
	}
}

func TestPhotoCrop(t *testing.T) {
	casc := cascades.Dir(t)
	dir := skimage.Dir(t)
	tmpl := filepath.Join(t.TempDir(), "id.toml")
	if err := os.WriteFile(tmpl, []byte("name = \"id\"\n[front]\n[[front.element]]\nkind = \"photo\"\nx = 3.0\ny = 10.0\nw = 20.32\nh = 27.09\nfit = \"face\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "crop.png")
	code, stdout, errs := runRender(t, "photo", "crop", filepath.Join(dir, "astronaut.png"), "--template", tmpl, "--out", out, "--cascades", casc)
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "240 × 320 dots (fit face: eyes 4") {
		t.Errorf("output: %s", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 320 {
		t.Errorf("crop is %v, want 240 × 320", b)
	}
	code, _, _ = runRender(t, "photo", "crop", filepath.Join(dir, "astronaut.png"), "--out", out)
	if code != exitUsage {
		t.Errorf("no --template: exit %d, want %d", code, exitUsage)
	}
}
