package archtest

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// goTool finds the go command the test runs under.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("no go command on PATH or in GOROOT: %v", err)
	}
	return p
}

// moduleRoot returns the module's directory and path.
func moduleRoot(t *testing.T, goCmd string) (dir, module string) {
	t.Helper()
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatal("not inside a Go module")
	}
	dir = filepath.Dir(gomod)
	cmd := exec.Command(goCmd, "list", "-m")
	cmd.Dir = dir
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return dir, strings.TrimSpace(string(out))
}

func TestArchitecture(t *testing.T) {
	goCmd := goTool(t)
	dir, module := moduleRoot(t, goCmd)
	all, err := List(goCmd, dir, []string{"CGO_ENABLED=1"})
	if err != nil {
		t.Fatal(err)
	}
	project := Project(module, all)
	for _, r := range Rules() {
		n := 0
		for _, p := range project {
			if matchAny(module, r.Packages, p.ImportPath) && !matchAny(module, r.Except, p.ImportPath) {
				n++
			}
		}
		t.Logf("rule %v: %d package(s) checked", r.Packages, n)
	}
	if _, ok := find(project, module+"/config"); !ok {
		t.Errorf("package %s/config not found: the rule about it checks nothing", module)
	}
	for _, v := range Violations(module, project, Rules()) {
		t.Error(v)
	}
	for _, v := range CgoViolations(module, all, CgoExempt()) {
		t.Error(v)
	}
}

// TestBuildsWithoutCgo builds every package that is not exempt with
// CGO_ENABLED=0. A package that fails only without cgo breaks the rule; one
// that fails either way does not compile at all (go vet reports that), so
// the check is then inconclusive and says so.
func TestBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every package without cgo; skipped with -short")
	}
	goCmd := goTool(t)
	dir, module := moduleRoot(t, goCmd)
	all, err := List(goCmd, dir, []string{"CGO_ENABLED=1"})
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, p := range Project(module, all) {
		if !matchAny(module, CgoExempt(), p.ImportPath) {
			pkgs = append(pkgs, p.ImportPath)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no packages to build")
	}
	errNoCgo := Build(goCmd, dir, []string{"CGO_ENABLED=0"}, pkgs)
	if errNoCgo == nil {
		t.Logf("%d packages build with CGO_ENABLED=0", len(pkgs))
		return
	}
	if errCgo := Build(goCmd, dir, []string{"CGO_ENABLED=1"}, pkgs); errCgo != nil {
		t.Logf("inconclusive: the packages do not compile even with cgo:\n%v", errCgo)
		return
	}
	t.Errorf("packages build with cgo but not with CGO_ENABLED=0 (only %v may need cgo):\n%v", CgoExempt(), errNoCgo)
}

func find(pkgs []Package, path string) (Package, bool) {
	for _, p := range pkgs {
		if p.ImportPath == path {
			return p, true
		}
	}
	return Package{}, false
}

// TestViolations shows the checker catches each kind of broken arrow on a
// made-up module.
func TestViolations(t *testing.T) {
	const m = "example.com/x"
	gousb := "github.com/google/gousb"
	pkgs := []Package{
		{ImportPath: m + "/config", Deps: []string{"fmt", m + "/config/internal", m + "/printer"}},
		{ImportPath: m + "/config/internal"},
		{ImportPath: m + "/layout", Deps: []string{m + "/printer", "github.com/fsnotify/fsnotify"}},
		{ImportPath: m + "/layout/text", Deps: []string{m + "/spool/queue"}},
		{ImportPath: m + "/security", Deps: []string{m + "/printer", "crypto/ed25519"}},
		{ImportPath: m + "/security/audit", Deps: []string{m + "/printer/evolis"}},
		{ImportPath: m + "/spool", Deps: []string{m + "/printer", m + "/printer/emulator", m + "/printer/magicard"}},
		{ImportPath: m + "/printer/usb", Deps: []string{gousb}},
		{ImportPath: m + "/printer/usb/vmtest", Deps: []string{m + "/printer/usb", gousb}},
		{ImportPath: m + "/cmd/cardd", Deps: []string{m + "/printer/usb", gousb}},
		{ImportPath: m + "/printer/tcp", Deps: []string{gousb + "/usbid"}},
		{ImportPath: m + "/printerx", Deps: []string{m + "/layoutx", m + "/spoolx"}}, // prefixes are not trees
		{ImportPath: m + "/station", Deps: []string{m + "/spool", m + "/layout", m + "/printer/usb", gousb}},
		{ImportPath: m + "/web", Deps: []string{m + "/station"}},
	}
	got := Violations(m, pkgs, Rules())
	want := []string{
		m + "/config depends on example.com/x/config/internal: config imports no other package of the project",
		m + "/config depends on example.com/x/printer: config imports no other package of the project",
		m + "/layout depends on github.com/fsnotify/fsnotify: layout turns a template and a job into a Card: no spool, no file watching, no USB",
		m + "/layout/text depends on example.com/x/spool/queue: layout turns a template and a job into a Card: no spool, no file watching, no USB",
		m + "/printer/tcp depends on github.com/google/gousb/usbid: only printer/usb (and station and cmd/cardd, which wire it) may import gousb",
		m + "/security/audit depends on example.com/x/printer/evolis: security is pure computation plus the audit log: no spool, printer drivers, layout or USB",
		m + "/spool depends on example.com/x/printer/magicard: spool talks to composing and printing through its own small interfaces, never to layout or a driver",
		m + "/web depends on example.com/x/station: station assembles the parts; no part imports the assembly",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Violations:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestCgoViolations(t *testing.T) {
	const m = "example.com/x"
	gousb := "github.com/google/gousb"
	all := []Package{
		{ImportPath: m + "/printer/usb", Deps: []string{gousb, "net"}},
		{ImportPath: m + "/printer/usb/vmtest", Deps: []string{m + "/printer/usb", gousb}},
		{ImportPath: m + "/cmd/cardd", Deps: []string{m + "/printer/usb", gousb}},
		{ImportPath: m + "/station", Deps: []string{m + "/printer/usb", gousb}},
		{ImportPath: m + "/layout", CgoFiles: []string{"fast.go"}},
		{ImportPath: m + "/spool", Deps: []string{m + "/spool/wire", gousb}},
		{ImportPath: m + "/spool/wire", Deps: []string{"net", "os/user"}},
		{ImportPath: gousb, CgoFiles: []string{"libusb.go"}},
		{ImportPath: "net", Standard: true, CgoFiles: []string{"cgo_unix.go"}},
		{ImportPath: "os/user", Standard: true, CgoFiles: []string{"cgo_lookup.go"}},
	}
	got := CgoViolations(m, all, CgoExempt())
	want := []string{
		m + "/layout has cgo files [fast.go]; only [printer/usb/... station/... cmd/cardd/...] may use cgo",
		m + "/spool needs cgo through github.com/google/gousb; only [printer/usb/... station/... cmd/cardd/...] may use cgo",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CgoViolations:\n got %q\nwant %q", got, want)
	}
	if p := Project(m, all); len(p) != 7 {
		t.Errorf("Project kept %d packages, want the module's 7", len(p))
	}
}

func TestMatch(t *testing.T) {
	const m = "example.com/x"
	tests := []struct {
		pat, path string
		want      bool
	}{
		{"config", m + "/config", true},
		{"config", m + "/config/sub", false},
		{"layout/...", m + "/layout", true},
		{"layout/...", m + "/layout/text", true},
		{"layout/...", m + "/layoutx", false},
		{"...", m, true},
		{"...", m + "/a/b", true},
		{"...", "example.com/xy", false},
		{"github.com/google/gousb/...", "github.com/google/gousb", true},
		{"github.com/google/gousb/...", "github.com/google/gousb/usbid", true},
		{"github.com/google/gousb/...", "github.com/google/gousbx", false},
	}
	for _, tt := range tests {
		if got := match(m, tt.pat, tt.path); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pat, tt.path, got, tt.want)
		}
	}
}

func TestDecodePackages(t *testing.T) {
	data := []byte(`{"ImportPath":"a","Deps":["fmt"]}
{"ImportPath":"b","CgoFiles":["c.go"],"Error":{"Err":"bad"},"DepsErrors":[{"Err":"worse"}]}
`)
	got, err := decodePackages(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Deps[0] != "fmt" || got[1].Error.Err != "bad" || got[1].DepsErrors[0].Err != "worse" {
		t.Errorf("decodePackages = %+v", got)
	}
	if _, err := decodePackages([]byte(`{"ImportPath":`)); err == nil {
		t.Error("truncated JSON decoded without error")
	}
}
