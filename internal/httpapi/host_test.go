package httpapi

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestHostAllowList: a page on a name rebound to this machine (DNS
// rebinding) sends Host: evil.example with a matching Origin. Every
// request under a Host that is not the listen address, localhost, a
// loopback address or a configured name is refused with 421 before any
// handler runs: reads and actions alike.
func TestHostAllowList(t *testing.T) {
	var acted atomic.Int32
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			acted.Add(1)
		}
		io.WriteString(w, "dashboard")
	})
	verify := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "verifier") })
	ts := newTestServer(t, Options{Listen: "127.0.0.1:0", Dashboard: ui, Verify: verify, Registry: prometheus.NewRegistry(),
		AllowedHosts: []string{"station-7.example", "Desk.Example."}})
	port := ts.URL[strings.LastIndex(ts.URL, ":"):]
	do := func(method, path, host string) int {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader("action=test-card"))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if strings.Contains(host, "evil") {
			req.Header.Set("Origin", "http://"+host)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	paths := []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/status"}, {"GET", "/metrics"}, {"GET", "/ui/"}, {"GET", "/"},
		{"GET", "/verify"}, {"POST", "/ui/printers/desk/test-card"}, {"POST", "/ui/jobs/1/cancel"},
	}
	for _, host := range []string{"evil.example" + port, "evil.example", "127.0.0.1.evil.example" + port, "localhost.evil.example",
		"station-7.example.evil.example", "[::1].evil.example", "[::1]evil.example:1", "127.0.0.1:80:80"} {
		for _, p := range paths {
			if got := do(p.method, p.path, host); got != http.StatusMisdirectedRequest {
				t.Errorf("%s %s with Host %q: %d, want 421", p.method, p.path, host, got)
			}
		}
	}
	if n := acted.Load(); n != 0 {
		t.Fatalf("%d actions ran under a foreign Host", n)
	}
	for _, host := range []string{"127.0.0.1" + port, "127.0.0.1", "localhost" + port, "LOCALHOST", "localhost.", "[::1]" + port,
		"127.0.0.2" + port, "station-7.example" + port, "STATION-7.EXAMPLE", "desk.example", "desk.example." + port} {
		for _, p := range paths {
			if got := do(p.method, p.path, host); got != http.StatusOK {
				t.Errorf("%s %s with Host %q: %d, want 200", p.method, p.path, host, got)
			}
		}
	}
}

// TestHostListenName: the listen address's own host is allowed; with an
// unspecified address (all interfaces) any IP literal is, names still
// only when listed.
func TestHostListenName(t *testing.T) {
	tests := []struct {
		listen string
		host   string
		ok     bool
	}{
		{"station.local:8631", "station.local:8631", true},
		{"station.local:8631", "other.local:8631", false},
		{"192.168.1.20:8631", "192.168.1.20:8631", true},
		{"192.168.1.20:8631", "192.168.1.21:8631", false},
		{"0.0.0.0:8631", "192.168.1.20:8631", true},
		{"[::]:8631", "[fe80::1]:8631", true},
		{":8631", "10.1.2.3", true},
		{":8631", "evil.example:8631", false},
	}
	for _, tc := range tests {
		a := newHostAllow(tc.listen, nil)
		if got := a.allowed(tc.host); got != tc.ok {
			t.Errorf("listen %s, Host %q: allowed %v, want %v", tc.listen, tc.host, got, tc.ok)
		}
	}
}

// FuzzHostAllowed: whatever the Host header holds, the check never
// panics, and it allows only a Host whose name part is an allowed one.
func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8631", "localhost", "evil.example", "[::1]:1", "[::1", "a:b:c", "", ":", "station-7.example.", "\x00", "LOCALHOST:99999"} {
		f.Add(s)
	}
	a := newHostAllow("127.0.0.1:8631", []string{"station-7.example"})
	f.Fuzz(func(t *testing.T, host string) {
		if !a.allowed(host) {
			return
		}
		name := strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))
		if name != "localhost" && name != "station-7.example" && !isLoopbackIP(name) && name != "127.0.0.1" {
			t.Fatalf("Host %q allowed (name %q)", host, name)
		}
	})
}
