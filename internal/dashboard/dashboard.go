// Package dashboard is the station's operator dashboard: server-rendered
// HTML pages (printers, queue, batches, recent outcomes) with a small
// embedded script for live updates over server-sent events (falling back
// to polling), and POST-only operator actions.
//
// By default the pages show serials, job ids and job numbers only, never a
// holder's data; Options.Preview (the station's dashboard.preview
// setting) adds a thumbnail of the card last composed.
//
// Every state-changing request is a POST that must pass two checks: the
// browser's Sec-Fetch-Site and Origin headers, when present, must say the
// request comes from the dashboard's own origin, and a per-session CSRF
// token (a random value in a SameSite=Strict cookie, echoed in a hidden
// form field or an X-CSRF-Token header) must match. Every action that
// passes them is written to the audit log as an operator event naming
// who (how the HTTP endpoint authenticated the request: "token" or
// "cert:NAME", else "local"; then "@" and the remote address), what and
// why.
package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardd/cardd/internal/httpapi"
	"github.com/cardd/cardd/internal/textsafe"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

//go:embed assets
var assets embed.FS

// Prefix is the path the dashboard is served under.
const Prefix = "/ui/"

// CookieName is the name of the CSRF cookie.
const CookieName = "cardd_csrf"

// Actions are the scheduler's operator actions (*spool.Scheduler has them).
type Actions interface {
	Hold(ctx context.Context, ref, reason string) error
	Release(ctx context.Context, ref string) error
	Override(ctx context.Context, ref, reason string) error
	Cancel(ctx context.Context, ref, reason string) error
	Confirm(ctx context.Context, ref, note string) error
	Void(ctx context.Context, ref, reason string) error
	Reprint(ctx context.Context, ref, newID, reason string) (string, error)
	CloseBatch(id, reason string) error
}

// Auditor records operator events (*audit.Log has it).
type Auditor interface {
	Operator(ctx context.Context, operator, action, serial, reason string) (audit.Record, error)
}

// Options configure the dashboard. Status, Jobs, Actions and Audit are
// required.
type Options struct {
	// Station is the station's name shown in the header.
	Station string
	// Status returns the scheduler's snapshot (spool.Scheduler.Status).
	Status func() spool.Status
	// Jobs returns every job the spool knows (spool.Spool.Jobs).
	Jobs func() []spool.Job
	// Batches returns every batch, done ones included (spool.Spool.Batches);
	// nil uses the open and closed batches of Status.
	Batches func() []spool.Batch
	// Report computes a batch's manifest and reconciliation report
	// (spool.Scheduler.BatchReport); nil leaves reports out.
	Report func(id string) (*spool.BatchReport, error)
	// Actions carries out operator actions.
	Actions Actions
	// TestCard prints a printer's test card; nil hides the button.
	TestCard func(ctx context.Context, printer string) error
	// Audit receives one operator event per action.
	Audit Auditor
	// Preview, when not nil, returns the card last composed as a small
	// JPEG (nil when there is none). Set it only when the station's
	// dashboard.preview setting allows it: it shows personal data.
	Preview func() []byte
	// PhotoReport, when not nil, returns the photo checks of a job held
	// by the photo gate (nil when there are none); the queue shows them
	// under the job.
	PhotoReport func(j spool.Job) *portrait.Report
	// Permanent, when not nil (a field office of an issuance network),
	// returns the status of each job's permanent card request by job id
	// (queued, forwarded, received, printed with its serial, …); the
	// outcomes page shows it in a column of its own.
	Permanent func() map[string]string
	// Interval is how often the event stream looks for a change
	// (default 250 ms).
	Interval time.Duration
	// Recent is how many final jobs the outcomes page lists (default 50).
	Recent int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives errors; nil discards them.
	Log *slog.Logger
}

// Dashboard is the dashboard's http.Handler.
type Dashboard struct {
	o    Options
	key  []byte // HMAC key binding form tokens to the cookie
	tmpl *template.Template
	mux  *http.ServeMux
}

// New checks o and builds the dashboard.
func New(o Options) (*Dashboard, error) {
	switch {
	case o.Status == nil:
		return nil, errors.New("dashboard: no status source")
	case o.Jobs == nil:
		return nil, errors.New("dashboard: no job source")
	case o.Actions == nil:
		return nil, errors.New("dashboard: no scheduler actions")
	case o.Audit == nil:
		return nil, errors.New("dashboard: no audit log")
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Recent <= 0 {
		o.Recent = 50
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Dashboard{o: o, key: make([]byte, 32)}
	if _, err := rand.Read(d.key); err != nil {
		return nil, fmt.Errorf("dashboard: key: %w", err)
	}
	t, err := template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: templates: %w", err)
	}
	d.tmpl = t
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: assets: %w", err)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix, http.StatusSeeOther) })
	m.HandleFunc("GET /ui/{$}", d.page("printers"))
	m.HandleFunc("GET /ui/queue", d.page("queue"))
	m.HandleFunc("GET /ui/batches", d.page("batches"))
	m.HandleFunc("GET /ui/batches/{id}", d.page("batch"))
	m.HandleFunc("GET /ui/outcomes", d.page("outcomes"))
	m.HandleFunc("GET /ui/events", d.events)
	m.HandleFunc("GET /ui/snapshot", d.snapshotJSON)
	m.HandleFunc("GET /ui/preview.jpg", d.preview)
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", staticHandler(static)))
	m.HandleFunc("POST /ui/jobs/{ref}/{action}", d.guard(d.jobAction))
	m.HandleFunc("POST /ui/printers/{name}/test-card", d.guard(d.testCard))
	m.HandleFunc("POST /ui/batches/{id}/close", d.guard(d.closeBatch))
	d.mux = m
	return d, nil
}

func staticHandler(static fs.FS) http.Handler {
	h := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP implements http.Handler. Pages carry a strict content
// security policy: scripts, styles and images from the dashboard only.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	d.mux.ServeHTTP(w, r)
}

// ---- CSRF ----

// sessionToken returns the request's CSRF cookie value, setting a new
// cookie when there is none.
func (d *Dashboard) sessionToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("dashboard: crypto/rand: %v", err)) // cannot happen (Go ≥ 1.24)
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: v, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return v
}

// formToken is the token forms carry for a session cookie: an HMAC of
// it under the dashboard's key, so a cookie planted by someone else
// cannot be paired with a token of their choosing.
func (d *Dashboard) formToken(session string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errForbidden is a refused cross-site or tokenless request.
var errForbidden = errors.New("forbidden")

// checkRequest applies the cross-site checks to a state-changing request.
func (d *Dashboard) checkRequest(r *http.Request) error {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return fmt.Errorf("%w: Sec-Fetch-Site is %q", errForbidden, s)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Errorf("%w: Origin %q is not this dashboard (%s)", errForbidden, o, r.Host)
		}
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return fmt.Errorf("%w: no session cookie", errForbidden)
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(d.formToken(c.Value))) != 1 {
		return fmt.Errorf("%w: missing or wrong CSRF token", errForbidden)
	}
	return nil
}

// actionFunc carries out one checked action and returns a message for the
// operator, the job's serial (for the audit record) and an error.
type actionFunc func(ctx context.Context, r *http.Request) (what, serial, reason, msg string, err error)

// errBadRequest marks an error in the request (a missing reason …).
var errBadRequest = errors.New("bad request")

// guard wraps an action with the cross-site checks, the audit record and
// the reply (JSON for the script, a redirect for a plain form).
func (d *Dashboard) guard(f actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := d.checkRequest(r); err != nil {
			d.o.Log.Warn("dashboard: refused request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		ctx := r.Context()
		what, serial, reason, msg, err := f(ctx, r)
		if !errors.Is(err, errBadRequest) {
			act := what
			if err != nil {
				act += " (refused: " + clip(err.Error(), 200) + ")"
			}
			if _, aerr := d.o.Audit.Operator(ctx, Operator(r), act, serial, reason); aerr != nil {
				d.o.Log.Error("dashboard: audit", "action", what, "err", aerr)
				if err == nil {
					err = fmt.Errorf("%s done, but the audit log failed: %w", what, aerr)
				}
			}
		}
		code := http.StatusOK
		if err != nil {
			msg = err.Error()
			code = http.StatusConflict
			if errors.Is(err, errBadRequest) {
				code = http.StatusBadRequest
			} else if errors.Is(err, spool.ErrNotFound) {
				code = http.StatusNotFound
			}
			d.o.Log.Info("dashboard: action failed", "action", what, "remote", r.RemoteAddr, "err", err)
		} else {
			d.o.Log.Info("dashboard: action", "action", what, "operator", Operator(r), "reason", reason)
		}
		if r.Header.Get("X-CSRF-Token") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			// The script shows the message as text: escape what
			// could reorder or hide it (a reason is the operator's
			// words, an error may quote a job's).
			json.NewEncoder(w).Encode(map[string]any{"ok": err == nil, "message": textsafe.Escape(msg)})
			return
		}
		back := r.PostFormValue("back")
		if !strings.HasPrefix(back, Prefix) || strings.Contains(back, "//") || strings.ContainsAny(back, "?\\") {
			back = Prefix + "queue"
		}
		key := "msg"
		if err != nil {
			key = "err"
		}
		http.Redirect(w, r, back+"?"+key+"="+url.QueryEscape(clip(msg, 300)), http.StatusSeeOther)
	}
}

// Operator names who made a request: how the HTTP endpoint
// authenticated it (httpapi.Authenticated: "token", "cert:NAME"), else
// "local", followed by "@" and the remote address.
func Operator(r *http.Request) string {
	who := httpapi.Authenticated(r.Context())
	if who == "" {
		who = "local"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return who + "@" + host
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ---- actions ----

func (d *Dashboard) jobAction(ctx context.Context, r *http.Request) (what, serial, reason, msg string, err error) {
	ref, action := r.PathValue("ref"), r.PathValue("action")
	reason = strings.TrimSpace(r.PostFormValue("reason"))
	what = action + " job " + ref
	if len(reason) > 500 {
		return what, "", "", "", fmt.Errorf("%w: the reason is longer than 500 characters", errBadRequest)
	}
	j, ok := d.job(ref)
	if !ok {
		return what, "", reason, "", fmt.Errorf("%w: job %s: %w", errBadRequest, ref, spool.ErrNotFound)
	}
	serial = j.Serial
	what = fmt.Sprintf("%s job %d (id %s)", action, j.Num, j.ID)
	num := strconv.FormatUint(j.Num, 10)
	switch action {
	case "hold":
		err = d.o.Actions.Hold(ctx, num, reason)
	case "release":
		err = d.o.Actions.Release(ctx, num)
	case "override":
		if reason == "" {
			return what, serial, "", "", fmt.Errorf("%w: overriding a check needs a reason", errBadRequest)
		}
		err = d.o.Actions.Override(ctx, num, reason)
	case "cancel":
		err = d.o.Actions.Cancel(ctx, num, reason)
	case "confirm":
		err = d.o.Actions.Confirm(ctx, num, reason)
	case "void":
		if reason == "" {
			return what, serial, "", "", fmt.Errorf("%w: voiding a card needs a reason", errBadRequest)
		}
		err = d.o.Actions.Void(ctx, num, reason)
	case "reprint":
		if reason == "" {
			return what, serial, "", "", fmt.Errorf("%w: a reprint needs a reason", errBadRequest)
		}
		newID := strings.TrimSpace(r.PostFormValue("new_id"))
		if newID == "" {
			newID = fmt.Sprintf("%s-r%d", j.ID, d.o.Now().Unix())
		}
		var name string
		if name, err = d.o.Actions.Reprint(ctx, num, newID, reason); err == nil {
			what += " as " + newID
			return what, serial, reason, fmt.Sprintf("job %d: reprint submitted as %s (%s)", j.Num, newID, name), nil
		}
	default:
		return what, serial, reason, "", fmt.Errorf("%w: unknown action %q", errBadRequest, action)
	}
	if err != nil {
		return what, serial, reason, "", fmt.Errorf("job %d: %s: %w", j.Num, action, err)
	}
	return what, serial, reason, fmt.Sprintf("job %d: %s done", j.Num, action), nil
}

// job finds a job by number or producer id.
func (d *Dashboard) job(ref string) (spool.Job, bool) {
	n, nerr := strconv.ParseUint(ref, 10, 64)
	for _, j := range d.o.Jobs() {
		if (nerr == nil && j.Num == n) || j.ID == ref {
			return j, true
		}
	}
	return spool.Job{}, false
}

func (d *Dashboard) testCard(ctx context.Context, r *http.Request) (what, serial, reason, msg string, err error) {
	name := r.PathValue("name")
	what = "test card on printer " + name
	if d.o.TestCard == nil {
		return what, "", "", "", fmt.Errorf("%w: test cards are not available", errBadRequest)
	}
	found := false
	for _, p := range d.o.Status().Printers {
		if p.Name == name {
			found = true
			if p.Busy {
				return what, "", "", "", fmt.Errorf("printer %s is printing job %d; try again when it is idle", name, p.Job)
			}
		}
	}
	if !found {
		return what, "", "", "", fmt.Errorf("%w: no printer %q", errBadRequest, name)
	}
	if err := d.o.TestCard(ctx, name); err != nil {
		return what, "", "", "", fmt.Errorf("printer %s: test card: %w", name, err)
	}
	return what, "", "", "test card sent to " + name, nil
}

func (d *Dashboard) closeBatch(ctx context.Context, r *http.Request) (what, serial, reason, msg string, err error) {
	id := r.PathValue("id")
	reason = strings.TrimSpace(r.PostFormValue("reason"))
	what = "close batch " + id
	if err := d.o.Actions.CloseBatch(id, reason); err != nil {
		return what, "", reason, "", fmt.Errorf("batch %s: close: %w", id, err)
	}
	return what, "", reason, "batch " + id + " closed", nil
}

// ---- preview ----

func (d *Dashboard) preview(w http.ResponseWriter, r *http.Request) {
	if d.o.Preview == nil {
		http.NotFound(w, r)
		return
	}
	b := d.o.Preview()
	if len(b) == 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}
