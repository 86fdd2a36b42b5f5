// Package station builds and runs one card-printing station from its
// configuration: it opens the keys, serial allocator, audit log, printers,
// spool and scheduler, wires them together with the adapters the
// scheduler needs (composing with layout and security, printing through
// the drivers), serves the HTTP endpoint (status, metrics, verifier page,
// dashboard) and runs until its context ends. cmd/cardd is its command
// line; other code (the issuance network) plugs into a Station rather than
// into main.
package station

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/httpapi"
	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/web"
)

// Station is a station's daemon wired together: keys, serial allocator,
// audit log, printers, spool and scheduler, the adapters that give the
// scheduler (package spool) its Composer, Printers, Serials and Audit from
// layout, security and the printer drivers, and the HTTP endpoint.
type Station struct {
	cfg      *config.Config
	log      *slog.Logger
	opts     Options
	signer   *security.Signer
	trust    *security.TrustList
	alloc    *security.Allocator
	audit    *auditLog
	printers []*stationPrinter
	sp       *spool.Spool
	sched    *spool.Scheduler
	metrics  *httpapi.Metrics
	composer *composer
	// srv and ln are the HTTP endpoint (nil without http.listen); Run
	// serves it, Close closes ln when Run never did.
	srv    *httpapi.Server
	ln     net.Listener
	served bool
	// components run alongside the scheduler (Add).
	components []component
	// ctrl are the listeners of the emulated printers' control channels
	// (printers.emulator.control).
	ctrl []emulatorControl
	// net is the station's part in the issuance network (nil without a
	// [network] table).
	net *netLink
	// checkpoints are the audit log's checkpoint hooks
	// (OnAuditCheckpoint).
	checkpoints checkpointHooks
	// auditOK is closed once the audit log is verified whole (at Open, or
	// by the background verification after a start from its open state):
	// the scheduler issues no serial and prints no card before, so nothing
	// is appended to a log that is not known to be intact.
	auditOK chan struct{}
	// beforeAuditVerify and onAuditWait are tests' hooks: the first is
	// called before the background verification of the audit log, the
	// second when the scheduler starts waiting for it.
	beforeAuditVerify, onAuditWait func()
}

// Options are what a caller of Open may change besides the configuration
// (tests, the demo and the load measurements).
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnPrint, when set, is called as a card goes to a printer (before
	// its first byte), with the printer's name and the producer's job id.
	OnPrint func(printerName, jobID string)
	// NoSync skips the spool journal's fsync (load benchmarks only).
	NoSync bool
	// BatchSummaries is how often a central host checks its batches for
	// figures to publish to the hub (default 5 s; a card's outcome checks
	// at once).
	BatchSummaries time.Duration
	// Run are the scheduler's run options (rescan and poll intervals, the
	// watcher); zero values take the configuration's poll interval and a
	// file watcher on the spool.
	Run spool.RunOptions
}

// ConfigError marks an error in the configuration or the station's setup
// (keys, spool, audit log, printer entries, listen address): a problem a
// restart does not fix ("cardd run" exits with status 3).
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Open opens everything a station needs, in order: state
// directory, signing key and trust list (created on first start when
// absent), serial allocator, audit log and deny list, printers, spool and
// scheduler (which recovers what a previous run left), and the HTTP
// endpoint's listener when http.listen is set. Problems of the
// configuration or the station's files are ConfigErrors. The caller closes
// the station.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (st *Station, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Station{cfg: cfg, log: log, opts: o}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Paths.State, 0o700); err != nil {
		return nil, ConfigError{Err: fmt.Errorf("state directory: %w", err)}
	}
	if s.signer, s.trust, err = loadKeys(cfg, o.Now, log); err != nil {
		return nil, ConfigError{Err: err}
	}
	issuerCode, stationCode := serialCodes(cfg)
	if s.alloc, err = security.OpenAllocator(cfg.Paths.Serials, issuerCode, stationCode); err != nil {
		return nil, ConfigError{Err: err}
	}
	al, err := openAuditLog(cfg, o.Now, log, s.checkpoints.announce)
	if err != nil {
		return nil, ConfigError{Err: err}
	}
	s.auditOK = make(chan struct{})
	s.Add("audit verification", ComponentFunc(func(ctx context.Context) error {
		if s.beforeAuditVerify != nil {
			s.beforeAuditVerify()
		}
		ok, err := verifyAuditLog(ctx, al, log.With("part", "audit"))
		if ok {
			close(s.auditOK)
		}
		return err
	}))
	s.Add("audit checkpoints", ComponentFunc(func(ctx context.Context) error {
		return runCheckpoints(ctx, al, s.sp.Batches, cfg.Security.CheckpointInterval, o.Now, log.With("part", "audit"))
	}))
	s.audit = &auditLog{log: al, path: cfg.Security.AuditLog, denyPath: cfg.Security.DenyList, now: o.Now, logger: log}
	var schedAudit spool.Audit = s.audit
	var netScreener spool.Screener
	if cfg.Network != nil {
		if s.net, err = openNetwork(ctx, s); err != nil {
			return nil, err
		}
		// The deny list holds every station's revocations too, and is
		// rewritten when new ones arrive.
		s.audit.shared = s.net.revoked.Serials
		s.net.revoked.OnChange = func() {
			if err := s.audit.writeDenyList(); err != nil {
				log.Error("deny list with the network's revocations", "err", err)
			}
		}
		schedAudit = s.net.wrapAudit(s.audit)
		netScreener = s.net.screener()
	}
	if err := s.audit.writeDenyList(); err != nil {
		return nil, ConfigError{Err: err}
	}
	sp, err := spool.Open(cfg.Paths.Spool, spool.Options{Now: o.Now, Journal: cfg.Paths.Journal, NoSync: o.NoSync}, log.With("part", "spool"))
	if err != nil {
		return nil, ConfigError{Err: err}
	}
	s.sp = sp
	s.metrics = httpapi.NewMetrics(s.status)
	s.metrics.WatchAuditLog(func() bool { ok, _ := al.Verified(); return ok })
	kinds := layout.WithSigner(layout.DefaultKinds(), s.signer, cfg.Security.Issuer)
	// Face detection for fit = "face" and the photo gate; a station
	// without the cascades prints without them (logged; cardd doctor).
	faces := photogate.LoadDetector(cfg.Portrait, log.With("part", "portrait"))
	r := layout.NewRenderer(&layout.Options{Logger: log.With("part", "layout"), Faces: faces})
	s.composer = &composer{
		cat:      catalog.New(cfg.Paths.Templates, &layout.ParseOptions{Kinds: kinds, Fonts: r.FontNames()}),
		r:        r,
		verifier: security.NewVerifier(s.trust, nil, o.Now),
		audit:    al,
		mode:     string(cfg.Station.Mode),
		tempDays: cfg.Station.TemporaryValidityDays,
		permDays: cfg.Station.PermanentValidityDays,
		printers: map[string]*config.Printer{},
		metrics:  s.metrics,
		spool:    sp,
		now:      o.Now,
		track:    o.OnPrint != nil,
	}
	var pcs []spool.PrinterConfig
	for i := range cfg.Printers {
		pc := &cfg.Printers[i]
		p := &stationPrinter{cfg: pc, base: log, log: log.With("printer", pc.Name), metrics: s.metrics, onPrint: o.OnPrint, jobOf: s.composer.jobOf, now: o.Now}
		// An unreachable printer is not a startup failure: it is
		// retried at every poll. A configuration mistake is.
		if err := p.open(ctx); err != nil {
			var ce ConfigError
			if errors.As(err, &ce) {
				return nil, err
			}
			log.Warn("printer not reachable; will retry", "printer", pc.Name, "err", err)
		}
		s.printers = append(s.printers, p)
		s.composer.printers[pc.Name] = pc
		pcs = append(pcs, spool.PrinterConfig{
			Name:        pc.Name,
			Printer:     p,
			Policy:      spool.ErrorPolicy(pc.OnError.Policy),
			MaxAttempts: pc.OnError.MaxRetries + 1,
			Backoff:     pc.OnError.Backoff,
			StockLoaded: pc.StockLoaded,
		})
	}
	var screeners []spool.Screener
	gate, err := photogate.FromConfig(cfg.Portrait, faces, 0, 0, func(rep *portrait.Report, took time.Duration) {
		var failed []string
		for _, c := range rep.Checks {
			if c.Verdict == portrait.Fail {
				failed = append(failed, c.Name)
			}
		}
		s.metrics.ObservePhotoCheck(rep.Verdict.String(), failed, took)
	}, r.IntakePhoto, log.With("part", "photogate"))
	if err != nil {
		return nil, ConfigError{Err: err}
	}
	if gate != nil {
		screeners = append(screeners, gate)
	}
	if netScreener != nil {
		// Last: a job the photo gate refuses is not forwarded.
		screeners = append(screeners, netScreener)
	}
	s.sched, err = spool.NewScheduler(ctx, sp, spool.Config{
		Screeners: screeners,
		Composer:  s.composer,
		Serials:   serialSource{s.alloc},
		Audit:     schedAudit,
		Printers:  pcs,
		Retention: cfg.Retention.PersonalData,
		Mode:      string(cfg.Station.Mode),
		Batching:  spool.Batching{Size: cfg.Batching.Size, Window: cfg.Batching.Window, PerTemplate: cfg.Batching.PerTemplate},
		// A job held, refused or cancelled before its card was
		// composed frees its photo's decode from intake.
		Left: r.ReleasePhotos,
	}, log.With("part", "scheduler"))
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if err := s.listen(ctx); err != nil {
		return nil, err
	}
	if err := s.listenEmulatorControls(ctx); err != nil {
		return nil, err
	}
	if s.net != nil {
		s.Add("network", s.net)
	}
	return s, nil
}

// listen builds the HTTP endpoint and opens its listener (http.listen;
// nothing when it is empty).
func (s *Station) listen(ctx context.Context) error {
	cfg, log := s.cfg, s.log
	if cfg.HTTP.Listen == "" {
		return nil
	}
	srv, err := httpapi.New(httpapi.Options{
		Listen: cfg.HTTP.Listen, TLSCert: cfg.HTTP.TLSCert, TLSKey: cfg.HTTP.TLSKey, TokenFile: cfg.HTTP.TokenFile, ClientCA: cfg.HTTP.ClientCA,
		Station: cfg.Station.ID, Status: s.status, Registry: s.metrics.Registry(),
		AllowedHosts: cfg.HTTP.AllowedHosts,
		Health:       s.health,
		Verify:       web.VerifyHandler(s.verifyPage, log.With("part", "verify")),
		Dashboard:    s.dashboardHandler(log.With("part", "dashboard")),
		Log:          log.With("part", "http"),
	})
	if err != nil {
		return ConfigError{Err: err}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTP.Listen)
	if err != nil {
		return ConfigError{Err: fmt.Errorf("http: listen on %s: %w", cfg.HTTP.Listen, err)}
	}
	s.srv, s.ln = srv, ln
	return nil
}

// HTTPAddr is the address the HTTP endpoint listens on, nil without one.
func (s *Station) HTTPAddr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// health is /healthz's verdict: the scheduler's progress within
// http.stall_after while work waits.
func (s *Station) health() error {
	if s.sched == nil {
		return nil
	}
	return s.sched.Health(s.cfg.HTTP.StallAfter)
}

// status is the scheduler's snapshot (empty before the scheduler exists).
func (s *Station) status() spool.Status {
	if s.sched == nil {
		return spool.Status{}
	}
	return s.sched.Status()
}

// pollInterval is the shortest poll interval among the printers.
func (s *Station) pollInterval() time.Duration {
	var d time.Duration
	for _, p := range s.cfg.Printers {
		if p.PollInterval > 0 && (d == 0 || p.PollInterval < d) {
			d = p.PollInterval
		}
	}
	return d
}

// runScheduler runs the scheduler until ctx ends. The card in a printer
// when ctx ends is allowed to finish (the scheduler does not cancel a
// print). It starts it once the audit log is verified whole, and a
// network station once its serial station code is confirmed.
func (s *Station) runScheduler(ctx context.Context, ro spool.RunOptions) error {
	// The audit log is verified whole first (a start from its open state
	// verifies the records it took on trust in the background, tens of
	// milliseconds for 10,000 jobs); a log that fails stops the station
	// before its first card.
	select {
	case <-s.auditOK:
	default:
		if s.onAuditWait != nil {
			s.onAuditWait()
		}
		select {
		case <-s.auditOK:
		case <-ctx.Done():
			return nil
		}
	}
	if s.net != nil {
		// No serial is issued under a code the hub has never confirmed
		// as this station's: jobs wait in the spool until it does.
		select {
		case <-s.net.codeOK:
		default:
			s.log.Warn("printing waits until the hub confirms the serial station code (first start with this code)", "code", s.cfg.Security.SerialStation)
			select {
			case <-s.net.codeOK:
				s.log.Info("serial station code confirmed; printing", "code", s.cfg.Security.SerialStation)
			case <-ctx.Done():
				return nil
			}
		}
	}
	if ro.Watcher == nil {
		w, err := spool.NewFSWatcher(s.sp.WatchDirs()...)
		if err != nil {
			s.log.Warn("no file watching; rescanning on the timer only", "err", err)
		} else {
			defer w.Close()
			ro.Watcher = w
		}
	}
	if ro.Poll == 0 {
		ro.Poll = s.pollInterval()
	}
	return s.sched.Run(ctx, ro)
}

// verifyPage is the /verify page's source: the trust list and the current
// deny list.
func (s *Station) verifyPage(context.Context) (web.PageOptions, error) {
	deny, err := security.LoadDenyList(s.cfg.Security.DenyList)
	if err != nil {
		return web.PageOptions{}, err
	}
	return web.PageOptions{Trust: s.trust, Deny: deny, Title: s.cfg.Station.Name + " — card verifier"}, nil
}

// Close releases the HTTP listener (when Run did not serve it), printers,
// spool, allocator and audit log.
func (s *Station) Close() error {
	var errs []error
	if s.ln != nil && !s.served {
		errs = append(errs, s.ln.Close())
	}
	errs = append(errs, s.closeEmulatorControls())
	for _, p := range s.printers {
		errs = append(errs, p.Close())
	}
	if s.sp != nil {
		errs = append(errs, s.sp.Close())
	}
	if s.alloc != nil {
		errs = append(errs, s.alloc.Close())
	}
	if s.audit != nil {
		errs = append(errs, s.audit.log.Close())
	}
	errs = append(errs, s.net.Close())
	return errors.Join(errs...)
}

// serialCodes returns the serial's issuer and station codes from the
// configuration: security.serial_prefix and security.serial_station
// (config fills the station code from a short station.id and refuses a
// configuration where it could not).
func serialCodes(cfg *config.Config) (issuer, station string) {
	return cfg.Security.SerialPrefix, cfg.Security.SerialStation
}

// loadKeys loads the issuer's signing key and the trust list. On a first
// start the key is generated (0600, in a 0700 directory) and a trust list
// holding its public key is written beside the path configured, so that
// "cardd verify --trust" works at once. A trust list that does not accept
// the station's own key is an error: every card would fail its pre-print
// check.
func loadKeys(cfg *config.Config, now func() time.Time, log *slog.Logger) (*security.Signer, *security.TrustList, error) {
	sec := cfg.Security
	if created, err := ensureSigningKey(sec); err != nil {
		return nil, nil, err
	} else if created {
		log.Warn("no signing key: generated one", "key", sec.SigningKey, "algorithm", sec.Algorithm)
	}
	key, err := security.LoadPrivateKey(sec.SigningKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing key %s: %w", sec.SigningKey, err)
	}
	signer, err := security.NewSigner(key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing key %s: %w", sec.SigningKey, err)
	}
	if created, err := ensureTrustList(sec, key); err != nil {
		return nil, nil, err
	} else if created {
		log.Warn("no trust list: wrote one with the station's key", "trust_list", sec.TrustList)
	}
	trust, err := security.LoadTrustList(sec.TrustList)
	if err != nil {
		return nil, nil, fmt.Errorf("trust list: %w", err)
	}
	kid := signer.KeyID().String()
	for _, e := range trust.Entries() {
		if strings.EqualFold(e.KID, kid) && e.Issuer == sec.Issuer {
			return signer, trust, nil
		}
	}
	return nil, nil, fmt.Errorf("trust list %s has no entry for the signing key %s (kid %s, issuer %s); add one with \"cardd keys trust-entry --append\"", sec.TrustList, sec.SigningKey, kid, sec.Issuer)
}

// Provision creates the keys a new station needs and lacks, as its first
// start would: the issuer's signing key (security.signing_key), a trust
// list holding its public key (security.trust_list) and the audit
// checkpoint key with its .pub (security.audit_key). It returns the
// paths it created. Whoever sets up a station on purpose (an installer,
// "cardd demo") calls it before Open, so that Open's warnings about a
// generated key are left for a station that lost its keys or never had
// them; an existing file is kept as it is.
func Provision(cfg *config.Config) (created []string, err error) {
	sec := cfg.Security
	if c, err := ensureSigningKey(sec); err != nil {
		return created, err
	} else if c {
		created = append(created, sec.SigningKey)
	}
	key, err := security.LoadPrivateKey(sec.SigningKey)
	if err != nil {
		return created, fmt.Errorf("signing key %s: %w", sec.SigningKey, err)
	}
	if c, err := ensureTrustList(sec, key); err != nil {
		return created, err
	} else if c {
		created = append(created, sec.TrustList)
	}
	if c, _, err := ensureAuditKey(cfg); err != nil {
		return created, err
	} else if c {
		created = append(created, sec.AuditKey, sec.AuditKey+".pub")
	}
	return created, nil
}

// ensureSigningKey generates the issuer's signing key (0600, in a 0700
// directory) when security.signing_key does not exist, and says whether
// it did.
func ensureSigningKey(sec config.Security) (bool, error) {
	if _, err := os.Lstat(sec.SigningKey); !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	alg, err := security.ParseAlg(string(sec.Algorithm))
	if err != nil {
		return false, fmt.Errorf("security.algorithm: %w", err)
	}
	key, err := security.GenerateKey(alg)
	if err != nil {
		return false, err
	}
	pemBytes, err := security.MarshalPrivateKeyPEM(key)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(sec.SigningKey), 0o700); err != nil {
		return false, fmt.Errorf("signing key: %w", err)
	}
	if err := security.WriteFileAtomic(sec.SigningKey, pemBytes, 0o600); err != nil {
		return false, fmt.Errorf("signing key %s: %w", sec.SigningKey, err)
	}
	return true, nil
}

// ensureTrustList writes a trust list holding key's public half when
// security.trust_list does not exist, and says whether it did.
func ensureTrustList(sec config.Security, key crypto.Signer) (bool, error) {
	if _, err := os.Lstat(sec.TrustList); !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := writeTrustList(sec.TrustList, sec.Issuer, key); err != nil {
		return false, err
	}
	return true, nil
}

func writeTrustList(path, issuer string, key crypto.Signer) error {
	entry, err := security.NewTrustEntry(issuer, key.Public(), time.Time{}, time.Time{})
	if err != nil {
		return fmt.Errorf("trust list: %w", err)
	}
	b, err := security.MarshalTrustList([]security.TrustEntry{entry})
	if err != nil {
		return fmt.Errorf("trust list: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("trust list: %w", err)
	}
	if err := security.WriteFileAtomic(path, b, 0o644); err != nil {
		return fmt.Errorf("trust list %s: %w", path, err)
	}
	return nil
}

// serialSource gives the scheduler serials from security's allocator.
type serialSource struct{ a *security.Allocator }

// Next implements spool.Serials.
func (s serialSource) Next(ctx context.Context) (string, error) {
	sn, err := s.a.Next(ctx)
	if err != nil {
		return "", err
	}
	return sn.String(), nil
}

// stationPrinter is one configured printer as the scheduler sees it
// (spool.Printer): it opens the printer's transport on first use and again
// after the link is lost (an unplugged USB printer, a network printer that
// restarted), and feeds the metrics.
type stationPrinter struct {
	cfg *config.Printer
	// base is the daemon's logger (OpenPrinter scopes it itself), log
	// the printer's.
	base    *slog.Logger
	log     *slog.Logger
	metrics *httpapi.Metrics
	onPrint func(printerName, jobID string)
	jobOf   func(*printer.Card) string
	now     func() time.Time
	// preview, when set (dashboard.preview), keeps the card sent last;
	// set before the scheduler runs.
	preview *previewStore

	mu sync.Mutex
	op *OpenedPrinter
}

func (p *stationPrinter) open(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.devLocked(ctx)
	return err
}

func (p *stationPrinter) devLocked(ctx context.Context) (printer.Printer, error) {
	if p.op != nil {
		return p.op.Dev, nil
	}
	op, err := OpenPrinter(ctx, p.cfg, p.base)
	if err != nil {
		return nil, err
	}
	p.op = op
	return op.Dev, nil
}

// dev returns the driver, opening the printer if needed.
func (p *stationPrinter) dev(ctx context.Context) (printer.Printer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := p.devLocked(ctx)
	if err != nil {
		return nil, fmt.Errorf("printer %s: open: %w: %w", p.cfg.Name, printer.ErrOffline, err)
	}
	return d, nil
}

// lost closes a transport whose link broke, so the next call reopens it.
// An in-process emulator is kept: it is the printer itself.
func (p *stationPrinter) lost(err error) {
	if !errors.Is(err, printer.ErrNoDevice) && !errors.Is(err, printer.ErrOffline) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op == nil || p.op.Emu != nil {
		return
	}
	if cerr := p.op.Close(); cerr != nil {
		p.log.Debug("close lost transport", "err", cerr)
	}
	p.op = nil
}

// emulator returns the in-process emulator behind the printer, if any.
func (p *stationPrinter) emulator() *OpenedPrinter {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil && p.op.Emu != nil {
		return p.op
	}
	return nil
}

// Print implements spool.Printer.
func (p *stationPrinter) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	d, err := p.dev(ctx)
	if err != nil {
		return printer.Result{Outcome: printer.OutcomeNotFed}, err
	}
	if p.onPrint != nil {
		p.onPrint(p.cfg.Name, p.jobOf(c))
	}
	if p.preview != nil {
		p.preview.keep(c, printer.CR80(p.cfg.Resolution))
	}
	start := p.now()
	res, err := d.Print(ctx, c)
	p.metrics.ObservePrint(p.cfg.Name, res, p.now().Sub(start))
	// A stray card rejected before this one (res.StrayRejected) is logged,
	// journaled and audited by the scheduler.
	if err != nil {
		// The scheduler names the printer in its reasons already.
		p.lost(err)
	}
	return res, err
}

// Status implements spool.Printer.
func (p *stationPrinter) Status(ctx context.Context) (printer.Status, error) {
	d, err := p.dev(ctx)
	if err != nil {
		return printer.Status{State: printer.StateOffline, At: p.now()}, err
	}
	st, err := d.Status(ctx)
	if err != nil {
		p.lost(err)
		return st, fmt.Errorf("printer %s: status: %w", p.cfg.Name, err)
	}
	return st, nil
}

// Evidence implements spool.Evidencer: the driver's evidence
// (printer.EvidenceReader), or printer.ErrUnsupported for a driver that
// cannot tell.
func (p *stationPrinter) Evidence(ctx context.Context) (printer.Evidence, error) {
	d, err := p.dev(ctx)
	if err != nil {
		return printer.NoEvidence(), err
	}
	er, ok := d.(printer.EvidenceReader)
	if !ok {
		return printer.NoEvidence(), fmt.Errorf("printer %s: evidence: %w", p.cfg.Name, printer.ErrUnsupported)
	}
	ev, err := er.Evidence(ctx)
	if err != nil {
		p.lost(err)
		return ev, fmt.Errorf("printer %s: evidence: %w", p.cfg.Name, err)
	}
	return ev, nil
}

// Eject implements spool.Evidencer: settlement sends a card found inside
// to the reject box (counted in cardd_cards_spoiled_total).
func (p *stationPrinter) Eject(ctx context.Context, reject bool) error {
	d, err := p.dev(ctx)
	if err != nil {
		return err
	}
	if err := d.Eject(ctx, reject); err != nil {
		p.lost(err)
		return fmt.Errorf("printer %s: eject: %w", p.cfg.Name, err)
	}
	if reject {
		p.metrics.ObserveReject(p.cfg.Name)
	}
	return nil
}

// CardPanels implements printer.PanelCounter when the driver does
// (Evolis): the panels printing c takes, journaled with the evidence
// before the card so settlement can tell a card printed whole from one
// taken out part-printed.
func (p *stationPrinter) CardPanels(c *printer.Card) (int, error) {
	p.mu.Lock()
	var d printer.Printer
	if p.op != nil {
		d = p.op.Dev
	}
	p.mu.Unlock()
	pc, ok := d.(printer.PanelCounter)
	if !ok {
		return 0, fmt.Errorf("printer %s: card panels: %w", p.cfg.Name, printer.ErrUnsupported)
	}
	return pc.CardPanels(c)
}

var (
	_ spool.Evidencer      = (*stationPrinter)(nil)
	_ printer.PanelCounter = (*stationPrinter)(nil)
)

// Close closes the printer's transport.
func (p *stationPrinter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op == nil {
		return nil
	}
	err := p.op.Close()
	p.op = nil
	return err
}

// EmptyEmulatorHoppers does for the in-process emulators what an operator
// does for a real printer: it empties the output hopper (100 cards) before
// it fills, so a long demo or benchmark does not stop on hopper-full.
func (s *Station) EmptyEmulatorHoppers() error {
	for _, p := range s.printers {
		op := p.emulator()
		if op == nil {
			continue
		}
		if st := op.Emu.State(); st.HopperCards > st.HopperCapacity/2 {
			if err := op.Emu.Fix(emulator.FaultHopperFull); err != nil {
				return fmt.Errorf("printer %s: %w", p.cfg.Name, err)
			}
		}
	}
	return nil
}

// BatchesDone reports whether every batch in the spool has its report.
func (s *Station) BatchesDone() bool {
	for _, b := range s.sp.Batches() {
		if b.State != spool.BatchDone {
			return false
		}
	}
	return true
}

// Spool is the station's spool: jobs, batches, and programmatic
// submission (spool.Submit on its root, Config().Paths.Spool).
func (s *Station) Spool() *spool.Spool { return s.sp }

// Scheduler is the station's scheduler (operator actions, batch
// reports, status).
func (s *Station) Scheduler() *spool.Scheduler { return s.sched }

// Config is the configuration the station was opened with.
func (s *Station) Config() *config.Config { return s.cfg }

// Status is the scheduler's snapshot (empty before the scheduler exists).
func (s *Station) Status() spool.Status { return s.status() }

// AuditLog is the station's hash-chained audit log.
func (s *Station) AuditLog() *audit.Log { return s.audit.log }

// Emulator returns the in-process emulator behind the printer named
// name, nil when it has none (a USB or TCP printer) or is not open.
func (s *Station) Emulator(name string) *emulator.Emulator {
	for _, p := range s.printers {
		if p.cfg.Name != name {
			continue
		}
		if op := p.emulator(); op != nil {
			return op.Emu
		}
	}
	return nil
}

// Submit commits job (with photo, when the job names one) into the
// station's spool the way a producer does (spool.Submit on paths.spool)
// and returns the job directory's name in incoming/. The running
// scheduler picks it up like any other job: it checks the job when it
// claims it (a job id already in the spool is refused into failed/ with
// its reason), so an idempotent sender checks Spool().Job(id) first.
func (s *Station) Submit(job *jobfile.Job, photo []byte) (string, error) {
	name, err := spool.Submit(s.cfg.Paths.Spool, job, photo)
	if err != nil {
		return "", fmt.Errorf("station %s: %w", s.cfg.Station.ID, err)
	}
	return name, nil
}

// OnOutcome makes fn hear of every card outcome the scheduler records
// (printed, outcome unknown, spoiled, voided; the "issued" event is the
// composer's and is not passed on), once the audit log holds it.
// Delivery is the spool's: at least once, so after a crash the same event
// (same Kind, Serial, JobID and Time) may come again, and fn treats a
// repeat as one. fn runs on the scheduler's goroutine and returns no
// error: it must be quick and must not wait on a network (keep the event
// durably and return). Call it before Run.
func (s *Station) OnOutcome(fn func(spool.AuditEvent)) {
	s.audit.observe(fn)
}

// TestCard prints the named printer's built-in test card (the
// dashboard's button).
func (s *Station) TestCard(ctx context.Context, printerName string) error {
	return s.testCard(ctx, printerName)
}

// DenyListPath is the deny list file the station keeps (rewritten from
// the audit log after each voided or spoiled serial) and serves at
// /verify.
func (s *Station) DenyListPath() string { return s.cfg.Security.DenyList }
