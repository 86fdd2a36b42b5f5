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
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// Fakes standing in for layout, the security packages and a driver, so the
// CLI is tested against a real spool and scheduler.
type cliComposer struct{}

func (cliComposer) Compose(_ context.Context, req spool.ComposeRequest) (*printer.Card, error) {
	return &printer.Card{Geometry: printer.CR80(300)}, nil
}

type cliSerials struct {
	mu sync.Mutex
	n  int
}

func (s *cliSerials) Next(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("S%04d", s.n), nil
}

type cliAudit struct{}

func (cliAudit) Record(context.Context, spool.AuditEvent) error { return nil }

type cliPrinter struct{ outcome printer.Outcome }

func (p *cliPrinter) Print(context.Context, *printer.Card) (printer.Result, error) {
	return printer.Result{Outcome: p.outcome}, nil
}

func (p *cliPrinter) Status(context.Context) (printer.Status, error) {
	return printer.Status{State: printer.StateIdle}, nil
}

func testDaemon(t *testing.T, mods ...func(*spool.Config)) (root string, s *spool.Scheduler, p *cliPrinter) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "spool")
	sp, err := spool.Open(root, spool.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	p = &cliPrinter{outcome: printer.OutcomePrinted}
	cfg := spool.Config{
		Composer: cliComposer{}, Serials: &cliSerials{}, Audit: cliAudit{},
		Printers: []spool.PrinterConfig{{Name: "p1", Printer: p, StockLoaded: 250, Backoff: time.Nanosecond}},
	}
	for _, m := range mods {
		m(&cfg)
	}
	s, err = spool.NewScheduler(context.Background(), sp, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return root, s, p
}

// serveControl answers s's control requests in the background, as the
// daemon does, until the returned function is called.
func serveControl(s *spool.Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		for ctx.Err() == nil {
			s.ServeControl(ctx)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() {
		cancel()
		<-served
	}
}

func process(t *testing.T, s *spool.Scheduler) {
	t.Helper()
	ctx := context.Background()
	if err := s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		took, err := s.ProcessNext(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if !took {
			return
		}
	}
}

func pngFile(t *testing.T, dir, name string) string {
	t.Helper()
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 6, 8)))
	return writeFile(t, dir, name, buf.String())
}

func TestSubmitAndJobs(t *testing.T) {
	root, s, p := testDaemon(t)
	dir := t.TempDir()
	photo := pngFile(t, dir, "jane.png")
	pngFile(t, dir, "p1.png")

	// One job from flags, one from a job file, two from a CSV (one bad).
	code, out, errOut := runCardd(t, "submit", "--spool", root, "--id", "CLI-1", "--template", "temporary", "--field", "surname=Doe", "--photo", photo, "--track2", "1234=2612")
	if code != exitOK || !strings.Contains(out, "submitted job CLI-1") {
		t.Fatalf("submit flags: %d %q %q", code, out, errOut)
	}
	jf := writeFile(t, dir, "job.toml", "id = \"CLI-2\"\ntemplate = \"temporary\"\nphoto = \"p1.png\"\n")
	if code, out, errOut := runCardd(t, "submit", "--spool", root, "--job", jf); code != exitOK {
		t.Fatalf("submit job file: %d %q %q", code, out, errOut)
	}
	csvf := writeFile(t, dir, "jobs.csv", "id,template,photo,surname\nCSV-1,temporary,p1.png,Ng\nCSV-2,temporary,../escape.png,Ok\n")
	code, out, errOut = runCardd(t, "submit", "--spool", root, "--csv", csvf, "--photos", dir)
	if code != exitFailure || !strings.Contains(out, "submitted 1 of 2") || !strings.Contains(errOut, "jobs.csv:3") {
		t.Fatalf("submit csv: %d %q %q", code, out, errOut)
	}
	// Bad uses.
	for _, args := range [][]string{
		{"submit", "--spool", root},
		{"submit", "--spool", root, "--id", "x", "--job", jf},
		{"submit", "--spool", root, "--csv", csvf},
	} {
		if code, _, _ := runCardd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
	if code, _, errOut := runCardd(t, "submit", "--spool", root, "--id", "bad id", "--template", "t"); code != exitFailure || !strings.Contains(errOut, "field id") {
		t.Errorf("invalid id: %d %q", code, errOut)
	}
	if code, _, errOut := runCardd(t, "submit", "--spool", root, "--id", "T-1", "--template", "t", "--track2", "12AB"); code != exitFailure || !strings.Contains(errOut, "magnetic.track2") {
		t.Errorf("invalid track: %d %q", code, errOut)
	}
	if code, _, _ := runCardd(t, "submit", "--spool", filepath.Join(dir, "nospool"), "--id", "x", "--template", "t"); code != exitConfig {
		t.Errorf("missing spool: exit %d", code)
	}

	process(t, s)
	code, out, _ = runCardd(t, "jobs", "list", "--spool", root)
	if code != exitOK {
		t.Fatalf("jobs list: %d", code)
	}
	for _, id := range []string{"CLI-1", "CLI-2", "CSV-1"} {
		if !strings.Contains(out, id) {
			t.Errorf("jobs list lacks %s:\n%s", id, out)
		}
	}
	if strings.Count(out, "completed") != 3 {
		t.Errorf("jobs list:\n%s", out)
	}
	code, out, _ = runCardd(t, "jobs", "show", "--spool", root, "CLI-1")
	if code != exitOK || !strings.Contains(out, "serial:    S0001") || !strings.Contains(out, "processing/printing") {
		t.Errorf("jobs show: %d\n%s", code, out)
	}
	// Flags may follow the job, as everywhere.
	if code, out2, errOut := runCardd(t, "jobs", "show", "CLI-1", "--spool", root, "--json"); code != exitOK || !strings.Contains(out2, `"id": "CLI-1"`) {
		t.Errorf("jobs show JOB --spool S --json: %d %q\n%s", code, errOut, out2)
	}
	if code, _, _ := runCardd(t, "jobs", "show", "--spool", root, "NOPE"); code != exitFailure {
		t.Errorf("jobs show of an unknown job: exit %d", code)
	}

	// Actions go through the daemon: serve control requests meanwhile.
	p.outcome = printer.OutcomeUnknown
	if code, _, _ := runCardd(t, "submit", "--spool", root, "--id", "UNK-1", "--template", "t"); code != exitOK {
		t.Fatal("submit UNK-1")
	}
	process(t, s)
	stopControl := serveControl(s)
	code, out, errOut = runCardd(t, "jobs", "confirm", "--spool", root, "CLI-1")
	if code != exitFailure || !strings.Contains(errOut, "not held with an unknown outcome") {
		t.Errorf("confirm of a completed job: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCardd(t, "jobs", "void", "--spool", root, "UNK-1"); code != exitUsage || !strings.Contains(errOut, "needs a reason") {
		t.Errorf("void without reason: %d %q", code, errOut)
	}
	code, out, errOut = runCardd(t, "jobs", "void", "--spool", root, "--reason", "smudged", "UNK-1")
	if code != exitOK || !strings.Contains(out, "job is held") {
		t.Errorf("void: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCardd(t, "jobs", "reprint", "--spool", root, "--reason", "lost", "--new-id", "CLI-1-R", "CLI-1")
	if code != exitOK || !strings.Contains(out, "submitted reprint CLI-1-R") {
		t.Errorf("reprint: %d %q %q", code, out, errOut)
	}
	stopControl()
	p.outcome = printer.OutcomePrinted
	process(t, s)
	if code, out, _ := runCardd(t, "jobs", "list", "--spool", root, "--state", "completed", "--json"); code != exitOK || !strings.Contains(out, `"id": "CLI-1-R"`) {
		t.Errorf("reprint not completed:\n%s", out)
	}

	// No daemon answering: the request stays queued.
	code, _, errOut = runCardd(t, "jobs", "hold", "--spool", root, "--wait", "30ms", "CSV-1")
	if code != exitFailure || !strings.Contains(errOut, "stays queued") {
		t.Errorf("hold without daemon: %d %q", code, errOut)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "control"))
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".req") {
		t.Errorf("control/ holds %v", ents)
	}
}

// batchedSpool is a permanent-mode test spool that batches two jobs at a
// time, with jobs PREFIX-1, PREFIX-2 and PREFIX-3 submitted and processed.
func batchedSpool(t *testing.T, prefix string) (root string, s *spool.Scheduler) {
	t.Helper()
	root, s, _ = testDaemon(t, func(c *spool.Config) {
		c.Mode = "permanent"
		c.Batching = spool.Batching{Size: 2, Window: time.Hour}
	})
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if code, _, errOut := runCardd(t, "submit", "--spool", root, "--id", id, "--template", "permanent"); code != exitOK {
			t.Fatalf("submit %s: %s", id, errOut)
		}
	}
	process(t, s)
	return root, s
}

func TestJobsBatches(t *testing.T) {
	root, s := batchedSpool(t, "P")
	code, out, _ := runCardd(t, "jobs", "batches", "--spool", root)
	if code != exitOK || !strings.Contains(out, "B000001  done") || !strings.Contains(out, "B000002  open") {
		t.Fatalf("jobs batches: %d\n%s", code, out)
	}
	code, out, _ = runCardd(t, "jobs", "batch", "--spool", root, "B000001")
	if code != exitOK || !strings.Contains(out, "printed 2, spoiled 0") || !strings.Contains(out, "250") {
		t.Errorf("jobs batch B000001: %d\n%s", code, out)
	}
	code, out, _ = runCardd(t, "jobs", "batch", "--spool", root, "--json", "B000002")
	if code != exitOK || !strings.Contains(out, `"state": "open"`) {
		t.Errorf("jobs batch B000002: %d\n%s", code, out)
	}
	if code, _, _ := runCardd(t, "jobs", "batch", "--spool", root, "B000009"); code != exitFailure {
		t.Errorf("unknown batch: exit %d", code)
	}
	stopControl := serveControl(s)
	code, out, errOut := runCardd(t, "jobs", "close-batch", "--spool", root, "B000002")
	stopControl()
	if code != exitOK || !strings.Contains(out, "batch B000002 closed") {
		t.Fatalf("close-batch: %d %q %q", code, out, errOut)
	}
	process(t, s)
	if code, out, _ := runCardd(t, "jobs", "list", "--spool", root, "--state", "completed"); code != exitOK || !strings.Contains(out, "P-3") {
		t.Errorf("P-3 not printed after close-batch:\n%s", out)
	}
}

// TestNoStation: every command that reads or changes a station says where
// it looked when there is no station there, and takes the same --work and
// --config flags, before or after its positional arguments.
func TestNoStation(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	for _, args := range [][]string{
		{"jobs", "list", "--work", missing},
		{"jobs", "show", "J1", "--work", missing},
		{"jobs", "hold", "J1", "--work", missing, "--reason", "check"},
		{"batch", "list", "--work", missing},
		{"batch", "show", "B000001", "--json", "--work", missing},
		{"batch", "close", "B000001", "--work", missing},
		{"submit", "--work", missing, "--id", "X-1", "--template", "temporary"},
		{"audit", "verify", "--work", missing},
		{"audit", "export", "--work", missing},
	} {
		code, out, errOut := runCardd(t, args...)
		if code != exitConfig || !strings.Contains(errOut, "no station at "+missing) || !strings.Contains(errOut, "--work "+missing) {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and \"no station at %s\"", args, code, errOut, out, exitConfig, missing)
		}
	}
	// With --config, the configured spool is named.
	dir := t.TempDir()
	cfg := writeFile(t, dir, "station.toml", "[station]\nid = \"x1\"\n[paths]\nspool = \"sp\"\nstate = \"st\"\n[[printers]]\nname = \"p\"\ndriver = \"evolis\"\nconnection = \"emulator\"\n")
	code, _, errOut := runCardd(t, "jobs", "list", "--config", cfg)
	if want := "no station at " + filepath.Join(dir, "sp"); code != exitConfig || !strings.Contains(errOut, want) || !strings.Contains(errOut, cfg) {
		t.Errorf("jobs list --config: exit %d, stderr %q; want %q naming %s", code, errOut, want, cfg)
	}
}

// TestSubmitSampleAndMissingPhoto: the shipped sample jobs can be
// submitted as they are (--sample, with their synthetic portrait), and a
// missing photo is said plainly, naming the file.
func TestSubmitSampleAndMissingPhoto(t *testing.T) {
	root, _, _ := testDaemon(t)
	dir := t.TempDir()
	code, out, errOut := runCardd(t, "submit", "--sample", "temporary", "--spool", root)
	if code != exitOK || !strings.Contains(out, "submitted job SAMPLE-TEMP-0001") {
		t.Fatalf("submit --sample temporary: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCardd(t, "submit", "--spool", root, "--sample", "permanent", "--id", "TRY-2"); code != exitOK || !strings.Contains(out, "submitted job TRY-2") {
		t.Fatalf("submit --sample permanent --id: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCardd(t, "submit", "--spool", root, "--sample", "gold"); code != exitUsage || !strings.Contains(errOut, "temporary") {
		t.Errorf("unknown sample: %d %q", code, errOut)
	}

	missing := filepath.Join(dir, "photos", "p3.png")
	code, _, errOut = runCardd(t, "submit", "--spool", root, "--id", "P-3", "--template", "temporary", "--photo", missing)
	if want := "photo " + missing + " does not exist"; code != exitFailure || !strings.Contains(errOut, want) || strings.Contains(errOut, `job "photo"`) {
		t.Errorf("--photo missing: %d %q, want %q", code, errOut, want)
	}
	jf := writeFile(t, dir, "job.toml", "id = \"J-9\"\ntemplate = \"temporary\"\nphoto = \"p9.png\"\n")
	code, _, errOut = runCardd(t, "submit", "--spool", root, "--job", jf)
	if want := "names the photo p9.png, which is not in " + dir; code != exitFailure || !strings.Contains(errOut, want) {
		t.Errorf("job file's photo missing: %d %q, want %q", code, errOut, want)
	}
}

// TestSubmitNeedsPhoto: "cardd submit" for a station refuses a job whose
// template shows the holder's photo when the job has none, and a template
// the station does not have, before anything reaches the spool (the
// daemon would refuse both at intake).
func TestSubmitNeedsPhoto(t *testing.T) {
	work := t.TempDir()
	sp, err := spool.Open(filepath.Join(work, "spool"), spool.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp.Close()
	code, _, errOut := runCardd(t, "submit", "--work", work, "--id", "NP-1", "--template", "temporary", "--field", "surname=Doe")
	if want := `template "temporary" shows the holder's photo`; code != exitFailure || !strings.Contains(errOut, want) {
		t.Errorf("no photo: %d %q, want %q", code, errOut, want)
	}
	code, _, errOut = runCardd(t, "submit", "--work", work, "--id", "NT-1", "--template", "nosuch")
	if want := `template "nosuch": the station has no such template`; code != exitFailure || !strings.Contains(errOut, want) {
		t.Errorf("unknown template: %d %q, want %q", code, errOut, want)
	}
	csvFile := writeFile(t, work, "jobs.csv", "id,template,surname\nNP-2,temporary,Doe\n")
	code, _, errOut = runCardd(t, "submit", "--work", work, "--csv", csvFile, "--photos", work)
	if code == exitOK || !strings.Contains(errOut, "shows the holder's photo") {
		t.Errorf("csv row without photo: %d %q", code, errOut)
	}
	if ents, _ := os.ReadDir(filepath.Join(work, "spool", "incoming")); len(ents) != 0 {
		t.Errorf("refused jobs reached incoming/: %v", ents)
	}
	if code, out, errOut := runCardd(t, "submit", "--work", work, "--sample", "temporary"); code != exitOK {
		t.Errorf("a good job: %d %q %q", code, out, errOut)
	}
}

// TestJobsOutputEscaped: "cardd jobs list" and "show" print untrusted
// text (reasons carry operators' and producers' words) with control and
// bidi characters escaped.
func TestJobsOutputEscaped(t *testing.T) {
	root, s, _ := testDaemon(t)
	ctx := context.Background()
	if _, err := spool.Submit(root, &jobfile.Job{ID: "ESC-1", Template: "temporary"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold(ctx, "ESC-1", "x\x1b[2J\x1b[32m\u202eevil\u2066\nstate: completed\u009b"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"jobs", "show", "ESC-1", "--spool", root}, {"jobs", "list", "--spool", root}} {
		code, out, errOut := runCardd(t, args...)
		if code != exitOK {
			t.Fatalf("%v: %d %q", args, code, errOut)
		}
		for _, bad := range []string{"\x1b", "\u202e", "\u2066", "\u009b", "\nstate: completed"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v keeps %q:\n%s", args, bad, out)
			}
		}
		if !strings.Contains(out, `\u{202e}evil`) {
			t.Errorf("%v lacks the escaped reason:\n%s", args, out)
		}
	}
}
