package httpapi

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDashboardSignIn: with a token, a browser signs in at /ui/login and
// then reaches the dashboard with the cookie; the dashboard sees the
// request as authenticated by the token. Wrong tokens and cross-site
// sign-ins are refused.
func TestDashboardSignIn(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	token := filepath.Join(dir, "token")
	const tok = "0123456789abcdef0123"
	if err := os.WriteFile(token, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "dashboard as "+Authenticated(r.Context()))
	})
	s, err := New(Options{Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TokenFile: token, Status: fakeStatus, Dashboard: dash})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(a net.Addr) { addr <- a }) }()
	base := "https://" + (<-addr).String()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path string, form url.Values, hdr map[string]string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := send("GET", "/ui/", nil, nil); code != http.StatusSeeOther || loc != "/ui/login" {
		t.Errorf("dashboard without the token: %d to %q, want the sign-in page", code, loc)
	}
	if code, _, _ := send("GET", "/ui/queue", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("queue without the token: %d", code)
	}
	if code, _, body := send("GET", "/ui/login", nil, nil); code != 200 || !strings.Contains(body, `name="token"`) {
		t.Errorf("sign-in page: %d", code)
	}
	if code, _, _ := send("POST", "/ui/login", url.Values{"token": {"wrong-token-0000000"}}, nil); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if code, _, _ := send("POST", "/ui/login", url.Values{"token": {tok}}, map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", code)
	}
	if code, _, _ := send("GET", "/status", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("refused sign-ins set a cookie: /status %d", code)
	}
	if code, loc, _ := send("POST", "/ui/login", url.Values{"token": {tok}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("sign-in: %d to %q", code, loc)
	}
	if code, _, body := send("GET", "/ui/queue", nil, nil); code != 200 || body != "dashboard as token" {
		t.Errorf("after sign-in: %d %q", code, body)
	}
	if code, _, _ := send("GET", "/status", nil, nil); code != 200 {
		t.Errorf("status with the cookie: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAuthenticatedLoopback: without a token a request has no
// authentication in its context.
func TestAuthenticatedLoopback(t *testing.T) {
	var got = "unset"
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = Authenticated(r.Context()) })
	s, err := New(Options{Listen: "127.0.0.1:0", Status: fakeStatus, Dashboard: dash})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:8631/ui/", nil)
	req.Header.Set("Authorization", "Bearer forged")
	s.Handler().ServeHTTP(discard{}, req)
	if got != "" {
		t.Errorf("Authenticated = %q without a token configured", got)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
