package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// crashKillsEnv sets the number of kills of TestDaemonCrashKill9 (default
// 20, sized for the suite on two cores, where it is the longest test of
// the package; a soak run sets more, e.g. 150).
const crashKillsEnv = "CARDD_CRASH_KILLS"

// carddBinary is the cardd binary the binary-level tests run, built once
// per test process (the first test to need it builds it; a build failure
// fails each test that needs it).
var carddBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildCardd returns the cardd binary, built once for every test of the
// package that runs it (the crash, SIGTERM and load tests); TestMain
// removes it.
func buildCardd(t *testing.T) string {
	t.Helper()
	b := &carddBinary
	b.once.Do(func() {
		start := time.Now()
		if b.dir, b.err = os.MkdirTemp("", "cardd-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "cardd")
		cmd := exec.Command("go", "build", "-o", b.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
		t.Logf("built %s in %v", b.path, time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// TestMain runs the tests and removes the cardd binary they built.
func TestMain(m *testing.M) {
	code := m.Run()
	if carddBinary.dir != "" {
		os.RemoveAll(carddBinary.dir)
	}
	os.Exit(code)
}

// crashConfig is a station whose one printer is the emulator at addr,
// reached over TCP.
func crashConfig(addr string) string {
	return fmt.Sprintf(`[station]
id = "crash"
mode = "temporary"

[paths]
spool = "spool"
state = "state"

[[printers]]
name = "tcp-emu"
driver = "evolis"
connection = "tcp:%s"
ribbon = "ymcko"
poll_interval = "100ms"
io_timeout = "5s"

[printers.on_error]
policy = "retry-job"
max_retries = 5
backoff = "100ms"
max_backoff = "1s"

[security]
serial_prefix = "CRSH"
serial_station = "CRSH"

[http]
listen = ""

[log]
level = "info"
format = "json"
`, addr)
}

// TestDaemonCrashKill9 is the binary-level crash test: the real cardd
// binary runs "cardd run" against an emulated printer served over TCP by
// this test process (so the printer's record of printed cards survives the
// daemon), is killed with SIGKILL at random moments while it processes jobs
// (20 times by default, CARDD_CRASH_KILLS for more) and restarted each time; a last
// run settles the queue and stops on SIGTERM. Then: every job is completed,
// aborted with a reason, or held with outcome unknown; no serial was
// printed twice; the cards the printer delivered are exactly the completed
// jobs' cards plus cards of outcome-unknown jobs; the audit chain verifies.
func TestDaemonCrashKill9(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills the daemon binary; skipped with -short")
	}
	kills := 20
	if v := os.Getenv(crashKillsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", crashKillsEnv, v)
		}
		kills = n
	}
	dir := t.TempDir()
	bin := buildCardd(t)

	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu, stopEmu := serveEvolisEmulator(t, ln, emulator.Options{
		Speed: 80, FeederCards: 10000, HopperCapacity: 10000, RibbonPanels: 1 << 20, RejectCapacity: 10000,
	})
	defer stopEmu()

	cfgPath := filepath.Join(dir, "station.toml")
	// The HTTP endpoint on a port of its own each run: the last run's
	// metrics are read.
	cfgText := strings.Replace(crashConfig(ln.Addr().String()), `listen = ""`, `listen = "127.0.0.1:0"`, 1)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	spoolDir := filepath.Join(dir, "spool")
	journalPath := filepath.Join(dir, "state", "journal")
	samplesData, photos, err := demoJobs("temporary", "temporary", 8)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	seed := rng.Uint64()
	t.Logf("kills %d, seed %d", kills, seed)
	rng = rand.New(rand.NewPCG(seed, 5))
	var submitted []string
	submit := func(n int) {
		t.Helper()
		for range n {
			k := len(submitted) % 8 // the 8 good sample jobs, round robin
			j := *samplesData[k]
			j.ID = fmt.Sprintf("CRASH-%04d", len(submitted)+1)
			if _, err := spool.Submit(spoolDir, &j, photos[k]); err != nil {
				t.Fatal(err)
			}
			submitted = append(submitted, j.ID)
		}
	}
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	started := map[string]time.Time{} // run log → when its process started
	start := func(i int) (*exec.Cmd, string) {
		t.Helper()
		logPath := filepath.Join(logs, fmt.Sprintf("run-%03d.log", i))
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = f, f
		started[logPath] = time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, logPath
	}
	if err := os.MkdirAll(spoolDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(spoolDir, "incoming"), 0o770); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	submit(4)
	for i := range kills {
		cmd, _ := start(i)
		// Jobs also arrive while the daemon runs.
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		submit(rng.IntN(3))
		if i%2 == 1 {
			// Every other run is killed only after it delivered a card
			// (then at a random moment), so that cards complete between
			// kills however slow the machine is: a kill on a timer
			// alone can land mid-card every time on a busy machine and
			// leave every job outcome-unknown. The others are killed
			// on the timer, wherever the daemon is.
			submit(1)
			before := emu.State().CardsPrinted
			testwait.For(t, fmt.Sprintf("run %d to deliver a card", i), func() bool { return emu.State().CardsPrinted > before })
		}
		time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	killed := time.Since(began)

	// The last run settles the queue, then stops gracefully.
	rejectsBefore := emu.State().RejectCards
	cmd, logPath := start(kills)
	settled := func() bool {
		sp, err := spool.Open(spoolDir, spool.Options{ReadOnly: true, Journal: journalPath}, nil)
		if err != nil {
			return false
		}
		defer sp.Close()
		n := 0
		for _, j := range sp.Jobs() {
			waiting := j.Reason == spool.ReasonOutcomeUnknown && j.Evidence != nil && j.Settled == ""
			if j.State.Final() || j.State == spool.StateHeld && !waiting {
				n++
			}
		}
		return n == len(submitted)
	}
	// On failure (a wait reaching its limit), the daemon is stopped and
	// what it was doing is shown.
	t.Cleanup(func() {
		if cmd.ProcessState != nil || !t.Failed() {
			return
		}
		cmd.Process.Kill()
		cmd.Wait()
		b, _ := os.ReadFile(logPath)
		states := map[spool.State]int{}
		if sp, err := spool.Open(spoolDir, spool.Options{ReadOnly: true, Journal: journalPath}, nil); err == nil {
			states = sp.Counts()
			sp.Close()
		}
		t.Logf("%d submitted, journal %v, emulator %+v; last log:\n%s", len(submitted), states, emu.State(), tail(string(b), 6000))
	})
	// SIGTERM before the daemon installed its handler would kill it.
	testwait.For(t, "the last run to start", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), `"station running"`)
	})
	testwait.For(t, "the queue to settle", settled)
	// Then, the daemon idle, a blank is left inside the printer with no
	// job (as a person might leave one) and one more job comes: the
	// driver sends the blank to the reject box first, with its intent
	// journaled, and the job prints.
	if err := emu.Machine().Feed(t.Context()); err != nil {
		t.Fatal(err)
	}
	submit(1)
	testwait.For(t, "the last job to print", settled)
	// cardd_cards_spoiled_total counts what this run sent to the reject
	// box.
	metricsURL := "http://" + logField(t, logPath, "station running", "http") + "/metrics"
	var spoiledMetric int
	testwait.For(t, "cardd_cards_spoiled_total to match the reject box", func() bool {
		spoiledMetric = scrapeCounter(metricsURL, `cardd_cards_spoiled_total{printer="tcp-emu"}`)
		return spoiledMetric == emu.State().RejectCards-rejectsBefore
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("graceful stop: %v\n%s", err, tail(string(b), 4000))
	}

	// What the journal says.
	sp, err := spool.Open(spoolDir, spool.Options{ReadOnly: true, Journal: journalPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	byID := map[string]spool.Job{}
	for _, j := range sp.Jobs() {
		byID[j.ID] = j
	}
	completed := map[string]string{} // serial → job
	unknown := map[string]string{}
	counts := map[string]int{}
	for _, id := range submitted {
		j, ok := byID[id]
		if !ok {
			t.Errorf("job %s lost", id)
			continue
		}
		switch {
		case j.State == spool.StateCompleted && j.Serial != "":
			completed[j.Serial] = id
			counts["completed"]++
		case j.State == spool.StateAborted && j.Reason != "":
			counts["aborted"]++
		case j.State == spool.StateHeld && j.Reason == spool.ReasonOutcomeUnknown && j.Serial != "":
			unknown[j.Serial] = id
			counts["unknown"]++
		default:
			t.Errorf("job %s ended %s (%q), serial %q", id, j.State, j.Reason, j.Serial)
		}
	}

	// What the printer delivered: each card's serial read from its QR.
	trust, err := security.LoadTrustList(filepath.Join(dir, "keys", "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := security.NewVerifier(trust, nil, time.Now)
	printed := map[string]int{}
	rejected := 0 // cards a kill left inside, rejected before the next card
	for _, c := range emu.Printed() {
		if c.Outcome != printer.OutcomePrinted {
			rejected++
			continue
		}
		res, _, err := security.VerifyRendered(c.Front, v)
		if err != nil || !res.Valid() {
			t.Errorf("card %d: QR %v %s %s", c.Seq, err, res.Verdict, res.Reason)
			continue
		}
		printed[res.Credential.ID]++
	}
	printedUnknown := 0
	for serial, n := range printed {
		if n > 1 {
			t.Errorf("serial %s printed %d times", serial, n)
		}
		switch {
		case completed[serial] != "":
		case unknown[serial] != "":
			printedUnknown++
		default:
			t.Errorf("printed serial %s belongs to no completed or outcome-unknown job", serial)
		}
	}
	for serial, id := range completed {
		if printed[serial] == 0 {
			t.Errorf("job %s completed with serial %s, which the printer never delivered", id, serial)
		}
	}
	if len(printed) != len(completed)+printedUnknown {
		t.Errorf("printer delivered %d cards; completed %d + outcome-unknown that printed %d", len(printed), len(completed), printedUnknown)
	}
	var histories []spool.Job
	for _, j := range sp.Jobs() {
		h, err := sp.Job(strconv.FormatUint(j.Num, 10))
		if err != nil {
			t.Fatal(err)
		}
		histories = append(histories, h)
	}
	acct := accountCards(t, histories, printed)
	// cardd jobs show names a settled card's evidence and decision.
	for _, h := range histories {
		if h.Settled == "" || h.EvidenceAfter == nil {
			continue
		}
		out, err := exec.Command(bin, "jobs", "show", "--spool", spoolDir, "--journal", journalPath, h.ID).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "settled:   "+h.Settled[:min(len(h.Settled), 40)]) ||
			!strings.Contains(string(out), "at settlement:") || !strings.Contains(string(out), "evidence:  before the card: printer ") {
			t.Errorf("cardd jobs show %s: %v\n%s", h.ID, err, out)
		}
		break
	}
	gt := emu.State()
	// Card by card: every blank fed is in the hopper, the reject box or
	// still inside; the hopper holds the completed jobs' cards and those
	// of held jobs that printed; the reject box holds exactly the cards
	// the journal counts rejected (plus at most the held jobs' pending
	// reject intents); a card still inside belongs to a held job.
	if gt.CardsFed != gt.HopperCards+gt.RejectCards+b2i(gt.CardInside) {
		t.Errorf("emulator: fed %d != hopper %d + reject box %d + inside %v", gt.CardsFed, gt.HopperCards, gt.RejectCards, gt.CardInside)
	}
	if gt.HopperCards != len(completed)+printedUnknown {
		t.Errorf("hopper holds %d cards; journal: %d completed + %d held that printed", gt.HopperCards, len(completed), printedUnknown)
	}
	unrecorded := gt.RejectCards - acct.rejected - acct.pendingRejects
	if gt.RejectCards < acct.rejected || unrecorded > 0 {
		t.Errorf("reject box holds %d cards; journal counts %d rejected (%d spoiled at settlement or by the driver, %d strays) and %d pending reject intents: %d blanks unrecorded",
			gt.RejectCards, acct.rejected, acct.spoiled, acct.strays, acct.pendingRejects, max(unrecorded, 0))
	}
	if gt.CardInside && len(unknown) == 0 {
		t.Errorf("a card is inside the printer but no job is held with outcome unknown")
	}
	for _, w := range acct.wrong {
		t.Errorf("wrongly settled: %s", w)
	}
	// Every never-fed or held decision is an operator "settled" record
	// by the station, naming its evidence.
	settledAudit := 0
	if f, err := os.Open(filepath.Join(dir, "state", "audit.log")); err == nil {
		_, err := audit.Read(f, func(r audit.Record) error {
			if r.Event == audit.EventOperator && r.Action == "settled" {
				settledAudit++
				if r.Operator != "station" || !strings.Contains(r.Reason, "before the card: printer ") {
					t.Errorf("settled record %d: %+v", r.Seq, r)
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := acct.verdicts[string(spool.SettleNotFed)] + acct.verdicts[string(spool.SettleStrayInside)] + acct.verdicts[string(spool.SettleHold)]; settledAudit != want {
		t.Errorf("audit log has %d settled records; the journal has %d never-fed and held decisions", settledAudit, want)
	}
	spoiledAudit := countAudit(t, filepath.Join(dir, "state", "audit.log"), audit.EventSpoiled)
	if spoiledAudit != acct.rejected {
		t.Errorf("audit log has %d spoiled records; journal counts %d rejected cards", spoiledAudit, acct.rejected)
	}
	if spoiledMetric == 0 {
		t.Errorf("the last run sent no card to the reject box: the metric was not exercised")
	}
	t.Logf("last run: cardd_cards_spoiled_total %d = cards it sent to the reject box %d", spoiledMetric, emu.State().RejectCards-rejectsBefore)
	t.Logf("settlement: %d cards had an unknown outcome, %d settled automatically (%.1f%%: %v), %d held for a person, 0 wrongly settled of %d checked; reject box %d = journal %d; emulator %+v",
		acct.unknowns, acct.auto, pct(acct.auto, acct.unknowns), acct.verdicts, acct.unknowns-acct.auto, acct.auto, gt.RejectCards, acct.rejected, gt)
	st, err := audit.VerifyFile(filepath.Join(dir, "state", "audit.log"))
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	checkAuditOnce(t, filepath.Join(dir, "state", "audit.log"), completed, unknown)
	t.Logf("%d kills in %s; %d jobs: %v; printer delivered %d cards (%d of outcome-unknown jobs), rejected %d; audit %d records %v",
		kills, killed.Round(time.Millisecond), len(submitted), counts, len(printed), printedUnknown, rejected, st.Records, st.Events)
	if counts["completed"] == 0 {
		t.Errorf("no job completed: the test exercised nothing")
	}
	if rec := recoveryTimes(started); len(rec) > 0 {
		t.Logf("recovery (process start to \"station running\") over %d runs with up to %d jobs: median %v, p90 %v",
			len(rec), len(submitted), rec[len(rec)/2].Round(time.Millisecond), rec[len(rec)*9/10].Round(time.Millisecond))
	}
}

// logField returns field of the first record with message msg in a JSON
// log ("" when absent).
func logField(t *testing.T, path, msg, field string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			s, _ := rec[field].(string)
			return s
		}
	}
	return ""
}

// scrapeCounter reads one series of a Prometheus text exposition (0 when
// absent or unreachable).
func scrapeCounter(url, series string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int(f)
			}
		}
	}
	return 0
}

// recoveryTimes reads each run's log for its "station running" record and
// returns, sorted, the times from the process's start to it.
func recoveryTimes(started map[string]time.Time) []time.Duration {
	var out []time.Duration
	for path, t0 := range started {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, `"msg":"station running"`) {
				continue
			}
			var rec struct {
				Time time.Time `json:"time"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && !rec.Time.IsZero() {
				out = append(out, rec.Time.Sub(t0))
			}
			break
		}
	}
	slices.Sort(out)
	return out
}

// checkAuditOnce checks the audit log after the kills: the spool re-sent
// every event a kill left unacknowledged, yet each completed job's serial
// has exactly one printed record and each outcome-unknown job's serial one
// outcome-unknown record, every serial exactly one issued record, and no
// event is recorded twice.
func checkAuditOnce(t *testing.T, path string, completed, unknown map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type key struct {
		event       audit.Event
		serial, job string
		at          time.Time
	}
	seen := map[key]uint64{}
	per := map[audit.Event]map[string]int{audit.EventIssued: {}, audit.EventPrinted: {}, audit.EventOutcomeUnknown: {}}
	if _, err := audit.Read(f, func(r audit.Record) error {
		if r.Event == audit.EventOperator && (r.Action == "printed" || r.Action == "outcome-unknown") {
			t.Errorf("record %d: %s written as an operator record", r.Seq, r.Action)
		}
		if !r.At.IsZero() {
			k := key{r.Event, r.Serial, r.Job, r.At.UTC()}
			if first, dup := seen[k]; dup {
				t.Errorf("record %d repeats record %d: %s of %s (job %s) at %s", r.Seq, first, r.Event, r.Serial, r.Job, r.At)
			}
			seen[k] = r.Seq
		}
		if m := per[r.Event]; m != nil {
			m[r.Serial]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for serial, id := range completed {
		if n := per[audit.EventPrinted][serial]; n != 1 {
			t.Errorf("completed job %s: %d printed records of serial %s, want 1", id, n, serial)
		}
	}
	for serial, id := range unknown {
		// A card requeued by settlement (never fed) keeps its serial
		// and may meet another kill: one record per time.
		if n := per[audit.EventOutcomeUnknown][serial]; n < 1 {
			t.Errorf("outcome-unknown job %s: no outcome-unknown record of serial %s", id, serial)
		}
	}
	// A job keeps its serial across restarts and is composed again after
	// each kill, yet its serial is issued once.
	for serial, n := range per[audit.EventIssued] {
		if n != 1 {
			t.Errorf("serial %s: %d issued records, want 1", serial, n)
		}
	}
	for _, m := range []map[string]string{completed, unknown} {
		for serial, id := range m {
			if per[audit.EventIssued][serial] == 0 {
				t.Errorf("job %s: serial %s has no issued record", id, serial)
			}
		}
	}
}

// cardAccount is what the journal says became of every card, against the
// serials the printer delivered.
type cardAccount struct {
	unknowns       int // cards whose outcome became unknown
	auto           int // of those, settled automatically
	verdicts       map[string]int
	rejected       int // cards the journal counts in the reject box
	spoiled        int // of those, a job's own card
	strays         int // of those, strays
	pendingRejects int // reject intents of held jobs not yet settled
	wrong          []string
}

// accountCards walks every job's history: each card that became outcome
// unknown and how it was settled, checked against the cards the printer
// delivered (printed, by serial): a card settled printed was delivered,
// one settled spoiled or never fed was not (its serial is then voided or
// printed later, once).
func accountCards(t *testing.T, jobs []spool.Job, printed map[string]int) cardAccount {
	t.Helper()
	a := cardAccount{verdicts: map[string]int{}}
	for _, j := range jobs {
		serial := ""
		unknownSerial := ""
		for _, r := range j.History {
			if r.Serial != "" && !r.Void {
				serial = r.Serial
			}
			if r.Stray {
				a.rejected++
				a.strays++
			}
			if r.Outcome == printer.OutcomeRejected {
				a.rejected++
				a.spoiled++
			}
			if r.Outcome == printer.OutcomeUnknown {
				a.unknowns++
				unknownSerial = serial
			}
			if r.Settled == "" {
				continue
			}
			verdict, _, _ := strings.Cut(r.Settled, ":")
			a.verdicts[verdict]++
			if verdict != string(spool.SettleHold) {
				a.auto++
			}
			switch spool.Settlement(verdict) {
			case spool.SettlePrinted:
				if printed[unknownSerial] != 1 {
					a.wrong = append(a.wrong, fmt.Sprintf("job %s: card %s settled printed, delivered %d times", j.ID, unknownSerial, printed[unknownSerial]))
				}
			case spool.SettleReject, spool.SettleRejected:
				if printed[unknownSerial] != 0 {
					a.wrong = append(a.wrong, fmt.Sprintf("job %s: card %s settled spoiled but it is in the hopper", j.ID, unknownSerial))
				}
			case spool.SettleNotFed, spool.SettleStrayInside:
				if printed[unknownSerial] > 1 {
					a.wrong = append(a.wrong, fmt.Sprintf("job %s: card %s settled never fed, delivered %d times", j.ID, unknownSerial, printed[unknownSerial]))
				}
			}
		}
		if j.State == spool.StateHeld && j.Rejecting != "" {
			a.pendingRejects++
		}
	}
	return a
}

// countAudit counts the records of one event in an audit log.
func countAudit(t *testing.T, path string, ev audit.Event) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	if _, err := audit.Read(f, func(r audit.Record) error {
		if r.Event == ev {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pct(n, of int) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestDaemonSIGTERMFinishesCard: SIGTERM while a card is in the printer
// lets the card finish: the daemon exits 0 and the job is completed, not
// left with an unknown outcome.
func TestDaemonSIGTERMFinishesCard(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the daemon binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := buildCardd(t)
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// About a second and a half per card.
	emu, stopEmu := serveEvolisEmulator(t, ln, emulator.Options{Speed: 12})
	defer stopEmu()
	cfgPath := filepath.Join(dir, "station.toml")
	if err := os.WriteFile(cfgPath, []byte(crashConfig(ln.Addr().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf strings.Builder
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	jobs, photos, err := demoJobs("temporary", "temporary", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "spool", "incoming"), 0o770); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Submit(filepath.Join(dir, "spool"), jobs[0], photos[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil && t.Failed() {
			cmd.Process.Kill()
			cmd.Wait()
			t.Logf("daemon log:\n%s", logBuf.String())
		}
	})
	testwait.For(t, "a card in the printer", func() bool { return emu.State().CardInside })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logBuf.String())
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{ReadOnly: true, Journal: filepath.Join(dir, "state", "journal")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	j, err := sp.Job(jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != spool.StateCompleted || emu.State().CardsPrinted != 1 {
		t.Fatalf("after SIGTERM mid-card: job %s (%s), %d cards printed\n%s", j.State, j.Reason, emu.State().CardsPrinted, logBuf.String())
	}
}
