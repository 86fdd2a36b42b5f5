package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/usb"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/station"
)

// printersConfig is a station with an emulated Magicard, an emulated Evolis
// and, when silent is set, a TCP printer that accepts and never answers.
func printersConfig(t *testing.T, silent string, faults string) string {
	t.Helper()
	dir := t.TempDir()
	text := `# station for printers tests
[station]
id = "t1"

[[printers]]
name = "mc"          # the Magicard
driver = "magicard"
connection = "emulator"
ribbon = "ymcko"
duplex = true
magnetic = "hico"

[printers.calibration]
front_x_mm = 0.5 # measured 2026-11-01
back_y_mm = -0.25

[printers.emulator]
speed = 0.0
output = "` + filepath.ToSlash(filepath.Join(dir, "out")) + `"
` + faults + `

[[printers]]
name = "evo"
driver = "evolis"
connection = "emulator"
duplex = true

[printers.emulator]
speed = 0.0
`
	if silent != "" {
		text += `
[[printers]]
name = "silent"
driver = "magicard"
connection = "tcp:` + silent + `"
`
	}
	path := filepath.Join(dir, "station.toml")
	if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func testDeps(found []usb.Found, usbErr error) printersDeps {
	return printersDeps{
		listUSB: func(context.Context, []uint16) ([]usb.Found, error) { return found, usbErr },
		open:    station.OpenPrinter,
		now:     func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) },
	}
}

func runP(t *testing.T, deps printersDeps, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runPrinters(context.Background(), &env{args: args, stdout: &out, stderr: &errb}, deps)
	return out.String(), errb.String(), err
}

// silentPrinter listens on loopback, accepts connections and never answers.
func silentPrinter(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

func TestPrintersList(t *testing.T) {
	t.Parallel()
	cfg := printersConfig(t, silentPrinter(t), "")
	found := []usb.Found{{VID: 0x0C1F, PID: 0x1800, Manufacturer: "Magicard", Product: "Rio Pro 360", Serial: "R123",
		DeviceID: "MFG:Magicard;MDL:Rio Pro 360;CMD:MAGICARD;"}}
	// The timeout is generous: the emulated printers must answer within
	// it on a busy machine; the silent one waits it out (in parallel with
	// other tests).
	start := time.Now()
	out, stderr, err := runP(t, testDeps(found, nil), "list", "--config", cfg, "--timeout", "10s")
	if !errors.Is(err, errSilentFailure) {
		t.Fatalf("list with a silent printer: err %v, want errSilentFailure", err)
	}
	// The silent printer never answers: only the timeout ends the
	// command. How long that took on this machine is logged, not judged.
	t.Logf("list took %v with a 10s timeout", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"0c1f:1800", "Magicard Rio Pro 360", "R123", "MFG:Magicard;MDL:Rio Pro 360;",
		"mc", "ok: Magicard Rio Pro 360", "evo", "ok: Evolis",
		"silent", "NO ANSWER", "did not answer within 10s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "1 of 3 configured printers did not answer") {
		t.Errorf("stderr %q", stderr)
	}

	out, _, err = runP(t, testDeps(nil, usb.ErrUnavailable), "list", "--config", printersConfig(t, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "USB not scanned") || !strings.Contains(out, "ok: Magicard") {
		t.Errorf("list without USB:\n%s", out)
	}
}

func TestPrintersStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, printer, faults string
		want                  []string
		wantErr               bool
	}{
		{"magicard idle", "mc", "", []string{"Magicard Rio Pro 360", "state           idle", "reasons         none", "ribbon left     200 of 200 prints", "cards printed   0"}, false},
		{"evolis idle", "evo", "", []string{"model           Evolis Primacy (emulated), serial", "state ", "idle", "prints (the printer does not report the ribbon's capacity)"}, false},
		{"magicard cover open", "mc", "[[printers.emulator.faults]]\nkind = \"cover-open\"\n", []string{"state           error", "reasons         cover-open"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := runP(t, testDeps(nil, nil), "status", tc.printer, "--config", printersConfig(t, "", tc.faults))
			if (err != nil) != tc.wantErr {
				t.Fatalf("status: %v\n%s", err, out)
			}
			norm := strings.Join(strings.Fields(out), " ")
			if strings.Contains(out, "Evolis Evolis") {
				t.Errorf("the maker twice:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(norm, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("status output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPrintersStatusSilent(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, _, err := runP(t, testDeps(nil, nil), "status", "--timeout", "300ms", "--config", printersConfig(t, silentPrinter(t), ""), "silent")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") || !errors.Is(err, printer.ErrTimeout) {
		t.Fatalf("status of a silent printer: %v", err)
	}
	t.Logf("status took %v with a 300ms timeout", time.Since(start).Round(time.Millisecond))
}

func TestPrintersUsage(t *testing.T) {
	t.Parallel()
	cfg := printersConfig(t, "", "")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"status"},
		{"status", "nope", "--config", cfg},
		{"status", "mc", "evo", "--config", cfg},
		{"calibrate", "mc", "--config", cfg, "--offset-x", "0.3"},
		{"calibrate", "mc", "--config", cfg, "--write", cfg},
		{"calibrate", "mc", "--config", cfg, "--offset-x", "9", "--write", cfg},
		{"calibrate", "mc", "--config", cfg, "--side", "top"},
	} {
		_, _, err := runP(t, testDeps(nil, nil), args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("printers %q: err %v, want a usage error", args, err)
		}
	}
}

// TestPrintersTestCard prints the test card on the emulated Magicard and
// checks what came out of the emulator: every panel, the rulers and a QR
// that decodes to the printer's name.
func TestPrintersTestCard(t *testing.T) {
	t.Parallel()
	cfg := printersConfig(t, "", "")
	out, _, err := runP(t, testDeps(nil, nil), "test-card", "mc", "--config", cfg)
	if err != nil {
		t.Fatalf("test-card: %v\n%s", err, out)
	}
	if !strings.Contains(out, "test card on mc: printed") || !strings.Contains(out, "card-0001-front.png") {
		t.Fatalf("output:\n%s", out)
	}
	dir := filepath.Join(filepath.Dir(cfg), "out")
	for _, f := range []string{"card-0001-front.png", "card-0001-back.png", "card-0001-front-y.png", "card-0001-front-k.png", "card-0001-front-o.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("emulator output: %v", err)
		}
	}
	// Compose the same card and check its content directly.
	c, err := composeTestCard(&config.Printer{Name: "mc", Duplex: true, Ribbon: "ymcko"},
		printer.Info{Vendor: "Magicard", Model: "Rio", Caps: printer.Capabilities{Duplex: true, DPI: 300, Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}}},
		time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if c.Front.Color == nil || c.Front.K == nil || c.Front.Overlay == nil || c.Front.UV != nil || c.Back == nil {
		t.Fatalf("panels: %+v", c.Front)
	}
	// The 10 mm tick of the top ruler sits at 118 dots (10 mm at 300 dpi).
	if !c.Front.K.BitAt(118, 5) || c.Front.K.BitAt(112, 5) {
		t.Error("top ruler tick at 10 mm missing or misplaced")
	}
	text, err := security.DecodeQR(printer.Flatten(&c.Front, c.Geometry))
	if err != nil {
		t.Fatalf("QR: %v", err)
	}
	if !strings.HasPrefix(text, "cardd test card|mc|Magicard Rio|") {
		t.Errorf("QR says %q", text)
	}
	// A UV swatch appears only on printers with a UV panel.
	c, err = composeTestCard(&config.Printer{Name: "e", Ribbon: "ymcfko"}, printer.Info{Caps: printer.Capabilities{DPI: 300}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Front.UV == nil || c.Front.UV.Count() == 0 {
		t.Error("no UV swatch for a ymcfko ribbon")
	}
}

func TestPrintersTestCardFault(t *testing.T) {
	t.Parallel()
	cfg := printersConfig(t, "", "[[printers.emulator.faults]]\nkind = \"card-jam\"\nat_card = 1\n")
	out, _, err := runP(t, testDeps(nil, nil), "test-card", "mc", "--config", cfg)
	if !errors.Is(err, printer.ErrCardJam) || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("test-card on a jamming printer: %v\n%s", err, out)
	}
	if !strings.Contains(out, "test card on mc: unknown") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPrintersCalibrate(t *testing.T) {
	t.Parallel()
	cfg := printersConfig(t, "", "")
	out, _, err := runP(t, testDeps(nil, nil), "calibrate", "mc", "--config", cfg)
	if err != nil {
		t.Fatalf("calibrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "calibration card on mc: printed") || !strings.Contains(out, "front +0.50, +0.00 mm") {
		t.Errorf("output:\n%s", out)
	}
	before, _ := os.ReadFile(cfg)
	out, _, err = runP(t, testDeps(nil, nil), "calibrate", "mc", "--config", cfg, "--offset-x", "0.3", "--offset-y", "-0.4", "--write", cfg)
	if err != nil {
		t.Fatalf("calibrate --write: %v\n%s", err, out)
	}
	if !strings.Contains(out, "x +0.50 → +0.20 mm, y +0.00 → +0.40 mm") {
		t.Errorf("output:\n%s", out)
	}
	after, _ := os.ReadFile(cfg)
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Printer("mc")
	if p.Calibration != (config.Calibration{FrontXMM: 0.2, FrontYMM: 0.4, BackYMM: -0.25}) {
		t.Errorf("calibration now %+v", p.Calibration)
	}
	// Only the calibration lines changed: comments and the rest stay.
	if !strings.Contains(string(after), "front_x_mm = 0.2 # measured 2026-11-01") || !strings.Contains(string(after), `name = "mc"          # the Magicard`) {
		t.Errorf("file lost its comments:\n%s", after)
	}
	for _, l := range strings.Split(string(before), "\n") {
		if !strings.Contains(l, "_mm") && !strings.Contains(string(after), l) {
			t.Errorf("line %q lost", l)
		}
	}
	// The back, in a printer with no calibration table yet.
	_, _, err = runP(t, testDeps(nil, nil), "calibrate", "evo", "--config", cfg, "--side", "back", "--offset-y", "1", "--write", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err = config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Printer("evo"); p.Calibration != (config.Calibration{BackYMM: -1}) {
		t.Errorf("evo calibration %+v", p.Calibration)
	}
	if p, _ := c.Printer("mc"); p.Calibration.FrontXMM != 0.2 {
		t.Errorf("mc calibration changed: %+v", p.Calibration)
	}
}

func TestOpenPrinterEmulatorOptions(t *testing.T) {
	t.Parallel()
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Connection, p.Ribbon = "x", config.DriverMagicard, "emulator", "ymcko"
	p.Emulator = &config.Emulator{Model: "Enduro 3E", CardsLoaded: 3, RibbonPanels: 7, Faults: []config.Fault{{Kind: config.FaultRibbonOut, AtCard: 2}}}
	op, err := station.OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	st := op.Emu.State()
	if st.FeederCards != 3 || st.RibbonCapacity != 35 || st.RibbonLeft != 6 {
		t.Errorf("emulator state %+v", st)
	}
	info, err := op.Dev.Identify(context.Background())
	if err != nil || info.Model != "Enduro 3E" {
		t.Errorf("Identify %+v, %v", info, err)
	}
	for _, bad := range []config.Fault{{Kind: config.FaultRibbonOut}, {Kind: config.FaultCoverOpen, AtCard: 2}, {Kind: "melt"}} {
		p.Emulator.Faults = []config.Fault{bad}
		if _, err := station.OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("fault %+v accepted", bad)
		}
	}
	p.Driver = "zebra"
	if _, err := station.OpenPrinter(context.Background(), &p, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("unknown driver accepted")
	}
}
