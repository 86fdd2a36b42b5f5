package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/ipp"
	"github.com/cardd/cardd/printer/usb"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/station"
)

// printersDeps are what "cardd printers" reaches outside itself for; tests
// replace them.
type printersDeps struct {
	// listUSB enumerates USB printers (usb.List).
	listUSB func(ctx context.Context, extraVIDs []uint16) ([]usb.Found, error)
	// listCUPS lists the local CUPS server's queues (ipp.LocalServer,
	// ipp.ListQueues) and names the server; nil lists none.
	listCUPS func(ctx context.Context) (server string, queues []ipp.Queue, err error)
	// open opens a configured printer (station.OpenPrinter).
	open func(ctx context.Context, p *config.Printer, log *slog.Logger) (*station.OpenedPrinter, error)
	// now is the clock.
	now func() time.Time
}

// cmdPrinters is "cardd printers": list, status, test-card, calibrate.
func cmdPrinters(ctx context.Context, e *env) error {
	return runPrinters(ctx, e, printersDeps{listUSB: usb.List, listCUPS: listLocalCUPS, open: station.OpenPrinter, now: time.Now})
}

// listLocalCUPS asks the local CUPS server ($CUPS_SERVER, else its local
// socket, else localhost:631) for its queues.
func listLocalCUPS(ctx context.Context) (string, []ipp.Queue, error) {
	server := ipp.LocalServer(nil)
	qs, err := ipp.ListQueues(ctx, server)
	return server, qs, err
}

const printersUsage = `Usage: cardd printers COMMAND [flags] [NAME]

Commands:
  list              USB printers found, the local CUPS server's queues, and
                    the configured printers and whether each answers
  status NAME       state, reasons, ribbon left and counters of a printer
  test-card NAME    print a test card: rulers in mm, panel swatches, a QR
  calibrate NAME    print a calibration card; with --offset-x/--offset-y
                    and --write, record the measured offsets instead

Run "cardd printers COMMAND -h" for the flags of one.
`

func runPrinters(ctx context.Context, e *env, deps printersDeps) error {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, printersUsage)
		return usageError{"printers: missing command"}
	}
	sub, args := e.args[0], e.args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, printersUsage)
		return errHelp
	case "list":
		return printersList(ctx, e, args, deps)
	case "status":
		return printersStatus(ctx, e, args, deps)
	case "test-card":
		return printersTestCard(ctx, e, args, deps)
	case "calibrate":
		return printersCalibrate(ctx, e, args, deps)
	}
	fmt.Fprint(e.stderr, printersUsage)
	return usageError{fmt.Sprintf("printers: unknown command %q", sub)}
}

// printerFlags are the flags every printers subcommand takes.
type printerFlags struct {
	station *stationFlags
	timeout *time.Duration
	verbose *bool
}

func addPrinterFlags(fs *flag.FlagSet) printerFlags {
	return printerFlags{
		station: addStationFlags(fs),
		timeout: fs.Duration("timeout", 5*time.Second, "longest wait for a printer that does not answer"),
		verbose: fs.Bool("v", false, "log the driver's traffic summary to stderr"),
	}
}

func (f printerFlags) logger(e *env) *slog.Logger {
	if *f.verbose {
		return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// onePrinter loads the config and finds the printer named by the single
// positional argument.
func onePrinter(e *env, fs *flag.FlagSet, pf printerFlags, args []string) (*config.Config, *config.Printer, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) != 1 {
		fs.Usage()
		return nil, nil, usageError{"want exactly one printer NAME"}
	}
	cfg, err := pf.station.load()
	if err != nil {
		return nil, nil, err
	}
	p, ok := cfg.Printer(pos[0])
	if !ok {
		var names []string
		for _, p := range cfg.Printers {
			names = append(names, p.Name)
		}
		return nil, nil, usageError{fmt.Sprintf("no printer %q in the configuration (have %s)", pos[0], strings.Join(names, ", "))}
	}
	return cfg, p, nil
}

// withPrinter opens p, runs fn with a deadline of timeout for everything
// but printing, and closes the printer. A printer that does not answer in
// time is reported as such.
func withPrinter(ctx context.Context, deps printersDeps, p *config.Printer, log *slog.Logger, timeout time.Duration, fn func(ctx context.Context, op *station.OpenedPrinter) error) error {
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op, err := deps.open(octx, p, log)
	if err != nil {
		return noAnswer(p, timeout, err)
	}
	defer op.Close()
	if err := fn(ctx, op); err != nil {
		return noAnswer(p, timeout, err)
	}
	return nil
}

// noAnswer turns a timeout into a message a technician can act on.
func noAnswer(p *config.Printer, timeout time.Duration, err error) error {
	var ce configError
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, printer.ErrTimeout) {
		return fmt.Errorf("printer %s (%s, %s) did not answer within %v: check that it is on, connected and not busy: %w", p.Name, p.Driver, p.Connection, timeout, err)
	}
	return fmt.Errorf("printer %s (%s, %s): %w", p.Name, p.Driver, p.Connection, err)
}

// printersList is "cardd printers list".
func printersList(ctx context.Context, e *env, args []string, deps printersDeps) error {
	fs := newFlagSet(e, "printers list", "[flags]", "Lists the USB printers found, the local CUPS server's print queues ($CUPS_SERVER, else its local socket, else localhost:631; "+
		"a queue is used with driver = \"ipp\" and its URI as connection), and the configured printers, probing each configured printer with a short timeout.")
	pf := addPrinterFlags(fs)
	noUSB := fs.Bool("no-usb", false, "do not scan the USB bus")
	noCUPS := fs.Bool("no-cups", false, "do not ask the local CUPS server for its queues")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"list takes no arguments"}
	}
	cfg, err := pf.station.load()
	if err != nil {
		return err
	}
	log := pf.logger(e)
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !*noUSB {
		fmt.Fprintln(e.stdout, "USB printers:")
		var extra []uint16
		for _, v := range cfg.USB.ExtraVendorIDs {
			extra = append(extra, uint16(v))
		}
		uctx, cancel := context.WithTimeout(ctx, *pf.timeout)
		found, err := deps.listUSB(uctx, extra)
		cancel()
		switch {
		case err != nil:
			fmt.Fprintf(e.stdout, "  USB not scanned: %v\n", err)
		case len(found) == 0:
			fmt.Fprintln(e.stdout, "  none found")
		default:
			fmt.Fprintln(w, "  ID\tMODEL\tSERIAL\tIEEE-1284 ID")
			for _, f := range found {
				model := strings.TrimSpace(f.Manufacturer + " " + f.Product)
				if model == "" {
					model = strings.TrimSpace(f.ID.Manufacturer + " " + f.ID.Model)
				}
				id := f.DeviceID
				if f.Err != "" {
					id += " (" + f.Err + ")"
				}
				fmt.Fprintf(w, "  %04x:%04x\t%s\t%s\t%s\n", f.VID, f.PID, orDash(model), orDash(f.Serial), orDash(id))
			}
			w.Flush()
		}
		fmt.Fprintln(e.stdout)
	}
	if !*noCUPS && deps.listCUPS != nil {
		cctx, cancel := context.WithTimeout(ctx, *pf.timeout)
		server, qs, err := deps.listCUPS(cctx)
		cancel()
		fmt.Fprintf(e.stdout, "CUPS queues (%s):\n", server)
		switch {
		case err != nil:
			fmt.Fprintf(e.stdout, "  CUPS not asked: %v\n", err)
		case len(qs) == 0:
			fmt.Fprintln(e.stdout, "  none")
		default:
			fmt.Fprintln(w, "  NAME\tCONNECTION (driver = \"ipp\")\tMAKE AND MODEL\tSTATE\tDEVICE")
			for _, q := range qs {
				state := q.State
				if rs := slices.DeleteFunc(slices.Clone(q.Reasons), func(r string) bool { return r == "none" }); len(rs) > 0 {
					state += " (" + strings.Join(rs, ", ") + ")"
				}
				if !q.Accepting {
					state += ", not accepting jobs"
				}
				fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", q.Name, q.URI, orDash(q.MakeModel), state, orDash(q.DeviceURI))
			}
			w.Flush()
		}
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintln(e.stdout, "Configured printers:")
	fmt.Fprintln(w, "  NAME\tDRIVER\tCONNECTION\tANSWER")
	silent := 0
	for i := range cfg.Printers {
		p := &cfg.Printers[i]
		answer := "ok"
		err := withPrinter(ctx, deps, p, log, *pf.timeout, func(ctx context.Context, op *station.OpenedPrinter) error {
			ictx, cancel := context.WithTimeout(ctx, *pf.timeout)
			defer cancel()
			info, err := op.Dev.Identify(ictx)
			if err != nil {
				return err
			}
			answer = fmt.Sprintf("ok: %s, serial %s, firmware %s", modelName(info), orDash(info.Serial), orDash(info.Firmware))
			return nil
		})
		if err != nil {
			silent++
			answer = "NO ANSWER: " + err.Error()
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", p.Name, p.Driver, p.Connection, answer)
	}
	w.Flush()
	if silent > 0 {
		fmt.Fprintf(e.stderr, "cardd printers list: %d of %d configured printers did not answer\n", silent, len(cfg.Printers))
		return errSilentFailure
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printersStatus is "cardd printers status NAME".
func printersStatus(ctx context.Context, e *env, args []string, deps printersDeps) error {
	fs := newFlagSet(e, "printers status", "[flags] NAME", "Shows a printer's state, reasons, ribbon left and counters.")
	pf := addPrinterFlags(fs)
	_, p, err := onePrinter(e, fs, pf, args)
	if err != nil {
		return err
	}
	return withPrinter(ctx, deps, p, pf.logger(e), *pf.timeout, func(ctx context.Context, op *station.OpenedPrinter) error {
		ctx, cancel := context.WithTimeout(ctx, *pf.timeout)
		defer cancel()
		info, err := op.Dev.Identify(ctx)
		if err != nil {
			return err
		}
		st, err := op.Dev.Status(ctx)
		if err != nil {
			return err
		}
		if info.DeviceID == "" {
			info.DeviceID = op.DeviceID
		}
		writeStatus(e.stdout, p, info, st)
		return nil
	})
}

// writeStatus prints a printer's identity and status.
func writeStatus(w io.Writer, p *config.Printer, info printer.Info, st printer.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "printer\t%s (%s, %s)\n", p.Name, p.Driver, p.Connection)
	fmt.Fprintf(tw, "model\t%s, serial %s, firmware %s\n", modelName(info), orDash(info.Serial), orDash(info.Firmware))
	if info.DeviceID != "" {
		fmt.Fprintf(tw, "IEEE-1284 ID\t%s\n", info.DeviceID)
	}
	var panels []string
	for _, pn := range info.Caps.Panels {
		panels = append(panels, string(pn))
	}
	fmt.Fprintf(tw, "capabilities\tduplex %v, magnetic %v, %d dpi, ribbon %s (%s)\n", info.Caps.Duplex, info.Caps.Magnetic, info.Caps.DPI, orDash(info.Caps.Ribbon), strings.Join(panels, ", "))
	fmt.Fprintf(tw, "state\t%s\n", st.State)
	reasons := "none"
	if len(st.Reasons) > 0 {
		var rs []string
		for _, r := range st.Reasons {
			s := string(r)
			if !r.Blocking() {
				s += " (warning)"
			}
			rs = append(rs, s)
		}
		reasons = strings.Join(rs, ", ")
	}
	fmt.Fprintf(tw, "reasons\t%s\n", reasons)
	if p.Driver == config.DriverIPP {
		fmt.Fprintf(tw, "queue says\t%s\n", st.Raw)
		fmt.Fprintf(tw, "note\ta print queue: \"completed\" is the spooler's word (the card's data reached the device), not the printer's;\n")
		fmt.Fprintf(tw, "\tpanel separation (resin K, overlay and its holes, UV) is the queue driver's; cardd sets the options it knows (Gutenprint's black type and overcoat) from each card\n")
	}
	c := st.Consumables
	fmt.Fprintf(tw, "ribbon left\t%s\n", ribbonLeft(c.RibbonLeft, c.RibbonCapacity))
	fmt.Fprintf(tw, "cards printed\t%s\n", count(c.CardsPrinted))
	fmt.Fprintf(tw, "panels printed\t%s\n", count(c.PanelsPrinted))
	fmt.Fprintf(tw, "cards in feeder\t%s\n", count(c.FeederLoaded))
	tw.Flush()
}

// ribbonLeft says how many prints the ribbon has left, and of how many
// when the printer reports its capacity (Evolis printers do not).
func ribbonLeft(left, capacity int) string {
	switch {
	case left < 0:
		return "unknown"
	case capacity < 0:
		return fmt.Sprintf("%d prints (the printer does not report the ribbon's capacity)", left)
	}
	return fmt.Sprintf("%d of %d prints", left, capacity)
}

// modelName is a printer's maker and model, the maker once ("Evolis
// Primacy", not "Evolis Evolis Primacy" when the model names it too).
func modelName(info printer.Info) string {
	if info.Vendor == "" || strings.HasPrefix(strings.ToLower(info.Model), strings.ToLower(info.Vendor)) {
		return info.Model
	}
	return strings.TrimSpace(info.Vendor + " " + info.Model)
}

func count(n int) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.Itoa(n)
}

// printCard prints c on the opened printer and reports the outcome.
func printCard(ctx context.Context, e *env, op *station.OpenedPrinter, c *printer.Card, what string) error {
	res, err := op.Dev.Print(ctx, c)
	fmt.Fprintf(e.stdout, "%s on %s: %s (%v)\n", what, op.Config.Name, res.Outcome, res.Duration.Round(time.Millisecond))
	if err != nil {
		if res.Outcome == printer.OutcomeUnknown {
			return fmt.Errorf("%s: the card's fate is unknown, look at the printer: %w", what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if op.Emu != nil {
		if out := op.Emu.Printed(); len(out) > 0 {
			for _, f := range out[len(out)-1].Files {
				fmt.Fprintf(e.stdout, "  emulator wrote %s\n", f)
			}
		}
	}
	return nil
}

// identifyForCard reads the printer's capabilities for composing a card.
func identifyForCard(ctx context.Context, op *station.OpenedPrinter, timeout time.Duration) (printer.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := op.Dev.Identify(ctx)
	if err != nil {
		return info, err
	}
	st, err := op.Dev.Status(ctx)
	if err != nil {
		return info, err
	}
	if err := st.Err(); err != nil {
		return info, fmt.Errorf("printer not ready: %w", err)
	}
	return info, nil
}

// printersTestCard is "cardd printers test-card NAME".
func printersTestCard(ctx context.Context, e *env, args []string, deps printersDeps) error {
	fs := newFlagSet(e, "printers test-card", "[flags] NAME", "Prints a test card composed by cardd: rulers in mm, swatches of every panel the printer has, and a QR code naming the printer.")
	pf := addPrinterFlags(fs)
	builtin := fs.Bool("builtin", false, "print the printer's own built-in test card instead")
	_, p, err := onePrinter(e, fs, pf, args)
	if err != nil {
		return err
	}
	return withPrinter(ctx, deps, p, pf.logger(e), *pf.timeout, func(ctx context.Context, op *station.OpenedPrinter) error {
		if *builtin {
			if err := op.Dev.TestCard(ctx); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "built-in test card sent to %s\n", p.Name)
			return nil
		}
		info, err := identifyForCard(ctx, op, *pf.timeout)
		if err != nil {
			return err
		}
		c, err := composeTestCard(p, info, deps.now())
		if err != nil {
			return err
		}
		return printCard(ctx, e, op, c, "test card")
	})
}

// printersCalibrate is "cardd printers calibrate NAME".
func printersCalibrate(ctx context.Context, e *env, args []string, deps printersDeps) error {
	fs := newFlagSet(e, "printers calibrate", "[flags] NAME",
		"Without offsets, prints a calibration card: crosshairs at known positions (in mm from the card's top-left corner, printed beside each). "+
			"Measure how far each crosshair landed from where it should be, then run again with --offset-x/--offset-y (the error measured: "+
			"positive when the print landed right of or below its place) and --write CONFIGFILE: cardd subtracts the error from the "+
			"printer's calibration in that file and keeps everything else in it as it was.")
	pf := addPrinterFlags(fs)
	side := fs.String("side", "front", "side measured: front or back")
	var dx, dy optFloat
	fs.Var(&dx, "offset-x", "measured horizontal error in mm (positive: printed too far right)")
	fs.Var(&dy, "offset-y", "measured vertical error in mm (positive: printed too low)")
	write := fs.String("write", "", "configuration file to record the new calibration in")
	_, p, err := onePrinter(e, fs, pf, args)
	if err != nil {
		return err
	}
	if *side != "front" && *side != "back" {
		return usageError{fmt.Sprintf("--side %q: want front or back", *side)}
	}
	if dx.set || dy.set || *write != "" {
		if *write == "" {
			return usageError{"--offset-x/--offset-y need --write CONFIGFILE (the file to record them in)"}
		}
		if !dx.set && !dy.set {
			return usageError{"--write needs --offset-x and/or --offset-y"}
		}
		return recordCalibration(e, *write, p.Name, *side, dx, dy)
	}
	return withPrinter(ctx, deps, p, pf.logger(e), *pf.timeout, func(ctx context.Context, op *station.OpenedPrinter) error {
		info, err := identifyForCard(ctx, op, *pf.timeout)
		if err != nil {
			return err
		}
		c := composeCalibrationCard(p, info)
		if err := printCard(ctx, e, op, c, "calibration card"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "current calibration: front %+.2f, %+.2f mm; back %+.2f, %+.2f mm\n",
			p.Calibration.FrontXMM, p.Calibration.FrontYMM, p.Calibration.BackXMM, p.Calibration.BackYMM)
		fmt.Fprintf(e.stdout, "measure the crosshairs, then: cardd printers calibrate %s --side front --offset-x MM --offset-y MM --write CONFIGFILE\n", p.Name)
		return nil
	})
}

// optFloat is a float flag that knows whether it was given.
type optFloat struct {
	v   float64
	set bool
}

func (f *optFloat) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatFloat(f.v, 'f', -1, 64)
}

func (f *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < -5 || v > 5 {
		return fmt.Errorf("%q: want millimetres between -5 and 5", s)
	}
	f.v, f.set = v, true
	return nil
}

// recordCalibration subtracts the measured error from the printer's
// calibration in the file at path. config.SetCalibration edits only the
// offset lines, checks the result and replaces the file atomically.
func recordCalibration(e *env, path, name, side string, dx, dy optFloat) error {
	cfg, err := config.Load(path)
	if err != nil {
		return configError{Err: fmt.Errorf("calibrate: %w", err)}
	}
	p, ok := cfg.Printer(name)
	if !ok {
		return usageError{fmt.Sprintf("calibrate: %s has no printer %q", path, name)}
	}
	cal := p.Calibration
	x, y := &cal.FrontXMM, &cal.FrontYMM
	if side == "back" {
		x, y = &cal.BackXMM, &cal.BackYMM
	}
	oldX, oldY := *x, *y
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	if dx.set {
		*x = round(*x - dx.v)
	}
	if dy.set {
		*y = round(*y - dy.v)
	}
	if math.Abs(*x) > 5 || math.Abs(*y) > 5 {
		return usageError{fmt.Sprintf("calibrate: the new %s offsets %.2f, %.2f mm exceed ±5 mm: check the measurement", side, *x, *y)}
	}
	if err := config.SetCalibration(path, name, cal); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	fmt.Fprintf(e.stdout, "printer %s %s calibration: x %+.2f → %+.2f mm, y %+.2f → %+.2f mm, written to %s\n", name, side, oldX, *x, oldY, *y, path)
	return nil
}

// ---- card composition ----

// cardPanels returns the panels to compose for a printer: those its ribbon
// reports, or the configured ribbon's when the printer reports none.
func cardPanels(p *config.Printer, info printer.Info) []printer.Panel {
	if len(info.Caps.Panels) > 0 {
		return info.Caps.Panels
	}
	r := strings.ToLower(p.Ribbon)
	var ps []printer.Panel
	if strings.Contains(r, "ymc") {
		ps = append(ps, printer.PanelColor)
	}
	if strings.Contains(r, "k") {
		ps = append(ps, printer.PanelK)
	}
	if strings.Contains(r, "o") {
		ps = append(ps, printer.PanelOverlay)
	}
	if strings.Contains(r, "f") {
		ps = append(ps, printer.PanelUV)
	}
	return ps
}

// cardGeometry is the raster a printer entry prints into.
func cardGeometry(p *config.Printer, info printer.Info) printer.Geometry {
	dpi := info.Caps.DPI
	if dpi == 0 {
		dpi = p.Resolution
	}
	if dpi == 0 {
		dpi = 300
	}
	return printer.CR80(dpi)
}

// canvas is one side being composed.
type canvas struct {
	g    printer.Geometry
	side *printer.Side
	k    *printer.Mono // where marks go: K, or nil when the printer has none
}

func newCanvas(g printer.Geometry, panels []printer.Panel) *canvas {
	c := &canvas{g: g, side: &printer.Side{}}
	if slices.Contains(panels, printer.PanelColor) {
		c.side.Color = image.NewRGBA(g.Bounds())
		draw.Draw(c.side.Color, c.side.Color.Rect, image.White, image.Point{}, draw.Src)
	}
	if slices.Contains(panels, printer.PanelK) {
		c.side.K = printer.NewMono(g.Bounds())
		c.k = c.side.K
	}
	if slices.Contains(panels, printer.PanelOverlay) {
		c.side.Overlay = printer.NewMono(g.Bounds())
		c.side.Overlay.Fill(g.Bounds(), true)
	}
	if slices.Contains(panels, printer.PanelUV) {
		c.side.UV = printer.NewMono(g.Bounds())
	}
	return c
}

// dots converts millimetres to whole dots.
func (c *canvas) dots(mm float64) int { return int(math.Round(mm * c.g.DotsPerMM())) }

// mark draws a black rectangle (K resin, or colour black without K).
func (c *canvas) mark(r image.Rectangle) {
	if c.k != nil {
		c.k.Fill(r, true)
		return
	}
	if c.side.Color != nil {
		draw.Draw(c.side.Color, r, image.Black, image.Point{}, draw.Src)
	}
}

// text writes s with its top-left corner at (x, y), each font pixel scale
// dots wide.
func (c *canvas) text(x, y, scale int, s string) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil()
	h := face.Metrics().Height.Ceil()
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: a, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Metrics().Ascent.Ceil())}
	d.DrawString(s)
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			if a.AlphaAt(px, py).A >= 0x80 {
				c.mark(image.Rect(x+px*scale, y+py*scale, x+(px+1)*scale, y+(py+1)*scale))
			}
		}
	}
}

// rulers draws millimetre rulers along the top and left edges: a tick every
// mm, longer every 5 mm, longest and labelled every 10 mm.
func (c *canvas) rulers() {
	line := max(1, c.dots(0.17))
	scale := max(1, c.g.DPI/300)
	wmm := float64(c.g.Width) / c.g.DotsPerMM()
	hmm := float64(c.g.Height) / c.g.DotsPerMM()
	for mm := 0; float64(mm) <= wmm; mm++ {
		l := tickLen(mm)
		x := c.dots(float64(mm))
		c.mark(image.Rect(x, 0, x+line, c.dots(l)))
		if mm%10 == 0 && mm > 0 {
			c.text(x+line+2, c.dots(1.5), scale, strconv.Itoa(mm))
		}
	}
	for mm := 0; float64(mm) <= hmm; mm++ {
		l := tickLen(mm)
		y := c.dots(float64(mm))
		c.mark(image.Rect(0, y, c.dots(l), y+line))
		if mm%10 == 0 && mm > 0 {
			c.text(c.dots(1.5), y+line+2, scale, strconv.Itoa(mm))
		}
	}
}

func tickLen(mm int) float64 {
	switch {
	case mm%10 == 0:
		return 3
	case mm%5 == 0:
		return 2
	}
	return 1
}

// composeTestCard composes the test card for a printer: rulers, a swatch
// of each panel the printer has (Y, M, C, a grey ramp, K, a bare patch
// where the overlay is left off, UV), a QR code naming the printer and the
// time, and a K-only back with rulers on duplex printers.
func composeTestCard(p *config.Printer, info printer.Info, now time.Time) (*printer.Card, error) {
	g := cardGeometry(p, info)
	panels := cardPanels(p, info)
	c := &printer.Card{Geometry: g}
	front := newCanvas(g, panels)
	front.rulers()
	scale := max(1, g.DPI/300)
	sw := front.dots(9)
	x0, y0 := front.dots(6), front.dots(8)
	swatch := func(i int) image.Rectangle {
		return image.Rect(x0+i*(sw+front.dots(1.5)), y0, x0+i*(sw+front.dots(1.5))+sw, y0+sw)
	}
	label := func(i int, s string) { front.text(swatch(i).Min.X, y0+sw+front.dots(0.8), scale, s) }
	i := 0
	if img := front.side.Color; img != nil {
		for _, s := range []struct {
			name string
			c    color.RGBA
		}{{"Y", color.RGBA{255, 255, 0, 255}}, {"M", color.RGBA{255, 0, 255, 255}}, {"C", color.RGBA{0, 255, 255, 255}}} {
			draw.Draw(img, swatch(i), &image.Uniform{s.c}, image.Point{}, draw.Src)
			label(i, s.name)
			i++
		}
		// Grey ramp in 16 steps under the swatches.
		ramp := image.Rect(x0, front.dots(26), x0+front.dots(48), front.dots(31))
		for s := 0; s < 16; s++ {
			v := uint8(240 - s*16)
			r := image.Rect(ramp.Min.X+s*ramp.Dx()/16, ramp.Min.Y, ramp.Min.X+(s+1)*ramp.Dx()/16, ramp.Max.Y)
			draw.Draw(img, r, &image.Uniform{color.RGBA{v, v, v, 255}}, image.Point{}, draw.Src)
		}
	}
	if front.side.K != nil {
		front.side.K.Fill(swatch(i), true)
		label(i, "K")
		i++
	}
	if o := front.side.Overlay; o != nil {
		r := swatch(i)
		o.Fill(r, false)
		front.mark(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1))
		front.mark(image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y))
		label(i, "no O")
		i++
	}
	if uv := front.side.UV; uv != nil {
		uv.Fill(swatch(i), true)
		label(i, "UV")
	}
	qrText := fmt.Sprintf("cardd test card|%s|%s|%s|%s", p.Name, modelName(info), info.Serial, now.UTC().Format(time.RFC3339))
	qr, err := security.RenderQR(qrText, security.ECCM, security.MinDotsPerModule(g.DPI)+scale)
	if err != nil {
		return nil, fmt.Errorf("test card QR: %w", err)
	}
	qx, qy := g.Width-qr.Rect.Dx()-front.dots(4), g.Height-qr.Rect.Dy()-front.dots(4)
	for y := 0; y < qr.Rect.Dy(); y++ {
		for x := 0; x < qr.Rect.Dx(); x++ {
			if qr.BitAt(x, y) {
				front.mark(image.Rect(qx+x, qy+y, qx+x+1, qy+y+1))
			}
		}
	}
	tx := front.dots(6)
	front.text(tx, front.dots(34), 2*scale, "cardd test card")
	front.text(tx, front.dots(40), scale, fmt.Sprintf("%s: %s %s", p.Name, modelName(info), info.Serial))
	front.text(tx, front.dots(44), scale, now.UTC().Format("2006-01-02 15:04:05 UTC"))
	c.Front = *front.side
	if p.Duplex && info.Caps.Duplex {
		back := newCanvas(g, []printer.Panel{printer.PanelK})
		back.rulers()
		back.text(front.dots(30), front.dots(24), 2*scale, "BACK")
		c.Back = back.side
	}
	return c, nil
}

// calibMarks returns the crosshair centres of the calibration card, in mm
// from the top-left corner of the side.
func calibMarks() [][2]float64 {
	return [][2]float64{{10, 10}, {75.6, 10}, {10, 44}, {75.6, 44}, {42.8, 27}}
}

// composeCalibrationCard composes crosshairs at calibMarks() with their
// positions written beside them, on both sides of a duplex printer, in K
// (or colour black when the ribbon has no K).
func composeCalibrationCard(p *config.Printer, info printer.Info) *printer.Card {
	g := cardGeometry(p, info)
	panels := slices.DeleteFunc(slices.Clone(cardPanels(p, info)), func(pn printer.Panel) bool {
		return pn == printer.PanelUV || pn == printer.PanelOverlay
	})
	c := &printer.Card{Geometry: g}
	sides := []string{"FRONT"}
	if p.Duplex && info.Caps.Duplex {
		sides = append(sides, "BACK")
	}
	for _, name := range sides {
		cv := newCanvas(g, panels)
		if cv.side.K != nil {
			cv.side.Color = nil // K alone: the sharpest marks
		}
		cv.rulers()
		scale := max(1, g.DPI/300)
		half := cv.dots(3)
		w := max(1, cv.dots(0.17))
		for _, m := range calibMarks() {
			x, y := cv.dots(m[0]), cv.dots(m[1])
			cv.mark(image.Rect(x-half, y-w/2, x+half+1, y-w/2+w))
			cv.mark(image.Rect(x-w/2, y-half, x-w/2+w, y+half+1))
			cv.text(x+cv.dots(1), y+cv.dots(1), scale, fmt.Sprintf("%g,%g", m[0], m[1]))
		}
		cv.text(cv.dots(30), cv.dots(18), scale, name+" calibration, mm from top-left")
		if name == "FRONT" {
			c.Front = *cv.side
		} else {
			c.Back = cv.side
		}
	}
	return c
}
