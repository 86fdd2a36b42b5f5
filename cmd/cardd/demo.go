package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
)

const demoDoc = `Shows the whole product in one command, on the embedded default configuration:
a work directory with a spool, in-process emulated printers (two in permanent
mode), N sample jobs with synthetic portraits committed to the spool the way a
producer does, plus one deliberately bad job (a corrupt photo), the daemon
processing them, and a summary: jobs completed, failed and held with their
reasons, serials, time per card, where the printed cards' PNG files are (the
emulators' output, one directory per printer under --out) and how to verify
one with "cardd verify". It exits when every job has reached a final state
(or is held for an operator).`

// cmdDemo implements "cardd demo".
func cmdDemo(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "demo", "[--jobs N] [--out DIR] [--mode temporary|permanent] [--work DIR] [--speed F] [-v]", demoDoc)
	jobs := fs.Int("jobs", 5, "number of good sample jobs (1-1000)")
	out := fs.String("out", "out/demo", "directory for the printed cards' PNG files")
	mode := fs.String("mode", "temporary", "station mode: temporary (one printer, print at once) or permanent (a batch on two printers)")
	work := fs.String("work", "", "work directory for spool, state and keys (default: a new temporary directory, removed at the end)")
	speed := fs.Float64("speed", 0, "emulated printing speed: 0 instant, 1 real time, 0.1 ten times slower than real")
	verbose := fs.Bool("v", false, "show the daemon's log (info level) on stderr")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *jobs < 1 || *jobs > 1000 {
		return usageError{fmt.Sprintf("--jobs %d: want 1 to 1000", *jobs)}
	}
	if *mode != jobfile.ModeTemporary && *mode != jobfile.ModePermanent {
		return usageError{fmt.Sprintf("--mode %q: want temporary or permanent", *mode)}
	}
	if *speed < 0 {
		return usageError{"--speed must not be negative"}
	}
	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "cardd-demo-")
		if err != nil {
			return fmt.Errorf("demo: work directory: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	outAbs, err := filepath.Abs(*out)
	if err != nil {
		return fmt.Errorf("demo: --out: %w", err)
	}
	cfg, err := demoConfig(dir, outAbs, *mode, *jobs+1, *speed)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	r, err := runDemo(ctx, cfg, log, *jobs, e.stdout, demoStall)
	if err != nil {
		return err
	}
	r.print(e.stdout, cfg, outAbs)
	if r.unsettled > 0 {
		return errSilentFailure
	}
	return nil
}

// demoConfig is the embedded default configuration under work, in mode,
// with emulator output under out/PRINTER and a second emulated printer in
// permanent mode. The HTTP endpoint listens on a free loopback port.
func demoConfig(work, out, mode string, batch int, speed float64) (*config.Config, error) {
	cfg, err := config.Embedded(work)
	if err != nil {
		return nil, configError{Err: err}
	}
	cfg.Station.Mode = config.Mode(mode)
	// The trust list goes beside the printed cards, so the verify command
	// the summary shows works after the work directory is gone.
	cfg.Security.TrustList = filepath.Join(out, "trust.json")
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Retention.PersonalData = time.Hour
	cfg.Batching.Size = batch
	cfg.Batching.Window = time.Minute
	// The demo's portraits are drawings (layout/samples), not
	// photographs: the face cascade finds no face in them, so the photo
	// gate would hold every demo job. The demo checks them and logs the
	// verdict, but prints (see README, Portraits).
	cfg.Portrait.Gate = config.GateWarn
	if mode == jobfile.ModePermanent {
		second := cfg.Printers[0]
		em := *second.Emulator
		second.Emulator = &em
		second.Name = cfg.Printers[0].Name + "-2"
		cfg.Printers = append(cfg.Printers, second)
	}
	for i := range cfg.Printers {
		p := &cfg.Printers[i]
		p.Emulator.Output = filepath.Join(out, p.Name)
		p.Emulator.Speed = speed
		p.Emulator.CardsLoaded = max(p.Emulator.CardsLoaded, batch+10)
		p.Emulator.RibbonPanels = max(p.Emulator.RibbonPanels, batch+10)
		p.PollInterval = 200 * time.Millisecond
		if err := os.MkdirAll(p.Emulator.Output, 0o755); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return cfg, nil
}

// demoResult is what the demo saw.
type demoResult struct {
	jobs      []spool.Job
	batches   []string
	elapsed   time.Duration
	httpAddr  string
	unsettled int
	stalled   time.Duration // with unsettled: how long nothing moved
}

// demoJobs makes n good sample jobs for template plus one with a corrupt
// photo; the bad job's id ends in "-BAD".
func demoJobs(template, mode string, n int) ([]*jobfile.Job, [][]byte, error) {
	data, err := samples.Generate(template, n, 7)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: sample jobs: %w", err)
	}
	var jobs []*jobfile.Job
	var photos [][]byte
	for i, d := range data {
		jobs = append(jobs, &jobfile.Job{ID: fmt.Sprintf("DEMO-%04d", i+1), Template: template, Mode: mode, Fields: d.Fields, Photo: "photo.jpg"})
		photos = append(photos, d.Photo)
	}
	// A JPEG whose header reads but whose data is cut short: it passes
	// the spool's header check and fails when the photo is decoded.
	bad := slices.Clone(data[0].Photo[:min(len(data[0].Photo), 600)])
	jobs = append(jobs, &jobfile.Job{ID: "DEMO-BAD", Template: template, Mode: mode, Fields: data[0].Fields, Photo: "photo.jpg"})
	photos = append(photos, bad)
	return jobs, photos, nil
}

// demoStall is how long the demo waits without any job settling before it
// gives up and reports the jobs not settled. It bounds a stuck demo, not a
// slow one: every job that settles starts the wait again.
const demoStall = 2 * time.Minute

// runDemo runs the daemon on cfg, submits the sample jobs and stops once
// every job is final or held, or when no job settled (and no batch
// finished) for stall.
func runDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, n int, progress io.Writer, stall time.Duration) (*demoResult, error) {
	template := string(cfg.Station.Mode)
	jobs, photos, err := demoJobs(template, template, n)
	if err != nil {
		return nil, err
	}
	res := &demoResult{}
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var st *station.Station
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(dctx, cfg, log, daemonOptions{
			opts:      station.Options{Run: spool.RunOptions{Rescan: 500 * time.Millisecond, Poll: 200 * time.Millisecond}},
			httpReady: func(a net.Addr) { res.httpAddr = a.String() },
			started:   func(s *station.Station) { st = s; close(started) },
		})
	}()
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("demo: the daemon stopped before it started")
		}
		return nil, err
	case <-started:
	}
	fmt.Fprintf(progress, "cardd demo: %s station, %d printer(s), status at http://%s/status\n", cfg.Station.Mode, len(cfg.Printers), res.httpAddr)
	for i, j := range jobs {
		if _, err := spool.Submit(cfg.Paths.Spool, j, photos[i]); err != nil {
			stop()
			<-done
			return nil, fmt.Errorf("demo: submit %s: %w", j.ID, err)
		}
	}
	fmt.Fprintf(progress, "submitted %d jobs (%d good, 1 with a corrupt photo) to %s\n", len(jobs), n, filepath.Join(cfg.Paths.Spool, "incoming"))
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	lastDone, lastBatches := -1, -1
	moved := time.Now()
wait:
	for {
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("demo: daemon stopped: %w", err)
		case <-t.C:
		}
		if err := st.EmptyEmulatorHoppers(); err != nil {
			log.Warn("demo: empty the output hopper", "err", err)
		}
		all := st.Spool().Jobs()
		settled := 0
		for _, j := range all {
			if j.State.Final() || j.State == spool.StateHeld {
				settled++
			}
		}
		if settled != lastDone {
			fmt.Fprintf(progress, "\r%d/%d jobs settled", settled, len(jobs))
			lastDone, moved = settled, time.Now()
		}
		batches, done := batchesDone(st)
		if batches != lastBatches {
			lastBatches, moved = batches, time.Now()
		}
		if len(all) == len(jobs) && settled == len(jobs) && done {
			res.jobs = all
			break wait
		}
		if time.Since(moved) > stall {
			res.jobs = all
			res.unsettled = len(jobs) - settled
			res.stalled = stall
			break wait
		}
	}
	fmt.Fprintln(progress)
	res.elapsed = time.Since(start)
	for _, b := range st.Spool().Batches() {
		res.batches = append(res.batches, b.ID)
	}
	stop()
	if err := <-done; err != nil {
		return nil, err
	}
	return res, nil
}

// batchesDone returns how many batches have their report, and whether
// every batch has.
func batchesDone(st *station.Station) (int, bool) {
	bs := st.Spool().Batches()
	n := 0
	for _, b := range bs {
		if b.State == spool.BatchDone {
			n++
		}
	}
	return n, n == len(bs)
}

// print writes the demo's summary.
func (r *demoResult) print(w io.Writer, cfg *config.Config, out string) {
	count := map[spool.State]int{}
	for _, j := range r.jobs {
		count[j.State]++
	}
	printed := count[spool.StateCompleted]
	fmt.Fprintf(w, "\nJobs: %d completed, %d failed (aborted), %d held", printed, count[spool.StateAborted], count[spool.StateHeld])
	if r.unsettled > 0 {
		fmt.Fprintf(w, ", %d NOT SETTLED (nothing moved for %v)", r.unsettled, r.stalled)
	}
	fmt.Fprintln(w)
	if printed > 0 {
		fmt.Fprintf(w, "Time:  %s in all, %s per printed card (compose, sign, verify, print, write PNGs)\n",
			r.elapsed.Round(time.Millisecond), (r.elapsed / time.Duration(printed)).Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	sort.Slice(r.jobs, func(a, b int) bool { return r.jobs[a].Num < r.jobs[b].Num })
	for _, j := range r.jobs {
		line := fmt.Sprintf("  %-10s %-10s %-22s %s", j.ID, j.State, orDash(j.Serial), orDash(j.Printer))
		if j.State != spool.StateCompleted && j.Reason != "" {
			line += "  — " + clip(j.Reason, 160)
		}
		fmt.Fprintln(w, line)
	}
	for _, j := range r.jobs {
		if j.State == spool.StateAborted {
			fmt.Fprintf(w, "\nThe bad job %s moved to %s with its reason in reason.txt (run with --work DIR to keep the spool).\n", j.ID, filepath.Join(cfg.Paths.Spool, "failed", fmt.Sprintf("%08d", j.Num)))
			break
		}
	}
	for _, id := range r.batches {
		fmt.Fprintf(w, "Batch %s: reconciliation report in %s\n", id, filepath.Join(cfg.Paths.Spool, "batches", id, "report.txt"))
		if b, err := os.ReadFile(filepath.Join(cfg.Paths.Spool, "batches", id, "report.txt")); err == nil {
			fmt.Fprintf(w, "\n%s\n", strings.TrimRight(string(b), "\n"))
		}
	}
	fmt.Fprintf(w, "\nPrinted cards (PNG, as the emulated printers decoded them): %s/PRINTER/card-NNNN-{front,back}.png\n", out)
	if img := findQRImage(cfg); img != "" {
		fmt.Fprintf(w, "Verify one (the trust list holds the demo station's public key):\n  cardd verify --trust %s --image %s\n", cfg.Security.TrustList, img)
	}
}

// findQRImage returns the first printed card image whose QR code reads.
func findQRImage(cfg *config.Config) string {
	for _, p := range cfg.Printers {
		for _, side := range []string{"front", "back"} {
			matches, _ := filepath.Glob(filepath.Join(p.Emulator.Output, "card-*-"+side+".png"))
			sort.Strings(matches)
			for _, m := range matches[:min(len(matches), 1)] {
				if img, err := readPNG(m); err == nil {
					if _, err := security.DecodeQR(img); err == nil {
						return m
					}
				}
			}
		}
	}
	return ""
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
