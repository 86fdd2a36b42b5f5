// Package httpapi is the station daemon's HTTP endpoint: /healthz, /status
// (JSON), /metrics (Prometheus, on a private registry) and /verify (the
// officers' verifier page, mounted from package web) and, under /ui/, the
// operator dashboard (package internal/dashboard).
//
// The endpoint listens on loopback by default. Listen refuses any other
// address unless TLS (certificate and key) and a bearer token are
// configured; with a token, every request except /healthz must carry
// "Authorization: Bearer TOKEN", or, from a browser, the TokenCookie that
// signing in at /ui/login sets.
package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
)

// ErrNotLoopback is returned by New for an address that is not a loopback
// address unless TLS and a token or a client CA are configured.
var ErrNotLoopback = errors.New("a non-loopback listen address needs tls_cert, tls_key and token_file or client_ca")

// Options configure a Server.
type Options struct {
	// Listen is the TCP address, such as "127.0.0.1:8631".
	Listen string
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// TokenFile holds the bearer token (surrounding white space ignored).
	TokenFile string
	// ClientCA is a PEM CA bundle; when set (with TLS), clients must
	// present a certificate it signed.
	ClientCA string
	// Station names the station in /status.
	Station string
	// Status returns the scheduler's snapshot (spool.Scheduler.Status).
	Status func() spool.Status
	// Health, when set, decides /healthz: a non-nil error answers 503
	// with the error (spool.Scheduler.Health with http.stall_after).
	Health func() error
	// Verify serves /verify (web.VerifyHandler); nil leaves it out.
	Verify http.Handler
	// Dashboard serves the operator dashboard under /ui/ (and redirects
	// / there); nil leaves it out. See package internal/dashboard.
	Dashboard http.Handler
	// Registry is the private Prometheus registry served at /metrics;
	// nil leaves /metrics out.
	Registry *prometheus.Registry
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives request errors; nil discards them.
	Log *slog.Logger
	// AllowedHosts are the names, besides the listen address, localhost
	// and the loopback addresses, that requests may carry in Host
	// (config http.allowed_hosts); any other Host gets 421.
	AllowedHosts []string
}

// Server is the daemon's HTTP endpoint.
type Server struct {
	o     Options
	token string
	tls   *tls.Config
	mux   *http.ServeMux
	hosts *hostAllow
}

// New checks o and builds the server. It refuses (ErrNotLoopback) a
// listen address that is not loopback unless TLS and a token are
// configured, and reads the token and the key pair.
func New(o Options) (*Server, error) {
	if o.Status == nil {
		return nil, errors.New("httpapi: no status source")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, hosts: newHostAllow(o.Listen, o.AllowedHosts)}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("httpapi: tls_cert and tls_key go together")
	}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("httpapi: TLS key pair %s, %s: %w", o.TLSCert, o.TLSKey, err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if o.ClientCA != "" {
		if s.tls == nil {
			return nil, errors.New("httpapi: client_ca needs tls_cert and tls_key")
		}
		b, err := os.ReadFile(o.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("httpapi: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("httpapi: client CA %s: no PEM certificate", o.ClientCA)
		}
		s.tls.ClientCAs = pool
		s.tls.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("httpapi: token: %w", err)
		}
		s.token = strings.TrimSpace(string(b))
		if len(s.token) < 16 {
			return nil, fmt.Errorf("httpapi: token in %s is shorter than 16 characters", o.TokenFile)
		}
	}
	loop, err := IsLoopback(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listen %q: %w", o.Listen, err)
	}
	if !loop && (s.tls == nil || (s.token == "" && s.tls.ClientCAs == nil)) {
		return nil, fmt.Errorf("httpapi: listen %q: %w", o.Listen, ErrNotLoopback)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /status", s.status)
	if o.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{ErrorLog: slogErrorLog{o.Log}}))
	}
	if o.Verify != nil {
		s.mux.Handle("/verify", o.Verify)
	}
	if o.Dashboard != nil {
		s.mux.Handle("/ui/", o.Dashboard)
		s.mux.Handle("GET /{$}", o.Dashboard)
		if s.token != "" {
			s.mux.HandleFunc("/ui/login", s.login)
		}
	}
	return s, nil
}

// IsLoopback reports whether a listen address (HOST:PORT) can only be
// reached from this machine: a loopback IP or "localhost". An empty host
// (all interfaces) is not loopback.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.log.Error("metrics", "err", fmt.Sprint(v...)) }

// Handler returns the server's handler, with the token check when a token
// is configured: an "Authorization: Bearer" header, or for browsers the
// TokenCookie set by signing in at /ui/login (with a dashboard). How a
// request was authenticated is in its context (Authenticated).
//
// Before anything else, a request whose Host header is not one of the
// endpoint's names (the listen address, localhost, a loopback address,
// Options.AllowedHosts) is refused with 421 Misdirected Request.
func (s *Server) Handler() http.Handler {
	if s.token == "" {
		return s.checkHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, withAuth(r, "")) }))
	}
	return s.checkHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open(r.URL.Path) {
			if !s.tokenOK(r) {
				if s.o.Dashboard != nil && r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "/ui/") {
					http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="cardd"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			r = withAuth(r, "token")
		}
		s.mux.ServeHTTP(w, r)
	}))
}

// Serve listens on the configured address and serves until ctx ends, then
// shuts down, giving requests in flight up to 5 seconds. ready, when not
// nil, receives the address actually listened on.
func (s *Server) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.o.Listen)
	if err != nil {
		return fmt.Errorf("httpapi: listen on %s: %w", s.o.Listen, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.o.Log.Handler(), slog.LevelWarn),
		// Requests see ctx end, so long-lived ones (the dashboard's
		// event stream) stop and Shutdown does not wait for them.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("httpapi: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("httpapi: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpapi: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.o.Health != nil {
		if err := s.o.Health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// StatusDoc is the JSON document /status serves.
type StatusDoc struct {
	Station  string          `json:"station"`
	Time     time.Time       `json:"time"`
	Printers []PrinterStatus `json:"printers"`
	// Queue counts jobs by state; every state is present.
	Queue   map[spool.State]int `json:"queue"`
	Batches []spool.Batch       `json:"batches"`
}

// PrinterStatus is one printer in /status.
type PrinterStatus struct {
	Name string `json:"name"`
	// State is the printer's own state (idle, printing, error …).
	State printer.State `json:"state"`
	// Stopped says the scheduler stopped the printer after a fault; it
	// resumes when the printer's status clears.
	Stopped bool             `json:"stopped"`
	Blocked bool             `json:"blocked"`
	Reasons []printer.Reason `json:"reasons"`
	Error   string           `json:"error,omitempty"`
	Busy    bool             `json:"busy"`
	// Job is the spool job number printing now (0: none).
	Job         uint64      `json:"job,omitempty"`
	Consumables Consumables `json:"consumables"`
	// StrayRejected counts the cards left inside by an earlier attempt
	// that were sent to the reject box (spoiled blanks) since the daemon
	// started.
	StrayRejected int `json:"stray_rejected,omitempty"`
	// Polled is when the status was read (zero: never).
	Polled time.Time `json:"polled,omitzero"`
}

// Consumables are a printer's supplies and counters; -1 means unknown.
type Consumables struct {
	RibbonLeft     int `json:"ribbon_left"`
	RibbonCapacity int `json:"ribbon_capacity"`
	CardsPrinted   int `json:"cards_printed"`
	PanelsPrinted  int `json:"panels_printed"`
	FeederLoaded   int `json:"feeder_loaded"`
}

// Doc builds the /status document from a scheduler snapshot.
func Doc(station string, now time.Time, st spool.Status) StatusDoc {
	d := StatusDoc{Station: station, Time: now.UTC(), Printers: []PrinterStatus{}, Queue: map[spool.State]int{}, Batches: st.Batches}
	if d.Batches == nil {
		d.Batches = []spool.Batch{}
	}
	for _, s := range []spool.State{spool.StatePending, spool.StateHeld, spool.StateProcessing, spool.StateStopped, spool.StateCancelled, spool.StateAborted, spool.StateCompleted} {
		d.Queue[s] = st.Queue[s]
	}
	for _, p := range st.Printers {
		reasons := p.Reasons
		if len(reasons) == 0 {
			reasons = p.Status.Reasons
		}
		if reasons == nil {
			reasons = []printer.Reason{}
		}
		c := p.Status.Consumables
		d.Printers = append(d.Printers, PrinterStatus{
			Name: p.Name, State: p.Status.State, Stopped: p.Stopped, Blocked: p.Status.Blocked(),
			Reasons: reasons, Error: p.Err, Busy: p.Busy, Job: p.Job, Polled: p.Status.At, StrayRejected: p.StrayRejected,
			Consumables: Consumables{RibbonLeft: c.RibbonLeft, RibbonCapacity: c.RibbonCapacity, CardsPrinted: c.CardsPrinted, PanelsPrinted: c.PanelsPrinted, FeederLoaded: c.FeederLoaded},
		})
	}
	return d
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	d := Doc(s.o.Station, s.o.Now(), s.o.Status())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		s.o.Log.Debug("status: write", "err", err)
	}
}
