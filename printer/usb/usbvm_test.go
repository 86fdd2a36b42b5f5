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
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/usb"
)

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
		deadline := start.Add(30 * time.Second)
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
				enumErr = errors.Join(errors.New("not every printer enumerated within 30 s"), err)
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, e := range []expected{a, b, a} {
		tr, err := usb.Open(ctx, usb.Selector{VID: e.vid, PID: e.pid, Serial: e.serial}, usb.Opts{ReadTimeout: 5 * time.Second})
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
