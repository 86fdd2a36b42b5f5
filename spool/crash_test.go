package spool

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// The crash test runs the scheduler in a child process (this test binary
// re-executed) against file-backed fakes, kills it with SIGKILL at random
// moments while it processes jobs, restarts it, and at the end checks what
// must hold whatever the timing: every job is completed, refused with a
// reason, or held with an unknown outcome; no job's card was printed twice;
// every completed card was printed; every printed card belongs to a job
// that is completed or held as unknown.

const crashChildEnv = "CARDD_SPOOL_CRASH_CHILD"

// appendLine appends a line to a file and fsyncs it, like a durable log.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type fileSerials struct {
	mu   sync.Mutex
	path string
}

func (s *fileSerials) Next(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if b, err := os.ReadFile(s.path); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	n++
	if err := writeFileAtomic(s.path, []byte(strconv.Itoa(n)), 0o600, true); err != nil {
		return "", err
	}
	return fmt.Sprintf("X%06d", n), nil
}

type fileAudit struct {
	mu   sync.Mutex
	path string
}

func (a *fileAudit) Record(_ context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return appendLine(a.path, fmt.Sprintf("%s %s %s", e.Kind, e.Serial, e.JobID))
}

type instantComposer struct{}

func (instantComposer) Compose(_ context.Context, req ComposeRequest) (*printer.Card, error) {
	return &printer.Card{Geometry: printer.CR80(300), Mag: printer.MagTracks{}}, nil
}

// filePrinter "prints" by logging the card's serial (its first byte to the
// printer) and taking a moment, so kills land mid-card too.
type filePrinter struct {
	path    string
	serials func(*printer.Card) string
}

func (p *filePrinter) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	if err := appendLine(p.path, p.serials(c)); err != nil {
		return printer.Result{Outcome: printer.OutcomeNotFed}, err
	}
	time.Sleep(3 * time.Millisecond)
	return printer.Result{Outcome: printer.OutcomePrinted}, nil
}

func (p *filePrinter) Status(context.Context) (printer.Status, error) {
	return printer.Status{State: printer.StateIdle}, nil
}

// serialComposer tells the printer which serial a card carries.
type serialComposer struct {
	mu sync.Mutex
	m  map[*printer.Card]string
}

func (c *serialComposer) Compose(ctx context.Context, req ComposeRequest) (*printer.Card, error) {
	card, _ := instantComposer{}.Compose(ctx, req)
	c.mu.Lock()
	c.m[card] = req.Serial
	c.mu.Unlock()
	return card, nil
}

func (c *serialComposer) serial(card *printer.Card) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[card]
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only run as the crash test's child")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp, err := Open(filepath.Join(dir, "spool"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	comp := &serialComposer{m: map[*printer.Card]string{}}
	var prs []PrinterConfig
	for _, n := range []string{"p1", "p2"} {
		prs = append(prs, PrinterConfig{Name: n, Printer: &filePrinter{path: filepath.Join(dir, "printed-"+n), serials: comp.serial}, Policy: PolicyRetryJob, Backoff: 10 * time.Millisecond})
	}
	s, err := NewScheduler(ctx, sp, Config{Composer: comp, Serials: &fileSerials{path: filepath.Join(dir, "serials")}, Audit: &fileAudit{path: filepath.Join(dir, "audit")}, Printers: prs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	// Compact at every start, so kills also land mid-compaction.
	go func() {
		done <- s.Run(ctx, RunOptions{Rescan: 5 * time.Millisecond, Poll: 5 * time.Millisecond, CompactAbove: 2048})
	}()
	// In drain mode, stop once nothing is left to do.
	for os.Getenv(crashChildEnv+"_DRAIN") != "" {
		// Read incoming/ first: a job moves from there to active/ and
		// then into the counts, never backwards.
		incoming := len(mustReadDir(t, filepath.Join(dir, "spool", dirIncoming)))
		unadmitted, err := sp.Unadmitted()
		if err != nil {
			t.Fatal(err)
		}
		c := sp.Counts()
		if incoming == 0 && len(unadmitted) == 0 && c[StatePending]+c[StateProcessing]+c[StateStopped] == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if os.Getenv(crashChildEnv+"_DRAIN") == "" {
		select {} // until killed
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs child processes")
	}
	kills := 30
	if v, err := strconv.Atoi(os.Getenv("CARDD_CRASH_KILLS")); err == nil && v > 0 {
		kills = v // the soak: CARDD_CRASH_KILLS=500 go test -run TestCrashKill9 ./spool
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "spool")
	sp, err := Open(root, Options{}, nil) // create the areas
	if err != nil {
		t.Fatal(err)
	}
	sp.Close()
	photo := pngPhoto(t, 6, 6)
	submitted := 0
	submit := func(n int) {
		for i := 0; i < n; i++ {
			submitted++
			j := &jobfile.Job{ID: fmt.Sprintf("K-%04d", submitted), Template: "t", Photo: "p.png", Fields: map[string]string{"surname": "Doe"}}
			if _, err := Submit(root, j, photo); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A bad job and a duplicate in the mix.
	os.MkdirAll(filepath.Join(root, dirIncoming, ".bad"), 0o700)
	os.WriteFile(filepath.Join(root, dirIncoming, ".bad", "job.toml"), []byte("id = \"BAD\"\n"), 0o600)
	os.Rename(filepath.Join(root, dirIncoming, ".bad"), filepath.Join(root, dirIncoming, "bad"))
	submit(20)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	child := func(drain bool) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		if drain {
			cmd.Env = append(cmd.Env, crashChildEnv+"_DRAIN=1")
		}
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	}
	for i := 0; i < kills; i++ {
		cmd := child(false)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(10+rng.IntN(120)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if i%3 == 0 {
			submit(3)
		}
	}
	submit(1)
	if _, err := Submit(root, &jobfile.Job{ID: "K-0001", Template: "t"}, nil); err != nil { // a duplicate
		t.Fatal(err)
	}
	cmd := child(true)
	if err := cmd.Run(); err != nil {
		t.Fatalf("final run: %v\n%s", err, cmd.Stdout)
	}

	// Check.
	ro, err := Open(root, Options{ReadOnly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobSerial := map[string]string{} // serial → job id, from the audit log
	audited := map[string]bool{}     // "kind serial id" lines
	for _, l := range readLines(t, filepath.Join(dir, "audit")) {
		audited[l] = true
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == string(AuditIssued) {
			if prev, ok := jobSerial[f[1]]; ok && prev != f[2] {
				t.Errorf("serial %s issued to %s and %s", f[1], prev, f[2])
			}
			jobSerial[f[1]] = f[2]
		}
	}
	printed := map[string]int{}    // serial → times printed
	printedJob := map[string]int{} // job id → cards printed
	for _, p := range []string{"p1", "p2"} {
		for _, s := range readLines(t, filepath.Join(dir, "printed-"+p)) {
			printed[s]++
			printedJob[jobSerial[s]]++
		}
	}
	for s, n := range printed {
		if n > 1 {
			t.Errorf("serial %s printed %d times", s, n)
		}
		if jobSerial[s] == "" {
			t.Errorf("serial %s printed without an audit record", s)
		}
	}
	states := map[State]int{}
	for _, j := range ro.Jobs() {
		states[j.State]++
		switch {
		case j.State == StateCompleted:
			if !audited[fmt.Sprintf("%s %s %s", AuditPrinted, j.Serial, j.ID)] {
				t.Errorf("job %s completed without a printed audit event", j.ID)
			}
			if printed[j.Serial] != 1 {
				t.Errorf("job %s completed with serial %s printed %d times", j.ID, j.Serial, printed[j.Serial])
			}
			if printedJob[j.ID] != 1 {
				t.Errorf("job %s: %d cards printed", j.ID, printedJob[j.ID])
			}
		case j.State == StateHeld && j.Reason == ReasonOutcomeUnknown:
			if !audited[fmt.Sprintf("%s %s %s", AuditUnknown, j.Serial, j.ID)] {
				t.Errorf("job %s held without an outcome-unknown audit event", j.ID)
			}
			if printedJob[j.ID] > 1 {
				t.Errorf("held job %s: %d cards printed", j.ID, printedJob[j.ID])
			}
		case j.State == StateAborted:
			if j.Reason == "" {
				t.Errorf("job %d aborted without a reason", j.Num)
			}
			if printedJob[j.ID] > 0 && j.ID != "K-0001" {
				t.Errorf("aborted job %s printed", j.ID)
			}
		default:
			t.Errorf("job %d (%s) left %s (%s)", j.Num, j.ID, j.State, j.Reason)
		}
	}
	for id, n := range printedJob {
		j, err := ro.Job(id)
		if err != nil {
			t.Errorf("printed card for unknown job %q", id)
			continue
		}
		if n > 0 && j.State != StateCompleted && !(j.State == StateHeld && j.Reason == ReasonOutcomeUnknown) {
			t.Errorf("job %s printed but %s", id, j.State)
		}
	}
	// The bad job and the duplicate are refused. Any other job aborted was
	// quarantined: a job a kill caught composing alone, or mid-admission,
	// at two restarts is refused as one that may crash the daemon, which
	// kill -9 at random moments can (rarely) provoke. The bad job itself
	// may be quarantined that way (caught twice mid-admission), which is
	// just as much a refusal with a reason.
	quarantined, badAborted, dupAborted := 0, false, false
	for _, j := range ro.Jobs() {
		if j.State != StateAborted {
			continue
		}
		q := strings.HasPrefix(j.Reason, "quarantined:")
		switch {
		case j.ID == "BAD" || j.ID == "":
			badAborted = true
		case j.ID == "K-0001" && strings.Contains(j.Reason, "duplicate job id"):
			dupAborted = true
		case !q:
			t.Errorf("job %s aborted, neither the bad one, the duplicate nor quarantined: %s", j.ID, j.Reason)
		}
		if q {
			quarantined++
		}
	}
	if !badAborted || !dupAborted {
		t.Errorf("bad job aborted %v, duplicate aborted %v: want both refused", badAborted, dupAborted)
	}
	if got := states[StateCompleted] + states[StateHeld] + states[StateAborted]; got != submitted+2 {
		t.Errorf("%d jobs accounted for, want %d", got, submitted+2)
	}
	t.Logf("%d kills, %d jobs: %v (%d quarantined); %d cards printed", kills, submitted+2, states, quarantined, len(printed))
}
