package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
)

// dashboardChromium finds Debian's chromium. Without it the browser tests
// are skipped, except under CI=true, where they must run.
func dashboardChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "dashboard browser tests need Chromium (Debian: apt-get install chromium); none found on PATH"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// dashboardBrowser starts a fresh headless Chromium for one test.
func dashboardBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(dashboardChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Only a hung browser ends here; every step waits for its event.
	ctx = testwait.Context(t, ctx)
	// Script exceptions and errors the page logs (a script error, a
	// content security policy violation) fail the test.
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError && e.Entry.Source != cdplog.EntrySourceNetwork {
				problems = append(problems, string(e.Entry.Source)+": "+e.Entry.Text)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	enable := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(ctx, enable, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("page: %s", p)
		}
	})
	return ctx
}

// shot saves a screenshot of the page when CARDD_DASHBOARD_SHOTS names a
// directory (to look at the pages; not a comparison).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CARDD_DASHBOARD_SHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitText waits until the element sel's text satisfies cond and returns
// how long it took (logged). It fails only after testwait.Limit, naming
// what the element last read.
func waitText(t *testing.T, ctx context.Context, sel string, what string, cond func(string) bool) time.Duration {
	t.Helper()
	var last string
	var err error
	d := testwait.For(t, what, func() bool {
		last, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var e=document.querySelector(`+jsQuote(sel)+`);return e?e.innerText:""})()`))
		if err != nil {
			t.Fatalf("%s: %v (%s read %q)", what, err, sel, last)
		}
		return cond(last)
	})
	return d
}

// clickRetry clicks the element sel. A live update may replace the page's
// content between finding the node and clicking it; the click is then
// tried again on the new node, until it lands.
func clickRetry(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	var err error
	testwait.For(t, "click "+sel, func() bool {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		return err == nil || !strings.Contains(err.Error(), "node")
	})
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// logAgainstTarget logs how long a page update took and whether it met
// its target; missing the target on a busy machine is not a failure.
func logAgainstTarget(t *testing.T, what string, took, target time.Duration) {
	t.Helper()
	if took > target {
		t.Logf("%s after %v: slower than the %v target (a busy machine)", what, took.Round(time.Millisecond), target)
		return
	}
	t.Logf("%s after %v (target %v)", what, took.Round(time.Millisecond), target)
}

func jsQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestBrowserDashboardFault: a cover opened on the in-process emulator
// shows on the printers page (open in Chromium, never reloaded), and
// clears after closing it. Without EventSource the page falls back to
// polling. The target is within 2 s (events) or 2.5 s (polling every
// second plus a fetch); the time taken is logged, and a slower update on a
// busy machine is logged, not failed (the page not updating at all fails).
func TestBrowserDashboardFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		target time.Duration
		live   string
	}{
		{"events", 2 * time.Second, "live"},
		{"polling", 2500 * time.Millisecond, "polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := dashboardBrowser(t)
			if tc.name == "polling" {
				noES := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.EventSource;"})
					return err
				})
				if err := chromedp.Do(ctx, noES); err != nil {
					t.Fatal(err)
				}
			}
			work, out := t.TempDir(), t.TempDir()
			cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			cfg.HTTP.Listen = "127.0.0.1:0"
			withoutCardImages(cfg)
			cfg.Printers[0].OnError.Policy = config.PolicyRetryJob
			cfg.Printers[0].OnError.Backoff = 100 * time.Millisecond
			st, addr := startDaemon(t, cfg)
			emu := st.Emulator(st.Config().Printers[0].Name)
			base := "http://" + addr
			sel := `article.printer[data-printer="` + cfg.Printers[0].Name + `"] .reasons`
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
				t.Fatal(err)
			}
			path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
			if err != nil || path != "/ui/" {
				t.Fatalf("/ went to %q (%v), want /ui/", path, err)
			}
			waitText(t, ctx, sel, "no fault at first", func(s string) bool { return strings.Contains(s, "no faults") })
			waitText(t, ctx, "#live", "live updates on", func(s string) bool { return strings.Contains(s, tc.live) })
			shot(t, ctx, "printers-ok-"+tc.name)
			if err := emu.Inject(emulator.FaultCoverOpen); err != nil {
				t.Fatal(err)
			}
			took := waitText(t, ctx, sel, "cover-open on the page", func(s string) bool { return strings.Contains(s, "cover-open") })
			logAgainstTarget(t, "fault shown", took, tc.target)
			shot(t, ctx, "printers-fault-"+tc.name)
			if err := emu.Fix(emulator.FaultCoverOpen); err != nil {
				t.Fatal(err)
			}
			took = waitText(t, ctx, sel, "cover-open cleared", func(s string) bool { return !strings.Contains(s, "cover-open") })
			logAgainstTarget(t, "fault cleared", took, tc.target)
			loads, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation").length`))
			if err != nil || loads != 1 {
				t.Errorf("navigations: %d (%v), want the one page load", loads, err)
			}
		})
	}
}

// TestBrowserDashboardActions: held and released, then cancelled, from
// the queue page in Chromium; the job's state in the spool follows, and
// every action is in the audit log.
func TestBrowserDashboardActions(t *testing.T) {
	t.Parallel()
	ctx := dashboardBrowser(t)
	work, out := t.TempDir(), t.TempDir()
	cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	withoutCardImages(cfg)
	cfg.Dashboard.Preview = true
	st, addr := startDaemon(t, cfg)
	emu := st.Emulator(st.Config().Printers[0].Name)
	// A closed cover keeps the jobs queued while the operator acts.
	if err := emu.Inject(emulator.FaultCoverOpen); err != nil {
		t.Fatal(err)
	}
	jobs := submitDemoJobs(t, cfg, "temporary", 2)
	for _, j := range jobs[:2] {
		waitFor(t, "job "+j.ID+" queued", func() bool {
			sj, err := st.Spool().Job(j.ID)
			return err == nil && (sj.State == spool.StatePending || sj.State == spool.StateStopped)
		})
	}
	first, _ := st.Spool().Job(jobs[0].ID)
	second, _ := st.Spool().Job(jobs[1].ID)
	row := func(j spool.Job) string { return `tr[data-job="` + itoa(j.Num) + `"]` }
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/queue"), chromedp.WaitVisible(chromedp.CSS(row(first)))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#live", "event stream connected", func(s string) bool { return strings.Contains(s, "live") })
	shot(t, ctx, "queue")
	state := func(j spool.Job) spool.State {
		sj, err := st.Spool().Job(j.ID)
		if err != nil {
			t.Fatal(err)
		}
		return sj.State
	}
	click := func(j spool.Job, action string) {
		t.Helper()
		clickRetry(t, ctx, row(j)+` button.btn-`+action)
	}
	click(first, "hold")
	waitFor(t, "job held from the page", func() bool { return state(first) == spool.StateHeld })
	waitText(t, ctx, row(first), "held on the page", func(s string) bool { return strings.Contains(s, "held") && strings.Contains(s, "Release") })
	waitText(t, ctx, "#held", "held count in the menu", func(s string) bool { return s == "1 held" })
	shot(t, ctx, "queue-held")
	click(first, "release")
	waitFor(t, "job released from the page", func() bool { s := state(first); return s == spool.StatePending || s == spool.StateStopped })
	// The release redraws the queue when its event arrives: a click on
	// the second row's button during that redraw is lost (mouse down on
	// the old button, up on the new one), so wait for the first row to
	// show the release before clicking.
	waitText(t, ctx, row(first), "release shown on the page", func(s string) bool { return !strings.Contains(s, "Release") && !strings.Contains(s, "held") })
	waitText(t, ctx, row(second), "second job's cancel button", func(s string) bool { return strings.Contains(s, "Cancel") })
	click(second, "cancel")
	waitFor(t, "job cancelled from the page", func() bool { return state(second) == spool.StateCancelled })
	waitText(t, ctx, "#flash", "confirmation", func(s string) bool { return strings.Contains(s, "cancel done") })

	// The first job prints once the cover is closed; its preview
	// (dashboard.preview on) and outcome show.
	if err := emu.Fix(emulator.FaultCoverOpen); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first job printed", func() bool { return state(first) == spool.StateCompleted })
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/"), chromedp.WaitVisible(chromedp.CSS(".preview img"))); err != nil {
		t.Fatal(err)
	}
	w, err := chromedp.Run(ctx, chromedp.Poll[int](`(() => { const i = document.querySelector(".preview img"); return i && i.complete && i.naturalWidth; })()`, chromedp.WithPollingTimeout(testwait.Limit())))
	if err != nil || w != station.PreviewWidth {
		t.Errorf("preview image width %d (%v), want %d", w, err, station.PreviewWidth)
	}
	shot(t, ctx, "printers-preview")
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/outcomes"), chromedp.WaitVisible(chromedp.CSS(row(first)))); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "outcomes")

	recs := readAuditOperator(t, cfg)
	for _, want := range []string{"hold job " + itoa(first.Num), "release job " + itoa(first.Num), "cancel job " + itoa(second.Num)} {
		if !strings.Contains(recs, want) {
			t.Errorf("audit log lacks %q:\n%s", want, recs)
		}
	}
	if !strings.Contains(recs, "local@127.0.0.1") {
		t.Errorf("audit log does not name the operator local@127.0.0.1:\n%s", recs)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// readAuditOperator returns the audit log's operator lines.
func readAuditOperator(t *testing.T, cfg *config.Config) string {
	t.Helper()
	b, err := os.ReadFile(cfg.Security.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `"operator"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBrowserDashboardBatch: in permanent mode, a batch of three prints
// across two printers; the batches page links to the batch, whose page
// shows the manifest's serials and the reconciliation report.
func TestBrowserDashboardBatch(t *testing.T) {
	t.Parallel()
	ctx := dashboardBrowser(t)
	work, out := t.TempDir(), t.TempDir()
	cfg, err := demoConfig(work, out, jobfile.ModePermanent, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	withoutCardImages(cfg)
	st, addr := startDaemon(t, cfg)
	jobs := submitDemoJobs(t, cfg, "permanent", 3)
	waitFor(t, "three cards", func() bool { return st.Spool().Counts()[spool.StateCompleted] == 3 })
	bs := st.Spool().Batches()
	if len(bs) != 1 {
		t.Fatalf("batches: %+v", bs)
	}
	id := bs[0].ID
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/batches"), chromedp.WaitVisible(chromedp.CSS(`tr[data-batch="`+id+`"] a`))); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "batches")
	clickRetry(t, ctx, `tr[data-batch="`+id+`"] a`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("pre.report"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "main", "batch page", func(s string) bool {
		for _, j := range jobs[:3] {
			sj, _ := st.Spool().Job(j.ID)
			if !strings.Contains(s, sj.Serial) {
				return false
			}
		}
		return strings.Contains(s, "3 of 3 jobs finished")
	})
	shot(t, ctx, "batch")
	rep, err := st.Scheduler().BatchReport(id)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("pre.report").textContent`))
	if err != nil || strings.TrimSpace(txt) != strings.TrimSpace(rep.Text()) {
		t.Errorf("report on the page:\n%s\nwant:\n%s (%v)", txt, rep.Text(), err)
	}
}

// TestBrowserDashboardVoidAndTestCard: a card jams mid-print, so its
// job is held with an unknown outcome. From the page the operator voids
// it (the form refuses without a reason; the typed reason goes to the
// audit log and the serial to the deny list), releases it, and it prints
// under a new serial. The test card button feeds one card on the
// emulator.
func TestBrowserDashboardVoidAndTestCard(t *testing.T) {
	t.Parallel()
	ctx := dashboardBrowser(t)
	// The card jams, so its outcome is unknown and the job is held. While
	// it is jammed a technician swaps the printer for another (a different
	// serial number at the same address): the evidence read after the jam
	// cannot say what became of the card, so the daemon leaves it to a
	// person, who voids it here.
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	printerAddr := ln.Addr().String()
	lang, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(ln net.Listener, serial string, faults emulator.FaultPlan) (*emulator.Emulator, func()) {
		opts := emulator.Options{Speed: 1000, Identity: lang.Identity, Faults: faults}
		opts.Identity.Ribbon = "YMCKO"
		opts.Identity.Serial = serial
		emu, err := emulator.New(lang, &opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- emu.Serve(ctx, ln) }()
		return emu, func() { cancel(); <-done }
	}
	first, stopFirst := serve(ln, "EMU0000001", emulator.FaultPlan{JamAtCard: 1})
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "station.toml"), []byte(crashConfig(printerAddr)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	p := &cfg.Printers[0]
	p.OnError.Policy = config.PolicyRetryJob
	p.OnError.Backoff = 100 * time.Millisecond
	st, addr := startDaemon(t, cfg)
	jobs, photos, err := demoJobs("temporary", "temporary", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Submit(cfg.Paths.Spool, jobs[0], photos[0]); err != nil {
		t.Fatal(err)
	}
	var held spool.Job
	waitFor(t, "the job held with an unknown outcome", func() bool {
		held, _ = st.Spool().Job(jobs[0].ID)
		return held.State == spool.StateHeld && held.Reason == spool.ReasonOutcomeUnknown
	})
	if held.Evidence == nil || held.Evidence.Serial != "EMU0000001" {
		t.Fatalf("evidence before the card: %v, want the first printer's", held.Evidence)
	}
	stopFirst()
	if !first.State().Jammed {
		t.Fatal("the first printer is not jammed")
	}
	ln2, err := lc.Listen(t.Context(), "tcp", printerAddr)
	if err != nil {
		t.Fatal(err)
	}
	emu, stopEmu := serve(ln2, "EMU0000002", emulator.FaultPlan{})
	defer stopEmu()
	waitFor(t, "the settlement to leave the card to a person", func() bool {
		held, _ = st.Spool().Job(jobs[0].ID)
		return held.Settled != ""
	})
	if !strings.HasPrefix(held.Settled, string(spool.SettleHold)) || held.State != spool.StateHeld || held.Reason != spool.ReasonOutcomeUnknown {
		t.Fatalf("evidence from another printer settled the job by itself: %s %s: %s", held.State, held.Reason, held.Settled)
	}
	row := `tr[data-job="` + itoa(held.Num) + `"]`
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/queue"), chromedp.WaitVisible(chromedp.CSS(row+" button.btn-void"))); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "queue-unknown")
	// The browser refuses the empty required reason: the click fires the
	// reason field's "invalid" event instead of submitting the form.
	reason := row + ` form[action$="/void"] input[name=reason]`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { window.cardInvalid = false; document.querySelector(`+jsQuote(reason)+`).addEventListener("invalid", () => { window.cardInvalid = true; }); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+" button.btn-void"), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.cardInvalid === true`, chromedp.WithPollingTimeout(testwait.Limit()))); err != nil {
		t.Fatalf("the empty reason was not refused by the browser: %v", err)
	}
	if j, _ := st.Spool().Job(held.ID); len(j.Voided) != 0 {
		t.Fatalf("voided without a reason: %+v", j)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(reason), "card found jammed"),
		chromedp.Click(chromedp.CSS(row+" button.btn-void"), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the serial voided", func() bool { j, _ := st.Spool().Job(held.ID); return len(j.Voided) == 1 })
	waitText(t, ctx, row, "release offered", func(s string) bool { return strings.Contains(s, "Release") })
	clickRetry(t, ctx, row+" button.btn-release")
	var done spool.Job
	waitFor(t, "the job printed again", func() bool { done, _ = st.Spool().Job(held.ID); return done.State == spool.StateCompleted })
	if done.Serial == held.Serial {
		t.Fatalf("printed under the voided serial %s", held.Serial)
	}
	deny, err := security.LoadDenyList(cfg.Security.DenyList)
	if err != nil || !deny.Contains(held.Serial) {
		t.Fatalf("deny list lacks %s (%v)", held.Serial, err)
	}
	recs := readAuditOperator(t, cfg)
	if !strings.Contains(recs, `"reason":"card found jammed"`) || !strings.Contains(recs, held.Serial) {
		t.Errorf("audit log lacks the void with its reason and serial:\n%s", recs)
	}

	before := emu.State().CardsPrinted
	sel := `article.printer[data-printer="` + p.Name + `"] button`
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/ui/")); err != nil {
		t.Fatal(err)
	}
	// The printers page redraws a printer's card as its status arrives: a
	// node found just before a redraw is gone by the click, so retry.
	clickRetry(t, ctx, sel)
	waitText(t, ctx, "#flash", "test card sent", func(s string) bool { return strings.Contains(s, "test card sent") })
	waitFor(t, "the test card fed", func() bool { return emu.State().CardsPrinted > before })
	if recs := readAuditOperator(t, cfg); !strings.Contains(recs, "test card on printer "+p.Name) {
		t.Errorf("audit log lacks the test card:\n%s", recs)
	}
}
