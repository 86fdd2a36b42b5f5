package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool/jobfile"
)

// runRender runs cardd with args and returns its exit code and output.
func runRender(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestRenderSamples: every shipped sample renders, sides and panels at the
// printer's size; by default the permanent sample's UV panel is written
// and nothing is skipped.
func TestRenderSamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runRender(t, "render", "--samples", "--out", dir, "--serial", "ZZ0000001", "--issued", "2027-03-01")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// --serial and --issued reach the samples' cards, and the expiry is
	// the embedded default's validity (30 and 1825 days).
	issued := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file string
		days int
	}{{"temporary/front.png", 30}, {"permanent/back.png", 1825}} {
		img, err := readPNG(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := security.VerifyRendered(img, security.NewVerifier(nil, nil, time.Now))
		if err != nil || res.Credential == nil {
			t.Fatalf("%s: QR: %v", tc.file, err)
		}
		c := res.Credential
		if c.ID != "ZZ0000001" || !c.IssuedAt.Equal(issued) || !c.Expires.Equal(issued.AddDate(0, 0, tc.days)) {
			t.Errorf("%s: serial %s issued %v expires %v; want ZZ0000001, %v, %d days later", tc.file, c.ID, c.IssuedAt, c.Expires, issued, tc.days)
		}
	}
	for _, f := range []string{"temporary/front.png", "temporary/front-k.png", "temporary/front-y.png", "temporary/front-m.png", "temporary/front-c.png", "temporary/front-o.png",
		"permanent/front.png", "permanent/back.png", "permanent/back-k.png"} {
		p := filepath.Join(dir, f)
		if !strings.Contains(out, p+"\n") {
			t.Errorf("output does not list %s:\n%s", p, out)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if s := img.Bounds().Size(); s.X != 1016 || s.Y != 648 {
			t.Errorf("%s: %v, want 1016×648", f, s)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "temporary", "back.png")); err == nil {
		t.Error("single-sided temporary card has a back.png")
	}
	// One naming and format with the emulator's panel files: dye planes
	// in grey, 1-bit panels as 1-bit (two-colour) PNGs.
	for f, want := range map[string]string{"temporary/front-y.png": "*image.Gray", "temporary/front-k.png": "*image.Paletted", "permanent/back-o.png": "*image.Paletted"} {
		img, err := readPNG(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", img); got != want {
			t.Errorf("%s decodes as %s, want %s", f, got, want)
		} else if p, ok := img.(*image.Paletted); ok && len(p.Palette) != 2 {
			t.Errorf("%s: %d colours, want 2", f, len(p.Palette))
		}
	}
	uv := filepath.Join(dir, "permanent", "front-f.png")
	if !strings.Contains(out, uv+"\n") {
		t.Errorf("all panels: output does not list %s:\n%s", uv, out)
	}
	if strings.Contains(errs, "skipped") {
		t.Errorf("all panels: warnings %q", errs)
	}
}

// jobDir writes a job file and its photo into a new directory.
func renderJobDir(t *testing.T, job string, photo []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.toml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	if photo != nil {
		if err := os.WriteFile(filepath.Join(dir, "photo.jpg"), photo, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const renderGoodJob = `id = "CASE-1"
template = "temporary"
photo = "photo.jpg"
[fields]
surname = "Núñez"
given_names = "Zoë"
date_of_birth = "1990-01-31"
`

func TestRenderJob(t *testing.T) {
	t.Parallel()
	photo, err := samples.PortraitJPEG(5, 300, 400)
	if err != nil {
		t.Fatal(err)
	}
	dir := renderJobDir(t, renderGoodJob, photo)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, errs := runRender(t, "render", "--job", filepath.Join(dir, "job.toml"), "--out", out, "--dpi", "600", "--issued", "2026-01-02", "--serial", "EX1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, filepath.Join(out, "front-k.png")) {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(filepath.Join(out, "front.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 2032 || cfg.Height != 1296 {
		t.Errorf("600 dpi front %d×%d", cfg.Width, cfg.Height)
	}
}

func TestRenderErrors(t *testing.T) {
	photo, err := samples.PortraitJPEG(5, 120, 160)
	if err != nil {
		t.Fatal(err)
	}
	tmplDir := t.TempDir()
	os.WriteFile(filepath.Join(tmplDir, "escape.toml"), []byte("[front]\n[[front.element]]\nkind = \"image\"\npath = \"../logo.png\"\nw = 5.0\nh = 5.0\n"), 0o644)
	os.WriteFile(filepath.Join(tmplDir, "mine.toml"), []byte("[front]\n[[front.element]]\nkind = \"text\"\nname = \"nick\"\ntext = \"{{.nickname}}\"\n"), 0o644)
	noDOB := strings.Replace(renderGoodJob, "date_of_birth = \"1990-01-31\"\n", "", 1)
	tests := []struct {
		name  string
		job   string
		photo []byte
		args  []string
		code  int
		want  []string
	}{
		{"missing field", noDOB, photo, nil, exitFailure, []string{"template samples/temporary.toml", "job CASE-1", `front element 17 (text "date of birth")`, `field "date_of_birth"`}},
		{"missing field in own template", renderGoodJob, photo, []string{"--templates", tmplDir, "--template", "mine"}, exitFailure, []string{"mine.toml", `(text "nick")`, `field "nickname"`}},
		{"corrupt photo", renderGoodJob, photo[:len(photo)/3], nil, exitFailure, []string{`(photo "portrait")`, "photo.jpg"}},
		{"no photo file", renderGoodJob, nil, nil, exitFailure, []string{"photo"}},
		{"photo path escape", strings.Replace(renderGoodJob, `photo = "photo.jpg"`, `photo = "../photo.jpg"`, 1), photo, nil, exitFailure, []string{"job.toml", "photo"}},
		{"template escape", renderGoodJob, photo, []string{"--template", filepath.Join(tmplDir, "escape.toml")}, exitFailure, []string{"escape.toml:4", `key "path"`, "leaves the template directory"}},
		{"unknown template", renderGoodJob, photo, []string{"--template", "nosuch"}, exitFailure, []string{`"nosuch"`}},
		{"bad dpi", renderGoodJob, photo, []string{"--dpi", "150"}, exitUsage, []string{"--dpi 150"}},
		{"bad issue date", renderGoodJob, photo, []string{"--issued", "yesterday"}, exitUsage, []string{"--issued"}},
		{"missing config", renderGoodJob, photo, []string{"--config", "/nonexistent/cardd.toml"}, exitConfig, []string{"cardd.toml"}},
		{"bad job", "id = \n", photo, nil, exitFailure, []string{"job.toml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := renderJobDir(t, tc.job, tc.photo)
			args := append([]string{"render", "--job", filepath.Join(dir, "job.toml"), "--out", t.TempDir()}, tc.args...)
			code, _, errs := runRender(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not contain %q", errs, w)
				}
			}
		})
	}
	for _, args := range [][]string{{"render"}, {"render", "--out", "x"}, {"render", "--samples", "--job", "j", "--out", "x"}, {"render", "--samples"}} {
		if code, _, _ := runRender(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestJobData(t *testing.T) {
	issued := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		mode, wantType string
		wantExpires    time.Time
	}{
		{"", "temporary", issued.AddDate(0, 0, 30)},
		{"temporary", "temporary", issued.AddDate(0, 0, 30)},
		{"permanent", "permanent", issued.AddDate(0, 0, 1825)},
	}
	for _, tc := range tests {
		job := &jobfile.Job{ID: "J", Mode: tc.mode, Photo: "p.jpg", Fields: map[string]string{"a": "b"}}
		d := jobData(job, []byte{1}, "S1", issued, 30, 1825)
		if d.CardType != tc.wantType || !d.Expires.Equal(tc.wantExpires) || d.Serial != "S1" || d.JobID != "J" || d.PhotoName != "p.jpg" || d.Fields["a"] != "b" || !d.IssuedAt.Equal(issued) {
			t.Errorf("mode %q: %+v", tc.mode, d)
		}
	}
}

// TestSampleJobFilesValid keeps the shipped sample jobs valid job files.
func TestSampleJobFilesValid(t *testing.T) {
	jobs, err := samples.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		jf, err := jobfile.Parse(j.Name+".toml", j.File)
		if err != nil {
			t.Errorf("sample job %s: %v", j.Name, err)
			continue
		}
		if jf.ID != j.Data.JobID || jf.Template != j.Template || jf.Photo != j.Data.PhotoName {
			t.Errorf("sample job %s: file %+v, data %+v", j.Name, jf, j.Data)
		}
	}
}

func TestRenderList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "office.toml"), []byte("[front]\n"), 0o644)
	code, out, errs := runRender(t, "render", "--list", "--templates", dir)
	if code != exitOK || out != "office\npermanent\ntemporary\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestRenderPanels: --panels color,k,overlay previews a ribbon without UV
// (no UV file, one warning per UV element); a bad panel name is a usage
// error. (TestRenderSamples covers the default, every panel.)
func TestRenderPanels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runRender(t, "render", "--samples", "--out", dir, "--panels", "color, k,overlay")
	if code != exitOK {
		t.Fatalf("--panels: exit %d: %s", code, errs)
	}
	if strings.Contains(out, "-f.png") {
		t.Errorf("--panels without uv wrote a UV file:\n%s", out)
	}
	if n := strings.Count(errs, "no uv panel on the ribbon, skipped"); n != 4 {
		t.Errorf("%d skip warnings, want 4 (the permanent front's UV elements):\n%s", n, errs)
	}
	if !strings.Contains(errs, `"uv serial"`) || !strings.Contains(errs, "template permanent") {
		t.Errorf("warnings do not name the template and element:\n%s", errs)
	}
	if code, _, errs := runRender(t, "render", "--samples", "--out", t.TempDir(), "--panels", "color,gold"); code != exitUsage || !strings.Contains(errs, "gold") {
		t.Errorf("--panels gold: exit %d, %q; want a usage error naming it", code, errs)
	}
}
