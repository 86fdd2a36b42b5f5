package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
)

func fakeStatus() spool.Status {
	return spool.Status{
		Printers: []spool.PrinterInfo{
			{Name: "desk", Status: printer.Status{State: printer.StateIdle, Consumables: printer.Consumables{RibbonLeft: 150, RibbonCapacity: 200, CardsPrinted: 7, PanelsPrinted: 35, FeederLoaded: -1}}},
			{Name: "back-office", Stopped: true, Reasons: []printer.Reason{printer.ReasonCoverOpen}, Err: "printer: cover open",
				Status: printer.Status{State: printer.StateError, Reasons: []printer.Reason{printer.ReasonCoverOpen}}},
		},
		Queue:   map[spool.State]int{spool.StatePending: 3, spool.StateCompleted: 10},
		Batches: []spool.Batch{{ID: "B000001", State: "open"}},
	}
}

func newTestServer(t *testing.T, o Options) *httptest.Server {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Status == nil {
		o.Status = fakeStatus
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, Options{})
	resp, body := get(t, ts.URL+"/healthz", nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
}

// TestHealthzUnhealthy: /healthz answers 503 with the reason while the
// Health hook reports a problem (a stalled scheduler), 200 once it clears.
func TestHealthzUnhealthy(t *testing.T) {
	var stalled error = errors.New("spool: scheduler stalled: no pass of the scheduler loop for 3m0s")
	ts := newTestServer(t, Options{Health: func() error { return stalled }})
	resp, body := get(t, ts.URL+"/healthz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "unhealthy: spool: scheduler stalled") {
		t.Fatalf("healthz while stalled: %d %q", resp.StatusCode, body)
	}
	stalled = nil
	if resp, body := get(t, ts.URL+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after recovery: %d %q", resp.StatusCode, body)
	}
}

func TestStatusShape(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ts := newTestServer(t, Options{Station: "OFF7", Now: func() time.Time { return now }})
	resp, body := get(t, ts.URL+"/status", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Decode generically: the wire shape is the contract.
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, body)
	}
	if doc["station"] != "OFF7" || doc["time"] != "2026-11-27T10:00:00Z" {
		t.Errorf("station/time: %v %v", doc["station"], doc["time"])
	}
	queue := doc["queue"].(map[string]any)
	for _, s := range []string{"pending", "held", "processing", "stopped", "cancelled", "aborted", "completed"} {
		if _, ok := queue[s]; !ok {
			t.Errorf("queue lacks state %s: %v", s, queue)
		}
	}
	if queue["pending"] != 3.0 || queue["completed"] != 10.0 {
		t.Errorf("queue counts: %v", queue)
	}
	prs := doc["printers"].([]any)
	if len(prs) != 2 {
		t.Fatalf("printers: %v", prs)
	}
	tests := []struct {
		i       int
		name    string
		state   string
		stopped bool
		blocked bool
		reasons int
		ribbon  float64
	}{
		{0, "desk", "idle", false, false, 0, 150},
		{1, "back-office", "error", true, true, 1, 0},
	}
	for _, tc := range tests {
		p := prs[tc.i].(map[string]any)
		c := p["consumables"].(map[string]any)
		if p["name"] != tc.name || p["state"] != tc.state || p["stopped"] != tc.stopped || p["blocked"] != tc.blocked ||
			len(p["reasons"].([]any)) != tc.reasons || c["ribbon_left"] != tc.ribbon {
			t.Errorf("printer %d: %v", tc.i, p)
		}
	}
	if b := doc["batches"].([]any); len(b) != 1 || b[0].(map[string]any)["id"] != "B000001" {
		t.Errorf("batches: %v", doc["batches"])
	}
}

func TestMetricsScrape(t *testing.T) {
	m := NewMetrics(fakeStatus)
	m.ObservePrint("desk", printer.Result{Outcome: printer.OutcomePrinted}, 1500*time.Millisecond)
	m.ObservePrint("desk", printer.Result{Outcome: printer.OutcomeRejected}, time.Second)
	// A stray card rejected before a printed card: one spoiled, one printed.
	m.ObservePrint("back-office", printer.Result{Outcome: printer.OutcomePrinted, StrayRejected: true}, time.Second)
	m.ObserveClaimLatency(3 * time.Millisecond)
	ts := newTestServer(t, Options{Registry: m.Registry()})
	resp, body := get(t, ts.URL+"/metrics", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
	next:
		for _, mt := range f.Metric {
			for _, lp := range mt.Label {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("no %s with %v", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"cardd_jobs", map[string]string{"state": "pending"}, 3},
		{"cardd_jobs", map[string]string{"state": "completed"}, 10},
		{"cardd_jobs", map[string]string{"state": "held"}, 0},
		{"cardd_cards_printed_total", map[string]string{"printer": "desk"}, 1},
		{"cardd_cards_spoiled_total", map[string]string{"printer": "desk"}, 1},
		{"cardd_cards_spoiled_total", map[string]string{"printer": "back-office"}, 1},
		{"cardd_cards_printed_total", map[string]string{"printer": "back-office"}, 1},
		{"cardd_print_duration_seconds", map[string]string{"printer": "desk"}, 1},
		{"cardd_spool_claim_latency_seconds", nil, 1},
		{"cardd_printer_up", map[string]string{"printer": "desk"}, 1},
		{"cardd_printer_up", map[string]string{"printer": "back-office"}, 0},
		{"cardd_printer_blocked", map[string]string{"printer": "back-office"}, 1},
		{"cardd_printer_blocked", map[string]string{"printer": "desk"}, 0},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// selfSigned writes a throwaway certificate and key for 127.0.0.1.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cardd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestListenRefusal(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		listen              string
		cert, key, tokf, ca string
		refused             bool
	}{
		{"ipv4 loopback", "127.0.0.1:8631", "", "", "", "", false},
		{"other loopback", "127.0.0.2:8631", "", "", "", "", false},
		{"ipv6 loopback", "[::1]:8631", "", "", "", "", false},
		{"localhost", "localhost:8631", "", "", "", "", false},
		{"all interfaces", ":8631", "", "", "", "", true},
		{"any v4", "0.0.0.0:8631", "", "", "", "", true},
		{"lan address", "192.168.1.20:8631", "", "", "", "", true},
		{"token without TLS", "0.0.0.0:8631", "", "", token, "", true},
		{"TLS without token", "0.0.0.0:8631", cert, key, "", "", true},
		{"TLS and token", "0.0.0.0:8631", cert, key, token, "", false},
		{"TLS and client CA", "0.0.0.0:8631", cert, key, "", cert, false},
		{"client CA without TLS", "0.0.0.0:8631", "", "", "", cert, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Listen: tc.listen, TLSCert: tc.cert, TLSKey: tc.key, TokenFile: tc.tokf, ClientCA: tc.ca, Status: fakeStatus})
			// Missing credentials off loopback are ErrNotLoopback;
			// a client CA without TLS is refused before that check.
			if refused := err != nil; refused != tc.refused || (refused && tc.ca == "" && !errors.Is(err, ErrNotLoopback)) {
				t.Fatalf("New(%s): err %v, want refused %v", tc.listen, err, tc.refused)
			}
		})
	}
}

func TestTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	token := filepath.Join(dir, "token")
	const tok = "0123456789abcdef0123"
	if err := os.WriteFile(token, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TokenFile: token, Status: fakeStatus})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(a net.Addr) { addr <- a }) }()
	a := <-addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", http.StatusOK},
		{"/status", "", http.StatusUnauthorized},
		{"/status", "Bearer wrong", http.StatusUnauthorized},
		{"/status", "Bearer " + tok, http.StatusOK},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(http.MethodGet, "https://"+a.String()+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
