package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/httpapi"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
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

// checkPrintedCard reads a printed card's PNG back and verifies its QR code
// against the station's trust list: valid and carrying serial.
func checkPrintedCard(t *testing.T, cfg *config.Config, png, serial string) {
	t.Helper()
	img, err := readPNG(png)
	if err != nil {
		t.Fatalf("printed card: %v", err)
	}
	trust, err := security.LoadTrustList(cfg.Security.TrustList)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := security.VerifyRendered(img, security.NewVerifier(trust, nil, time.Now))
	if err != nil {
		t.Fatalf("%s: QR unreadable: %v", png, err)
	}
	if !res.Valid() || res.Credential.ID != serial {
		t.Fatalf("%s: verdict %s (%s), serial %q, want valid %s", png, res.Verdict, res.Reason, res.Credential.ID, serial)
	}
}

// TestDemoEndToEnd runs the real wiring (demo = the daemon on the embedded
// default) in both modes: good jobs complete and print, the QR on each
// printed card verifies, the bad job is refused into failed/ with its
// reason, the audit chain verifies, and a permanent batch closes with its
// reconciliation report.
func TestDemoEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode     string
		jobs     int
		printers int
		qrSide   string
	}{
		{jobfile.ModeTemporary, 3, 1, "front"},
		{jobfile.ModePermanent, 4, 2, "back"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			work, out := t.TempDir(), t.TempDir()
			cfg, err := demoConfig(work, out, tc.mode, tc.jobs, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Printers) != tc.printers {
				t.Fatalf("%d printers, want %d", len(cfg.Printers), tc.printers)
			}
			res, err := runDemo(t.Context(), cfg, testLogger(t), tc.jobs, newStatusLine(io.Discard, false), testwait.Limit())
			if err != nil {
				t.Fatal(err)
			}
			if res.unsettled != 0 || len(res.jobs) != tc.jobs+1 {
				t.Fatalf("unsettled %d, jobs %d", res.unsettled, len(res.jobs))
			}
			perPrinter := map[string]int{}
			serials := map[string]bool{}
			for _, j := range res.jobs {
				if j.ID == "DEMO-BAD" {
					if j.State != spool.StateAborted || !strings.Contains(j.Reason, "photo") || j.Serial != "" {
						t.Errorf("bad job: %s %q, serial %q (want refused before a serial)", j.State, j.Reason, j.Serial)
					}
					reason, err := os.ReadFile(filepath.Join(cfg.Paths.Spool, "failed", fmt.Sprintf("%08d", j.Num), "reason.txt"))
					if err != nil || !strings.Contains(string(reason), "DEMO-BAD") {
						t.Errorf("bad job's reason file: %v %q", err, reason)
					}
					continue
				}
				if j.State != spool.StateCompleted || j.Serial == "" {
					t.Fatalf("job %s: %s (%s) serial %q", j.ID, j.State, j.Reason, j.Serial)
				}
				if serials[j.Serial] {
					t.Errorf("serial %s twice", j.Serial)
				}
				serials[j.Serial] = true
				perPrinter[j.Printer]++
			}
			// Each printer's emulator numbers its cards from 1; the
			// card on which each job printed is found by its QR.
			found := 0
			for _, p := range cfg.Printers {
				for i := 1; i <= perPrinter[p.Name]; i++ {
					png := filepath.Join(p.Emulator.Output, fmt.Sprintf("card-%04d-%s.png", i, tc.qrSide))
					img, err := readPNG(png)
					if err != nil {
						t.Fatalf("printer %s card %d: %v", p.Name, i, err)
					}
					text, err := security.DecodeQR(img)
					if err != nil {
						t.Fatalf("%s: %v", png, err)
					}
					trust, _ := security.LoadTrustList(cfg.Security.TrustList)
					r := security.NewVerifier(trust, nil, time.Now).Verify(text)
					if !serials[r.Credential.ID] {
						t.Fatalf("%s carries serial %q of no completed job", png, r.Credential.ID)
					}
					checkPrintedCard(t, cfg, png, r.Credential.ID)
					found++
				}
			}
			if found != tc.jobs {
				t.Fatalf("%d printed cards, want %d", found, tc.jobs)
			}
			st, err := audit.VerifyFile(cfg.Security.AuditLog)
			if err != nil {
				t.Fatalf("audit chain: %v", err)
			}
			// The bad job's photo is refused at intake, before a serial
			// is allocated: nothing to void (issue 12).
			if st.Events[audit.EventIssued] != tc.jobs || st.Events[audit.EventVoided] != 0 {
				t.Errorf("audit events %v: want %d issued, none voided (the bad job gets no serial)", st.Events, tc.jobs)
			}
			deny, err := security.LoadDenyList(cfg.Security.DenyList)
			if err != nil || len(deny.Serials) != 0 {
				t.Errorf("deny list: %v %v", deny, err)
			}
			if tc.mode != jobfile.ModePermanent {
				return
			}
			if len(res.batches) != 1 {
				t.Fatalf("batches %v", res.batches)
			}
			b, err := os.ReadFile(filepath.Join(cfg.Paths.Spool, "batches", res.batches[0], "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep spool.BatchReport
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			// The batch closes at its size (the good jobs), not at the
			// end of its one-minute window.
			if strings.Contains(rep.Batch.Reason, "window") {
				t.Errorf("the batch closed by its window (%q): its size counts a job that never joins it", rep.Batch.Reason)
			}
			if rep.Printed != tc.jobs || rep.Aborted != 0 || rep.BlanksUsed != tc.jobs || rep.BlanksExpected != tc.jobs || len(rep.Printers) != 2 {
				t.Errorf("report: printed %d aborted %d blanks %d/%d printers %d", rep.Printed, rep.Aborted, rep.BlanksUsed, rep.BlanksExpected, len(rep.Printers))
			}
		})
	}
}

// TestDemoStalled: a demo whose printer never prints (its cover stays
// open) gives up once nothing has moved for its stall limit, and says how
// many jobs did not settle; a slow demo that keeps settling jobs goes on.
func TestDemoStalled(t *testing.T) {
	t.Parallel()
	work, out := t.TempDir(), t.TempDir()
	cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Printers[0].Emulator.Faults = []config.Fault{{Kind: config.FaultCoverOpen}}
	const stall = time.Second
	res, err := runDemo(t.Context(), cfg, testLogger(t), 1, newStatusLine(io.Discard, false), stall)
	if err != nil {
		t.Fatal(err)
	}
	if res.unsettled == 0 || res.stalled != stall {
		t.Fatalf("unsettled %d, stalled %v: want jobs not settled after %v without progress", res.unsettled, res.stalled, stall)
	}
	var b strings.Builder
	res.print(&b, cfg, out)
	if want := fmt.Sprintf("%d NOT SETTLED (nothing moved for 1s)", res.unsettled); !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
}

// withoutCardImages stops cfg's emulated printers writing each card as PNG
// files, for tests that never look at them (encoding them is much of a
// card's cost under the race detector).
func withoutCardImages(cfg *config.Config) {
	for i := range cfg.Printers {
		if e := cfg.Printers[i].Emulator; e != nil {
			e.Output = ""
		}
	}
}

// startDaemon runs the daemon on cfg until the test ends and returns the
// station and the HTTP address.
func startDaemon(t *testing.T, cfg *config.Config) (*station.Station, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan *station.Station, 1)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, testLogger(t), daemonOptions{
			opts:      station.Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}},
			httpReady: func(a net.Addr) { addr <- a.String() },
			started:   func(s *station.Station) { started <- s },
		})
	}()
	var st *station.Station
	select {
	case st = <-started:
	case err := <-done:
		t.Fatalf("daemon: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return st, <-addr
}

// serveEvolisEmulator serves a new Evolis emulator with a YMCKO ribbon and
// opts (whose Identity it sets) on ln until the returned stop is called.
func serveEvolisEmulator(t *testing.T, ln net.Listener, opts emulator.Options) (emu *emulator.Emulator, stop func()) {
	t.Helper()
	lang, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	opts.Identity = lang.Identity
	opts.Identity.Ribbon = "YMCKO"
	if emu, err = emulator.New(lang, &opts); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	return emu, func() {
		cancel()
		<-done
	}
}

// submitDemoJobs submits n demo jobs of template and mode both named mode
// ("temporary", "permanent") into cfg's spool and returns them.
func submitDemoJobs(t *testing.T, cfg *config.Config, mode string, n int) []*jobfile.Job {
	t.Helper()
	jobs, photos, err := demoJobs(mode, mode, n)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs[:n] {
		if _, err := spool.Submit(cfg.Paths.Spool, j, photos[i]); err != nil {
			t.Fatal(err)
		}
	}
	return jobs[:n]
}

// waitFor polls cond until it holds, logging how long that took. It fails
// the test only after testwait.Limit (minutes): a busy machine makes a
// step slow, never a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, cond)
}

// waitPolls waits until the daemon at addr has polled printer i's status
// n more times (its /status "polled" time changed n times): what a test
// lets happen while a fault is on, counted in polls instead of guessed
// as a sleep.
func waitPolls(t *testing.T, addr string, i, n int) {
	t.Helper()
	last := httpStatus(t, addr).Printers[i].Polled
	seen := 0
	testwait.For(t, fmt.Sprintf("%d status polls of printer %d", n, i), func() bool {
		if p := httpStatus(t, addr).Printers[i].Polled; !p.Equal(last) {
			last = p
			seen++
		}
		return seen >= n
	})
}

func httpStatus(t *testing.T, addr string) httpapi.StatusDoc {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d httpapi.StatusDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDaemonFaultResume injects a fault into the running emulator: the
// printer stops (and says why on /status), the job waits without printing,
// and once the fault is cleared the printer resumes and the job completes.
// With hold-job, a card that fails in the printer is held for the operator
// and prints after release.
func TestDaemonFaultResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault  emulator.Fault
		policy config.Policy
		reason string
	}{
		{emulator.FaultCoverOpen, config.PolicyRetryJob, "cover-open"},
		{emulator.FaultRibbonOut, config.PolicyRetryJob, "ribbon-out"},
		{emulator.FaultFeederEmpty, config.PolicyHoldJob, "feeder-empty"},
	}
	for _, tc := range tests {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			work, out := t.TempDir(), t.TempDir()
			cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.Printers[0].OnError.Policy = tc.policy
			cfg.Printers[0].OnError.Backoff = 100 * time.Millisecond
			st, addr := startDaemon(t, cfg)
			emu := st.Emulator(st.Config().Printers[0].Name)
			if err := emu.Inject(tc.fault); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the printer to stop with "+tc.reason, func() bool {
				d := httpStatus(t, addr)
				p := d.Printers[0]
				for _, r := range p.Reasons {
					if string(r) == tc.reason {
						return p.Stopped && p.Blocked
					}
				}
				return false
			})
			jobs, photos, err := demoJobs("temporary", "temporary", 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := spool.Submit(cfg.Paths.Spool, jobs[0], photos[0]); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the job to be queued", func() bool {
				j, err := st.Spool().Job(jobs[0].ID)
				return err == nil && j.State == spool.StatePending
			})
			waitPolls(t, addr, 0, 3) // several polls with the fault on
			if j, _ := st.Spool().Job(jobs[0].ID); j.State == spool.StateCompleted || emu.State().CardsPrinted != 0 {
				t.Fatalf("printed during the fault: %s, %d cards", j.State, emu.State().CardsPrinted)
			}
			if err := emu.Fix(tc.fault); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the job to complete", func() bool {
				j, _ := st.Spool().Job(jobs[0].ID)
				if j.State == spool.StateHeld && tc.policy == config.PolicyHoldJob {
					if err := st.Scheduler().Release(t.Context(), j.ID); err != nil {
						t.Fatal(err)
					}
				}
				return j.State == spool.StateCompleted
			})
			if n := emu.State().CardsPrinted; n != 1 {
				t.Fatalf("%d cards printed, want 1", n)
			}
			if d := httpStatus(t, addr); d.Printers[0].Stopped || d.Queue[spool.StateCompleted] != 1 {
				t.Fatalf("after resume: %+v", d)
			}
			j, _ := st.Spool().Job(jobs[0].ID)
			checkPrintedCard(t, cfg, filepath.Join(cfg.Printers[0].Emulator.Output, "card-0001-front.png"), j.Serial)
		})
	}
}

// TestRunRefusesNonLoopback: a configuration listening on all interfaces
// without TLS and a token is a startup failure with the config exit code.
func TestRunRefusesNonLoopback(t *testing.T) {
	work := t.TempDir()
	cfg, err := demoConfig(work, t.TempDir(), jobfile.ModeTemporary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "0.0.0.0:0"
	b, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(work, "station.toml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := run(t.Context(), []string{"run", "--config", path, "--log-format", "json"}, strings.NewReader(""), io.Discard, &stderr)
	if code != exitConfig || !strings.Contains(stderr.String(), "loopback") {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
}

// TestDaemonMidCardFault: faults that strike while a card is in the
// printer. A ribbon that runs out mid-card spoils the card (its serial is
// voided and denied); with hold-job the job is held and prints with a new
// serial after the fault is fixed and the operator releases it, with
// retry-job it is retried by itself once the printer resumes. A jam leaves
// the card's outcome unknown: the job is held and is never printed again
// until the operator voids the serial and releases the job.
func TestDaemonMidCardFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   config.FaultKind
		efault  emulator.Fault
		policy  config.Policy
		held    bool
		outcome string
	}{
		{"ribbon-out hold-job", config.FaultRibbonOut, emulator.FaultRibbonOut, config.PolicyHoldJob, true, "rejected"},
		{"ribbon-out retry-job", config.FaultRibbonOut, emulator.FaultRibbonOut, config.PolicyRetryJob, false, "rejected"},
		// The jammed card's outcome is unknown until the printer's
		// evidence settles it (midCardJamSettled).
		{"card-jam", config.FaultCardJam, emulator.FaultJam, config.PolicyRetryJob, true, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			work, out := t.TempDir(), t.TempDir()
			cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			withoutCardImages(cfg)
			p := &cfg.Printers[0]
			p.OnError.Policy = tc.policy
			p.OnError.Backoff = 100 * time.Millisecond
			p.Emulator.Faults = []config.Fault{{Kind: tc.fault, AtCard: 1}}
			st, addr := startDaemon(t, cfg)
			emu := st.Emulator(st.Config().Printers[0].Name)
			jobs, photos, err := demoJobs("temporary", "temporary", 1)
			if err != nil {
				t.Fatal(err)
			}
			id := jobs[0].ID
			if _, err := spool.Submit(cfg.Paths.Spool, jobs[0], photos[0]); err != nil {
				t.Fatal(err)
			}
			if tc.outcome == "unknown" {
				midCardJamSettled(t, st, cfg, emu, id)
				return
			}
			var first spool.Job
			waitFor(t, "the card to fail", func() bool {
				first, _ = st.Spool().Job(id)
				return string(first.Outcome) == tc.outcome
			})
			if tc.held {
				waitFor(t, "the job to be held", func() bool {
					first, _ = st.Spool().Job(id)
					return first.State == spool.StateHeld
				})
			}
			// A spoiled card's serial is voided at once; an unknown
			// outcome keeps it until the operator decides.
			failed := first.Serial
			if failed == "" && len(first.Voided) > 0 {
				failed = first.Voided[0]
			}
			if failed == "" {
				t.Fatalf("no serial for the failed card: %+v", first)
			}
			waitPolls(t, addr, 0, 2) // the printer polled with the fault on
			if j, _ := st.Spool().Job(id); j.State == spool.StateCompleted {
				t.Fatalf("completed during the fault")
			}
			if err := emu.Fix(tc.efault); err != nil {
				t.Fatal(err)
			}
			if tc.held {
				if err := st.Scheduler().Release(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			var done spool.Job
			waitFor(t, "the job to complete", func() bool {
				done, _ = st.Spool().Job(id)
				return done.State == spool.StateCompleted
			})
			if done.Serial == failed {
				t.Fatalf("printed again under the failed card's serial %s", failed)
			}
			deny, err := security.LoadDenyList(cfg.Security.DenyList)
			if err != nil || !deny.Contains(failed) || deny.Contains(done.Serial) {
				t.Fatalf("deny list %v (err %v): want %s denied, %s not", deny, err, failed, done.Serial)
			}
			if _, err := audit.VerifyFile(cfg.Security.AuditLog); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// midCardJamSettled: the card jams mid-print, so its outcome is unknown
// and the job is held; the driver sends the jammed card to the reject box
// (its intent journaled first) and the printer's evidence says so, so the
// card is settled as spoiled once the jam is cleared, its serial voided and
// denied, and the job prints on a new card with no person needed.
func midCardJamSettled(t *testing.T, st *station.Station, cfg *config.Config, emu *emulator.Emulator, id string) {
	t.Helper()
	waitFor(t, "the job held, outcome unknown", func() bool {
		j, _ := st.Spool().Job(id)
		return j.State == spool.StateHeld && j.Reason == spool.ReasonOutcomeUnknown
	})
	// While the printer is jammed it cannot be read: the job stays held.
	if err := emu.Fix(emulator.FaultJam); err != nil {
		t.Fatal(err)
	}
	var settled spool.Record
	waitFor(t, "the jammed card settled from the printer's evidence", func() bool {
		j, _ := st.Spool().Job(id)
		for _, r := range j.History {
			if r.Settled != "" {
				settled = r
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(settled.Settled, string(spool.SettleRejected)) && !strings.HasPrefix(settled.Settled, string(spool.SettleReject)) {
		t.Fatalf("jammed card settled as %q, want it spoiled in the reject box", settled.Settled)
	}
	if !settled.Void || settled.Serial == "" {
		t.Fatalf("settlement record %+v: want the jammed card's serial voided", settled)
	}
	if emu.State().CardInside {
		t.Fatal("the jammed card is still inside after the settlement")
	}
	var done spool.Job
	waitFor(t, "the job to print on a new card", func() bool {
		done, _ = st.Spool().Job(id)
		return done.State == spool.StateCompleted
	})
	var wasHeld bool
	for _, r := range done.History {
		wasHeld = wasHeld || (r.State == spool.StateHeld && r.Outcome == "unknown")
	}
	if !wasHeld {
		t.Errorf("history never held the jammed card as outcome unknown: %+v", done.History)
	}
	if done.Serial == settled.Serial {
		t.Fatalf("printed again under the spoiled card's serial %s", settled.Serial)
	}
	deny, err := security.LoadDenyList(cfg.Security.DenyList)
	if err != nil || !deny.Contains(settled.Serial) || deny.Contains(done.Serial) {
		t.Fatalf("deny list %v (err %v): want %s denied, %s not", deny, err, settled.Serial, done.Serial)
	}
	if _, err := audit.VerifyFile(cfg.Security.AuditLog); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonHTTP: the running daemon's endpoint serves health, status,
// metrics that count what it printed, and the verifier page.
func TestDaemonHTTP(t *testing.T) {
	t.Parallel()
	work, out := t.TempDir(), t.TempDir()
	cfg, err := demoConfig(work, out, jobfile.ModeTemporary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	withoutCardImages(cfg)
	st, addr := startDaemon(t, cfg)
	submitDemoJobs(t, cfg, "temporary", 2)
	waitFor(t, "two cards", func() bool { return st.Spool().Counts()[spool.StateCompleted] == 2 })
	get := func(path string) (int, string, string) {
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
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: %d %q", code, body)
	}
	// Printer consumables come from the status poll (every 200 ms here),
	// which may not have run since the second card.
	waitFor(t, "a status poll after the second card", func() bool {
		d := httpStatus(t, addr)
		return len(d.Printers) == 1 && d.Printers[0].Consumables.CardsPrinted == 2
	})
	if d := httpStatus(t, addr); d.Station != "demo" || d.Queue[spool.StateCompleted] != 2 || len(d.Printers) != 1 || d.Printers[0].Consumables.CardsPrinted != 2 {
		t.Errorf("status: %+v", d)
	}
	code, _, body := get("/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`cardd_cards_printed_total{printer="emulator"} 2`,
		`cardd_jobs{state="completed"} 2`,
		`cardd_printer_up{printer="emulator"} 1`,
		`cardd_print_duration_seconds_count{printer="emulator"} 2`,
		`cardd_spool_claim_latency_seconds_count 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, ctype, body := get("/verify"); code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "https://demo.cardd.example/issuer") {
		t.Errorf("verify page: %d %s, %d bytes", code, ctype, len(body))
	}
}

// TestDemoCommand runs "cardd demo" as a user does and reads its summary.
// The photo gate holds a failing photo (portrait.gate = "hold") and checks
// with the module's cascades: the drawn demo portraits pass it.
func TestDemoCommand(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"demo", "--jobs", "1", "--out", out, "--cascades", cascades.Dir(t)}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	s := stdout.String()
	for _, want := range []string{
		"Jobs: 1 completed, 1 failed (aborted), 0 held",
		"DEMO-BAD",
		"reason.txt (run with --work DIR to keep the spool)",
		"card-NNNN-front.png  the card's front as printed",
		"(no card-NNNN-back.png: this template prints on the front only)",
		"card-NNNN-SIDE-PANEL.png  one ribbon panel each (c, k, m, o, y); black is where",
		selfCommand() + " verify --trust " + filepath.Join(out, "trust.json") + " --image " + filepath.Join(out, "emulator", "card-0001-front.png"),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// A demo is clean: it sets its station up itself (keys, trust list,
	// audit key), and its drawn portraits pass the photo gate, which runs
	// at hold with the module's cascades: the daemon's log warns only of
	// the deliberately bad job.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" && !strings.Contains(line, "DEMO-BAD") {
			t.Errorf("demo's stderr has an unexpected line: %s", line)
		}
	}
	if strings.Contains(s, "Photo checks: off") {
		t.Errorf("the demo did not check its photos:\n%s", s)
	}
	// The verify command the summary shows works.
	var vout strings.Builder
	if code := run(t.Context(), []string{"verify", "--trust", filepath.Join(out, "trust.json"), "--image", filepath.Join(out, "emulator", "card-0001-front.png")}, strings.NewReader(""), &vout, &stderr); code != exitOK || !strings.Contains(vout.String(), "valid") {
		t.Fatalf("verify: exit %d\n%s", code, vout.String())
	}
}

// TestDaemonLogger: text on a terminal or when asked, JSON otherwise, the
// configuration file's format unless the flag says otherwise.
func TestDaemonLogger(t *testing.T) {
	cfg := config.Default()
	tests := []struct {
		name     string
		format   string
		fromFile string
		json     bool
	}{
		{"pipe, no file", "", "", true},
		{"flag text", "text", "", false},
		{"file text", "", "text", false},
		{"file json", "", "json", true},
		{"flag beats file", "json", "text", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			c := *cfg
			c.Log.Format = tc.fromFile
			daemonLogger(&buf, &c, tc.format, tc.fromFile != "").Info("hello", "k", 1)
			if got := strings.HasPrefix(buf.String(), "{"); got != tc.json {
				t.Fatalf("json %v, want %v: %s", got, tc.json, buf.String())
			}
		})
	}
}

// TestDaemonPrinterComesBack: a network printer that is down when the
// daemon starts is retried, not forgotten; when its link drops later, the
// daemon reconnects and goes on printing.
func TestDaemonPrinterComesBack(t *testing.T) {
	t.Parallel()
	// Reserve a port, then free it: the printer is down at start.
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	work := t.TempDir()
	cfg, err := config.Parse(filepath.Join(work, "station.toml"), []byte(crashConfig(addr)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	st, httpAddr := startDaemon(t, cfg)
	waitFor(t, "the printer to be reported down", func() bool {
		p := httpStatus(t, httpAddr).Printers[0]
		return p.Stopped || p.State == "offline"
	})

	if ln, err = lc.Listen(t.Context(), "tcp", addr); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	emu, stopEmu := serveEvolisEmulator(t, ln, emulator.Options{Speed: 1000})
	defer stopEmu()
	jobs, photos, err := demoJobs("temporary", "temporary", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := spool.Submit(cfg.Paths.Spool, jobs[i], photos[i]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "job "+jobs[i].ID+" to print", func() bool {
			j, err := st.Spool().Job(jobs[i].ID)
			return err == nil && j.State == spool.StateCompleted
		})
		if i == 0 {
			emu.Disconnect() // the link drops while the printer idles
			waitPolls(t, httpAddr, 0, 2)
		}
	}
	if n := emu.State().CardsPrinted; n != 2 {
		t.Fatalf("%d cards printed, want 2", n)
	}
}
