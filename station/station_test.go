package station

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// testLogger logs to the test's log at warn level and above.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testConfig is the embedded default configuration under a temporary
// directory in temporary mode, as "cardd demo" sets it up: the emulator
// writes its cards under a second temporary directory, no HTTP endpoint.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Embedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cfg.Station.Mode = config.Mode(jobfile.ModeTemporary)
	cfg.Security.TrustList = filepath.Join(out, "trust.json")
	cfg.HTTP.Listen = ""
	for i := range cfg.Printers {
		p := &cfg.Printers[i]
		p.Emulator.Output = filepath.Join(out, p.Name)
		p.Emulator.Speed = 0
	}
	return cfg
}

// sampleJobs makes n good sample jobs for template plus one with a
// corrupt photo (a JPEG whose header reads but whose data is cut short),
// as "cardd demo" does.
func sampleJobs(t *testing.T, template string, n int) ([]*jobfile.Job, [][]byte) {
	t.Helper()
	data, err := samples.Generate(template, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []*jobfile.Job
	var photos [][]byte
	for i, d := range data {
		jobs = append(jobs, &jobfile.Job{ID: fmt.Sprintf("DEMO-%04d", i+1), Template: template, Mode: template, Fields: d.Fields, Photo: "photo.jpg"})
		photos = append(photos, d.Photo)
	}
	jobs = append(jobs, &jobfile.Job{ID: "DEMO-BAD", Template: template, Mode: template, Fields: data[0].Fields, Photo: "photo.jpg"})
	photos = append(photos, append([]byte(nil), data[0].Photo[:min(len(data[0].Photo), 600)]...))
	return jobs, photos
}

// TestComposer calls the daemon's composer directly: a good job gives a
// card whose QR verified and an "issued" audit record; job problems are
// bad jobs (refused), station problems are not (held).
func TestComposer(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = append(cfg.Printers, cfg.Printers[0])
	simplex := &cfg.Printers[1]
	simplex.Name, simplex.Duplex, simplex.Emulator = "simplex", false, &config.Emulator{Speed: 0}
	st, err := Open(t.Context(), cfg, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, photos := sampleJobs(t, "temporary", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "photo.jpg"), photos[0], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corrupt.jpg"), photos[1], 0o600); err != nil {
		t.Fatal(err)
	}
	job := func(edit func(j *jobfile.Job)) *jobfile.Job {
		j := *data[0]
		edit(&j)
		return &j
	}
	tests := []struct {
		name    string
		job     *jobfile.Job
		printer string
		bad     bool // refused as a bad job
		errText string
	}{
		{"good", job(func(*jobfile.Job) {}), "emulator", false, ""},
		{"unknown template", job(func(j *jobfile.Job) { j.Template = "nosuch" }), "emulator", true, "nosuch"},
		{"missing photo", job(func(j *jobfile.Job) { j.Photo = "absent.jpg" }), "emulator", true, "absent.jpg"},
		{"corrupt photo", job(func(j *jobfile.Job) { j.Photo = "corrupt.jpg" }), "emulator", true, "corrupt.jpg"},
		{"missing field", job(func(j *jobfile.Job) { j.Fields = map[string]string{"surname": "X"} }), "emulator", true, "given_names"},
		{"stripe without encoder", job(func(j *jobfile.Job) { j.Magnetic = &jobfile.Magnetic{Track2: "1234=99"} }), "emulator", false, "no encoder"},
		{"two sides on a simplex printer", job(func(j *jobfile.Job) { j.Template, j.Mode = "permanent", "permanent" }), "simplex", false, "one side"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serial := fmt.Sprintf("DEMO-T%d", i)
			before, _ := st.audit.log.Head()
			card, err := st.composer.Compose(t.Context(), spool.ComposeRequest{Job: tc.job, Dir: dir, Serial: serial, Printer: tc.printer, Issued: time.Now()})
			after, _ := st.audit.log.Head()
			if tc.errText == "" {
				if err != nil || card == nil || card.Front.K == nil {
					t.Fatalf("compose: %v", err)
				}
				if after != before+1 {
					t.Fatalf("audit records %d → %d, want one issued record", before, after)
				}
				// Composed again (after a restart; another issue time): the
				// serial is already issued, no second record.
				if _, err := st.composer.Compose(t.Context(), spool.ComposeRequest{Job: tc.job, Dir: dir, Serial: serial, Printer: tc.printer, Issued: time.Now().Add(-2 * time.Second)}); err != nil {
					t.Fatalf("compose again: %v", err)
				}
				if again, _ := st.audit.log.Head(); again != after {
					t.Fatalf("audit records %d → %d on re-composition of serial %s, want no new issued record", after, again, serial)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("err %v, want one naming %q", err, tc.errText)
			}
			if isBad := errors.Is(err, spool.ErrBadJob); isBad != tc.bad {
				t.Fatalf("bad job %v, want %v: %v", isBad, tc.bad, err)
			}
			if after != before {
				t.Fatalf("audit record written for a card that failed to compose")
			}
		})
	}
}

// TestRunFirstStartKeys: the first start generates the key (0600) and a
// trust list that accepts it; a trust list without the key is refused.
func TestRunFirstStartKeys(t *testing.T) {
	work := t.TempDir()
	cfg, err := config.Embedded(work)
	if err != nil {
		t.Fatal(err)
	}
	signer, trust, err := loadKeys(cfg, time.Now, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.Security.SigningKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if len(trust.Entries()) != 1 || trust.Entries()[0].KID != signer.KeyID().String() {
		t.Fatalf("trust list: %+v", trust.Entries())
	}
	// Second start: same key.
	signer2, _, err := loadKeys(cfg, time.Now, testLogger(t))
	if err != nil || signer2.KeyID() != signer.KeyID() {
		t.Fatalf("reload: %v", err)
	}
	// A trust list for another key.
	other, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTrustList(cfg.Security.TrustList, cfg.Security.Issuer, other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadKeys(cfg, time.Now, testLogger(t)); err == nil || !strings.Contains(err.Error(), "no entry for the signing key") {
		t.Fatalf("foreign trust list: %v", err)
	}
}

// TestProvision: a station set up on purpose gets its signing key, trust
// list and audit key before its first start, which then warns of none;
// existing keys are kept.
func TestProvision(t *testing.T) {
	work := t.TempDir()
	cfg, err := config.Embedded(work)
	if err != nil {
		t.Fatal(err)
	}
	sec := cfg.Security
	created, err := Provision(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sec.SigningKey, sec.TrustList, sec.AuditKey, sec.AuditKey + ".pub"}
	if strings.Join(created, " ") != strings.Join(want, " ") {
		t.Fatalf("created %q, want %q", created, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(sec.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Provision(cfg); err != nil || len(again) != 0 {
		t.Fatalf("second Provision: created %q, %v", again, err)
	}
	if key2, _ := os.ReadFile(sec.SigningKey); string(key2) != string(key) {
		t.Fatal("second Provision replaced the signing key")
	}
	// The first start after Provision finds every key: no warning.
	if err := os.MkdirAll(cfg.Paths.State, 0o700); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, _, err := loadKeys(cfg, time.Now, log); err != nil {
		t.Fatal(err)
	}
	al, err := openAuditLog(cfg, time.Now, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	al.Close()
	if logs.Len() != 0 {
		t.Errorf("first start after Provision warned:\n%s", logs.String())
	}
}
