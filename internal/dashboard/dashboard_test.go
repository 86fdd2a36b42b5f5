package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// fakeStation is the scheduler, spool and audit log for handler tests:
// actions change the jobs' states as the scheduler would for the cases
// the tests use, and record the calls.
type fakeStation struct {
	mu      sync.Mutex
	jobs    []spool.Job
	printer spool.PrinterInfo
	calls   []string
	audits  []audit.Record
	tests   []string
	batches []spool.Batch
	lists   int // calls of list: one per snapshot the event stream takes
}

func newFake() *fakeStation {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return &fakeStation{
		jobs: []spool.Job{
			{Num: 1, ID: "CASE-1", State: spool.StatePending, Updated: t0},
			{Num: 2, ID: "CASE-2", State: spool.StateHeld, Reason: spool.ReasonOutcomeUnknown, Serial: "ST-0000002-X", Updated: t0,
				Settled: "hold: a different printer: serial EVO-1 before the card, EVO-2 now"},
			{Num: 3, ID: "CASE-3", State: spool.StateCompleted, Serial: "ST-0000003-Y", Printer: "desk", Outcome: printer.OutcomePrinted, Updated: t0},
			{Num: 4, ID: "CASE-4", State: spool.StateHeld, Reason: "held by operator: lunch", Updated: t0},
			{Num: 5, ID: "CASE-5", State: spool.StateHeld, Reason: "photo: no face found", Checked: true, Updated: t0},
		},
		printer: spool.PrinterInfo{Name: "desk", Status: printer.Status{State: printer.StateIdle, Consumables: printer.Consumables{RibbonLeft: 150, RibbonCapacity: 200, CardsPrinted: 42, PanelsPrinted: 210, FeederLoaded: -1}}},
		batches: []spool.Batch{{ID: "B0001", State: spool.BatchOpen, Opened: t0}},
	}
}

func (f *fakeStation) status() spool.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := map[spool.State]int{}
	for _, j := range f.jobs {
		q[j.State]++
	}
	return spool.Status{Printers: []spool.PrinterInfo{f.printer}, Queue: q, Batches: f.batches}
}

func (f *fakeStation) list() []spool.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return append([]spool.Job(nil), f.jobs...)
}

func (f *fakeStation) set(ref string, want []spool.State, to spool.State, call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	for i := range f.jobs {
		if fmt.Sprint(f.jobs[i].Num) == ref {
			for _, w := range want {
				if f.jobs[i].State == w {
					f.jobs[i].State = to
					return nil
				}
			}
			return fmt.Errorf("%w: job is %s", spool.ErrState, f.jobs[i].State)
		}
	}
	return spool.ErrNotFound
}

func (f *fakeStation) Hold(_ context.Context, ref, reason string) error {
	return f.set(ref, []spool.State{spool.StatePending}, spool.StateHeld, "hold "+ref+" "+reason)
}
func (f *fakeStation) Release(_ context.Context, ref string) error {
	return f.set(ref, []spool.State{spool.StateHeld}, spool.StatePending, "release "+ref)
}
func (f *fakeStation) Override(_ context.Context, ref, reason string) error {
	return f.set(ref, []spool.State{spool.StateHeld}, spool.StatePending, "override "+ref+" "+reason)
}
func (f *fakeStation) Cancel(_ context.Context, ref, reason string) error {
	return f.set(ref, []spool.State{spool.StatePending, spool.StateHeld}, spool.StateCancelled, "cancel "+ref+" "+reason)
}
func (f *fakeStation) Confirm(_ context.Context, ref, note string) error {
	return f.set(ref, []spool.State{spool.StateHeld}, spool.StateCompleted, "confirm "+ref+" "+note)
}
func (f *fakeStation) Void(_ context.Context, ref, reason string) error {
	return f.set(ref, []spool.State{spool.StateHeld}, spool.StateHeld, "void "+ref+" "+reason)
}
func (f *fakeStation) Reprint(_ context.Context, ref, newID, reason string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "reprint "+ref+" "+newID+" "+reason)
	return "job-" + newID, nil
}
func (f *fakeStation) CloseBatch(id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "close "+id+" "+reason)
	f.batches[0].State = spool.BatchClosed
	return nil
}
func (f *fakeStation) Operator(_ context.Context, operator, action, serial, reason string) (audit.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := audit.Record{Event: audit.EventOperator, Operator: operator, Action: action, Serial: serial, Reason: reason}
	f.audits = append(f.audits, r)
	return r, nil
}
func (f *fakeStation) testCard(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tests = append(f.tests, name)
	return nil
}
func (f *fakeStation) report(id string) (*spool.BatchReport, error) {
	return &spool.BatchReport{Batch: f.batches[0], Jobs: 2, Printed: 1, BlanksExpected: 2, BlanksUsed: 1,
		Manifest: []spool.ManifestEntry{{Job: 3, ID: "CASE-3", Serial: "ST-0000003-Y", Printer: "desk", Outcome: printer.OutcomePrinted, State: spool.StateCompleted}, {Job: 1, ID: "CASE-1", State: spool.StatePending}}}, nil
}

func (f *fakeStation) snapshotCalls() ([]string, []audit.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]audit.Record(nil), f.audits...)
}

func newTest(t *testing.T, preview func() []byte) (*fakeStation, *httptest.Server) {
	t.Helper()
	f := newFake()
	d, err := New(Options{Station: "Desk 1", Status: f.status, Jobs: f.list, Batches: func() []spool.Batch { return f.status().Batches },
		Report: f.report, Actions: f, TestCard: f.testCard, Audit: f, Preview: preview, Interval: 10 * time.Millisecond,
		PhotoReport: func(j spool.Job) *portrait.Report {
			if j.Num != 5 {
				return nil
			}
			return &portrait.Report{Verdict: portrait.Fail, Checks: []portrait.Result{{Name: portrait.CheckFace, Verdict: portrait.Fail, Message: "no face found"}}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return f, srv
}

// session opens the queue page and returns the CSRF cookie and the form
// token found in the page.
func session(t *testing.T, srv *httptest.Server) (*http.Cookie, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/ui/queue")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == CookieName {
			c = k
		}
	}
	if c == nil || c.SameSite != http.SameSiteStrictMode || !c.HttpOnly {
		t.Fatalf("CSRF cookie %+v: want HttpOnly, SameSite=Strict", c)
	}
	_, rest, ok := strings.Cut(string(body), `name="csrf" value="`)
	if !ok {
		t.Fatal("no csrf field in the page")
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return c, tok
}

type post struct {
	path    string
	form    url.Values
	cookie  *http.Cookie
	header  map[string]string
	noRedir bool
}

func do(t *testing.T, srv *httptest.Server, p post) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+p.path, strings.NewReader(p.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	if p.cookie != nil {
		req.AddCookie(&http.Cookie{Name: p.cookie.Name, Value: p.cookie.Value})
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPagesRender(t *testing.T) {
	_, srv := newTest(t, nil)
	tests := []struct {
		path string
		code int
		want []string
	}{
		{"/ui/", 200, []string{"Desk 1", `data-printer="desk"`, "150</b> / 200", "42", "no faults", "Print test card"}},
		{"/ui/queue", 200, []string{"CASE-1", "ST-0000002-X", "btn-hold", "btn-confirm", "btn-void", "btn-release", "btn-reprint", `action="/ui/jobs/2/void"`,
			`action="/ui/jobs/5/override"`, "photo checks", `data-role="settled">hold: a different printer: serial EVO-1 before the card, EVO-2 now`, `<li class="check-fail"><b>face</b> fail: no face found</li>`}},
		{"/ui/outcomes", 200, []string{"CASE-3", "ST-0000003-Y", "printed"}},
		{"/ui/batches", 200, []string{"B0001", "Close now", `value="1"`}},
		{"/ui/batches/B0001", 200, []string{"Manifest", "ST-0000003-Y", "Reconciliation report", "1 of 2 jobs finished"}},
		{"/ui/batches/NOPE", 404, nil},
		{"/ui/queue?part=main", 200, []string{"CASE-1"}},
		{"/ui/static/app.js", 200, []string{"EventSource"}},
		{"/ui/static/style.css", 200, []string{"--fault"}},
		{"/ui/static/layout.html", 404, nil},
		{"/ui/preview.jpg", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := get(t, srv.URL+tc.path)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers: %v", h)
			}
			if strings.Contains(tc.path, "part=main") && strings.Contains(body, "<html") {
				t.Error("part=main served the whole page")
			}
		})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("/: %d to %q, want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestRibbonWithoutCapacity: a printer that reports prints left but not
// its ribbon's capacity (Evolis) shows the count, not "unknown".
func TestRibbonWithoutCapacity(t *testing.T) {
	for _, tc := range []struct {
		left, capacity int
		want, not      string
	}{
		{150, -1, "150</b> prints left", "level unknown"},
		{-1, -1, "level unknown", "prints left"},
	} {
		f, srv := newTest(t, nil)
		f.mu.Lock()
		f.printer.Status.Consumables.RibbonLeft = tc.left
		f.printer.Status.Consumables.RibbonCapacity = tc.capacity
		f.mu.Unlock()
		_, _, body := get(t, srv.URL+"/ui/")
		if !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("left %d capacity %d: page lacks %q or has %q", tc.left, tc.capacity, tc.want, tc.not)
		}
	}
}

func TestPreview(t *testing.T) {
	jpg := []byte("\xff\xd8fake jpeg")
	_, srv := newTest(t, func() []byte { return jpg })
	code, h, body := get(t, srv.URL+"/ui/preview.jpg")
	if code != 200 || h.Get("Content-Type") != "image/jpeg" || body != string(jpg) {
		t.Errorf("preview: %d %s %q", code, h.Get("Content-Type"), body)
	}
	if _, _, page := get(t, srv.URL+"/ui/"); !strings.Contains(page, `src="/ui/preview.jpg`) {
		t.Error("printers page lacks the preview with preview on")
	}
	_, srv = newTest(t, nil)
	if _, _, page := get(t, srv.URL+"/ui/"); strings.Contains(page, "preview.jpg") {
		t.Error("printers page shows a preview with preview off")
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		form     url.Values
		code     int
		call     string // "" : no scheduler call
		action   string // audit action, "" : no audit record
		serial   string
		newState spool.State
		job      int // index in fake jobs
	}{
		{"hold", "/ui/jobs/1/hold", url.Values{"reason": {"photo looks wrong"}}, 200, "hold 1 photo looks wrong", "hold job 1 (id CASE-1)", "", spool.StateHeld, 0},
		{"hold by id", "/ui/jobs/CASE-1/hold", nil, 200, "hold 1 ", "hold job 1 (id CASE-1)", "", spool.StateHeld, 0},
		{"release", "/ui/jobs/4/release", nil, 200, "release 4", "release job 4 (id CASE-4)", "", spool.StatePending, 3},
		{"override", "/ui/jobs/5/override", url.Values{"reason": {"face checked by hand"}}, 200, "override 5 face checked by hand", "override job 5 (id CASE-5)", "", spool.StatePending, 4},
		{"override needs a reason", "/ui/jobs/5/override", nil, 400, "", "", "", spool.StateHeld, 4},
		{"cancel", "/ui/jobs/1/cancel", url.Values{"reason": {"duplicate"}}, 200, "cancel 1 duplicate", "cancel job 1 (id CASE-1)", "", spool.StateCancelled, 0},
		{"confirm", "/ui/jobs/2/confirm", nil, 200, "confirm 2 ", "confirm job 2 (id CASE-2)", "ST-0000002-X", spool.StateCompleted, 1},
		{"void", "/ui/jobs/2/void", url.Values{"reason": {"card damaged"}}, 200, "void 2 card damaged", "void job 2 (id CASE-2)", "ST-0000002-X", spool.StateHeld, 1},
		{"void needs a reason", "/ui/jobs/2/void", url.Values{"reason": {"  "}}, 400, "", "", "", spool.StateHeld, 1},
		{"reprint", "/ui/jobs/3/reprint", url.Values{"reason": {"lost"}, "new_id": {"CASE-3b"}}, 200, "reprint 3 CASE-3b lost", "reprint job 3 (id CASE-3) as CASE-3b", "ST-0000003-Y", spool.StateCompleted, 2},
		{"reprint needs a reason", "/ui/jobs/3/reprint", nil, 400, "", "", "", spool.StateCompleted, 2},
		{"refused by the scheduler", "/ui/jobs/3/hold", nil, 409, "hold 3 ", "hold job 3 (id CASE-3) (refused: ", "ST-0000003-Y", spool.StateCompleted, 2},
		{"unknown job", "/ui/jobs/99/hold", nil, 400, "", "", "", "", -1},
		{"unknown action", "/ui/jobs/1/explode", nil, 400, "", "", "", spool.StatePending, 0},
		{"long reason", "/ui/jobs/1/hold", url.Values{"reason": {strings.Repeat("x", 501)}}, 400, "", "", "", spool.StatePending, 0},
		{"test card", "/ui/printers/desk/test-card", nil, 200, "", "test card on printer desk", "", "", -1},
		{"close batch", "/ui/batches/B0001/close", url.Values{"reason": {"end of day"}}, 200, "close B0001 end of day", "close batch B0001", "", "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newTest(t, nil)
			c, tok := session(t, srv)
			resp, body := do(t, srv, post{path: tc.path, form: tc.form, cookie: c, header: map[string]string{"X-CSRF-Token": tok, "Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}})
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if want := `"ok":` + fmt.Sprint(tc.code == 200); !strings.Contains(body, want) {
				t.Errorf("reply %s lacks %s", body, want)
			}
			calls, audits := f.snapshotCalls()
			if tc.call == "" && len(calls) > 0 || tc.call != "" && (len(calls) != 1 || calls[0] != tc.call) {
				t.Errorf("scheduler calls %q, want %q", calls, tc.call)
			}
			if tc.action == "" {
				if len(audits) != 0 {
					t.Errorf("audit records %+v, want none", audits)
				}
			} else if len(audits) != 1 || !strings.HasPrefix(audits[0].Action, tc.action) || audits[0].Serial != tc.serial || audits[0].Operator != "local@127.0.0.1" || audits[0].Reason != strings.TrimSpace(tc.form.Get("reason")) {
				t.Errorf("audit %+v, want action %q serial %q by local@127.0.0.1", audits, tc.action, tc.serial)
			}
			if tc.job >= 0 && tc.newState != "" {
				if got := f.list()[tc.job].State; got != tc.newState {
					t.Errorf("job state %s, want %s", got, tc.newState)
				}
			}
			if tc.name == "test card" && len(f.tests) != 1 {
				t.Errorf("test cards %q", f.tests)
			}
		})
	}
}

// TestPlainForm: without the script, a form posts its hidden token and
// is redirected back to its page with a message.
func TestPlainForm(t *testing.T) {
	f, srv := newTest(t, nil)
	c, tok := session(t, srv)
	resp, _ := do(t, srv, post{path: "/ui/jobs/1/hold", form: url.Values{"csrf": {tok}, "back": {"/ui/queue"}, "reason": {"check"}}, cookie: c})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/queue?msg=job+1") {
		t.Fatalf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.list()[0].State != spool.StateHeld {
		t.Error("job not held")
	}
	for _, back := range []string{"https://evil.example/", "//evil.example/ui/", "/ui/../x?y", "/other"} {
		resp, _ := do(t, srv, post{path: "/ui/jobs/4/release", form: url.Values{"csrf": {tok}, "back": {back}}, cookie: c})
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ui/queue?") {
			t.Errorf("back %q redirected to %q", back, loc)
		}
	}
}

// TestCSRF: requests without the session cookie and its token, or from
// another site, change nothing and leave no audit record.
func TestCSRF(t *testing.T) {
	f, srv := newTest(t, nil)
	c, tok := session(t, srv)
	c2, tok2 := session(t, srv)
	if c.Value == c2.Value || tok == tok2 {
		t.Fatal("two sessions share a token")
	}
	good := map[string]string{"X-CSRF-Token": tok}
	tests := []struct {
		name   string
		p      post
		reason string
	}{
		{"no cookie", post{header: good}, "no session cookie"},
		{"no token", post{cookie: c}, "CSRF token"},
		{"wrong token", post{cookie: c, header: map[string]string{"X-CSRF-Token": "AAAA"}}, "CSRF token"},
		{"other session's token", post{cookie: c, header: map[string]string{"X-CSRF-Token": tok2}}, "CSRF token"},
		{"cookie value as token", post{cookie: c, header: map[string]string{"X-CSRF-Token": c.Value}}, "CSRF token"},
		{"token in the wrong form field", post{cookie: c, form: url.Values{"token": {tok}}}, "CSRF token"},
		{"cross-site", post{cookie: c, header: map[string]string{"X-CSRF-Token": tok, "Sec-Fetch-Site": "cross-site"}}, "Sec-Fetch-Site"},
		{"same-site other origin", post{cookie: c, header: map[string]string{"X-CSRF-Token": tok, "Sec-Fetch-Site": "same-site"}}, "Sec-Fetch-Site"},
		{"foreign origin", post{cookie: c, header: map[string]string{"X-CSRF-Token": tok, "Origin": "https://evil.example"}}, "Origin"},
		{"null origin", post{cookie: c, header: map[string]string{"X-CSRF-Token": tok, "Origin": "null"}}, "Origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/ui/jobs/1/cancel", "/ui/printers/desk/test-card", "/ui/batches/B0001/close"} {
				p := tc.p
				p.path = path
				resp, body := do(t, srv, p)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tc.reason) {
					t.Errorf("%s: %d %q, want 403 naming %q", path, resp.StatusCode, body, tc.reason)
				}
			}
		})
	}
	calls, audits := f.snapshotCalls()
	if len(calls) != 0 || len(audits) != 0 || len(f.tests) != 0 {
		t.Errorf("refused requests acted: calls %q, audits %+v, tests %q", calls, audits, f.tests)
	}
}

// TestGetChangesNothing: the action URLs refuse every method but POST.
func TestGetChangesNothing(t *testing.T) {
	f, srv := newTest(t, nil)
	c, tok := session(t, srv)
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		for _, path := range []string{"/ui/jobs/1/hold", "/ui/jobs/1/cancel", "/ui/printers/desk/test-card", "/ui/batches/B0001/close"} {
			req, _ := http.NewRequest(m, srv.URL+path+"?csrf="+tok, nil)
			req.AddCookie(c)
			req.Header.Set("X-CSRF-Token", tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, resp.StatusCode)
			}
		}
	}
	calls, audits := f.snapshotCalls()
	if len(calls) != 0 || len(audits) != 0 || f.list()[0].State != spool.StatePending {
		t.Errorf("a non-POST request acted: %q %+v", calls, audits)
	}
}

// TestEvents: the stream sends the snapshot at once and again when the
// station changes, and not while nothing changes.
func TestEvents(t *testing.T) {
	f, srv := newTest(t, nil)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/ui/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	first := testwait.Recv(t, "the first event", events)
	if !strings.Contains(first, `"name":"desk"`) || !strings.Contains(first, `"jobs":5`) {
		t.Fatalf("first event %s", first)
	}
	// Five more looks at the station with nothing changed send nothing
	// (any event of an earlier look is written before the next look).
	f.mu.Lock()
	from := f.lists
	f.mu.Unlock()
	testwait.For(t, "five snapshots without a change", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.lists >= from+5
	})
	select {
	case e := <-events:
		t.Fatalf("event without a change: %s", e)
	default:
	}
	f.mu.Lock()
	f.printer.Reasons = []printer.Reason{printer.ReasonCoverOpen}
	f.printer.Stopped = true
	f.mu.Unlock()
	if e := testwait.Recv(t, "an event after a change", events); !strings.Contains(e, "cover-open") {
		t.Errorf("change event %s lacks the fault", e)
	}
	if err := f.Hold(t.Context(), "1", ""); err != nil {
		t.Fatal(err)
	}
	if e := testwait.Recv(t, "an event after a job changed", events); !strings.Contains(e, `"held":4`) {
		t.Errorf("change event %s lacks the new count", e)
	}
	// A job change that keeps the counts still changes the version.
	f.mu.Lock()
	f.jobs[3].State, f.jobs[0].State = spool.StatePending, spool.StateHeld
	f.mu.Unlock()
	if err := f.Release(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Hold(t.Context(), "4", ""); err != nil {
		t.Fatal(err)
	}
	testwait.Recv(t, "an event after jobs swapped states", events)
}

// TestSnapshotHasNoPersonalData: jobs reach pages and events through
// their numbers, ids, serials and states only.
func TestSnapshotHasNoPersonalData(t *testing.T) {
	_, srv := newTest(t, nil)
	_, _, body := get(t, srv.URL+"/ui/snapshot")
	for _, banned := range []string{"hash", "source", "template", "history", "photo", "case-"} {
		if strings.Contains(strings.ToLower(body), `"`+banned) {
			t.Errorf("snapshot has %q: %s", banned, body)
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	f := newFake()
	full := Options{Status: f.status, Jobs: f.list, Actions: f, Audit: f}
	if _, err := New(full); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"status": {Jobs: f.list, Actions: f, Audit: f}, "jobs": {Status: f.status, Actions: f, Audit: f},
		"actions": {Status: f.status, Jobs: f.list, Audit: f}, "audit": {Status: f.status, Jobs: f.list, Actions: f},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("no %s: no error", name)
		}
	}
}

// FuzzAction posts arbitrary paths and forms: nothing panics, and without
// the session's token nothing reaches the scheduler or the audit log.
func FuzzAction(f *testing.F) {
	f.Add("1", "hold", "reason", "x", "")
	f.Add("CASE-3", "reprint", "lost", "", "https://evil")
	f.Add("2", "void", "", "AAAA", "null")
	fs := newFake()
	d, err := New(Options{Status: fs.status, Jobs: fs.list, Actions: fs, Audit: fs, TestCard: fs.testCard})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ref, action, reason, token, origin string) {
		form := url.Values{"reason": {reason}, "csrf": {token}, "back": {"/ui/" + ref}}
		req := httptest.NewRequest(http.MethodPost, "/ui/jobs/x/y", strings.NewReader(form.Encode()))
		req.URL.Path = "/ui/jobs/" + ref + "/" + action
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: strings.Repeat("k", 40)})
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if token == d.formToken(strings.Repeat("k", 40)) {
			return
		}
		if rec.Code < 400 && rec.Code != http.StatusMovedPermanently && rec.Code != http.StatusTemporaryRedirect && rec.Code != http.StatusPermanentRedirect {
			t.Fatalf("%s %s: %d without a token", ref, action, rec.Code)
		}
		if calls, audits := fs.snapshotCalls(); len(calls) != 0 || len(audits) != 0 {
			t.Fatalf("acted without a token: %q %+v", calls, audits)
		}
	})
}

// BenchmarkQueuePage renders the queue page with 10,000 waiting jobs
// (100 listed per state).
func BenchmarkQueuePage(b *testing.B) {
	f := newFake()
	for i := range 10000 {
		f.jobs = append(f.jobs, spool.Job{Num: uint64(100 + i), ID: fmt.Sprintf("BULK-%05d", i), State: spool.StatePending})
	}
	d, err := New(Options{Status: f.status, Jobs: f.list, Actions: f, Audit: f})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/ui/queue", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkSnapshot is the event stream's work per tick with 10,000 jobs.
func BenchmarkSnapshot(b *testing.B) {
	f := newFake()
	for i := range 10000 {
		f.jobs = append(f.jobs, spool.Job{Num: uint64(100 + i), ID: fmt.Sprintf("BULK-%05d", i), State: spool.StatePending})
	}
	d, err := New(Options{Status: f.status, Jobs: f.list, Actions: f, Audit: f})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.snapshot(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPermanentColumn: at a field office of a network, the outcomes page
// shows each job's permanent card status, and news of it changes the
// snapshot's version (the page updates).
func TestPermanentColumn(t *testing.T) {
	f := newFake()
	var mu sync.Mutex
	perm := map[string]string{"CASE-3": "forwarded"}
	d, err := New(Options{Station: "Office", Status: f.status, Jobs: f.list, Actions: f, Audit: f,
		Permanent: func() map[string]string {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(perm)
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	_, _, body := get(t, srv.URL+"/ui/outcomes")
	if !strings.Contains(body, "<th>Permanent card</th>") || !strings.Contains(body, `data-role="permanent">forwarded</td>`) {
		t.Fatalf("outcomes page without the permanent card column:\n%s", body)
	}
	v1, _ := d.snapshot()
	mu.Lock()
	perm["CASE-3"] = "printed ST-0000009-Z at central-1"
	mu.Unlock()
	v2, _ := d.snapshot()
	if string(v1) == string(v2) {
		t.Error("the snapshot did not change with the permanent card's status")
	}
	_, _, body = get(t, srv.URL+"/ui/outcomes")
	if !strings.Contains(body, "printed ST-0000009-Z at central-1") {
		t.Error("the page does not show the new status")
	}
}

// TestLastErrorInWords: a printer's last error shows as the reason in
// words; the raw error with the printer's reply is kept behind a
// "details" toggle, in a block that wraps.
func TestLastErrorInWords(t *testing.T) {
	f, srv := newTest(t, nil)
	raw := `evolis emulator:evolis: print: Db: printer: print: [card-jam] (reply "ERR MECHANICAL")`
	f.mu.Lock()
	f.printer.Err = raw
	f.mu.Unlock()
	_, _, page := get(t, srv.URL+"/ui/")
	words := "<b>Last error:</b> A card is jammed: open the printer and remove it.</p>"
	if !strings.Contains(page, words) {
		t.Errorf("page lacks the error in words %q:\n%s", words, page)
	}
	details := `<details data-key="lasterr-desk"><summary>details</summary><code>` + html.EscapeString(raw) + `</code></details>`
	if !strings.Contains(page, details) {
		t.Errorf("page lacks the raw error behind details %q:\n%s", details, page)
	}
	for _, tc := range []struct{ err, want string }{
		{"status: printer: timeout", "did not answer in time"},
		{"write: printer: no such device", "link to the printer was lost"},
		{"odd", "reported an error"},
	} {
		if got := errWords(tc.err, nil); !strings.Contains(got, tc.want) {
			t.Errorf("errWords(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if got := errWords("refused", []printer.Reason{printer.ReasonCoverOpen}); !strings.Contains(got, "cover is open") {
		t.Errorf("errWords with a cover-open reason = %q", got)
	}
}

// TestPagesEscapeControlAndBidi: untrusted text (a job's reason, a photo
// check's message, a printer's error) reaches the dashboard's pages with
// control and bidi characters escaped, so it cannot reorder or hide what
// the operator reads. HTML escaping alone leaves them in.
func TestPagesEscapeControlAndBidi(t *testing.T) {
	f, srv := newTest(t, nil)
	const hostile = "printed\u202e dlo\u2066x\u2069 \x1b[2J\u200b"
	f.mu.Lock()
	f.jobs[3].Reason = "held by operator: " + hostile
	f.jobs[2].Reason = hostile
	f.printer.Err = "device said: " + hostile
	f.printer.Stopped = true
	f.mu.Unlock()
	for _, page := range []string{"/ui/", "/ui/queue", "/ui/outcomes", "/ui/queue?part=main"} {
		resp, err := http.Get(srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, bad := range []string{"\u202e", "\u2066", "\u2069", "\x1b", "\u200b"} {
			if strings.Contains(string(body), bad) {
				t.Errorf("%s keeps %q", page, bad)
			}
		}
		if page != "/ui/" && !strings.Contains(string(body), `printed\u{202e} dlo`) {
			t.Errorf("%s lacks the escaped reason", page)
		}
	}
}
