package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cardd/cardd/printer/emulator"
)

// faultFlags collects repeated --fault values.
type faultFlags []string

func (f *faultFlags) String() string     { return strings.Join(*f, ",") }
func (f *faultFlags) Set(s string) error { *f = append(*f, s); return nil }

// cmdEmulate is "cardd emulate": serve a virtual card printer over TCP;
// "cardd emulate empty" empties a running one's output hopper or reject box.
func cmdEmulate(ctx context.Context, e *env) error {
	if len(e.args) > 0 && e.args[0] == "empty" {
		return emulateEmpty(ctx, &env{args: e.args[1:], stdin: e.stdin, stdout: e.stdout, stderr: e.stderr})
	}
	var names []string
	for _, l := range emulator.Languages() {
		names = append(names, l.Name)
	}
	fs := newFlagSet(e, "emulate", "[--model "+strings.Join(names, "|")+"] [--listen ADDR] [--out DIR] [--speed F] [--hopper-capacity N] [--reject-capacity N] [--control ADDR] [--snmp ADDR] [--fault F]...\n       cardd emulate empty [--control ADDR] [hopper|reject|both]",
		"Serves a virtual card printer on a raw TCP port (as a network printer's port 9100) until\n"+
			"interrupted. It speaks the model's command language strictly, decodes every card it is\n"+
			"sent into PNG files in --out (front, back and each panel), keeps counters and supplies,\n"+
			"takes the time a real printer would (divided by --speed), and can start with faults:\n"+
			"cover-open, feeder-empty, hopper-full, ribbon-out-after=N (panels), jam-at=N (card),\n"+
			"disconnect-at=BYTES (the connection drops; the next one finds the printer back).\n\n"+
			"Printed cards pile up in the output hopper (--hopper-capacity) and rejected ones in\n"+
			"the reject box (--reject-capacity); a full one stops the printer with hopper-full or\n"+
			"reject-full, as a real printer does, until a person empties it. With --control, the\n"+
			"emulator takes that person's action on a small HTTP endpoint: \"cardd emulate empty\n"+
			"--control ADDR [hopper|reject|both]\" empties it (GET ADDR/state shows the counters).")
	model := fs.String("model", "evolis", "printer family to emulate: "+strings.Join(names, ", "))
	listen := fs.String("listen", "127.0.0.1:9100", "TCP address to listen on")
	out := fs.String("out", "", "directory for PNG files of printed cards (none when empty)")
	speed := fs.Float64("speed", 1, "speed factor: 1 the real printer's pace, 2 twice as fast, 0.1 ten times slower (100: almost at once)")
	ribbon := fs.Int("ribbon-panels", 1000, "ribbon capacity in panels (a YMCKO print takes five: 1000 panels are 200 prints, as printers status reports them)")
	feeder := fs.Int("feeder-cards", 100, "blank cards in the feeder")
	hopper := fs.Int("hopper-capacity", 100, "cards the output hopper holds before the printer stops with hopper-full")
	reject := fs.Int("reject-capacity", 20, "cards the reject box holds before the printer stops with reject-full")
	snmp := fs.String("snmp", "", "UDP address of an SNMP agent reporting the printer's condition and ribbon as a network printer does (CUPS's socket backend asks HOST:161 of its device), e.g. 127.0.0.2:161; none when empty")
	control := fs.String("control", "", "TCP address of the operator's control channel (empty the hopper or reject box, read the counters), e.g. 127.0.0.1:9101; none when empty")
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
	if *ribbon <= 0 || *feeder <= 0 || *hopper <= 0 || *reject <= 0 {
		return usageError{"--ribbon-panels, --feeder-cards, --hopper-capacity and --reject-capacity must be positive"}
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
		OutDir:         *out,
		KeepCards:      16,
		Speed:          *speed,
		RibbonPanels:   *ribbon,
		FeederCards:    *feeder,
		HopperCapacity: *hopper,
		RejectCapacity: *reject,
		Faults:         plan,
		Log:            log,
	})
	if err != nil {
		return configError{Err: err}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return configError{Err: fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	var (
		cln  net.Listener
		cerr = make(chan error, 1)
	)
	if *control != "" {
		cln, err = lc.Listen(ctx, "tcp", *control)
		if err != nil {
			ln.Close()
			return configError{Err: fmt.Errorf("control channel: listen on %s: %w", *control, err)}
		}
	}
	var spc net.PacketConn
	if *snmp != "" {
		spc, err = lc.ListenPacket(ctx, "udp", *snmp)
		if err != nil {
			ln.Close()
			if cln != nil {
				cln.Close()
			}
			return configError{Err: fmt.Errorf("SNMP agent: listen on %s: %w", *snmp, err)}
		}
	}
	log.Info("emulator listening", "model", lang.Name, "addr", ln.Addr().String(), "out", *out, "speed", *speed,
		"hopper_capacity", *hopper, "reject_capacity", *reject, "faults", faults.String())
	fmt.Fprintf(e.stdout, "emulating %s on %s\n", lang.Name, ln.Addr())
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	if cln != nil {
		fmt.Fprintf(e.stdout, "control channel on %s (cardd emulate empty --control %s)\n", cln.Addr(), cln.Addr())
		go func() { cerr <- emulator.ServeControl(sctx, cln, emu.ControlHandler(), log) }()
	} else {
		cerr <- nil
	}
	serr := make(chan error, 1)
	if spc != nil {
		fmt.Fprintf(e.stdout, "SNMP agent on %s\n", spc.LocalAddr())
		go func() { serr <- emu.ServeSNMP(sctx, spc) }()
	} else {
		serr <- nil
	}
	err = emu.Serve(sctx, ln)
	stop()
	err = errors.Join(err, <-cerr, <-serr)
	st := emu.State()
	log.Info("emulator stopped", "cards_fed", st.CardsFed, "cards_printed", st.CardsPrinted, "panels", st.PanelsPrinted, "ribbon_left", st.RibbonLeft,
		"hopper_cards", st.HopperCards, "reject_cards", st.RejectCards)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// emulateEmpty is "cardd emulate empty": the operator empties a running
// emulator's output hopper, reject box or both through its control channel
// and sees what came out and the printer's conditions afterwards.
func emulateEmpty(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "emulate empty", "[--control ADDR] [hopper|reject|both]",
		"Empties a running emulator's output hopper, reject box or both (the default), as a\n"+
			"person does at a real printer: a hopper-full or reject-full stop clears, and a\n"+
			"daemon waiting on it resumes printing. ADDR is the emulator's --control address\n"+
			"(for an in-process emulated printer of a station: its printers.emulator.control).")
	addr := fs.String("control", "127.0.0.1:9101", "the emulator's control channel address")
	timeout := fs.Duration("timeout", 10*time.Second, "longest wait for the emulator to answer")
	pos, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{fmt.Sprintf("emulate empty: want at most one of hopper, reject, both; got %q", pos)}
	}
	box := emulator.BoxBoth
	if len(pos) == 1 {
		if box, err = emulator.ParseBox(pos[0]); err != nil {
			return usageError{err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	u := url.URL{Scheme: "http", Host: *addr, Path: "/empty", RawQuery: url.Values{"box": {string(box)}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return usageError{fmt.Sprintf("emulate empty: --control %q: %v", *addr, err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("emulate empty: no emulator control channel answers on %s (start it with cardd emulate --control %s): %w", *addr, *addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("emulate empty: reading the answer of %s: %w", *addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("emulate empty: %s answered %s: %s", *addr, resp.Status, strings.TrimSpace(string(body)))
	}
	var r emulator.EmptyReply
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("emulate empty: the answer of %s: %w", *addr, err)
	}
	if box != emulator.BoxReject {
		fmt.Fprintf(e.stdout, "output hopper: took out %d cards (holds %d)\n", r.Emptied.HopperCards, r.State.HopperCapacity)
	}
	if box != emulator.BoxHopper {
		fmt.Fprintf(e.stdout, "reject box: took out %d cards (holds %d)\n", r.Emptied.RejectCards, r.State.RejectCapacity)
	}
	reasons := "ready"
	if len(r.State.Reasons) > 0 {
		var rs []string
		for _, x := range r.State.Reasons {
			rs = append(rs, string(x))
		}
		reasons = strings.Join(rs, ", ")
	}
	fmt.Fprintf(e.stdout, "printer: %s\n", reasons)
	return nil
}
