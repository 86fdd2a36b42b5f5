package facility

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/cardd/cardd/internal/natstest"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	printerpkg "github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
)

// buildCardd builds the cardd binary into dir (cgo on: the binary drives
// USB printers too).
func buildCardd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "cardd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/cardd/cardd/cmd/cardd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cardd: %v\n%s", err, out)
	}
	t.Logf("cardd built in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// siteKey is a site's NKey: the seed file its stations connect with and
// the public key the hub knows it by.
type siteKey struct {
	seedFile string
	public   string
}

// newSiteKey makes an NKey user key for a site and writes its seed file
// under dir.
func newSiteKey(t *testing.T, dir, site string) siteKey {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, site+".nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return siteKey{seedFile: path, public: pub}
}

// hubUsers returns the hub users of the sites' keys.
func hubUsers(keys map[string]siteKey, roles map[string]network.Role) []hub.User {
	var users []hub.User
	for site, k := range keys {
		users = append(users, hub.User{Name: site, Role: roles[site], NKey: k.public})
	}
	return users
}

// printer is an emulated Evolis printer served over TCP by this test
// process: it outlives the daemons driving it, so what it delivered is
// known whatever happens to them.
type printer struct {
	addr string
	emu  *emulator.Emulator
}

// servePrinter serves an emulated Evolis printer: single-sided with a
// YMCKO ribbon, or duplex with YMCKOK (colour front, black back).
func servePrinter(t *testing.T, speed float64, duplex bool) *printer {
	t.Helper()
	lang, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	opts := emulator.Options{Speed: speed, FeederCards: 10000, HopperCapacity: 10000, RibbonPanels: 1 << 20, RejectCapacity: 10000, KeepCards: 64}
	opts.Identity = lang.Identity
	opts.Identity.Ribbon = "YMCKO"
	if duplex {
		opts.Identity.Ribbon, opts.Identity.Duplex = "YMCKOK", true
	}
	emu, err := emulator.New(lang, &opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &printer{addr: ln.Addr().String(), emu: emu}
}

// daemon is one "cardd run" process of a station, started again after
// each kill; each run logs to its own file.
type daemon struct {
	name    string
	bin     string
	cfgPath string
	logDir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs int
	log  string // the current run's log file
}

func newDaemon(t *testing.T, bin, name, cfgPath, logDir string) *daemon {
	t.Helper()
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d := &daemon{name: name, bin: bin, cfgPath: cfgPath, logDir: logDir}
	t.Cleanup(d.kill)
	return d
}

// start starts a run and waits until the daemon logs that the station is
// running (a kill before that would test startup, not printing).
func (d *daemon) start(t *testing.T, ctx context.Context) {
	t.Helper()
	d.mu.Lock()
	d.runs++
	logPath := filepath.Join(d.logDir, fmt.Sprintf("%s-run-%03d.log", d.name, d.runs))
	f, err := os.Create(logPath)
	if err != nil {
		d.mu.Unlock()
		t.Fatal(err)
	}
	cmd := exec.Command(d.bin, "run", "--config", d.cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		d.mu.Unlock()
		f.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	d.cmd, d.done, d.log = cmd, done, logPath
	d.mu.Unlock()
	err = poll(ctx, func() (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("%s exited during startup:\n%s", d.name, tail(logPath, 3000))
		default:
		}
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), `"station running"`), nil
	})
	if err != nil {
		t.Fatalf("%s run %d: %v", d.name, d.runs, err)
	}
}

// kill kills the running daemon with SIGKILL and waits for it.
func (d *daemon) kill() { d.signal(syscall.SIGKILL) }

// stop stops the running daemon with SIGTERM and waits for it.
func (d *daemon) stop() { d.signal(syscall.SIGTERM) }

func (d *daemon) signal(sig syscall.Signal) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	<-done
}

// logPath returns the current (last) run's log file.
func (d *daemon) logPath() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log
}

// pid returns the running daemon's process id (0 when none runs).
func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return 0
	}
	select {
	case <-d.done:
		return 0
	default:
	}
	return d.cmd.Process.Pid
}

// exitCode returns the last run's exit status (-1 while it runs).
func (d *daemon) exitCode() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.cmd.ProcessState == nil {
		return -1
	}
	return d.cmd.ProcessState.ExitCode()
}

// poll calls cond until it holds, fails, or ctx ends; the pause between
// calls grows from 10 ms to 250 ms.
func poll(ctx context.Context, cond func() (bool, error)) error {
	wait := 10 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// officeLink is a field office's WAN: one proxy per hub node.
type officeLink []*natstest.Proxy

func newOfficeLink(t *testing.T, c *natstest.Cluster) officeLink {
	t.Helper()
	var l officeLink
	for _, n := range c.Nodes {
		p, err := natstest.NewProxy(fmt.Sprintf("127.0.0.1:%d", n.ClientPort))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		l = append(l, p)
	}
	return l
}

func (l officeLink) urls() []string {
	var u []string
	for _, p := range l {
		u = append(u, p.URL())
	}
	return u
}

func (l officeLink) cut() {
	for _, p := range l {
		p.Cut()
	}
}

func (l officeLink) restore() {
	for _, p := range l {
		p.Restore()
	}
}

// cardWatch reads the serial off every card a printer delivers, as the
// cards come out (the emulator keeps only its latest cards' images).
type cardWatch struct {
	p        *printer
	verifier *security.Verifier

	mu       sync.Mutex
	lastSeq  int
	serials  map[string]int // serial → cards delivered with it
	rejected int
	bad      []string // cards whose QR did not read or verify
}

func newCardWatch(p *printer, trust *security.TrustList) *cardWatch {
	return &cardWatch{p: p, verifier: security.NewVerifier(trust, nil, time.Now), serials: map[string]int{}}
}

// scan reads the cards delivered since the last scan.
func (w *cardWatch) scan() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.p.emu.Printed() {
		if c.Seq <= w.lastSeq {
			continue
		}
		if c.Seq != w.lastSeq+1 {
			w.bad = append(w.bad, fmt.Sprintf("cards %d–%d left the emulator's memory unread", w.lastSeq+1, c.Seq-1))
		}
		w.lastSeq = c.Seq
		if c.Outcome != printerpkg.OutcomePrinted {
			w.rejected++
			continue
		}
		// The QR code is on the front or (the permanent template) on the
		// back.
		res, _, err := security.VerifyRendered(c.Front, w.verifier)
		if err != nil && c.Back != nil {
			res, _, err = security.VerifyRendered(c.Back, w.verifier)
		}
		if err != nil || !res.Valid() {
			w.bad = append(w.bad, fmt.Sprintf("card %d: %v %s %s", c.Seq, err, res.Verdict, res.Reason))
			continue
		}
		w.serials[res.Credential.ID]++
	}
}

// run scans until ctx ends, then once more.
func (w *cardWatch) run(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.scan()
			return
		case <-t.C:
			w.scan()
		}
	}
}

// hubRender renders the hub users as nats-server configuration text.
func hubRender(users []hub.User) (string, error) {
	b, err := hub.RenderConfig(users)
	return string(b), err
}
