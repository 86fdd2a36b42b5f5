package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
)

// newTestDoctor returns a doctor with a fixed clock and no outside world.
func newTestDoctor() *doctor {
	return &doctor{
		now:       func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) },
		buildTime: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		probe:     func(context.Context, *config.Printer) (string, error) { return "idle", nil },
		statfs:    func(string) (diskUsage, error) { return diskUsage{free: 50 << 30, total: 100 << 30}, nil },
		timeout:   time.Second,
	}
}

func mkdir(t *testing.T, path string, perm os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func assertCheck(t *testing.T, r checkResult, level checkLevel, detail string) {
	t.Helper()
	if r.level != level || !strings.Contains(r.detail, detail) {
		t.Errorf("%s: %s %q (fix %q); want %s containing %q", r.name, r.level, r.detail, r.fix, level, detail)
	}
	if r.level != levelOK && r.fix == "" && r.name != "disk" {
		t.Errorf("%s: %s without a fix", r.name, r.level)
	}
}

func TestDoctorSpool(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) string
		level  checkLevel
		detail string
	}{
		{"good", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "incoming"), 0o770)
			mkdir(t, filepath.Join(s, "active"), 0o700)
			return s
		}, levelOK, "writable"},
		{"missing, parent writable", func(t *testing.T, dir string) string { return filepath.Join(dir, "spool") }, levelWarn, "is missing (not created yet)"},
		{"missing parent", func(t *testing.T, dir string) string { return filepath.Join(dir, "no", "spool") }, levelFail, "is missing, and so is its parent"},
		{"world-writable", func(t *testing.T, dir string) string { return mkdir(t, filepath.Join(dir, "spool"), 0o777) }, levelFail, "writable by everyone"},
		{"open to others", func(t *testing.T, dir string) string { return mkdir(t, filepath.Join(dir, "spool"), 0o755) }, levelWarn, "open to others"},
		{"a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "spool")
			os.WriteFile(p, nil, 0o600)
			return p
		}, levelFail, "not a directory"},
		{"a symlink", func(t *testing.T, dir string) string {
			real := mkdir(t, filepath.Join(dir, "real"), 0o750)
			p := filepath.Join(dir, "spool")
			if err := os.Symlink(real, p); err != nil {
				t.Fatal(err)
			}
			return p
		}, levelFail, "symbolic link"},
		{"incoming world-writable", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "incoming"), 0o777)
			return s
		}, levelFail, "writable by everyone"},
		{"incoming not group-writable", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "incoming"), 0o700)
			return s
		}, levelWarn, "usable"},
		{"done open to group", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "done"), 0o750)
			return s
		}, levelWarn, "usable"},
		{"held writable by group", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "held"), 0o770)
			return s
		}, levelFail, "others can write"},
		{"fresh spool made by the daemon", func(t *testing.T, dir string) string {
			s := filepath.Join(dir, "spool")
			sp, err := spool.Open(s, spool.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sp.Close()
			return s
		}, levelOK, "writable"},
		{"control not group-writable", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "control"), 0o750)
			return s
		}, levelWarn, "usable"},
		{"control world-writable", func(t *testing.T, dir string) string {
			s := mkdir(t, filepath.Join(dir, "spool"), 0o750)
			mkdir(t, filepath.Join(s, "control"), 0o777)
			return s
		}, levelFail, "writable by everyone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			r := newTestDoctor().checkSpool(dir)
			assertCheck(t, r, tt.level, tt.detail)
			if tt.level == levelFail && strings.Contains(tt.detail, "missing") && !strings.Contains(r.fix, "mkdir -p "+dir) {
				t.Errorf("a missing directory's fix %q does not say how to create it", r.fix)
			}
			if strings.Contains(tt.detail, "missing") && strings.Contains(r.detail, "not writable") {
				t.Errorf("a missing directory called not writable: %q", r.detail)
			}
		})
	}
}

func TestDoctorStateDir(t *testing.T) {
	d := newTestDoctor()
	dir := t.TempDir()
	assertCheck(t, d.checkStateDir(mkdir(t, filepath.Join(dir, "state"), 0o750)), levelOK, "writable")
	assertCheck(t, d.checkStateDir(mkdir(t, filepath.Join(dir, "open"), 0o757)), levelFail, "writable by everyone")
}

// writeKey writes an Ed25519 key pair into dir and returns the private
// key's path and kid.
func writeKey(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := security.WriteKeyPair(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, security.PrivateKeyFile), kid.String()
}

func TestDoctorSigningKey(t *testing.T) {
	dir := t.TempDir()
	good, kid := writeKey(t, filepath.Join(dir, "good"))
	loose, _ := writeKey(t, filepath.Join(dir, "loose"))
	os.Chmod(loose, 0o640)
	garbage := filepath.Join(dir, "garbage.key")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	tests := []struct {
		name, path string
		level      checkLevel
		detail     string
	}{
		{"good", good, levelOK, kid},
		{"group-readable", loose, levelFail, "readable by group or others"},
		{"missing", filepath.Join(dir, "none.key"), levelFail, "does not exist"},
		{"garbage", garbage, levelFail, "PRIVATE KEY"},
		{"not configured", "", levelFail, "no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, gotKid := newTestDoctor().checkSigningKey(tt.path)
			assertCheck(t, r, tt.level, tt.detail)
			if (tt.level == levelOK) != (gotKid == kid) {
				t.Errorf("kid %q", gotKid)
			}
		})
	}
}

func TestDoctorTrustAndDenyLists(t *testing.T) {
	dir := t.TempDir()
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := security.KeyIDOf(key.Public())
	entry, err := security.NewTrustEntry("urn:cardd:test", key.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := security.MarshalTrustList([]security.TrustEntry{entry})
	trust := writeFile(t, dir, "trust.json", string(tl))
	empty := writeFile(t, dir, "empty.json", `{"keys": []}`)
	bad := writeFile(t, dir, "bad.json", `{"keys": [{"issuer": "x", "kid": "00", "public_key": "nope"}]}`)
	deny := writeFile(t, dir, "deny.json", `{"serials": ["A-1", "B-2"]}`)
	badDeny := writeFile(t, dir, "baddeny.json", `[1, 2]`)
	d := newTestDoctor()
	for _, tt := range []struct {
		name   string
		r      checkResult
		level  checkLevel
		detail string
	}{
		{"trust has our key", d.checkTrustList(trust, "urn:cardd:test", kid.String()), levelOK, "1 key(s)"},
		{"trust lacks our key", d.checkTrustList(trust, "urn:cardd:test", "0011223344556677"), levelWarn, "lacks this station's key"},
		{"trust lacks our issuer", d.checkTrustList(trust, "urn:cardd:other", kid.String()), levelWarn, "lacks this station's key"},
		{"trust empty", d.checkTrustList(empty, "urn:cardd:test", ""), levelFail, "has no keys"},
		{"trust invalid", d.checkTrustList(bad, "urn:cardd:test", ""), levelFail, "trust list entry 0"},
		{"trust missing", d.checkTrustList(filepath.Join(dir, "none.json"), "urn:cardd:test", ""), levelFail, "no such file"},
		{"deny ok", d.checkDenyList(deny), levelOK, "2 revoked"},
		{"deny missing", d.checkDenyList(filepath.Join(dir, "none.json")), levelOK, "does not exist yet"},
		{"deny invalid", d.checkDenyList(badDeny), levelFail, "deny list"},
	} {
		t.Run(tt.name, func(t *testing.T) { assertCheck(t, tt.r, tt.level, tt.detail) })
	}
}

func TestDoctorTemplates(t *testing.T) {
	dir := t.TempDir()
	full := mkdir(t, filepath.Join(dir, "full"), 0o755)
	writeFile(t, full, "temporary.toml", "name = \"temporary\"\n")
	emptyDir := mkdir(t, filepath.Join(dir, "empty"), 0o755)
	d := newTestDoctor()
	assertCheck(t, d.checkTemplates(full), levelOK, "1 template file(s)")
	assertCheck(t, d.checkTemplates(emptyDir), levelWarn, "has no templates")
	assertCheck(t, d.checkTemplates(filepath.Join(dir, "none")), levelWarn, "does not exist")
	assertCheck(t, d.checkTemplates(""), levelOK, "built-in templates only")
}

func TestDoctorUdev(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "99-cardd.rules", "# rules\n")
	usb := []config.Printer{{Name: "a", Connection: "emulator"}, {Name: "b", Connection: "usb:0f49:1234"}}
	d := newTestDoctor()
	d.udevRules = []string{filepath.Join(dir, "missing.rules"), rules}
	if r, ok := d.checkUdev(usb); !ok {
		t.Error("no udev check for a USB printer")
	} else {
		assertCheck(t, r, levelOK, rules)
	}
	d.udevRules = []string{filepath.Join(dir, "missing.rules")}
	if r, ok := d.checkUdev(usb); ok {
		assertCheck(t, r, levelWarn, "may not be allowed")
	}
	if _, ok := d.checkUdev(usb[:1]); ok {
		t.Error("udev check without any USB printer")
	}
}

func TestDoctorPrinter(t *testing.T) {
	p := &config.Printer{Name: "front-desk", Driver: config.DriverEvolis, Connection: "usb"}
	// The hanging probe ignores its context and answers only when the
	// test ends: the doctor must give up on it after its timeout.
	unblock := make(chan struct{})
	t.Cleanup(func() { close(unblock) })
	tests := []struct {
		name   string
		probe  func(ctx context.Context, p *config.Printer) (string, error)
		level  checkLevel
		detail string
	}{
		{"answers", func(context.Context, *config.Printer) (string, error) { return "idle", nil }, levelOK, "front-desk (evolis, usb): idle"},
		{"not reached", func(context.Context, *config.Printer) (string, error) { return "", printer.ErrNoDevice }, levelFail, "no such device"},
		{"hangs", func(ctx context.Context, _ *config.Printer) (string, error) {
			<-unblock // ignores ctx: the doctor must not wait for it
			return "late", nil
		}, levelFail, "no answer within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDoctor()
			d.probe, d.timeout = tt.probe, 100*time.Millisecond
			res := make(chan checkResult, 1)
			go func() { res <- d.checkPrinter(context.Background(), p) }()
			r := testwait.Recv(t, "the printer check (a hanging probe must not hold it)", res)
			assertCheck(t, r, tt.level, tt.detail)
			if tt.level == levelFail && !strings.Contains(r.fix, "udev") {
				t.Errorf("USB printer fix %q does not mention udev", r.fix)
			}
		})
	}
}

// TestDoctorPrinterFault: a printer that answers with a fault gets the
// fix for that fault (close the cover …), not advice about its address or
// cable.
func TestDoctorPrinterFault(t *testing.T) {
	for _, tc := range []struct {
		conn string
		err  error
		fix  string
	}{
		{"tcp:10.0.0.7:9100", fmt.Errorf("status: %w", printer.ErrCoverOpen), "close the printer's cover"},
		{"usb", printer.ErrFeederEmpty, "load blank cards"},
		{"emulator", printer.ErrCardJam, "remove the jammed card"},
		{"tcp:10.0.0.7:9100", printer.ErrOffline, "check the printer's address"},
	} {
		p := &config.Printer{Name: "desk", Driver: config.DriverEvolis, Connection: tc.conn}
		d := newTestDoctor()
		d.probe = func(context.Context, *config.Printer) (string, error) { return "", tc.err }
		r := d.checkPrinter(context.Background(), p)
		if r.level != levelFail || !strings.Contains(r.fix, tc.fix) {
			t.Errorf("%s on %s: %s, fix %q; want the fix to say %q", tc.err, tc.conn, r.level, r.fix, tc.fix)
		}
		if errors.Is(tc.err, printer.ErrCoverOpen) && strings.Contains(r.fix, "address") {
			t.Errorf("cover open: fix %q talks about the address", r.fix)
		}
	}
}

// TestDoctorDemoSettings: the demo issuer and serial prefix are a
// warning; the public preview key as signing key or in the trust list is
// a failure; a station's own identity is fine.
func TestDoctorDemoSettings(t *testing.T) {
	dir := t.TempDir()
	d := newTestDoctor()
	demo, err := config.Embedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := d.checkDemoSettings(demo, "")
	assertCheck(t, r, levelWarn, "demo issuer "+demo.Security.Issuer)
	if !strings.Contains(r.detail, "demo serial prefix DEMO") || !strings.Contains(r.fix, "security.issuer") {
		t.Errorf("demo settings: %q, fix %q", r.detail, r.fix)
	}

	own := *demo
	own.Security.Issuer, own.Security.SerialPrefix = "https://id.example.org", "EX"
	assertCheck(t, d.checkDemoSettings(&own, ""), levelOK, "https://id.example.org")

	preview := previewKeyID()
	assertCheck(t, d.checkDemoSettings(&own, preview), levelFail, "public preview key")

	entry, err := security.NewTrustEntry(layout.PreviewIssuer, layout.PreviewPublicKey(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := security.MarshalTrustList([]security.TrustEntry{entry})
	if err != nil {
		t.Fatal(err)
	}
	own.Security.TrustList = writeFile(t, dir, "trust.json", string(tl))
	assertCheck(t, d.checkDemoSettings(&own, "some-other-kid"), levelFail, "trusts the public preview key")
}

func TestDoctorClock(t *testing.T) {
	build := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		now    time.Time
		build  time.Time
		level  checkLevel
		detail string
	}{
		{"sane", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), build, levelOK, "2026-11-27"},
		{"1970", time.Unix(0, 0), time.Time{}, levelFail, "before 2024"},
		{"before build", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), build, levelFail, "before this cardd was built"},
		{"unknown build", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, levelOK, "2025-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDoctor()
			d.now = func() time.Time { return tt.now }
			d.buildTime = tt.build
			assertCheck(t, d.checkClock(), tt.level, tt.detail)
		})
	}
}

func TestDoctorDisk(t *testing.T) {
	tests := []struct {
		name   string
		u      diskUsage
		err    error
		level  checkLevel
		detail string
	}{
		{"plenty", diskUsage{free: 50 << 30, total: 100 << 30}, nil, levelOK, "50.0 GiB free of 100.0 GiB"},
		{"low", diskUsage{free: 600 << 20, total: 100 << 30}, nil, levelWarn, "600.0 MiB free"},
		{"under 5%", diskUsage{free: 4 << 30, total: 100 << 30}, nil, levelWarn, "4.0 GiB free"},
		{"full", diskUsage{free: 10 << 20, total: 100 << 30}, nil, levelFail, "10.0 MiB free"},
		{"unreadable", diskUsage{}, errors.New("statfs: boom"), levelWarn, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDoctor()
			var asked string
			d.statfs = func(p string) (diskUsage, error) { asked = p; return tt.u, tt.err }
			dir := t.TempDir()
			assertCheck(t, d.checkDisk(filepath.Join(dir, "not", "yet")), tt.level, tt.detail)
			if asked != dir {
				t.Errorf("statfs asked about %q, want the nearest existing directory %q", asked, dir)
			}
		})
	}
	if u, err := statfsUsage(t.TempDir()); err != nil || u.total == 0 || u.free > u.total {
		t.Errorf("statfsUsage of a real directory: %+v, %v", u, err)
	}
}

// stationConfig writes a complete station under dir, with an emulated
// printer, and returns the configuration's path.
func stationConfig(t *testing.T, dir string) string {
	t.Helper()
	keyPath, _ := writeKey(t, filepath.Join(dir, "keys"))
	key, err := security.LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := security.NewTrustEntry("urn:cardd:doctor-test", key.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := security.MarshalTrustList([]security.TrustEntry{entry})
	writeFile(t, dir, "keys/trust.json", string(tl))
	mkdir(t, filepath.Join(dir, "spool"), 0o750)
	mkdir(t, filepath.Join(dir, "state"), 0o750)
	return writeFile(t, dir, "cardd.toml", `
[station]
id = "doctor-test"
[paths]
spool = "spool"
state = "state"
[[printers]]
name = "emu"
driver = "evolis"
connection = "emulator"
[security]
signing_key = "keys/issuer.key"
issuer = "urn:cardd:doctor-test"
trust_list = "keys/trust.json"
serial_prefix = "DT"
serial_station = "DT"
`)
}

// TestDoctorCommand runs "cardd doctor" end to end: the real config
// loader, file checks, the emulated printer through station.OpenPrinter, the real
// clock and statfs.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := stationConfig(t, dir)
	code, stdout, stderr := runCardd(t, "doctor", "--config", cfg)
	if code != exitOK {
		t.Fatalf("doctor on a good station: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"OK    config", "OK    spool", "OK    signing key", "OK    trust list", "OK    printer       emu (evolis, emulator): idle", "OK    clock", "doctor: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	// a key readable by the group makes it fail, with the fix printed
	if err := os.Chmod(filepath.Join(dir, "keys", "issuer.key"), 0o640); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCardd(t, "doctor", "--config", cfg)
	if code != exitFailure || !strings.Contains(stdout, "FAIL  signing key") || !strings.Contains(stdout, "fix: chmod 600") || !strings.Contains(stdout, "1 FAIL") {
		t.Errorf("doctor with a group-readable key: exit %d\n%s", code, stdout)
	}

	// a configuration that does not load
	bad := writeFile(t, dir, "bad.toml", "[station]\nid = \"x\"\nbogus = 1\n")
	code, stdout, _ = runCardd(t, "doctor", "--config", bad)
	if code != exitFailure || !strings.Contains(stdout, "FAIL  config") || !strings.Contains(stdout, "OK    clock") {
		t.Errorf("doctor with a bad config: exit %d\n%s", code, stdout)
	}

	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--timeout", "0s"}} {
		if code, _, _ := runCardd(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestDoctorPortrait(t *testing.T) {
	d := newTestDoctor()
	p := config.DefaultPortrait()
	p.Cascades = t.TempDir()
	assertCheck(t, d.checkPortrait(p), levelWarn, "face detection unavailable")
	p.Gate = config.GateOff
	assertCheck(t, d.checkPortrait(p), levelOK, "photo checks off")
	p.Gate, p.Cascades = config.GateHold, cascades.Dir(t)
	assertCheck(t, d.checkPortrait(p), levelOK, "face detection ready")
}
