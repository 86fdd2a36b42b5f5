package usbvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrUnavailable reports that a tool or download the harness needs is
// missing; tests skip on it (outside CI).
var ErrUnavailable = errors.New("usbvm: unavailable")

// hostModules are the modules the guest needs for an xHCI host controller,
// in load order once their dependencies are resolved.
var hostModules = []string{"usb-common", "usbcore", "xhci-hcd", "xhci-pci"}

// Kernel is an unpacked guest kernel with the USB host modules.
type Kernel struct {
	Package string   // Debian package name, e.g. linux-image-6.1.0-56-amd64
	Vmlinux string   // path of the uncompressed kernel image
	Modules []string // paths of the decompressed .ko files, in load order
}

// kernelPackage asks apt which kernel package linux-image-amd64 depends on.
func kernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("%w: apt-cache depends linux-image-amd64: %v", ErrUnavailable, err)
	}
	m := regexp.MustCompile(`Depends: (linux-image-[0-9][^\s]*)`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%w: no kernel package in apt-cache depends output %q", ErrUnavailable, out)
	}
	return string(m[1]), nil
}

// PrepareKernel downloads (once) the Debian kernel package, extracts its
// uncompressed vmlinux and the USB host modules into cacheDir, and returns
// them. Later calls reuse the cache.
func PrepareKernel(ctx context.Context, cacheDir string) (*Kernel, error) {
	pkg, err := kernelPackage(ctx)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Package: pkg}
	dir := filepath.Join(cacheDir, "kernel", pkg)
	k.Vmlinux = filepath.Join(dir, "vmlinux")
	order := filepath.Join(dir, "modules.order")
	if b, err := os.ReadFile(order); err == nil {
		if _, err := os.Stat(k.Vmlinux); err == nil {
			for _, m := range strings.Fields(string(b)) {
				k.Modules = append(k.Modules, filepath.Join(dir, m))
			}
			return k, nil
		}
	}
	deb, err := downloadDeb(ctx, filepath.Join(cacheDir, "deb"), pkg)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cacheDir, "unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: dpkg-deb -x %s: %v: %s", ErrUnavailable, deb, err, out)
	}
	stage, err := os.MkdirTemp(cacheDir, "kernel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	bz, err := filepath.Glob(filepath.Join(tmp, "boot", "vmlinuz-*"))
	if err != nil || len(bz) != 1 {
		return nil, fmt.Errorf("usbvm: %s: want one boot/vmlinuz-*, found %v", deb, bz)
	}
	if err := extractVmlinux(ctx, bz[0], filepath.Join(stage, "vmlinux")); err != nil {
		return nil, err
	}
	mods, err := resolveModules(ctx, tmp, hostModules)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range mods {
		data, err := readModule(ctx, m)
		if err != nil {
			return nil, err
		}
		name := moduleName(m) + ".ko"
		if err := os.WriteFile(filepath.Join(stage, name), data, 0o644); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	if err := os.WriteFile(filepath.Join(stage, "modules.order"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(stage, dir); err != nil {
		return nil, err
	}
	for _, n := range names {
		k.Modules = append(k.Modules, filepath.Join(dir, n))
	}
	return k, nil
}

// downloadDeb returns the cached .deb of pkg, fetching it with apt-get
// download when absent.
func downloadDeb(ctx context.Context, dir, pkg string) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(m) > 0 {
		return m[len(m)-1], nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: apt-get download %s: %v: %s", ErrUnavailable, pkg, err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("%w: apt-get download %s left no .deb in %s", ErrUnavailable, pkg, dir)
	}
	return m[len(m)-1], nil
}

// xzMagic starts an XZ stream.
var xzMagic = []byte("\xfd7zXZ\x00")

// extractVmlinux finds the XZ payload inside a bzImage and decompresses it:
// QEMU boots the result directly, saving the decompression under emulation.
func extractVmlinux(ctx context.Context, bzImage, dst string) error {
	b, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	i := bytes.Index(b, xzMagic)
	if i < 0 {
		return fmt.Errorf("usbvm: %s has no XZ payload", bzImage)
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(b[i:]), out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: xz -dc %s payload: %v: %s", ErrUnavailable, bzImage, err, stderr.Bytes())
	}
	return out.Close()
}

// moduleName returns a module's name from its file name.
func moduleName(p string) string {
	b := filepath.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, ext)
	}
	return strings.TrimSuffix(b, ".ko")
}

func normModule(n string) string { return strings.ReplaceAll(n, "-", "_") }

// resolveModules finds the named modules under root/lib/modules and their
// dependencies (read from each module's depends= entry, since the package
// has no modules.dep), and returns them in load order.
func resolveModules(ctx context.Context, root string, want []string) ([]string, error) {
	byName := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "lib", "modules"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			byName[normModule(moduleName(p))] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usbvm: walk modules: %w", err)
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		n = normModule(n)
		switch state[n] {
		case 1:
			return fmt.Errorf("usbvm: module dependency cycle at %s", n)
		case 2:
			return nil
		}
		p, ok := byName[n]
		if !ok {
			return fmt.Errorf("usbvm: module %s not in the kernel package", n)
		}
		state[n] = 1
		data, err := readModule(ctx, p)
		if err != nil {
			return err
		}
		for _, dep := range moduleDepends(data) {
			if err := visit(dep); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range want {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// readModule returns a module's bytes, decompressing .ko.xz.
func readModule(ctx context.Context, p string) ([]byte, error) {
	if strings.HasSuffix(p, ".xz") {
		out, err := exec.CommandContext(ctx, "xz", "-dc", p).Output()
		if err != nil {
			return nil, fmt.Errorf("%w: xz -dc %s: %v", ErrUnavailable, p, err)
		}
		return out, nil
	}
	if strings.HasSuffix(p, ".zst") || strings.HasSuffix(p, ".gz") {
		return nil, fmt.Errorf("usbvm: %s: compression not supported", p)
	}
	return os.ReadFile(p)
}

// moduleDepends reads the depends= entry of a module's .modinfo strings.
func moduleDepends(ko []byte) []string {
	i := bytes.Index(ko, []byte("\x00depends="))
	if i < 0 {
		return nil
	}
	rest := ko[i+len("\x00depends="):]
	if j := bytes.IndexByte(rest, 0); j >= 0 {
		rest = rest[:j]
	}
	var deps []string
	for _, d := range strings.Split(string(rest), ",") {
		if d = strings.TrimSpace(d); d != "" {
			deps = append(deps, d)
		}
	}
	return deps
}
