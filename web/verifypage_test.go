package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
)

// TestEmbeddedBuildIsCurrent checks the committed bundle against the
// manifest web/build.mjs wrote: the embedded files must be the ones it
// built, and the sources (web/src, the build script, package.json and the
// lock file) must be the ones it built from. Editing a source without
// running web/build.sh fails here, without needing npm.
func TestEmbeddedBuildIsCurrent(t *testing.T) {
	m, err := EmbeddedManifest()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"dist/verifier.js": bundleJS, "dist/verifier.css": bundleCSS} {
		if len(data) == 0 {
			t.Errorf("%s is empty", name)
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), m.Outputs[name]; got != want {
			t.Errorf("embedded %s has SHA-256 %s, the build wrote %s: run web/build.sh", name, got, want)
		}
	}
	// the sources now on disk, listed as build.mjs lists them
	srcs, err := os.ReadDir("src")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"build.mjs", "package.json", "package-lock.json"}
	for _, e := range srcs {
		names = append(names, "src/"+e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(names, m.Sources) {
		t.Errorf("sources are %q, the build used %q: run web/build.sh", names, m.Sources)
	}
	var listing strings.Builder
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&listing, "%x  %s\n", sha256.Sum256(b), n)
	}
	sum := sha256.Sum256([]byte(listing.String()))
	if got := hex.EncodeToString(sum[:]); got != m.SourcesSHA256 {
		t.Errorf("sources hash %s, the build's %s: web/src or the lock file changed since the last web/build.sh", got, m.SourcesSHA256)
	}
}

func testLists(t testing.TB) (*security.TrustList, *security.DenyList) {
	t.Helper()
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	// an issuer that tries to close the script element
	e, err := security.NewTrustEntry("https://id.example.org/</script><b>", key.Public(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := security.NewTrustList(e)
	if err != nil {
		t.Fatal(err)
	}
	return trust, security.NewDenyList(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"B-2", "A-1", "<x>&"})
}

var scriptRE = regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)

func TestPageIsSelfContained(t *testing.T) {
	trust, deny := testLists(t)
	page, err := Page(PageOptions{Trust: trust, Deny: deny, Title: `Officers & <co>`, Generated: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	scripts := scriptRE.FindAllStringSubmatch(s, -1)
	if len(scripts) != 3 {
		t.Fatalf("page has %d script elements, want 3 (trust, deny, code)", len(scripts))
	}
	for _, bad := range []string{"<script src", "<link", "http://", "https://cdn", "@import", "<iframe"} {
		if strings.Contains(s, bad) {
			t.Errorf("page contains %q: it must need nothing from outside", bad)
		}
	}
	if strings.Contains(s, "<co>") || !strings.Contains(s, "Officers &amp; &lt;co&gt;") {
		t.Error("title is not HTML-escaped")
	}
	if !strings.Contains(s, "Page made 2026-11-27 10:00 UTC") {
		t.Error("generation time not shown")
	}

	// the lists are the file formats, intact after the round trip
	var gotTrust struct {
		Keys []security.TrustEntry `json:"keys"`
	}
	if err := json.Unmarshal([]byte(scripts[0][2]), &gotTrust); err != nil || !strings.Contains(scripts[0][1], `id="cardd-trust"`) {
		t.Fatalf("trust list script %q: %v", scripts[0][1], err)
	}
	if !slices.Equal(gotTrust.Keys, trust.Entries()) {
		t.Errorf("embedded trust list %+v, want %+v", gotTrust.Keys, trust.Entries())
	}
	gotDeny, err := security.ParseDenyList(strings.NewReader(scripts[1][2]))
	if err != nil || !strings.Contains(scripts[1][1], `id="cardd-deny"`) {
		t.Fatalf("deny list script %q: %v", scripts[1][1], err)
	}
	if !slices.Equal(gotDeny.Serials, deny.Serials) || !gotDeny.Generated.Equal(deny.Generated) {
		t.Errorf("embedded deny list %+v, want %+v", gotDeny, deny)
	}

	// the inline code is the bundle, allowed by the CSP's hash and nothing else
	if scripts[2][2] != string(bundleJS) {
		t.Error("inline script is not the embedded bundle byte for byte")
	}
	m := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no CSP meta element")
	}
	csp := html.UnescapeString(m[1])
	if csp != contentSecurityPolicy() {
		t.Errorf("meta CSP %q, want %q", csp, contentSecurityPolicy())
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'none'", "script-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(csp, "script-src "+cspHash([]byte(scripts[2][2]))+";") {
		t.Errorf("CSP %q does not allow the inline script by its hash", csp)
	}
	if st := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(s); st == nil || !strings.Contains(csp, cspHash([]byte(st[1]))) {
		t.Errorf("CSP %q does not allow the inline style by its hash", csp)
	}
}

func TestPageWithoutLists(t *testing.T) {
	page, err := Page(PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<script type="application/json" id="cardd-trust">{"keys":[]}</script>`, `<script type="application/json" id="cardd-deny">{"serials":[]}</script>`, "<title>" + DefaultTitle} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestVerifyHandler(t *testing.T) {
	trust, deny := testLists(t)
	calls := 0
	var fail error
	h := VerifyHandler(func(ctx context.Context) (PageOptions, error) {
		calls++
		if fail != nil {
			return PageOptions{}, fail
		}
		return PageOptions{Trust: trust, Deny: deny}, nil
	}, slog.New(slog.DiscardHandler))
	tests := []struct {
		name, method string
		fail         error
		status       int
		body         bool
	}{
		{"get", http.MethodGet, nil, http.StatusOK, true},
		{"head", http.MethodHead, nil, http.StatusOK, false},
		{"post", http.MethodPost, nil, http.StatusMethodNotAllowed, false},
		{"lists fail", http.MethodGet, errors.New("deny list: no such file"), http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail = tt.fail
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/verify", nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tt.status, body)
			}
			if tt.status != http.StatusOK {
				if strings.Contains(string(body), "no such file") {
					t.Error("error detail leaked to the client")
				}
				return
			}
			if got := res.Header.Get("Content-Security-Policy"); got != contentSecurityPolicy() {
				t.Errorf("CSP header %q", got)
			}
			if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if tt.body != (len(body) > 0) || (tt.body && !bytes.Contains(body, []byte(`id="cardd-deny">{"generated":"2026-11-01T00:00:00Z","serials":["\u003cx\u003e\u0026","A-1","B-2"]}`))) {
				t.Errorf("body of %d bytes, want body=%v with the deny list", len(body), tt.body)
			}
		})
	}
	if calls != 3 {
		t.Errorf("list source called %d times, want 3 (GET, HEAD, failing GET)", calls)
	}
}

func BenchmarkPage(b *testing.B) {
	trust, deny := testLists(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePage(io.Discard, PageOptions{Trust: trust, Deny: deny}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPageSharesDashboardLook: the verifier page uses the operator
// dashboard's colours (the same custom properties with the same values)
// and its accent header bar.
func TestPageSharesDashboardLook(t *testing.T) {
	dash, err := os.ReadFile("../internal/dashboard/assets/style.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := func(css string) map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`(--[a-z]+):\s*([^;]+);`).FindAllStringSubmatch(css, -1) {
			out[m[1]] = strings.TrimSpace(m[2])
		}
		return out
	}
	d, p := vars(string(dash)), vars(string(bundleCSS))
	for _, k := range []string{"--bg", "--card", "--ink", "--muted", "--line", "--ok", "--warn", "--accent"} {
		if d[k] == "" || p[k] != d[k] {
			t.Errorf("%s: page %q, dashboard %q", k, p[k], d[k])
		}
	}
	if p["--bad"] != d["--fault"] {
		t.Errorf("--bad %q, want the dashboard's --fault %q", p["--bad"], d["--fault"])
	}
	if !strings.Contains(pageHTML, `<header><span class="brand">cardd</span>`) {
		t.Error("the page lacks the dashboard's header bar")
	}
}
