//go:build usbvm

// Guest-side tests: they run inside the QEMU guest that internal/usbvm
// boots, against virtual printers attached through usbredir. The host
// describes the printers in USBVM_PRINTERS as
// "role=vid:pid:serial:model:in:out;…" (hex IDs and endpoints).

package usb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/internal/usbvm"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
	"github.com/cardd/cardd/printer/magicard"
	"github.com/cardd/cardd/printer/usb"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// guestIO bounds one exchange with a printer in the guest. The guest runs
// under software emulation on a busy host, where an exchange that takes
// milliseconds on hardware can take seconds: the bound only ends a hung
// exchange. Each test's context is testwait.Limit.
const guestIO = time.Minute

type expected struct {
	role, serial, model string
	vid, pid            uint16
	in, out             int
}

func expectedPrinters(t *testing.T) map[string]expected {
	t.Helper()
	env := os.Getenv("USBVM_PRINTERS")
	if env == "" {
		t.Fatal("USBVM_PRINTERS not set: these tests run inside the usbvm guest")
	}
	m := map[string]expected{}
	for _, item := range strings.Split(env, ";") {
		role, spec, ok := strings.Cut(item, "=")
		f := strings.Split(spec, ":")
		if !ok || len(f) != 6 {
			t.Fatalf("bad USBVM_PRINTERS entry %q", item)
		}
		hex := func(s string) uint64 {
			n, err := strconv.ParseUint(s, 16, 16)
			if err != nil {
				t.Fatalf("bad hex %q in %q", s, item)
			}
			return n
		}
		m[role] = expected{role: role, vid: uint16(hex(f[0])), pid: uint16(hex(f[1])), serial: f[2], model: f[3],
			in: int(hex(f[4])), out: int(hex(f[5]))}
	}
	return m
}

var (
	enumOnce sync.Once
	enumErr  error
	enumTook time.Duration
)

// waitEnumerated waits until every expected printer is on the bus (the
// guest kernel enumerates them shortly after the modules load).
func waitEnumerated(t *testing.T) map[string]expected {
	t.Helper()
	want := expectedPrinters(t)
	enumOnce.Do(func() {
		start := time.Now()
		deadline := start.Add(testwait.Limit())
		for {
			found, err := usb.List(context.Background(), nil)
			seen := map[string]bool{}
			for _, f := range found {
				seen[f.Serial] = true
			}
			all := err == nil
			for _, e := range want {
				all = all && seen[e.serial]
			}
			if all {
				enumTook = time.Since(start)
				return
			}
			if time.Now().After(deadline) {
				enumErr = errors.Join(fmt.Errorf("not every printer enumerated within %v", testwait.Limit()), err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if enumErr != nil {
		t.Fatal(enumErr)
	}
	return want
}

// Case 1: List finds every printer with its IDs, strings, endpoints and
// IEEE-1284 device ID.
func TestGuestList(t *testing.T) {
	want := waitEnumerated(t)
	t.Logf("all printers enumerated after %v", enumTook)
	found, err := usb.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bySerial := map[string]usb.Found{}
	for _, f := range found {
		t.Logf("found %04x:%04x bus %d addr %d serial %q product %q in %#x out %#x id %q err %q",
			f.VID, f.PID, f.Bus, f.Address, f.Serial, f.Product, f.In, f.Out, f.DeviceID, f.Err)
		bySerial[f.Serial] = f
	}
	if len(found) != len(want) {
		t.Errorf("List found %d printers, want %d", len(found), len(want))
	}
	for _, e := range want {
		f, ok := bySerial[e.serial]
		if !ok {
			t.Errorf("%s: serial %q not found", e.role, e.serial)
			continue
		}
		if f.VID != e.vid || f.PID != e.pid || f.ID.Model != e.model || f.In != e.in || f.Out != e.out || f.Err != "" {
			t.Errorf("%s: got %04x:%04x model %q in %#x out %#x err %q; want %04x:%04x %q %#x %#x",
				e.role, f.VID, f.PID, f.ID.Model, f.In, f.Out, f.Err, e.vid, e.pid, e.model, e.in, e.out)
		}
		if f.ID.Class != "PRINTER" || f.ID.Commands == "" || f.ID.Manufacturer == "" {
			t.Errorf("%s: device ID %q lacks MFG/CMD/CLS", e.role, f.DeviceID)
		}
	}
}

// Case 1 through the CLI, when the guest image carries cardd.
func TestGuestCarddPrintersList(t *testing.T) {
	want := waitEnumerated(t)
	if _, err := os.Stat("/bin/cardd"); err != nil {
		t.Skip("cardd with a printers command is not in the guest image")
	}
	out, err := exec.Command("/bin/cardd", "printers", "list").CombinedOutput()
	t.Logf("cardd printers list:\n%s", out)
	if err != nil {
		t.Fatalf("cardd printers list: %v", err)
	}
	for _, e := range want {
		if !bytes.Contains(out, []byte(e.serial)) || !bytes.Contains(out, []byte(e.model)) {
			t.Errorf("output lacks %s serial %q or model %q", e.role, e.serial, e.model)
		}
	}
}

// evolisQuery sends one Evolis command and reads its CR-terminated reply.
func evolisQuery(ctx context.Context, t *testing.T, tr printer.Transport, cmd string) string {
	t.Helper()
	if _, err := tr.Write(ctx, []byte("\x1b"+cmd+"\r")); err != nil {
		t.Fatalf("%s: write %s: %v", tr, cmd, err)
	}
	var reply []byte
	buf := make([]byte, 512)
	for !bytes.HasSuffix(reply, []byte("\r")) {
		n, err := tr.Read(ctx, buf)
		if err != nil {
			t.Fatalf("%s: read reply to %s: %v", tr, cmd, err)
		}
		reply = append(reply, buf[:n]...)
	}
	return strings.TrimSuffix(string(reply), "\r")
}

// Case 5: two identical printers (same VID:PID) are told apart by serial.
func TestGuestSelectBySerial(t *testing.T) {
	want := waitEnumerated(t)
	a, b := want["a"], want["b"]
	if a.vid != b.vid || a.pid != b.pid || a.serial == b.serial {
		t.Fatalf("roles a and b must be identical but for the serial: %+v %+v", a, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	for _, e := range []expected{a, b, a} {
		tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial}, usb.Opts{ReadTimeout: guestIO})
		if err != nil {
			t.Fatalf("open %s: %v", e.serial, err)
		}
		if got := tr.Info().Serial; got != e.serial {
			t.Errorf("opened serial %q, want %q", got, e.serial)
		}
		// The printer itself (the emulator behind this device) answers
		// with its own serial number.
		if got := evolisQuery(ctx, t, tr, "Rsn"); got != e.serial {
			t.Errorf("printer %s answered Rsn with %q", e.serial, got)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("close %s: %v", e.serial, err)
		}
	}
	_, err := usb.Open(ctx, usb.Selector{VID: a.vid, PID: a.pid}, usb.Opts{})
	if err == nil || !strings.Contains(err.Error(), "identical") {
		t.Errorf("open without serial among identical printers: err %v, want an ambiguity error", err)
	}
	_, err = usb.Open(ctx, usb.Selector{VID: a.vid, PID: a.pid, Serial: "NO-SUCH"}, usb.Opts{})
	if !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("open of a missing serial: err %v, want ErrNoDevice", err)
	}
}

// openEvolis opens the printer of a role and wraps it in the Evolis driver.
func openEvolis(ctx context.Context, t *testing.T, e expected) (*usb.Transport, *evolis.Dev) {
	t.Helper()
	tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial}, usb.Opts{ReadTimeout: guestIO})
	if err != nil {
		t.Fatalf("open %s (%s): %v", e.role, e.serial, err)
	}
	t.Cleanup(func() { tr.Close() })
	o := evolis.DefaultOpts()
	o.Ribbon, o.Duplex, o.Compress = "ymcko", true, true
	o.CommandTimeout, o.PrintTimeout = guestIO, testwait.Limit()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return tr, evolis.New(tr, &o, log.With("printer", e.role))
}

// Case 2: a duplex YMCKO card printed through printer/usb with the Evolis
// driver. The host checks what the emulator decoded.
func TestGuestPrintDuplex(t *testing.T) {
	want := waitEnumerated(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	_, dev := openEvolis(ctx, t, want["a"])
	info, err := dev.Identify(ctx)
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	if info.Serial != want["a"].serial {
		t.Errorf("identify: serial %q, want %q", info.Serial, want["a"].serial)
	}
	start := time.Now()
	res, err := dev.Print(ctx, usbvm.SampleCard())
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("print: outcome %s, err %v", res.Outcome, err)
	}
	t.Logf("duplex YMCKO card printed over USB in %v", time.Since(start))
}

// Case 3: a fault injected into the emulator comes back through USB as
// the right status reason and sentinel error.
func TestGuestStatusFault(t *testing.T) {
	want := waitEnumerated(t)
	tests := []struct {
		role   string
		reason printer.Reason
		err    error
	}{
		{"cover", printer.ReasonCoverOpen, printer.ErrCoverOpen},
		{"ribbon", printer.ReasonRibbonOut, printer.ErrRibbonOut},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
			defer cancel()
			_, dev := openEvolis(ctx, t, want[tc.role])
			st, err := dev.Status(ctx)
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if !slices.Contains(st.Reasons, tc.reason) || !errors.Is(st.Err(), tc.err) {
				t.Fatalf("status reasons %v (err %v), want %s", st.Reasons, st.Err(), tc.reason)
			}
			res, err := dev.Print(ctx, usbvm.SampleCard())
			if !errors.Is(err, tc.err) || res.Outcome == printer.OutcomePrinted {
				t.Fatalf("print with %s: outcome %s err %v, want %v", tc.reason, res.Outcome, err, tc.err)
			}
			t.Logf("%s: status %v; print refused: outcome %s, %v", tc.role, st.Reasons, res.Outcome, err)
		})
	}
}

// Case 4: the printer drops off the bus in the middle of a card (the
// emulator's disconnect fault; the virtual device comes back 1.5 s later).
// The driver must report an unknown outcome, never success, and the same
// Transport must work again once the device is back.
func TestGuestUnplugMidCard(t *testing.T) {
	want := waitEnumerated(t)
	e := want["unplug"]
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	tr, dev := openEvolis(ctx, t, e)
	res, err := dev.Print(ctx, usbvm.SampleCard())
	if err == nil || res.Outcome == printer.OutcomePrinted {
		t.Fatalf("print across an unplug: outcome %s, err %v; want a failure", res.Outcome, err)
	}
	if res.Outcome != printer.OutcomeUnknown {
		t.Errorf("outcome %s, want %s", res.Outcome, printer.OutcomeUnknown)
	}
	if !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("err %v, want it to match printer.ErrNoDevice", err)
	}
	t.Logf("print across the unplug: outcome %s, %v", res.Outcome, err)

	lost := time.Now()
	var st printer.Status
	for {
		st, err = dev.Status(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, printer.ErrNoDevice) && !errors.Is(err, printer.ErrTimeout) {
			t.Fatalf("status while the device is away: %v (want ErrNoDevice until it is back)", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("device did not come back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("device back after %v (bus %d address %d); status %s %v", time.Since(lost), tr.Info().Bus, tr.Info().Address, st.State, st.Reasons)
	// The half-printed card is still inside: send it to the reject box,
	// clear, and print again.
	if err := dev.Eject(ctx, true); err != nil {
		t.Logf("reject the stuck card: %v", err)
	}
	if err := dev.ClearError(ctx); err != nil {
		t.Logf("clear error: %v", err)
	}
	res, err = dev.Print(ctx, usbvm.SampleCard())
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("print after the device came back: outcome %s, err %v", res.Outcome, err)
	}
}

// An idle read times out with ErrTimeout (libusb cancels the transfer and
// the virtual device answers the cancel), the transport still works after
// it, a second opener retries while the interface is claimed, and Close
// ends a read that is waiting.
func TestGuestReadTimeoutAndClose(t *testing.T) {
	want := waitEnumerated(t)
	e := want["b"]
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial}, usb.Opts{ReadTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	start := time.Now()
	if _, err := tr.Read(ctx, buf); !errors.Is(err, printer.ErrTimeout) {
		t.Fatalf("idle read: %v, want ErrTimeout", err)
	}
	// Never early; late only because the emulated machine is slow (logged).
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("idle read took %v, want about 300 ms", d)
	} else {
		t.Logf("idle read timed out after %v (300 ms asked)", d.Round(time.Millisecond))
	}
	if got := evolisQuery(ctx, t, tr, "Rtp"); got == "" {
		t.Errorf("Rtp after a timed-out read: empty reply")
	}
	rctx, rcancel := context.WithCancel(ctx)
	go func() { time.Sleep(200 * time.Millisecond); rcancel() }()
	if _, err := tr.Read(rctx, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v, want context.Canceled", err)
	}
	// A second opener finds the interface claimed and retries while busy;
	// it gets the printer once the first transport closes.
	type opened struct {
		tr  *usb.Transport
		err error
	}
	second := make(chan opened, 1)
	go func() {
		tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial},
			usb.Opts{ReadTimeout: time.Minute, ClaimInterval: 250 * time.Millisecond})
		second <- opened{tr, err}
	}()
	time.Sleep(time.Second)
	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	o := <-second
	if o.err != nil {
		t.Fatalf("open while busy, then free: %v", o.err)
	}
	tr2 := o.tr
	done := make(chan error, 1)
	go func() { _, err := tr2.Read(ctx, buf); done <- err }()
	time.Sleep(200 * time.Millisecond)
	start = time.Now()
	if err := tr2.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := testwait.Recv(t, "Close to end a waiting read", done); !errors.Is(err, usb.ErrClosed) {
		t.Errorf("read interrupted by Close: %v, want ErrClosed", err)
	}
}

// The Magicard printer has its bulk endpoints the other way round (IN
// 0x82, OUT 0x01): identify, poll and print one card through the Magicard
// driver. The host checks the card the emulator decoded.
func TestGuestMagicard(t *testing.T) {
	want := waitEnumerated(t)
	e := want["magicard"]
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit())
	defer cancel()
	tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial}, usb.Opts{ReadTimeout: guestIO})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if in, out := tr.Info().In, tr.Info().Out; in != e.in || out != e.out {
		t.Fatalf("endpoints in %#x out %#x, want %#x %#x", in, out, e.in, e.out)
	}
	o := magicard.DefaultOpts
	o.ReplyTimeout, o.PrintTimeout, o.PollInterval = guestIO, testwait.Limit(), 100*time.Millisecond
	dev := magicard.New(tr, &o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	info, err := dev.Identify(ctx)
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	st, err := dev.Status(ctx)
	if err != nil || st.Blocked() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	res, err := dev.Print(ctx, usbvm.SampleCard())
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("print: outcome %s, err %v", res.Outcome, err)
	}
	t.Logf("magicard: %s %s serial %s, state %s, card printed in %v", info.Vendor, info.Model, info.Serial, st.State, res.Duration)
}

// jobState finds the state line of "cardd jobs show".
var jobState = regexp.MustCompile(`(?m)^\s*state:\s+([a-z]+)`)

// Case 6: the daemon itself. "cardd run" in the guest, with its spool and
// state on the guest's tmpfs and one printer configured by USB serial,
// takes a job committed to its spool, prints it over USB and records it
// completed; it then shuts down cleanly on SIGTERM.
func TestGuestDaemon(t *testing.T) {
	want := waitEnumerated(t)
	e := want["daemon"]
	if _, err := os.Stat("/bin/cardd"); err != nil {
		t.Skip("cardd is not in the guest image")
	}
	work := t.TempDir()
	conf := filepath.Join(work, "cardd.toml")
	toml := fmt.Sprintf(`[station]
id = "usbvm"
mode = "temporary"

[paths]
spool = "spool"
state = "state"

[[printers]]
name = "usb-evolis"
driver = "evolis"
connection = "usb:%04x:%04x:%s"
ribbon = "ymcko"
duplex = true
poll_interval = "200ms"
io_timeout = "20s"

[http]
listen = ""

[security]
serial_station = "UVM"
`, e.vid, e.pid, e.serial)
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	daemon := exec.Command("/bin/cardd", "run", "--config", conf, "--log-format", "text")
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		daemon.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(testwait.Limit()):
			daemon.Process.Kill()
			return fmt.Errorf("daemon did not stop within %v of SIGTERM", testwait.Limit())
		}
	}
	defer func() {
		stop()
		t.Logf("daemon log:\n%s", logs.String())
	}()

	data, err := samples.Generate("temporary", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	job := &jobfile.Job{ID: "USBVM-0001", Template: "temporary", Mode: "temporary", Fields: data[0].Fields, Photo: "photo.jpg"}
	if _, err := spool.Submit(filepath.Join(work, "spool"), job, data[0].Photo); err != nil {
		t.Fatalf("submit: %v", err)
	}
	start := time.Now()
	var show []byte
	for {
		var err error
		show, err = exec.Command("/bin/cardd", "jobs", "show", "--config", conf, job.ID).CombinedOutput()
		s := string(show)
		var xerr *exec.ExitError
		if errors.As(err, &xerr) && xerr.ExitCode() == 2 {
			t.Fatalf("cardd jobs show: usage error:\n%s", s)
		}
		if m := jobState.FindStringSubmatch(s); m != nil {
			switch m[1] {
			case "completed":
			case "aborted", "held", "cancelled", "stopped":
				t.Fatalf("job %s is %s:\n%s", job.ID, m[1], s)
			}
			if m[1] == "completed" {
				break
			}
		}
		if time.Since(start) > testwait.Limit() {
			t.Fatalf("job not completed within %v:\n%s", testwait.Limit(), s)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("job completed over USB in %v:\n%s", time.Since(start), show)
	if err := stop(); err != nil {
		t.Errorf("daemon shutdown: %v", err)
	}
}
