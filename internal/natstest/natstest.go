// Package natstest runs real nats-server processes for tests and
// benchmarks: it builds the server binary from the module version that
// go.mod requires (once, cached outside the repository), writes the
// configuration files of a JetStream cluster on loopback with free ports,
// starts the nodes as processes, waits for their readiness on the
// monitoring endpoint, kills (SIGKILL) and restarts nodes, and stops
// everything at the end.
//
// The nodes are real servers with file storage and Raft replication, so a
// stream created with Replicas: 3 survives the loss of any one node; what
// a test does with them goes through ordinary NATS client connections.
package natstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Module is the module the server binary is built from.
const Module = "github.com/nats-io/nats-server/v2"

// BinaryEnv names an environment variable that, when set, is the path of a
// nats-server binary to use instead of building one (Debian's package, for
// instance).
const BinaryEnv = "CARDD_NATS_SERVER"

// Binary returns the path of a nats-server binary built from the module
// version the current module requires. The binary is cached under the
// user's cache directory (outside any repository), keyed by the server
// version and the Go toolchain, so only the first call of a machine pays
// for the build; the go build cache makes even that quick. It must be
// called from inside the cardd module (as tests run).
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("natstest: %s: %w", BinaryEnv, err)
		}
		return p, nil
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", Module).Output()
	if err != nil {
		return "", fmt.Errorf("natstest: find the version of %s: %w%s", Module, err, stderrOf(err))
	}
	version := strings.TrimSpace(string(out))
	if version == "" {
		return "", fmt.Errorf("natstest: %s has no version in go.mod", Module)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "cardd-natstest", version+"-"+runtime.Version()+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "nats-server")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("natstest: %w", err)
	}
	// Build beside the final name and rename, so a concurrent test process
	// never runs a half-written binary.
	tmp, err := os.CreateTemp(dir, "nats-server-*.tmp")
	if err != nil {
		return "", fmt.Errorf("natstest: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), Module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("natstest: go build %s: %w\n%s", Module, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", fmt.Errorf("natstest: %w", err)
	}
	return bin, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// Options describe a cluster.
type Options struct {
	// Nodes is the number of servers; default 3. One node runs a single
	// JetStream server without a cluster block.
	Nodes int
	// Name is the cluster name; default "cardd-test".
	Name string
	// Dir holds each node's configuration file, store directory and log;
	// required.
	Dir string
	// Config is configuration text added to every node's file: accounts,
	// users and permissions (such as those package network/hub renders),
	// or anything else in nats-server's configuration language.
	Config string
	// MaxMemoryStore and MaxFileStore bound each node's JetStream storage
	// in bytes; default 256 MiB and 4 GiB.
	MaxMemoryStore, MaxFileStore int64
	// Debug turns on the servers' debug logging.
	Debug bool
	// Advertise lets the nodes tell clients the other nodes' URLs. Off by
	// default: a client then uses only the URLs it was given, so a test
	// can route a site through a Proxy without the client finding a way
	// around it.
	Advertise bool
	// Profile makes every node serve Go's pprof endpoints on its
	// ProfPort (also turned on by the environment variable ProfileEnv),
	// so a benchmark's servers can be profiled:
	// go tool pprof http://127.0.0.1:PORT/debug/pprof/profile?seconds=20
	Profile bool
}

// ProfileEnv names an environment variable that, when set to 1, turns on
// Options.Profile for every cluster a test starts.
const ProfileEnv = "CARDD_NATS_PROFILE"

// Cluster is a set of nats-server processes on loopback.
type Cluster struct {
	// Nodes are the servers, named n1, n2, …
	Nodes []*Node
	bin   string
}

// Node is one nats-server process.
type Node struct {
	// Name is the server name (server_name), as JetStream reports it in
	// stream and consumer cluster information.
	Name string
	// ClientPort, ClusterPort and MonitorPort are the node's loopback
	// ports; they stay the same across restarts. ProfPort serves pprof
	// when Options.Profile is set (else 0).
	ClientPort, ClusterPort, MonitorPort, ProfPort int
	// ConfigFile, StoreDir and LogFile are the node's files.
	ConfigFile, StoreDir, LogFile string

	bin string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	err  error         // the current process's exit status, once done
}

// Start writes the configuration files of a cluster as opts describe and
// starts every node, returning once each answers its health check (the
// JetStream meta group has a leader and the node is current) or with an
// error when ctx ends first. On error every node started is stopped.
func Start(ctx context.Context, bin string, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("natstest: Options.Dir is required")
	}
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Name == "" {
		opts.Name = "cardd-test"
	}
	if opts.MaxMemoryStore == 0 {
		opts.MaxMemoryStore = 256 << 20
	}
	if opts.MaxFileStore == 0 {
		opts.MaxFileStore = 4 << 30
	}
	if os.Getenv(ProfileEnv) == "1" {
		opts.Profile = true
	}
	per := 3
	if opts.Profile {
		per = 4
	}
	ports, err := freePorts(per * opts.Nodes)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	for i := range opts.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		dir := filepath.Join(opts.Dir, name)
		n := &Node{
			Name:        name,
			ClientPort:  ports[per*i],
			ClusterPort: ports[per*i+1],
			MonitorPort: ports[per*i+2],
			ConfigFile:  filepath.Join(dir, "nats-server.conf"),
			StoreDir:    filepath.Join(dir, "store"),
			LogFile:     filepath.Join(dir, "nats-server.log"),
			bin:         bin,
		}
		if err := os.MkdirAll(n.StoreDir, 0o700); err != nil {
			return nil, fmt.Errorf("natstest: %w", err)
		}
		if opts.Profile {
			n.ProfPort = ports[per*i+3]
		}
		c.Nodes = append(c.Nodes, n)
	}
	for _, n := range c.Nodes {
		if err := os.WriteFile(n.ConfigFile, []byte(c.config(n, opts)), 0o600); err != nil {
			return nil, fmt.Errorf("natstest: %w", err)
		}
	}
	for _, n := range c.Nodes {
		if err := n.Start(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitHealthy(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// config renders node n's configuration file.
func (c *Cluster) config(n *Node, opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nats-server configuration of node %s, written by cardd's internal/natstest.\n", n.Name)
	fmt.Fprintf(&b, "server_name: %s\n", n.Name)
	fmt.Fprintf(&b, "listen: \"127.0.0.1:%d\"\n", n.ClientPort)
	fmt.Fprintf(&b, "http: \"127.0.0.1:%d\"\n", n.MonitorPort)
	fmt.Fprintf(&b, "log_file: %q\n", n.LogFile)
	if n.ProfPort != 0 {
		fmt.Fprintf(&b, "prof_port: %d\n", n.ProfPort)
	}
	if opts.Debug {
		b.WriteString("debug: true\n")
	}
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n  max_memory_store: %d\n  max_file_store: %d\n}\n",
		n.StoreDir, opts.MaxMemoryStore, opts.MaxFileStore)
	if len(c.Nodes) > 1 {
		fmt.Fprintf(&b, "cluster {\n  name: %q\n  listen: \"127.0.0.1:%d\"\n  no_advertise: %t\n  routes: [\n", opts.Name, n.ClusterPort, !opts.Advertise)
		for _, o := range c.Nodes {
			if o != n {
				fmt.Fprintf(&b, "    \"nats-route://127.0.0.1:%d\"\n", o.ClusterPort)
			}
		}
		b.WriteString("  ]\n}\n")
	}
	if opts.Config != "" {
		b.WriteString(opts.Config)
		b.WriteString("\n")
	}
	return b.String()
}

// ClientURLs returns every node's client URL.
func (c *Cluster) ClientURLs() []string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.ClientURL()
	}
	return urls
}

// URL returns the client URLs joined by commas, as nats.Connect takes
// them.
func (c *Cluster) URL() string { return strings.Join(c.ClientURLs(), ",") }

// Node returns the node named name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitHealthy waits until every running node is healthy.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		if err := n.WaitHealthy(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stop kills every node and waits for the processes to exit. The files
// stay (they are under Options.Dir).
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// ClientURL returns the node's client URL.
func (n *Node) ClientURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// MonitorURL returns the base URL of the node's monitoring endpoint.
func (n *Node) MonitorURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.MonitorPort) }

// Start starts the node's process (again, after Kill); it does not wait for
// readiness (see WaitHealthy). Starting a running node is an error.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		select {
		case <-n.done:
		default:
			return fmt.Errorf("natstest: node %s is already running (pid %d)", n.Name, n.cmd.Process.Pid)
		}
	}
	cmd := exec.Command(n.bin, "-c", n.ConfigFile)
	cmd.SysProcAttr = sysProcAttr()
	// The server logs to its log file; what it prints before that (a
	// configuration error) goes there too.
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("natstest: node %s: %w", n.Name, err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("natstest: start node %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		logf.Close()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		close(done)
	}()
	return nil
}

// Running reports whether the node's process is running.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// PID returns the process id of the running node, or 0.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Kill kills the node's process with SIGKILL (no shutdown, no flush) and
// waits for it to exit. Killing a stopped node does nothing.
func (n *Node) Kill() {
	n.signal(syscall.SIGKILL)
}

// Terminate asks the node to shut down cleanly (SIGTERM) and waits for it
// to exit.
func (n *Node) Terminate() {
	n.signal(syscall.SIGTERM)
}

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
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

// Restart kills the node and starts it again with the same configuration,
// ports and store, then waits until it is healthy (it has rejoined the
// cluster and caught up).
func (n *Node) Restart(ctx context.Context) error {
	n.Kill()
	if err := n.Start(); err != nil {
		return err
	}
	return n.WaitHealthy(ctx)
}

// Healthy asks the node's monitoring endpoint once whether it is healthy
// (/healthz: accepting connections, JetStream enabled, in contact with the
// meta leader and its streams and consumers current). It returns nil when
// healthy, else what the server said.
func (n *Node) Healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.MonitorURL()+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("node %s: /healthz: %s: %s", n.Name, resp.Status, strings.TrimSpace(body.String()))
	}
	return nil
}

// WaitHealthy polls the node's health until it is healthy, its process
// exits (an error with the end of its log) or ctx ends.
func (n *Node) WaitHealthy(ctx context.Context) error {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return fmt.Errorf("natstest: node %s was never started", n.Name)
	}
	wait := 10 * time.Millisecond
	var last error
	for {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = n.Healthy(hctx)
		cancel()
		if last == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-done:
			t.Stop()
			n.mu.Lock()
			err := n.err
			n.mu.Unlock()
			return fmt.Errorf("natstest: node %s exited (%v) before it was healthy; its log ends:\n%s", n.Name, err, n.LogTail(30))
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("natstest: node %s not healthy: %w (last: %v)", n.Name, ctx.Err(), last)
		case <-t.C:
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// LogTail returns the last lines of the node's log file.
func (n *Node) LogTail(lines int) string {
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// freePorts returns n distinct loopback TCP ports that are free now. They
// are drawn at random from below the kernel's ephemeral range, so that
// outgoing connections of other processes (which take ephemeral ports) do
// not grab them between now and the server's bind, nor while a node is
// down for a restart.
func freePorts(n int) ([]int, error) {
	lo, hi := 20000, ephemeralLow()
	if hi-lo < 1000 {
		lo, hi = 1024, 65535 // unusual range: any port will do
	}
	seen := map[int]bool{}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("natstest: found only %d free ports of %d in %d–%d", len(ports), n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if seen[p] {
			continue
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow returns the first port of the kernel's ephemeral range
// (32768 when it cannot be read).
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(data))
	if len(f) < 1 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1024 {
		return 32768
	}
	return n
}

// StartT builds (or finds) the server binary and starts a cluster for a
// test under a new temporary directory (unless opts.Dir is set), failing
// the test on error; the cluster is killed when the test ends. A failed
// start shows every node's log.
func StartT(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	bin, err := Binary(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		tb.Logf("natstest: nats-server binary ready in %v: %s", d.Round(time.Millisecond), bin)
	}
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	start = time.Now()
	c, err := Start(ctx, bin, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("natstest: %d-node cluster healthy after %v: %s", len(c.Nodes), time.Since(start).Round(time.Millisecond), c.URL())
	for _, n := range c.Nodes {
		if n.ProfPort != 0 {
			tb.Logf("natstest: node %s (pid %d) serves pprof at http://127.0.0.1:%d/debug/pprof/", n.Name, n.PID(), n.ProfPort)
		}
	}
	tb.Cleanup(c.Stop)
	return c
}

// ProfileCPU records a CPU profile of every running node that serves
// pprof (Options.Profile) for d, all at once, into dir/NODE.cpu.prof; it
// returns when the profiles are written.
func (c *Cluster) ProfileCPU(ctx context.Context, d time.Duration, dir string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.Nodes))
	for i, n := range c.Nodes {
		if n.ProfPort == 0 || !n.Running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.profileCPU(ctx, d, filepath.Join(dir, n.Name+".cpu.prof"))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Node) profileCPU(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", n.ProfPort, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("natstest: profile node %s: %w", n.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("natstest: profile node %s: %s", n.Name, resp.Status)
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("natstest: profile node %s: %w", n.Name, err)
	}
	return os.WriteFile(path, body.Bytes(), 0o600)
}
