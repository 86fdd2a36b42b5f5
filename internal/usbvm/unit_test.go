package usbvm

import (
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readNewc parses a newc cpio archive into name → (mode, data).
func readNewc(t *testing.T, b []byte) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	for len(b) > 0 {
		if len(b) < 110 || string(b[:6]) != "070701" {
			t.Fatalf("bad newc header at %q", b[:min(len(b), 16)])
		}
		field := func(i int) int {
			n, err := strconv.ParseUint(string(b[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(b[110 : 110+nameLen-1])
		off := (110 + nameLen + 3) &^ 3
		data := b[off : off+size]
		b = b[(off+size+3)&^3:]
		if name == "TRAILER!!!" {
			if len(bytes.Trim(b, "\x00")) != 0 {
				t.Fatalf("%d bytes after the trailer", len(b))
			}
			break
		}
		out[name] = entry{mode: uint32(mode), data: append([]byte(nil), data...)}
	}
	return out
}

func TestArchive(t *testing.T) {
	t.Parallel()
	a := newArchive()
	a.add("/bin/busybox", 0o755, []byte("BB"))
	a.add("lib/x86_64-linux-gnu/libusb-1.0.so.0", 0o755, []byte("libusb"))
	a.symlink("bin/sh", "busybox")
	a.dir("proc")
	a.add("init", 0o755, []byte("#!/bin/busybox sh\n"))
	gz, err := a.gzipCpio()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got := readNewc(t, raw)
	want := map[string]entry{
		"bin":                                  {mode: modeDir | 0o755},
		"bin/busybox":                          {mode: modeFile | 0o755, data: []byte("BB")},
		"bin/sh":                               {mode: modeSymlink | 0o777, data: []byte("busybox")},
		"init":                                 {mode: modeFile | 0o755, data: []byte("#!/bin/busybox sh\n")},
		"lib":                                  {mode: modeDir | 0o755},
		"lib/x86_64-linux-gnu":                 {mode: modeDir | 0o755},
		"lib/x86_64-linux-gnu/libusb-1.0.so.0": {mode: modeFile | 0o755, data: []byte("libusb")},
		"proc":                                 {mode: modeDir | 0o755},
	}
	for n, e := range want {
		g, ok := got[n]
		if !ok || g.mode != e.mode || !bytes.Equal(g.data, e.data) {
			t.Errorf("%s: got mode %o data %q (present %v), want %o %q", n, g.mode, g.data, ok, e.mode, e.data)
		}
	}
	if len(got) != len(want) {
		t.Errorf("archive has %d entries, want %d", len(got), len(want))
	}
	// Same inputs, same bytes (the cache key relies on it).
	gz2, _ := a.gzipCpio()
	if !bytes.Equal(gz, gz2) {
		t.Error("archive is not deterministic")
	}
	// Cross-check with the cpio tool where it is installed.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-it", "--quiet")
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -it: %v", err)
		}
		if n := len(strings.Fields(string(out))); n != len(want) {
			t.Errorf("cpio -it lists %d entries, want %d:\n%s", n, len(want), out)
		}
	}
}

func TestModuleDepends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"\x00license=GPL\x00depends=xhci-hcd,usbcore\x00vermagic=6.1\x00", []string{"xhci-hcd", "usbcore"}},
		{"\x00depends=\x00", nil},
		{"no modinfo", nil},
	}
	for _, tc := range tests {
		if got := moduleDepends([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("moduleDepends(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]string{"/x/xhci-pci.ko": "xhci-pci", "usb-common.ko.xz": "usb-common", "a.ko.zst": "a"} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseConsole(t *testing.T) {
	t.Parallel()
	console := "[    0.1] boot\nUSBVM-START\n=== RUN   TestGuestList\n--- PASS: TestGuestList (1.42s)\n" +
		"    --- FAIL: TestGuestStatusFault/cover (0.51s)\n--- SKIP: TestGuestCarddPrintersList (0.00s)\r\nUSBVM-EXIT 1\n[ 9.9] reboot: Power down\n"
	got := ParseTestLog(console)
	want := []TestCase{
		{Name: "TestGuestList", Status: "PASS", Duration: 1420 * time.Millisecond},
		{Name: "TestGuestStatusFault/cover", Status: "FAIL", Duration: 510 * time.Millisecond},
		{Name: "TestGuestCarddPrintersList", Status: "SKIP"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTestLog = %+v, want %+v", got, want)
	}
	if n := exitStatus(console); n != 1 {
		t.Errorf("exitStatus = %d, want 1", n)
	}
	if n := exitStatus("kernel panic"); n != -1 {
		t.Errorf("exitStatus without marker = %d, want -1", n)
	}
}

func TestInitScriptAndArgs(t *testing.T) {
	t.Parallel()
	k := &Kernel{Vmlinux: "/c/vmlinux", Modules: []string{"/c/usb-common.ko", "/c/usbcore.ko", "/c/xhci-hcd.ko", "/c/xhci-pci.ko"}}
	s := initScript(k, Payload{Env: map[string]string{"B": "it's", "A": "1"}, Script: "/bin/usb.test -test.v"})
	order := []string{"mount -t devtmpfs", "insmod /lib/modules/usb-common.ko", "insmod /lib/modules/usbcore.ko",
		"insmod /lib/modules/xhci-hcd.ko", "insmod /lib/modules/xhci-pci.ko", "export A='1'", `export B='it'\''s'`,
		markerStart, "/bin/usb.test -test.v", markerExit, "poweroff -f"}
	pos := 0
	for _, w := range order {
		i := strings.Index(s[pos:], w)
		if i < 0 {
			t.Fatalf("init script lacks %q after byte %d:\n%s", w, pos, s)
		}
		pos += i + len(w)
	}
	args := strings.Join(VM{Kernel: "/c/vmlinux", Initrd: "/c/i.gz", Sockets: []string{"/s/0", "/s/1"}}.Args(), " ")
	for _, w := range []string{"-accel tcg", "-kernel /c/vmlinux", "-initrd /c/i.gz", "qemu-xhci",
		"socket,id=ur0,path=/s/0", "usb-redir,chardev=ur1,id=redir1,bus=usbhc.0", "console=ttyS0"} {
		if !strings.Contains(args, w) {
			t.Errorf("qemu args lack %q: %s", w, args)
		}
	}
}
