package usbvm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Payload is what the guest runs.
type Payload struct {
	// Binaries maps a guest path ("/bin/usb.test") to the host file to copy
	// there. Their shared libraries (as ldd lists them) are added too.
	Binaries map[string]string
	// Env is exported before Script runs.
	Env map[string]string
	// Script is the shell (busybox sh) run by /init once the USB host
	// modules are loaded; its exit status is reported on the console.
	Script string
}

// Console markers /init prints; the launcher parses them.
const (
	markerStart = "USBVM-START"
	markerExit  = "USBVM-EXIT "
)

// busyboxPath is where Debian's busybox-static installs its binary.
const busyboxPath = "/bin/busybox"

// initScript returns /init: mount the pseudo file systems, load the USB host
// modules, run the payload, report its status, power off.
func initScript(k *Kernel, p Payload) string {
	var b strings.Builder
	b.WriteString("#!/bin/busybox sh\n")
	b.WriteString("/bin/busybox --install -s /bin\nexport PATH=/bin\n")
	b.WriteString("mkdir -p /proc /sys /dev /tmp /run\n")
	b.WriteString("mount -t proc proc /proc\nmount -t sysfs sysfs /sys\n")
	b.WriteString("mount -t devtmpfs devtmpfs /dev\nmount -t tmpfs tmpfs /tmp\n")
	for _, m := range k.Modules {
		fmt.Fprintf(&b, "insmod /lib/modules/%s || echo 'USBVM: insmod %s failed'\n", filepath.Base(m), filepath.Base(m))
	}
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(p.Env[k], "'", `'\''`))
	}
	b.WriteString("cd /tmp\necho " + markerStart + "\n")
	b.WriteString("(\n" + p.Script + "\n)\n")
	b.WriteString("echo \"" + markerExit + "$?\"\n")
	b.WriteString("poweroff -f\n")
	return b.String()
}

// BuildInitramfs builds (or takes from cacheDir) the gzip-compressed newc
// initramfs holding static busybox, the kernel's USB host modules, the
// payload binaries and their shared libraries, and /init. The cache key is
// a hash of every input file's path and contents and of /init.
func BuildInitramfs(ctx context.Context, cacheDir string, k *Kernel, p Payload) (string, error) {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return "", fmt.Errorf("%w: busybox-static not installed: %v", ErrUnavailable, err)
	}
	if isDynamic(ctx, busyboxPath) {
		return "", fmt.Errorf("%w: %s is dynamically linked; install busybox-static", ErrUnavailable, busyboxPath)
	}
	a := newArchive()
	a.add("bin/busybox", 0o755, bb)
	a.add("init", 0o755, []byte(initScript(k, p)))
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run"} {
		a.dir(d)
	}
	for _, m := range k.Modules {
		data, err := os.ReadFile(m)
		if err != nil {
			return "", fmt.Errorf("usbvm: module: %w", err)
		}
		a.add("lib/modules/"+filepath.Base(m), 0o644, data)
	}
	guests := make([]string, 0, len(p.Binaries))
	for g := range p.Binaries {
		guests = append(guests, g)
	}
	sort.Strings(guests)
	libs := map[string]bool{}
	for _, g := range guests {
		host := p.Binaries[g]
		data, err := os.ReadFile(host)
		if err != nil {
			return "", fmt.Errorf("usbvm: payload %s: %w", g, err)
		}
		a.add(g, 0o755, data)
		deps, err := sharedLibs(ctx, host)
		if err != nil {
			return "", err
		}
		for _, l := range deps {
			libs[l] = true
		}
	}
	for l := range libs {
		data, err := os.ReadFile(l) // follows symlinks: the real library lands at the path the loader asks for
		if err != nil {
			return "", fmt.Errorf("usbvm: shared library: %w", err)
		}
		a.add(l, 0o755, data)
	}
	h := sha256.New()
	names := make([]string, 0, len(a.files))
	for n := range a.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := a.files[n]
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", n, e.mode, len(e.data))
		h.Write(e.data)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(cacheDir, "initrd-"+key+".gz")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	gz, err := a.gzipCpio()
	if err != nil {
		return "", fmt.Errorf("usbvm: initramfs: %w", err)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	pruneInitrds(cacheDir, 8)
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, gz, 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// pruneInitrds keeps at most keep-1 older initramfs files in dir.
func pruneInitrds(dir string, keep int) {
	m, _ := filepath.Glob(filepath.Join(dir, "initrd-*.gz"))
	if len(m) < keep {
		return
	}
	sort.Slice(m, func(i, j int) bool {
		a, _ := os.Stat(m[i])
		b, _ := os.Stat(m[j])
		return a != nil && b != nil && a.ModTime().Before(b.ModTime())
	})
	for _, f := range m[:len(m)-keep+1] {
		os.Remove(f)
	}
}

func isDynamic(ctx context.Context, bin string) bool {
	libs, err := sharedLibs(ctx, bin)
	return err == nil && len(libs) > 0
}

// lddLine matches "libx.so.1 => /lib/.../libx.so.1 (0x…)" and
// "/lib64/ld-linux-x86-64.so.2 (0x…)".
var lddLine = regexp.MustCompile(`^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// sharedLibs lists the shared libraries ldd reports for bin (none for a
// static binary).
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) || bytes.Contains(out, []byte("statically linked")) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: ldd %s: %v: %s", ErrUnavailable, bin, err, out)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := lddLine.FindStringSubmatch(sc.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}
