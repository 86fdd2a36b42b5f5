package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/cardd/cardd/printer/emulator"
)

// faultFlags collects repeated --fault values.
type faultFlags []string

func (f *faultFlags) String() string     { return strings.Join(*f, ",") }
func (f *faultFlags) Set(s string) error { *f = append(*f, s); return nil }

// cmdEmulate is "cardd emulate": serve a virtual card printer over TCP.
func cmdEmulate(ctx context.Context, e *env) error {
	var names []string
	for _, l := range emulator.Languages() {
		names = append(names, l.Name)
	}
	fs := newFlagSet(e, "emulate", "[--model "+strings.Join(names, "|")+"] [--listen ADDR] [--out DIR] [--speed F] [--fault F]...",
		"Serves a virtual card printer on a raw TCP port (as a network printer's port 9100) until\n"+
			"interrupted. It speaks the model's command language strictly, decodes every card it is\n"+
			"sent into PNG files in --out (front, back and each panel), keeps counters and supplies,\n"+
			"takes the time a real printer would (divided by --speed), and can start with faults:\n"+
			"cover-open, feeder-empty, hopper-full, ribbon-out-after=N (panels), jam-at=N (card),\n"+
			"disconnect-at=BYTES (the connection drops; the next one finds the printer back).")
	model := fs.String("model", "evolis", "printer family to emulate: "+strings.Join(names, ", "))
	listen := fs.String("listen", "127.0.0.1:9100", "TCP address to listen on")
	out := fs.String("out", "", "directory for PNG files of printed cards (none when empty)")
	speed := fs.Float64("speed", 1, "speed factor: 1 the real printer's pace, 2 twice as fast, 0.1 ten times slower (100: almost at once)")
	ribbon := fs.Int("ribbon-panels", 1000, "ribbon capacity in panels (a YMCKO print takes five: 1000 panels are 200 prints, as printers status reports them)")
	feeder := fs.Int("feeder-cards", 100, "blank cards in the feeder")
	verbose := fs.Bool("v", false, "log every command exchange (debug level)")
	var faults faultFlags
	fs.Var(&faults, "fault", "fault to start with (repeatable): cover-open, feeder-empty, hopper-full, ribbon-out-after=N, jam-at=N, disconnect-at=BYTES")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	lang, err := emulator.LanguageByName(*model)
	if err != nil {
		return usageError{err.Error()}
	}
	if *speed <= 0 {
		return usageError{fmt.Sprintf("--speed %g must be positive", *speed)}
	}
	if *ribbon <= 0 || *feeder <= 0 {
		return usageError{"--ribbon-panels and --feeder-cards must be positive"}
	}
	var plan emulator.FaultPlan
	for _, f := range faults {
		if err := plan.ParseFault(f); err != nil {
			return usageError{err.Error()}
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	emu, err := emulator.New(lang, &emulator.Options{
		OutDir:       *out,
		KeepCards:    16,
		Speed:        *speed,
		RibbonPanels: *ribbon,
		FeederCards:  *feeder,
		Faults:       plan,
		Log:          log,
	})
	if err != nil {
		return configError{Err: err}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return configError{Err: fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	log.Info("emulator listening", "model", lang.Name, "addr", ln.Addr().String(), "out", *out, "speed", *speed, "faults", faults.String())
	fmt.Fprintf(e.stdout, "emulating %s on %s\n", lang.Name, ln.Addr())
	err = emu.Serve(ctx, ln)
	st := emu.State()
	log.Info("emulator stopped", "cards_fed", st.CardsFed, "cards_printed", st.CardsPrinted, "panels", st.PanelsPrinted, "ribbon_left", st.RibbonLeft)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
