// Package cupstest runs Debian's cupsd for tests: a private instance with
// its own configuration, spool and state in a temporary directory,
// listening on a free loopback port, never the system's cupsd. Queues are
// added with the real lpadmin against it, so jobs run through the real
// filters (Gutenprint's rastertogutenprint) and backends (socket).
//
// cupsd refuses to run its filters as root ("Will not use User root"), so a
// test running as root starts it as the unprivileged user nobody, with the
// temporary directory handed to that user; otherwise it runs as the test's
// own user. Tests skip when cupsd, lpadmin or Gutenprint is missing, and
// fail instead when CI=true (scripts/setup.sh --printers installs cups,
// cups-client and printer-driver-gutenprint).
//
// Only tests import this package.
package cupstest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
)

// Paths of the Debian packages' programs.
const (
	Cupsd      = "/usr/sbin/cupsd"
	Lpadmin    = "/usr/sbin/lpadmin"
	Lpinfo     = "/usr/sbin/lpinfo"
	Gutenprint = "/usr/lib/cups/filter/rastertogutenprint.5.3"
	// Socket is the socket:// backend (cups-daemon links it in place
	// when it is installed).
	Socket = "/usr/lib/cups/backend/socket"
)

// Need skips the test (or fails it under CI=true) unless cupsd, lpadmin,
// lpinfo and, with gutenprint set, Gutenprint's CUPS filter are installed.
func Need(tb testing.TB, gutenprint bool) {
	tb.Helper()
	need := []struct{ path, pkg string }{{Cupsd, "cups-daemon"}, {Socket, "cups-daemon"}, {Lpadmin, "cups-client"}, {Lpinfo, "cups-client"}}
	if gutenprint {
		need = append(need, struct{ path, pkg string }{Gutenprint, "printer-driver-gutenprint"})
	}
	for _, n := range need {
		if _, err := os.Stat(n.path); err != nil {
			msg := fmt.Sprintf("%s is missing: install it with 'apt-get install -y --no-install-recommends cups cups-client printer-driver-gutenprint' (package %s; scripts/setup.sh --printers does it)", n.path, n.pkg)
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
}

// Server is a running private cupsd.
type Server struct {
	// Addr is "127.0.0.1:PORT", for lpadmin -h and IPP URIs.
	Addr string
	// Dir is the instance's temporary directory (configuration, spool,
	// logs).
	Dir string

	cmd  *exec.Cmd
	mu   sync.Mutex
	done bool
	out  bytes.Buffer
}

// Start starts a private cupsd and stops it when the test ends. It waits
// until the server answers.
func Start(tb testing.TB) *Server {
	tb.Helper()
	Need(tb, false)
	dir, err := os.MkdirTemp("", "cardd-cupsd-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			tb.Fatalf("cupsd cannot run as root and there is no user nobody to run it as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	port := freePort(tb)
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir}
	for _, d := range []string{"root", "spool", "cache", "state", "tmp", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`Listen %s
LogLevel debug
MaxLogSize 0
WebInterface No
Browsing Off
DefaultAuthType None
JobRetryInterval 1
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, s.Addr)
	files := fmt.Sprintf(`ServerRoot %[1]s/root
RequestRoot %[1]s/spool
CacheDir %[1]s/cache
StateDir %[1]s/state
TempDir %[1]s/tmp
ErrorLog %[1]s/log/error_log
AccessLog %[1]s/log/access_log
PageLog %[1]s/log/page_log
Printcap %[1]s/state/printcap
FileDevice Yes
`, dir)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("cupsd.conf", conf)
	write("cups-files.conf", files)
	if uid >= 0 {
		if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		}); err != nil {
			tb.Fatal(err)
		}
	}
	s.cmd = exec.Command(Cupsd, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	s.cmd.Stdout, s.cmd.Stderr = &lockedWriter{s: s}, &lockedWriter{s: s}
	s.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if uid >= 0 {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start cupsd: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		s.cmd.Wait()
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
		close(exited)
	}()
	tb.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(testwait.Limit()):
			s.cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("cupsd error log (tail):\n%s", s.LogTail(60))
		}
	})
	testwait.For(tb, "private cupsd on "+s.Addr+" to listen", func() bool {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		if done {
			tb.Fatalf("cupsd exited: %s\n%s", s.output(), s.LogTail(30))
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return s
}

// lockedWriter collects cupsd's own output.
type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.out.Write(p)
}

func (s *Server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// LogTail returns the last n lines of the server's error log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "log", "error_log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Run runs a CUPS client program (lpadmin, lpinfo, cupsenable …) against
// the server and returns its output; a failure fails the test.
func (s *Server) Run(tb testing.TB, prog string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(prog, append([]string{"-h", s.Addr}, args...)...)
	cmd.Env = append(os.Environ(), "CUPS_SERVER="+s.Addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Model returns the first driver (lpinfo -m) whose line contains every
// word, e.g. Model(t, "gutenprint", "magicard-rio-2e").
func (s *Server) Model(tb testing.TB, words ...string) string {
	tb.Helper()
	out := s.Run(tb, Lpinfo, "-m")
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			name, _, _ := strings.Cut(line, " ")
			return name
		}
	}
	tb.Fatalf("lpinfo -m lists no driver with %q", words)
	return ""
}

// AddQueue adds an enabled queue accepting jobs, whose device is
// deviceURI and driver model, and returns its printer URI
// (ipp://127.0.0.1:PORT/printers/NAME).
func (s *Server) AddQueue(tb testing.TB, name, deviceURI, model string, options ...string) string {
	tb.Helper()
	args := []string{"-p", name, "-E", "-v", deviceURI, "-m", model}
	for _, o := range options {
		args = append(args, "-o", o)
	}
	s.Run(tb, Lpadmin, args...)
	return "ipp://" + s.Addr + "/printers/" + name
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
