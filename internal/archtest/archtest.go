// Package archtest keeps the dependency arrows of cardd's architecture
// true. Its test lists the module's packages with "go list" and checks the
// rules below against their transitive (non-test) imports, and that every
// package but the USB transport, the station assembly and the command
// builds without cgo.
//
// The rules tolerate packages that do not exist yet: a rule about layout
// checks nothing until a layout package appears.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Package is what the checks need to know of one package, as "go list
// -json" reports it.
type Package struct {
	ImportPath string
	Deps       []string // transitive imports, tests excluded
	CgoFiles   []string
	Standard   bool // part of the standard library
	Error      *PackageError
	DepsErrors []*PackageError
}

// PackageError is a load error of a package.
type PackageError struct {
	Err string
}

// Rule forbids some packages to depend on others.
type Rule struct {
	// Packages are the module-relative patterns the rule applies to:
	// "config" for one package, "layout/..." for a tree, "..." for every
	// package of the module.
	Packages []string
	// Except are module-relative patterns exempt from the rule.
	Except []string
	// Forbid are patterns of packages they must not depend on, directly
	// or not: module-relative ("spool/...") or full import paths of
	// other modules ("github.com/google/gousb/..."). The pattern
	// "@module" stands for every other package of the module.
	Forbid []string
	// Why explains the rule in a failure message.
	Why string
}

// Rules returns the architecture's arrows (see the architecture guide).
func Rules() []Rule {
	return []Rule{
		{
			Packages: []string{"config"},
			Forbid:   []string{"@module"},
			Why:      "config imports no other package of the project",
		},
		{
			Packages: []string{"layout/..."},
			Forbid:   []string{"spool/...", "github.com/fsnotify/fsnotify/...", "github.com/google/gousb/..."},
			Why:      "layout turns a template and a job into a Card: no spool, no file watching, no USB",
		},
		{
			Packages: []string{"layout/portrait/..."},
			Forbid:   []string{"spool/...", "printer/...", "security/...", "station/...", "github.com/google/gousb/..."},
			Why:      "layout/portrait is pure computation on decoded photos: no spool, printer, security or station",
		},
		{
			Packages: []string{"security/..."},
			Forbid: []string{"spool/...", "layout/...", "printer/evolis/...", "printer/magicard/...",
				"printer/usb/...", "printer/tcp/...", "printer/emulator/...", "github.com/google/gousb/..."},
			Why: "security is pure computation plus the audit log: no spool, printer drivers, layout or USB",
		},
		{
			Packages: []string{"spool/..."},
			Forbid: []string{"layout/...", "printer/evolis/...", "printer/magicard/...", "printer/usb/...",
				"github.com/google/gousb/..."},
			Why: "spool talks to composing and printing through its own small interfaces, never to layout or a driver",
		},
		{
			Packages: []string{"config", "layout/...", "security/...", "spool/...", "printer/...", "web/...", "network/..."},
			Forbid:   []string{"station/...", "cmd/..."},
			Why:      "station assembles the parts; no part imports the assembly",
		},
		{
			Packages: []string{"network/..."},
			Forbid: []string{"layout/...", "printer/evolis/...", "printer/magicard/...", "printer/usb/...", "printer/tcp/...",
				"printer/emulator/...", "github.com/google/gousb/..."},
			Why: "the network moves requests, events and checkpoints between stations; composing and printing stay in the station",
		},
		{
			Packages: []string{"..."},
			Except:   []string{"printer/usb/...", "station/...", "cmd/cardd/..."},
			Forbid:   []string{"github.com/google/gousb/..."},
			Why:      "only printer/usb (and station and cmd/cardd, which wire it) may import gousb",
		},
	}
}

// CgoExempt returns the module-relative patterns of packages allowed to
// need cgo; every other package must build with CGO_ENABLED=0. station
// opens USB printers (printer/usb, on libusb through gousb) and cmd/cardd
// runs the station, so both need cgo through printer/usb.
func CgoExempt() []string { return []string{"printer/usb/...", "station/...", "cmd/cardd/..."} }

// match reports whether import path p matches pattern pat; module-relative
// patterns are taken under module.
func match(module, pat, p string) bool {
	if pat == "..." {
		return p == module || strings.HasPrefix(p, module+"/")
	}
	full := pat
	if !strings.Contains(strings.SplitN(pat, "/", 2)[0], ".") {
		full = module + "/" + pat
	}
	if tree, ok := strings.CutSuffix(full, "/..."); ok {
		return p == tree || strings.HasPrefix(p, tree+"/")
	}
	return p == full
}

func matchAny(module string, pats []string, p string) bool {
	for _, pat := range pats {
		if match(module, pat, p) {
			return true
		}
	}
	return false
}

// Violations checks rules against pkgs, the packages of module, and returns
// one line per broken arrow, sorted.
func Violations(module string, pkgs []Package, rules []Rule) []string {
	var out []string
	for _, r := range rules {
		for _, pkg := range pkgs {
			if !matchAny(module, r.Packages, pkg.ImportPath) || matchAny(module, r.Except, pkg.ImportPath) {
				continue
			}
			for _, dep := range pkg.Deps {
				bad := false
				for _, f := range r.Forbid {
					if f == "@module" {
						bad = bad || (match(module, "...", dep) && dep != pkg.ImportPath)
					} else {
						bad = bad || match(module, f, dep)
					}
				}
				if bad {
					out = append(out, fmt.Sprintf("%s depends on %s: %s", pkg.ImportPath, dep, r.Why))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// CgoViolations returns one line per package of module that needs cgo
// but is not exempt: it has cgo files of its own, or it depends on a
// package outside the standard library that has cgo files (the standard
// library's cgo packages have pure-Go fallbacks). all must hold the
// module's packages and their dependencies, as "go list -deps" lists them
// with cgo enabled.
func CgoViolations(module string, all []Package, exempt []string) []string {
	byPath := map[string]Package{}
	for _, p := range all {
		byPath[p.ImportPath] = p
	}
	var out []string
	for _, p := range all {
		if !match(module, "...", p.ImportPath) || matchAny(module, exempt, p.ImportPath) {
			continue
		}
		if len(p.CgoFiles) > 0 {
			out = append(out, fmt.Sprintf("%s has cgo files %v; only %v may use cgo", p.ImportPath, p.CgoFiles, exempt))
		}
		for _, d := range p.Deps {
			if dep, ok := byPath[d]; ok && !dep.Standard && len(dep.CgoFiles) > 0 {
				out = append(out, fmt.Sprintf("%s needs cgo through %s; only %v may use cgo", p.ImportPath, d, exempt))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Project returns the packages of module among pkgs.
func Project(module string, pkgs []Package) []Package {
	var out []Package
	for _, p := range pkgs {
		if match(module, "...", p.ImportPath) {
			out = append(out, p)
		}
	}
	return out
}

func loadErrors(p Package) string {
	var errs []string
	if p.Error != nil {
		errs = append(errs, p.Error.Err)
	}
	for _, e := range p.DepsErrors {
		errs = append(errs, e.Err)
	}
	sort.Strings(errs)
	return strings.Join(errs, "; ")
}

// List runs "go list -e -deps -json ./..." in dir with the extra
// environment env and decodes the packages: the module's and every one
// they depend on.
func List(goCmd, dir string, env []string) ([]Package, error) {
	cmd := exec.Command(goCmd, "list", "-e", "-deps", "-json=ImportPath,Deps,CgoFiles,Standard,Error,DepsErrors", "./...")
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w: %s", dir, err, stderr.String())
	}
	return decodePackages(out)
}

func decodePackages(data []byte) ([]Package, error) {
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var p Package
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// Build runs "go build" of pkgs in dir with the extra environment env and
// returns its combined output when it fails.
func Build(goCmd, dir string, env []string, pkgs []string) error {
	args := append([]string{"build", "-o", os.DevNull}, pkgs...)
	if len(pkgs) > 1 {
		// -o to a non-directory is refused for several packages; building
		// without writing is what "go build" does for several anyway.
		args = append([]string{"build"}, pkgs...)
	}
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}
