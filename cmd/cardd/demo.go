package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout/portrait"
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
(or is held for an operator).

With --network it shows the issuance network instead: the central facility
(permanent mode, two emulated printers, the hub embedded in it) and two field
offices (temporary mode, one emulated printer each), each opened and run as
"cardd run" runs a station. Each office gets --jobs sample jobs that ask for a
permanent card as well: the office prints the temporary card and forwards the
request; the centre prints the permanent cards in a batch; the statuses come
back to the offices, which void the temporary cards. The summary says where
each card went.`

// cmdDemo implements "cardd demo".
func cmdDemo(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "demo", "[--network] [--jobs N] [--out DIR] [--mode temporary|permanent] [--work DIR] [--speed F] [--cascades DIR] [-v]", demoDoc)
	jobs := fs.Int("jobs", 5, "number of good sample jobs (1-1000)")
	out := fs.String("out", "out/demo", "directory for the printed cards' PNG files")
	mode := fs.String("mode", "temporary", "station mode: temporary (one printer, print at once) or permanent (a batch on two printers)")
	work := fs.String("work", "", "work directory for spool, state and keys (default: a new temporary directory, removed at the end)")
	speed := fs.Float64("speed", 0, "speed factor: 1 the real printer's pace, 2 twice as fast, 0.1 ten times slower, 0 at once")
	verbose := fs.Bool("v", false, "show the daemon's log (info level) on stderr")
	casc := fs.String("cascades", "", "directory of pigo's face and pupil cascades for the photo gate, which holds a job whose photo fails its checks (default: portrait.cascades, "+config.DefaultPortrait().Cascades+"; scripts/demo.sh passes the Go module's copy)")
	netw := fs.Bool("network", false, "the issuance network instead: two field offices and the central facility (with the hub), --jobs at each office")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
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
	if *netw {
		return cmdNetworkDemo(ctx, e, dir, outAbs, *jobs, *speed, *casc, *verbose)
	}
	// The batch is the good jobs: the bad one is refused at intake,
	// before it could join a batch (or get a serial).
	cfg, err := demoConfig(dir, outAbs, *mode, *jobs, *speed)
	if err != nil {
		return err
	}
	if *casc != "" {
		cfg.Portrait.Cascades = *casc
		demoPortrait(cfg)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	status := newStatusLine(e.stdout, isTerminal(e.stdout))
	log := slog.New(slog.NewTextHandler(status.logs(e.stderr), &slog.HandlerOptions{Level: level}))
	r, err := runDemo(ctx, cfg, log, *jobs, status, demoStall)
	if err != nil {
		return err
	}
	// The trust list out/trust.json gains this run's key beside those of
	// earlier demos into the same directory, so every card there verifies
	// and a demo with a new --work never finds a trust list without its key.
	r.trust = filepath.Join(outAbs, "trust.json")
	if err := mergeTrustList(r.trust, cfg.Security.TrustList); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	r.cardd, r.workKept = selfCommand(), *work != ""
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
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Retention.PersonalData = time.Hour
	cfg.Batching.Size = batch
	cfg.Batching.Window = time.Minute
	demoPortrait(cfg)
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
	// The demo sets its station up on purpose: the signing key, trust
	// list and audit key are made here, as an installer makes them, so
	// the station's first start has nothing to warn about (a kept --work
	// keeps its keys).
	if _, err := station.Provision(cfg); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return cfg, nil
}

// demoPortrait sets the demo station's photo gate to hold, as a
// station's: a job whose photo fails its checks is held. The demo's
// portraits are drawn by code (layout/samples) so that they pass the real
// checks. Where face detection's cascades are not installed (a checkout
// without the cardd package, and no --cascades) it checks no photo and its
// summary says so, rather than the station warning at start about a setup
// the demo chose.
func demoPortrait(cfg *config.Config) {
	cfg.Portrait.Gate = config.GateHold
	if _, err := portrait.Load(cfg.Portrait.Cascades); err != nil {
		cfg.Portrait.Gate, cfg.Portrait.Cascades = config.GateOff, ""
	}
}

// demoPhotoNote is the summary's line on photo checks, "" when the demo
// checked its photos.
func demoPhotoNote(cfg *config.Config) string {
	if cfg.Portrait.Gate != config.GateOff {
		return ""
	}
	return "Photo checks: off (face detection's cascades are not installed here; see README, Portraits)"
}

// demoResult is what the demo saw.
type demoResult struct {
	jobs      []spool.Job
	batches   []string
	elapsed   time.Duration
	httpAddr  string
	unsettled int
	stalled   time.Duration // with unsettled: how long nothing moved
	// trust is the trust list beside the printed cards; cardd is how to
	// call this binary in a hint; workKept says --work named the work
	// directory (it is not removed).
	trust    string
	cardd    string
	workKept bool
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
	// A JPEG whose header reads but whose data is cut short: the
	// station refuses it at intake, before a serial is allocated.
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
func runDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, n int, progress *statusLine, stall time.Duration) (*demoResult, error) {
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
	progress.println("cardd demo: %s station, %d printer(s), status at http://%s/status", cfg.Station.Mode, len(cfg.Printers), res.httpAddr)
	for i, j := range jobs {
		if _, err := spool.Submit(cfg.Paths.Spool, j, photos[i]); err != nil {
			stop()
			<-done
			return nil, fmt.Errorf("demo: submit %s: %w", j.ID, err)
		}
	}
	progress.println("submitted %d jobs (%d good, 1 with a corrupt photo) to %s", len(jobs), n, filepath.Join(cfg.Paths.Spool, "incoming"))
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
			progress.set(fmt.Sprintf("%d/%d jobs settled", settled, len(jobs)))
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
	progress.done()
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
			keep := " (run with --work DIR to keep the spool)"
			if r.workKept {
				keep = ""
			}
			fmt.Fprintf(w, "\nThe bad job %s moved to %s with its reason in reason.txt%s.\n", j.ID, filepath.Join(cfg.Paths.Spool, "failed", fmt.Sprintf("%08d", j.Num)), keep)
			break
		}
	}
	for _, id := range r.batches {
		fmt.Fprintf(w, "Batch %s: reconciliation report in %s\n", id, filepath.Join(cfg.Paths.Spool, "batches", id, "report.txt"))
		if b, err := os.ReadFile(filepath.Join(cfg.Paths.Spool, "batches", id, "report.txt")); err == nil {
			fmt.Fprintf(w, "\n%s\n", strings.TrimRight(string(b), "\n"))
		}
	}
	if note := demoPhotoNote(cfg); note != "" {
		fmt.Fprintf(w, "\n%s\n", note)
	}
	fmt.Fprintf(w, "\nPrinted cards (PNG, as the emulated printers decoded them), in %s/PRINTER/:\n", out)
	for _, l := range printedFiles(cfg) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	trust, cardd := r.trust, r.cardd
	if trust == "" {
		trust = cfg.Security.TrustList
	}
	if cardd == "" {
		cardd = "cardd"
	}
	if img := findQRImage(cfg); img != "" {
		fmt.Fprintf(w, "Verify one (the trust list holds the demo station's public key):\n  %s verify --trust %s --image %s\n", cardd, trust, img)
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

// printedFiles describes the PNG files the emulated printers wrote, from
// what is there: the card sides (a temporary card is one-sided, so it has
// no back) and the panels of each side.
func printedFiles(cfg *config.Config) []string {
	sides := map[string]bool{}
	panels := map[string]bool{}
	for _, p := range cfg.Printers {
		if p.Emulator == nil || p.Emulator.Output == "" {
			continue
		}
		names, _ := filepath.Glob(filepath.Join(p.Emulator.Output, "card-*.png"))
		for _, n := range names {
			// card-NNNN-SIDE.png or card-NNNN-SIDE-PANEL.png
			parts := strings.Split(strings.TrimSuffix(filepath.Base(n), ".png"), "-")
			switch len(parts) {
			case 3:
				sides[parts[2]] = true
			case 4:
				panels[parts[3]] = true
			}
		}
	}
	var out []string
	for _, side := range []string{"front", "back"} {
		if sides[side] {
			out = append(out, fmt.Sprintf("card-NNNN-%s.png  the card's %s as printed", side, side))
		}
	}
	if !sides["back"] && sides["front"] {
		out = append(out, "(no card-NNNN-back.png: this template prints on the front only)")
	}
	if len(panels) > 0 {
		names := slices.Sorted(maps.Keys(panels))
		out = append(out, fmt.Sprintf("card-NNNN-SIDE-PANEL.png  one ribbon panel each (%s); %s", strings.Join(names, ", "), panelLegend))
	}
	return out
}

// mergeTrustList adds the entries of the trust list src that dst lacks to
// dst (created when missing), so that dst keeps trusting what it trusted.
func mergeTrustList(dst, src string) error {
	add, err := security.LoadTrustList(src)
	if err != nil {
		return fmt.Errorf("trust list %s: %w", src, err)
	}
	var have []security.TrustEntry
	if _, err := os.Stat(dst); err == nil {
		t, err := security.LoadTrustList(dst)
		if err != nil {
			return fmt.Errorf("trust list %s: %w", dst, err)
		}
		have = t.Entries()
	}
	merged := slices.Clone(have)
	for _, e := range add.Entries() {
		if !slices.ContainsFunc(have, func(h security.TrustEntry) bool { return strings.EqualFold(h.KID, e.KID) && h.Issuer == e.Issuer }) {
			merged = append(merged, e)
		}
	}
	if len(merged) == len(have) {
		return nil
	}
	b, err := security.MarshalTrustList(merged)
	if err != nil {
		return fmt.Errorf("trust list %s: %w", dst, err)
	}
	if err := security.WriteFileAtomic(dst, b, 0o644); err != nil {
		return fmt.Errorf("trust list %s: %w", dst, err)
	}
	return nil
}

// selfCommand is how a hint printed by this process calls cardd again so
// that it runs as printed: "cardd" when it was found on PATH, else its
// absolute path ("go run" builds into a temporary directory that is gone
// afterwards: then "go run ./cmd/cardd").
func selfCommand() string {
	arg0 := os.Args[0]
	if !strings.ContainsRune(arg0, filepath.Separator) {
		return "cardd"
	}
	abs, err := filepath.Abs(arg0)
	if err != nil {
		return "cardd"
	}
	if strings.Contains(abs, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/cardd"
	}
	return abs
}

// statusLine is one line of progress that later progress replaces. On a
// terminal it is redrawn in place (carriage return, erase line), and the
// log lines written through logs clear it first and redraw it after, so
// neither runs into the other. Elsewhere (a file, a pipe) there is no
// carriage return: only the last state is printed, once, by done.
type statusLine struct {
	mu   sync.Mutex
	out  io.Writer
	tty  bool
	text string
}

func newStatusLine(out io.Writer, tty bool) *statusLine {
	return &statusLine{out: out, tty: tty}
}

// set replaces the status text.
func (s *statusLine) set(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text = text
	if s.tty {
		fmt.Fprint(s.out, "\r\x1b[K"+text)
	}
}

// println prints a line of its own above the status.
func (s *statusLine) println(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	fmt.Fprintf(s.out, format+"\n", args...)
	s.redraw()
}

// done ends the status: its last text stays on a line of its own.
func (s *statusLine) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.text != "" {
		if s.tty {
			fmt.Fprintln(s.out)
		} else {
			fmt.Fprintln(s.out, s.text)
		}
	}
	s.text = ""
}

func (s *statusLine) clear() {
	if s.tty && s.text != "" {
		fmt.Fprint(s.out, "\r\x1b[K")
	}
}

func (s *statusLine) redraw() {
	if s.tty && s.text != "" {
		fmt.Fprint(s.out, s.text)
	}
}

// logs returns a writer for log lines to w that keeps them off the status
// line.
func (s *statusLine) logs(w io.Writer) io.Writer { return statusLogWriter{s, w} }

type statusLogWriter struct {
	s *statusLine
	w io.Writer
}

func (l statusLogWriter) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.clear()
	n, err := l.w.Write(p)
	l.s.redraw()
	return n, err
}

// panelLegend says how to read a panel PNG, for the demo's and render's
// listings: the same for every panel, dye or 1-bit.
const panelLegend = "black is where that panel puts ribbon on the card (dye, resin, varnish or UV ink; grey: less dye), white where it puts none"
