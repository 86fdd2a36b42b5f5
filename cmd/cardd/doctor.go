package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/station"
)

// Disk space thresholds for the spool's filesystem.
const (
	diskFailBelow = 100 << 20 // a few hundred jobs with photos
	diskWarnBelow = 1 << 30
)

// earliestSaneYear is the first year a station's clock may show: cards
// signed with an earlier date would carry a wrong issue and expiry date.
const earliestSaneYear = 2024

// checkLevel grades one doctor check.
type checkLevel int

// The grades, from best to worst.
const (
	levelOK checkLevel = iota
	levelWarn
	levelFail
)

func (l checkLevel) String() string {
	switch l {
	case levelOK:
		return "OK"
	case levelWarn:
		return "WARN"
	}
	return "FAIL"
}

// checkResult is the outcome of one check: what was found and, when it is
// not OK, what to do about it.
type checkResult struct {
	level  checkLevel
	name   string
	detail string
	fix    string
}

// diskUsage is the free and total bytes of a filesystem.
type diskUsage struct{ free, total uint64 }

// doctor holds what the checks need; tests replace the outside world
// (clock, build time, printer probe, filesystem statistics).
type doctor struct {
	// station is the configuration the checks look at (--config FILE or
	// the embedded default under --work DIR).
	station *stationFlags
	// now is the clock; buildTime is when this binary was built (zero
	// when unknown).
	now       func() time.Time
	buildTime time.Time
	// probe opens a configured printer and reads its status, within ctx.
	probe func(ctx context.Context, p *config.Printer) (string, error)
	// statfs reports the filesystem holding path.
	statfs func(path string) (diskUsage, error)
	// timeout bounds each printer probe.
	timeout time.Duration
	// udevRules are the places the package's udev rules may be installed.
	udevRules []string
}

// udevRulePaths are where 99-cardd.rules is looked for: the package's
// place, the pre-merged-/usr one, and the administrator's.
var udevRulePaths = []string{
	"/usr/lib/udev/rules.d/99-cardd.rules",
	"/lib/udev/rules.d/99-cardd.rules",
	"/etc/udev/rules.d/99-cardd.rules",
}

// cmdDoctor is "cardd doctor": check a station's setup and say what to fix.
func cmdDoctor(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "doctor", "[--config FILE | --work DIR] [--timeout D]",
		"Checks this station's setup: the configuration, the spool and state directories and their\n"+
			"permissions, the signing key's permissions, the trust list, that each printer answers, the\n"+
			"clock and the free disk space, and warns about demo settings (issuer, serial prefix) and\n"+
			"the public preview key. Prints OK, WARN or FAIL for each, with what to fix, and exits\n"+
			"non-zero when any check fails. The station is --config FILE (an installed one:\n"+
			"/etc/cardd/cardd.toml), or the embedded default under --work DIR. Run it as the daemon's\n"+
			"user (sudo -u cardd cardd doctor --config /etc/cardd/cardd.toml) to check what the daemon\n"+
			"can reach.")
	station := addStationFlags(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "longest wait for each printer to answer")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"doctor takes no arguments"}
	}
	if *timeout <= 0 {
		return usageError{"--timeout must be positive"}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := &doctor{
		station:   station,
		now:       time.Now,
		buildTime: binaryBuildTime(),
		probe: func(ctx context.Context, p *config.Printer) (string, error) {
			return probePrinter(ctx, p, log)
		},
		statfs:    statfsUsage,
		timeout:   *timeout,
		udevRules: udevRulePaths,
	}
	results := d.run(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if printChecks(e.stdout, results) {
		return errSilentFailure
	}
	return nil
}

// printChecks prints the results and a summary line, and reports whether
// any check failed.
func printChecks(w io.Writer, results []checkResult) (failed bool) {
	var n [3]int
	for _, r := range results {
		n[r.level]++
		fmt.Fprintf(w, "%-4s  %-12s  %s\n", r.level, r.name, r.detail)
		if r.fix != "" && r.level != levelOK {
			fmt.Fprintf(w, "      %-12s  fix: %s\n", "", r.fix)
		}
	}
	fmt.Fprintf(w, "doctor: %d OK, %d WARN, %d FAIL\n", n[levelOK], n[levelWarn], n[levelFail])
	return n[levelFail] > 0
}

// run performs every check in order. When the configuration cannot be
// loaded, only the checks that need none (clock) follow it.
func (d *doctor) run(ctx context.Context) []checkResult {
	cfg, res := d.checkConfig()
	out := []checkResult{res}
	if cfg != nil {
		out = append(out, d.checkSpool(cfg.Paths.Spool))
		out = append(out, d.checkStateDir(cfg.Paths.State))
		keyRes, kid := d.checkSigningKey(cfg.Security.SigningKey)
		out = append(out, keyRes)
		out = append(out, d.checkTrustList(cfg.Security.TrustList, cfg.Security.Issuer, kid))
		out = append(out, d.checkDemoSettings(cfg, kid))
		out = append(out, d.checkDenyList(cfg.Security.DenyList))
		out = append(out, d.checkTemplates(cfg.Paths.Templates))
		out = append(out, d.checkPortrait(cfg.Portrait))
		if r, ok := d.checkUdev(cfg.Printers); ok {
			out = append(out, r)
		}
		for i := range cfg.Printers {
			out = append(out, d.checkPrinter(ctx, &cfg.Printers[i]))
		}
	}
	out = append(out, d.checkClock())
	if cfg != nil {
		out = append(out, d.checkDisk(cfg.Paths.Spool))
	}
	return out
}

func ok(name, format string, args ...any) checkResult {
	return checkResult{level: levelOK, name: name, detail: fmt.Sprintf(format, args...)}
}

func warn(name, fix, format string, args ...any) checkResult {
	return checkResult{level: levelWarn, name: name, detail: fmt.Sprintf(format, args...), fix: fix}
}

func fail(name, fix, format string, args ...any) checkResult {
	return checkResult{level: levelFail, name: name, detail: fmt.Sprintf(format, args...), fix: fix}
}

func (d *doctor) checkConfig() (*config.Config, checkResult) {
	const name = "config"
	cfg, err := d.station.load()
	path := *d.station.config
	if err != nil {
		fix := fmt.Sprintf("correct the file (cardd config check %s lists every problem)", path)
		if errors.Is(err, fs.ErrNotExist) {
			fix = "give the station's file with --config FILE (installed stations: /etc/cardd/cardd.toml); cardd config default prints a full example"
		}
		return nil, fail(name, fix, "%s: %v", path, doctorLine(err))
	}
	if path == "" {
		path = "the embedded default under --work " + *d.station.work
	}
	return cfg, ok(name, "%s is valid (station %s, %s mode, %d printer(s))", path, cfg.Station.ID, cfg.Station.Mode, len(cfg.Printers))
}

// checkDemoSettings warns when a station still issues under the embedded
// default's demo identity: the demo issuer or serial prefix (cards that
// look like every other demo station's), or when its signing key or trust
// list is the public preview key (anyone can sign with it).
func (d *doctor) checkDemoSettings(cfg *config.Config, kid string) checkResult {
	const name = "identity"
	def := config.Default()
	var notes, fixes []string
	if cfg.Security.Issuer == def.Security.Issuer {
		notes = append(notes, fmt.Sprintf("the demo issuer %s", cfg.Security.Issuer))
		fixes = append(fixes, "set security.issuer to your organisation's URI")
	}
	if cfg.Security.SerialPrefix == def.Security.SerialPrefix {
		notes = append(notes, fmt.Sprintf("the demo serial prefix %s", cfg.Security.SerialPrefix))
		fixes = append(fixes, "set security.serial_prefix")
	}
	preview := previewKeyID()
	if kid != "" && kid == preview {
		return fail(name, "generate the station's own key: cardd keys generate --out DIR, then point security.signing_key at it",
			"the signing key is the public preview key (kid %s): anyone can forge this station's cards", kid)
	}
	if t, err := security.LoadTrustList(cfg.Security.TrustList); err == nil {
		for _, e := range t.Entries() {
			if e.KID == preview || e.Issuer == layout.PreviewIssuer {
				return fail(name, fmt.Sprintf("remove the entry for %s (kid %s) from %s", e.Issuer, e.KID, cfg.Security.TrustList),
					"the trust list %s trusts the public preview key: every preview render would verify as a real card", cfg.Security.TrustList)
			}
		}
	}
	if len(notes) > 0 {
		return warn(name, strings.Join(fixes, "; ")+" (cardd config default shows the keys)",
			"this station still uses %s: fine for a demo, not for real cards", strings.Join(notes, " and "))
	}
	return ok(name, "issuer %s, serial prefix %s", cfg.Security.Issuer, cfg.Security.SerialPrefix)
}

// previewKeyID is the key id of layout's public preview key.
func previewKeyID() string {
	kid, err := security.KeyIDOf(layout.PreviewPublicKey())
	if err != nil {
		return ""
	}
	return kid.String()
}

// doctorLine joins a multi-line error into one line.
func doctorLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// spoolAreas are the spool's subdirectories that only the daemon uses;
// incoming/ and control/ are shared with producers and operators.
var spoolAreas = []string{"active", "held", "done", "failed"}

func (d *doctor) checkSpool(dir string) checkResult {
	const name = "spool"
	if r, done := d.checkDir(name, dir, "the spool"); done {
		if r.level == levelWarn && strings.Contains(r.detail, "not created yet") {
			// The packaged unit's ReadWritePaths= needs it before start.
			r.fix = "a daemon started by hand creates it; the systemd service needs it first: systemd-tmpfiles --create cardd.conf"
		}
		return r
	}
	var notes []string
	// incoming/ (producers) and control/ (operators) are shared with the
	// daemon's group; the spool creates them 0770.
	for _, sh := range []struct{ area, who string }{{"incoming", "producers in the daemon's group cannot drop jobs"}, {"control", "operators in the daemon's group cannot send requests (cardd jobs hold …)"}} {
		in := filepath.Join(dir, sh.area)
		st, err := os.Lstat(in)
		if err != nil {
			continue
		}
		switch m := st.Mode(); {
		case !m.IsDir():
			return fail(name, fmt.Sprintf("move %s away; the daemon recreates it as a directory", in), "%s is not a directory", in)
		case m.Perm()&0o002 != 0:
			return fail(name, fmt.Sprintf("chmod 770 %s (write access goes through group cardd)", in), "%s is writable by everyone (mode %04o)", in, m.Perm())
		case m.Perm()&0o020 == 0:
			notes = append(notes, fmt.Sprintf("%s is not group-writable (mode %04o): %s; chmod 770 %s", in, m.Perm(), sh.who, in))
		}
	}
	for _, a := range spoolAreas {
		p := filepath.Join(dir, a)
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		switch perm := st.Mode().Perm(); {
		case perm&0o022 != 0:
			return fail(name, fmt.Sprintf("chmod 700 %s", p), "%s holds personal data and others can write it (mode %04o)", p, perm)
		case perm&0o077 != 0:
			notes = append(notes, fmt.Sprintf("%s holds personal data and is readable by others (mode %04o); chmod 700 %s", p, perm, p))
		}
	}
	if len(notes) > 0 {
		return warn(name, strings.Join(notes, "; "), "%s: usable, but see below", dir)
	}
	return ok(name, "%s exists, writable, not open to others", dir)
}

func (d *doctor) checkStateDir(dir string) checkResult {
	const name = "state"
	r, _ := d.checkDir(name, dir, "the state directory")
	return r
}

// checkDir checks a directory the daemon writes: it exists (or its parent
// lets the daemon create it), is a real directory, is writable, and is
// closed to others. done is false when the directory is fine so far and
// the caller may look further.
func (d *doctor) checkDir(name, dir, what string) (r checkResult, done bool) {
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		create := fmt.Sprintf("create it: mkdir -p %s (for the packaged service, as root: install -d -o cardd -g cardd -m 0750 %s)", dir, dir)
		if _, perr := os.Stat(parent); errors.Is(perr, fs.ErrNotExist) {
			return fail(name, create, "%s %s is missing, and so is its parent %s", what, dir, parent), true
		}
		if syscall.Access(parent, 0o2|0o1) != nil {
			return fail(name, create, "%s %s is missing, and this user (uid %d) cannot create it in %s", what, dir, os.Geteuid(), parent), true
		}
		return warn(name, "nothing to do if this is a new station: the daemon creates it at start ("+create+")",
			"%s %s is missing (not created yet)", what, dir), true
	case err != nil:
		return fail(name, "check the path and its parents' permissions", "%s: %v", what, err), true
	case st.Mode()&fs.ModeSymlink != 0:
		return fail(name, fmt.Sprintf("point the configuration at the real directory instead of the link %s", dir), "%s %s is a symbolic link", what, dir), true
	case !st.IsDir():
		return fail(name, fmt.Sprintf("move %s away or change the configuration", dir), "%s %s is not a directory", what, dir), true
	case st.Mode().Perm()&0o002 != 0:
		return fail(name, fmt.Sprintf("chmod 750 %s", dir), "%s %s is writable by everyone (mode %04o)", what, dir, st.Mode().Perm()), true
	case syscall.Access(dir, 0o2|0o1) != nil:
		return fail(name, fmt.Sprintf("chown -R cardd:cardd %s (or run doctor as the daemon's user)", dir),
			"%s %s is not writable by this user (uid %d)", what, dir, os.Geteuid()), true
	case st.Mode().Perm()&0o007 != 0:
		return warn(name, fmt.Sprintf("chmod o-rwx %s", dir), "%s %s is open to others (mode %04o)", what, dir, st.Mode().Perm()), true
	}
	return ok(name, "%s exists, writable, not open to others", dir), false
}

func (d *doctor) checkSigningKey(path string) (checkResult, string) {
	const name = "signing key"
	if path == "" {
		return fail(name, "set security.signing_key in the configuration", "no signing key configured"), ""
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(name, fmt.Sprintf("generate it as the daemon's user: sudo -u cardd cardd keys generate --out %s", filepath.Dir(path)),
			"%s does not exist", path), ""
	}
	if err != nil {
		return fail(name, "check the path and its parents' permissions", "%s: %v", path, err), ""
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fail(name, fmt.Sprintf("chmod 600 %s (and chown it to the daemon's user)", path),
			"%s is readable by group or others (mode %04o); cardd refuses to use it", path, st.Mode().Perm()), ""
	}
	key, err := security.LoadPrivateKey(path)
	if err != nil {
		return fail(name, "restore the key from its backup, or generate a new one and publish its trust entry", "%v", err), ""
	}
	kid, err := security.KeyIDOf(key.Public())
	if err != nil {
		return fail(name, "generate a supported key (cardd keys generate)", "%s: %v", path, err), ""
	}
	alg, _ := security.AlgOf(key.Public())
	return ok(name, "%s: %s key, kid %s, mode %04o", path, alg, kid, st.Mode().Perm()), kid.String()
}

func (d *doctor) checkTrustList(path, issuer, kid string) checkResult {
	const name = "trust list"
	if path == "" {
		return fail(name, "set security.trust_list in the configuration", "no trust list configured")
	}
	t, err := security.LoadTrustList(path)
	if err != nil {
		fix := "correct the file (it is JSON: {\"keys\": [...]}, as cardd keys trust-entry writes it)"
		if errors.Is(err, fs.ErrNotExist) {
			fix = fmt.Sprintf("write it: cardd keys trust-entry --pub PUBLIC.pem --issuer %s > %s", issuer, path)
		}
		return fail(name, fix, "%v", doctorLine(err))
	}
	entries := t.Entries()
	if len(entries) == 0 {
		return fail(name, "add this station's issuer key: cardd keys trust-entry --append "+path+" …", "%s has no keys: no card would verify", path)
	}
	if kid != "" && !slices.ContainsFunc(entries, func(e security.TrustEntry) bool { return e.KID == kid && e.Issuer == issuer }) {
		return warn(name, fmt.Sprintf("add it: cardd keys trust-entry --pub PUBLIC.pem --issuer %s --append %s", issuer, path),
			"%s (%d key(s)) lacks this station's key %s for issuer %s: its cards will not verify here", path, len(entries), kid, issuer)
	}
	return ok(name, "%s: %d key(s), including this station's", path, len(entries))
}

func (d *doctor) checkDenyList(path string) checkResult {
	const name = "deny list"
	if path == "" {
		return ok(name, "none configured")
	}
	dl, err := security.LoadDenyList(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ok(name, "%s does not exist yet (written by cardd audit export)", path)
	case err != nil:
		return fail(name, "regenerate it: cardd audit export", "%v", doctorLine(err))
	}
	return ok(name, "%s: %d revoked serial(s)", path, len(dl.Serials))
}

func (d *doctor) checkTemplates(dir string) checkResult {
	const name = "templates"
	if dir == "" {
		return ok(name, "built-in templates only (paths.templates is empty)")
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return warn(name, fmt.Sprintf("create %s with the station's templates, or empty paths.templates", dir),
			"%s does not exist: only the built-in templates are available", dir)
	case err != nil:
		return fail(name, fmt.Sprintf("let the daemon's user read it: chgrp -R cardd %s && chmod -R g+rX %s", dir, dir), "%v", err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".toml") {
			n++
		}
	}
	if n == 0 {
		return warn(name, "copy templates (NAME.toml) there; cardd render checks one", "%s has no templates: only the built-in ones are available", dir)
	}
	return ok(name, "%s: %d template file(s)", dir, n)
}

// checkUdev reports whether the udev rules that open USB printers to the
// daemon's group are installed; ok is false when no printer uses USB.
func (d *doctor) checkUdev(printers []config.Printer) (r checkResult, ok bool) {
	const name = "udev rules"
	if !slices.ContainsFunc(printers, func(p config.Printer) bool { return strings.HasPrefix(p.Connection, "usb") }) {
		return checkResult{}, false
	}
	for _, p := range d.udevRules {
		if _, err := os.Stat(p); err == nil {
			return checkResult{level: levelOK, name: name, detail: p + " is installed"}, true
		}
	}
	return warn(name, "install the package's 99-cardd.rules into /etc/udev/rules.d, then udevadm control --reload && udevadm trigger --subsystem-match=usb",
		"none of %s exists: the daemon's user may not be allowed to open the USB printers", strings.Join(d.udevRules, ", ")), true
}

func (d *doctor) checkPrinter(ctx context.Context, p *config.Printer) checkResult {
	name := "printer"
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	type answer struct {
		state string
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := d.probe(ctx, p)
		ch <- answer{s, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		a.err = fmt.Errorf("no answer within %v: %w", d.timeout, ctx.Err())
	}
	if a.err != nil {
		return fail(name, printerFix(p, a.err), "%s (%s, %s): %v", p.Name, p.Driver, p.Connection, doctorLine(a.err))
	}
	return ok(name, "%s (%s, %s): %s", p.Name, p.Driver, p.Connection, a.state)
}

// printerFaults are the printer-side faults and what the operator does
// about each: a printer that answers with one of them needs a hand at the
// printer, not a different address or cable.
var printerFaults = []struct {
	err error
	fix string
}{
	{printer.ErrCoverOpen, "close the printer's cover"},
	{printer.ErrRibbonOut, "load a new ribbon"},
	{printer.ErrNoRibbon, "load a ribbon"},
	{printer.ErrUnsupportedRibbon, "load the ribbon the configuration names (printers.ribbon)"},
	{printer.ErrFeederEmpty, "load blank cards into the feeder"},
	{printer.ErrHopperFull, "empty the output hopper"},
	{printer.ErrRejectFull, "empty the reject box"},
	{printer.ErrCardJam, "open the printer, remove the jammed card, close it"},
	{printer.ErrMechanical, "check the printer's display and clear the fault (power-cycle it if it persists)"},
}

// printerFix suggests what to do about a printer that failed the check
// with err: clear a fault it reported, else check how it is reached.
func printerFix(p *config.Printer, err error) string {
	for _, f := range printerFaults {
		if errors.Is(err, f.err) {
			return f.fix + "; the daemon resumes printing by itself once the printer reports ready"
		}
	}
	switch {
	case strings.HasPrefix(p.Connection, "usb"):
		return "check the cable and power; lsusb should list it (Evolis 0f49, Magicard 0c1f); the udev rules " +
			"(/usr/lib/udev/rules.d/99-cardd.rules) must give group cardd the device: replug it or run udevadm trigger"
	case strings.HasPrefix(p.Connection, "tcp"):
		return "check the printer's address, that it is on, and that this host may reach its port"
	case p.Driver == config.DriverIPP && errors.Is(err, printer.ErrOffline):
		return "check the queue on its CUPS server: lpstat -h HOST:PORT -l -p NAME; cupsenable NAME and cupsaccept NAME re-open a stopped or rejecting queue; cardd printers list shows the local queues"
	case p.Driver == config.DriverIPP && errors.Is(err, printer.ErrUnsupported):
		return "the queue cannot take this station's cards: set the printer's resolution to one the queue prints at, pick a queue driver with CR80 media (and two-sided printing for duplex), or use the native driver"
	}
	return "clear the fault on the printer (cover, ribbon, cards) and check its configuration entry"
}

// probePrinter opens a configured printer with cmd/cardd's printer table,
// reads its status, and closes it.
func probePrinter(ctx context.Context, p *config.Printer, log *slog.Logger) (string, error) {
	op, err := station.OpenPrinter(ctx, p, log)
	if err != nil {
		return "", err
	}
	defer op.Close()
	st, err := op.Dev.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("status: %w", err)
	}
	if err := st.Err(); err != nil {
		return "", err
	}
	if q, ok := op.Dev.(interface {
		CheckCard(ctx context.Context, g printer.Geometry, duplex bool) error
	}); ok {
		// A queue also says whether it can take this station's cards.
		if err := q.CheckCard(ctx, printer.CR80(max(p.Resolution, 300)), p.Duplex); err != nil {
			return "", err
		}
	}
	s := string(st.State)
	if len(st.Reasons) > 0 {
		rs := make([]string, len(st.Reasons))
		for i, r := range st.Reasons {
			rs[i] = string(r)
		}
		s += " (" + strings.Join(rs, ", ") + ")"
	}
	return s, nil
}

func (d *doctor) checkClock() checkResult {
	const name = "clock"
	now := d.now()
	if now.Year() < earliestSaneYear {
		return fail(name, "set the clock (timedatectl set-ntp true, or timedatectl set-time)", "it is %s, before %d: cards would carry wrong dates", now.UTC().Format(time.RFC3339), earliestSaneYear)
	}
	if !d.buildTime.IsZero() && now.Before(d.buildTime.Add(-24*time.Hour)) {
		return fail(name, "set the clock (timedatectl set-ntp true, or timedatectl set-time)",
			"it is %s, before this cardd was built (%s)", now.UTC().Format(time.RFC3339), d.buildTime.UTC().Format(time.RFC3339))
	}
	return ok(name, "%s", now.UTC().Format(time.RFC3339))
}

func (d *doctor) checkDisk(spool string) checkResult {
	const name = "disk"
	// the nearest existing directory on the spool's path
	p := spool
	for {
		if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		p = filepath.Dir(p)
	}
	u, err := d.statfs(p)
	if err != nil {
		return warn(name, "", "cannot read the free space of %s: %v", p, err)
	}
	detail := fmt.Sprintf("%s free of %s on the spool's filesystem (%s)", bytesIEC(u.free), bytesIEC(u.total), p)
	switch {
	case u.free < diskFailBelow:
		return fail(name, "free space on that filesystem (old jobs in done/ and failed/ are purged after the retention window)", "%s", detail)
	case u.free < diskWarnBelow || (u.total > 0 && u.free < u.total/20):
		return warn(name, "free space on that filesystem soon", "%s", detail)
	}
	return ok(name, "%s", detail)
}

// bytesIEC formats a byte count with a binary prefix.
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// statfsUsage reports the space available to unprivileged users on the
// filesystem holding path.
func statfsUsage(path string) (diskUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return diskUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return diskUsage{free: st.Bavail * bs, total: st.Blocks * bs}, nil
}

// binaryBuildTime returns the VCS commit time recorded in the binary, or
// zero when it was built without VCS information.
func binaryBuildTime() time.Time {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return time.Time{}
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.time" {
			t, err := time.Parse(time.RFC3339, s.Value)
			if err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// checkPortrait loads the face detection cascades the photo gate and
// fit = "face" need; without them the station still prints.
func (d *doctor) checkPortrait(p config.Portrait) checkResult {
	const name = "portrait"
	if p.Gate == config.GateOff {
		return ok(name, "photo checks off (portrait.gate = \"off\")")
	}
	det, err := portrait.Load(p.Cascades)
	if err != nil {
		return warn(name, "install the cardd package (it puts pigo's facefinder and puploc in /usr/share/cardd/cascades) or set portrait.cascades to their directory",
			"face detection unavailable: photos are not checked and fit = \"face\" crops by the anchor (%v)", err)
	}
	return ok(name, "face detection ready (%s); a photo that fails its checks %s", det.Dir(),
		map[string]string{config.GateHold: "holds its job", config.GateWarn: "is logged and printed"}[p.Gate])
}
