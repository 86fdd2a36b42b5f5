package station

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// DefaultPermanentTemplate is the template a central host prints a
// forwarded request with when the request names none.
const DefaultPermanentTemplate = "permanent"

// netLink is a station's part in the issuance network (the [network]
// table): its hub (embedded, or reached over NATS), the durable queue of
// what it owes the hub, and by role the outbox, forwarder and event
// receiver of a field office or the taker of a central host; every role
// follows the shared deny list and publishes audit checkpoints.
type netLink struct {
	st   *Station
	cfg  *config.Network
	log  *slog.Logger
	role network.Role
	site string
	// name is the station's name in checkpoints and events (a central
	// host's station id, an office's site).
	name string
	dir  string

	hub     *hub.Hub
	conn    *network.Conn
	queue   *network.PubQueue
	revoked *network.Revocations
	// field office
	outbox *network.Outbox
	status *network.StatusStore
	// central host
	origins *network.Origins
	// witness holds the error of an audit log that does not match the
	// hub's checkpoint (nil while it matches).
	witness atomic.Pointer[error]
}

// openNetwork sets up the station's network side: the embedded hub when
// configured, the connection (which keeps retrying while the hub is
// unreachable), and the local files under STATE/network.
func openNetwork(ctx context.Context, s *Station) (n *netLink, err error) {
	cfg := s.cfg
	nc := cfg.Network
	n = &netLink{st: s, cfg: nc, log: s.log.With("part", "network"), role: network.Role(nc.Role), site: nc.Site, dir: network.StateDir(cfg.Paths.State)}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if n.name, err = network.StationName(cfg); err != nil {
		return nil, ConfigError{Err: err}
	}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, ConfigError{Err: fmt.Errorf("network: %w", err)}
	}
	var co network.ConnOptions
	if nc.EmbeddedHub {
		if n.hub, err = startHub(ctx, cfg, n.log); err != nil {
			return nil, err
		}
		co, _ = n.hub.ConnOptions(n.site)
	} else if co, err = network.ConnOptionsFromConfig(cfg); err != nil {
		return nil, ConfigError{Err: err}
	}
	if n.conn, err = network.Connect(ctx, co, n.log); err != nil {
		return nil, ConfigError{Err: err}
	}
	if n.queue, err = network.OpenPubQueue(filepath.Join(n.dir, "queue"), n.log); err != nil {
		return nil, err
	}
	if n.revoked, err = network.OpenRevocations(n.dir, n.log); err != nil {
		return nil, err
	}
	switch n.role {
	case network.RoleFieldOffice:
		if n.outbox, err = network.OpenOutbox(n.dir, n.site, s.opts.Now, n.log); err != nil {
			return nil, err
		}
		if n.status, err = network.OpenStatusStore(n.dir); err != nil {
			return nil, err
		}
	case network.RoleCentral:
		if n.origins, err = network.OpenOrigins(filepath.Join(n.dir, "origins")); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// startHub starts the embedded hub of the [network] table.
func startHub(ctx context.Context, cfg *config.Config, log *slog.Logger) (*hub.Hub, error) {
	nc := cfg.Network
	host, portText, err := net.SplitHostPort(nc.HubListen)
	if err != nil {
		return nil, ConfigError{Err: fmt.Errorf("network.hub_listen: %w", err)}
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, ConfigError{Err: fmt.Errorf("network.hub_listen: %w", err)}
	}
	var users []hub.User
	if nc.HubUsers != "" {
		if users, err = hub.LoadUsers(nc.HubUsers); err != nil {
			return nil, ConfigError{Err: fmt.Errorf("network.hub_users: %w", err)}
		}
	}
	var tc *tls.Config
	if nc.HubTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(nc.HubTLSCert, nc.HubTLSKey)
		if err != nil {
			return nil, ConfigError{Err: fmt.Errorf("network.hub_tls_cert: %w", err)}
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if nc.HubTLSCA != "" {
			pem, err := os.ReadFile(nc.HubTLSCA)
			if err != nil {
				return nil, ConfigError{Err: fmt.Errorf("network.hub_tls_ca: %w", err)}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, ConfigError{Err: fmt.Errorf("network.hub_tls_ca %s: no certificate", nc.HubTLSCA)}
			}
			tc.ClientCAs = pool
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	h, err := hub.Start(ctx, hub.Options{Host: host, Port: port, StoreDir: nc.HubStore, ServerName: "cardd-" + cfg.Station.ID, Users: users, TLS: tc,
		Streams: network.StreamOptions{Replicas: nc.Replicas},
		Local:   []hub.LocalSite{{Site: nc.Site, Role: network.Role(nc.Role)}}}, log)
	if err != nil {
		return nil, ConfigError{Err: fmt.Errorf("network: embedded hub: %w", err)}
	}
	return h, nil
}

// wrapAudit joins the station's audit to the network (outcome events to
// the offices, revocations to the shared deny list).
func (n *netLink) wrapAudit(next spool.Audit) spool.Audit {
	return &network.Audit{Next: next, Site: n.site, Host: n.name, Role: n.role, Queue: n.queue, Origins: n.origins}
}

// screener is a field office's intake step: a job asking for a permanent
// card has its request queued durably in the outbox before it is
// admitted; a request that cannot be queued refuses the job with the
// reason (the producer may send it again).
func (n *netLink) screener() spool.Screener {
	if n.role != network.RoleFieldOffice {
		return nil
	}
	return spool.ScreenerFunc(func(ctx context.Context, req spool.ScreenRequest) (spool.Verdict, error) {
		if !req.Job.Permanent {
			return spool.Verdict{}, nil
		}
		queued, err := n.outbox.Enqueue(&network.Request{Job: req.Job, Photo: req.Photo})
		if err != nil {
			return spool.Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "permanent", Err: err}
		}
		if queued {
			if err := n.status.Add(network.StatusEntry{Job: req.Job.ID, Kind: network.StatusQueued, Time: n.st.opts.Now().UTC()}); err != nil {
				n.log.Warn("status", "err", err)
			}
		}
		return spool.Verdict{}, nil
	})
}

// permanentStatus is each forwarded job's latest status, for the
// dashboard (a field office).
func (n *netLink) permanentStatus() map[string]string {
	last := n.status.Last()
	out := make(map[string]string, len(last))
	for id, e := range last {
		text := e.Kind
		if e.Serial != "" {
			text += " " + e.Serial
		}
		if e.Host != "" {
			text += " at " + e.Host
		}
		if e.Field != "" {
			text += " (field " + e.Field + ")"
		}
		out[id] = text
	}
	return out
}

// Run runs the station's network side until ctx ends: the publish queue,
// the shared deny list, audit checkpoints, and the office's forwarder and
// events or the central host's taker. A central host first registers its
// serial station code; a code held by another host stops the station.
func (n *netLink) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun("queue", func(ctx context.Context) error { return n.queue.Run(ctx, n.conn.JS) })
	goRun("revocations", func(ctx context.Context) error { return n.revoked.Watch(ctx, n.conn) })
	goRun("checkpoints", n.checkpoints)
	switch n.role {
	case network.RoleFieldOffice:
		fw := network.NewForwarder(n.conn, n.outbox, n.log)
		fw.OnSent = func(id string) {
			if err := n.status.Add(network.StatusEntry{Job: id, Kind: network.StatusForwarded, Time: n.st.opts.Now().UTC()}); err != nil {
				n.log.Warn("status", "err", err)
			}
		}
		goRun("forwarder", fw.Run)
		rx := network.NewEventReceiver(n.conn, n.status, n.log)
		rx.OnEvent = n.onEvent
		goRun("events", rx.Run)
	case network.RoleCentral:
		goRun("taker", n.take)
		goRun("refusals", n.reportRefusals)
	}
	var err error
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case err = <-errc:
	case <-done:
	}
	return err
}

// take sets up the hub's streams, registers the station code and takes
// requests (central host).
func (n *netLink) take(ctx context.Context) error {
	for {
		err := network.EnsureStreams(ctx, n.conn.JS, network.StreamOptions{Replicas: n.cfg.Replicas})
		if err == nil {
			err = network.RegisterStationCode(ctx, n.conn, n.st.cfg.Security.SerialStation, n.name, n.st.opts.Now())
		}
		if errors.Is(err, network.ErrCodeInUse) {
			return err
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		n.log.Warn("waiting for the hub to set up the request queue", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	n.log.Info("station code registered", "code", n.st.cfg.Security.SerialStation, "host", n.name)
	tk, err := network.NewTaker(ctx, n.conn, network.TakerOptions{
		Host: n.name, Origins: n.origins, Now: n.st.opts.Now,
		Intake: &network.SpoolIntake{Root: n.st.cfg.Paths.Spool, Spool: n.st.sp, DefaultTemplate: DefaultPermanentTemplate, Check: n.check},
	}, n.log)
	if err != nil {
		return err
	}
	return tk.Run(ctx)
}

// reportRefusals tells offices about forwarded jobs that the central
// host's spool refused (aborted at intake, e.g. by the photo gate) or held
// for an operator before printing: such jobs have no card outcome for the
// audit to report. Each state is reported once (the event's id is the
// job's, its state and the time of the change; the status log of the
// office drops a repeat).
func (n *netLink) reportRefusals(ctx context.Context) error {
	seen := map[string]time.Time{}
	t := time.NewTicker(RefusalScanInterval)
	defer t.Stop()
	for {
		recent := n.st.opts.Now().Add(-7 * 24 * time.Hour)
		for _, j := range n.st.sp.Jobs() {
			if j.Updated.Before(recent) {
				continue // reported long ago (or never forwarded)
			}
			var kind network.EventKind
			switch {
			case j.State == spool.StateAborted:
				kind = network.EventFailed
			case j.State == spool.StateHeld && j.Serial == "" && j.Reason != spool.ReasonOutcomeUnknown:
				kind = network.EventHeld
			default:
				continue
			}
			key := string(kind) + "/" + j.ID
			if seen[key].Equal(j.Updated) {
				continue
			}
			origin, ok := n.origins.Lookup(j.ID)
			if !ok {
				continue
			}
			ev := &network.Event{Office: origin.Office, Job: origin.Job, Kind: kind, Host: n.name, Field: "job", Reason: j.Reason, Time: j.Updated}
			if err := network.QueueEvent(n.queue, ev); err != nil {
				n.log.Warn("refusal not reported", "job", j.ID, "err", err)
				continue
			}
			seen[key] = j.Updated
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RefusalScanInterval is how often a central host looks for forwarded
// jobs its spool refused or held.
const RefusalScanInterval = 5 * time.Second

// check is the central host's screening of a forwarded job: its template
// must exist here.
func (n *netLink) check(_ context.Context, j *jobfile.Job, _ []byte) error {
	if _, err := n.st.composer.cat.Template(j.Template); err != nil {
		return &jobfile.Error{File: j.File, JobID: j.ID, Field: "permanent_template", Err: err}
	}
	return nil
}

// onEvent acts on an event at a field office: when the permanent card is
// printed (and network.void_temporary_on_permanent), the temporary card's
// serial is voided and so revoked.
func (n *netLink) onEvent(ctx context.Context, e *network.Event) error {
	if e.Kind != network.EventPrinted || !n.cfg.VoidTemporaryOnPermanent || n.st.sched == nil {
		return nil
	}
	err := n.st.sched.Supersede(ctx, e.Job, "permanent card "+e.Serial+" printed at "+e.Host)
	if errors.Is(err, spool.ErrState) {
		// The permanent card can be printed before the temporary one
		// is (a slow office printer, a busy machine): void it once it
		// is, when the event comes again.
		if j, jerr := n.st.sp.Job(e.Job); jerr == nil && (j.State == spool.StatePending || j.State == spool.StateProcessing) {
			return fmt.Errorf("job %s: the temporary card is still %s: %w", e.Job, j.State, network.ErrLater)
		}
	}
	switch {
	case errors.Is(err, spool.ErrNotFound), errors.Is(err, spool.ErrState):
		n.log.Warn("permanent card printed; the temporary card was not voided", "job", e.Job, "err", err)
		return nil
	case err != nil:
		return err
	}
	n.log.Info("temporary card voided: the permanent card is printed", "job", e.Job, "permanent_serial", e.Serial)
	return nil
}

// checkpoints first checks the audit log against the last checkpoint the
// hub witnessed for this station (waiting for the hub if need be), then
// queues a checkpoint at start and whenever the log has grown, looking at
// most every CheckpointInterval. A log that does not contain what the hub
// witnessed (truncated or rewritten) is reported and no checkpoint is sent
// any more: the hub's last checkpoint keeps showing what the log was.
func (n *netLink) checkpoints(ctx context.Context) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cp, err := network.LatestCheckpoint(cctx, n.conn, n.name)
		cancel()
		if err == nil {
			verr := n.verifyWitnessed(cp)
			if verr != nil {
				n.witness.Store(&verr)
				n.log.Error("the audit log does not match the checkpoint the hub witnessed; no more checkpoints are sent", "err", verr)
				<-ctx.Done()
				return nil
			}
			break
		}
		if errors.Is(err, network.ErrNoCheckpoint) {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		n.log.Debug("waiting for the hub's checkpoint", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	var last uint64
	var lastSigned int64 = -1
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		records, head := n.st.audit.log.Head()
		signed := n.st.audit.log.LatestCheckpoint()
		size := int64(-1)
		if signed != nil {
			size = signed.Size
		}
		if records != last || size != lastSigned {
			cp := &network.Checkpoint{Station: n.name, Records: records, Head: head, Time: n.st.opts.Now()}
			if signed != nil {
				// The latest signed checkpoint (the log's Merkle tree
				// root, signed with the station's audit key) travels
				// beside the chain head.
				cp.Note = string(signed.Note)
			}
			if err := network.QueueCheckpoint(n.queue, cp); err != nil {
				n.log.Warn("audit checkpoint not queued", "err", err)
			} else {
				last, lastSigned = records, size
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// verifyWitnessed checks the audit log against a checkpoint the hub
// witnessed: the chain head it covered and, when it carries one, the
// signed checkpoint (checked with the station's own verifier key).
func (n *netLink) verifyWitnessed(cp *network.Checkpoint) error {
	path := n.st.cfg.Security.AuditLog
	if _, err := network.VerifyLog(path, cp); err != nil {
		return err
	}
	if cp.Note == "" {
		return nil
	}
	v, err := audit.LoadVerifier(n.st.cfg.Security.AuditKey + ".pub")
	if err != nil {
		n.log.Warn("the hub's signed checkpoint is not checked: no verifier key", "err", err)
		return nil
	}
	signed, err := audit.ParseCheckpoint([]byte(cp.Note), v)
	if err != nil {
		n.log.Warn("the hub's signed checkpoint does not open with this station's key", "err", err)
		return nil
	}
	if _, err := audit.VerifyAgainst(path, signed); err != nil {
		return fmt.Errorf("%w: %w", network.ErrWitness, err)
	}
	return nil
}

// CheckpointInterval is how often a station looks whether its audit log
// grew and, if so, sends the hub a checkpoint.
const CheckpointInterval = 10 * time.Second

// Close closes the connection, the files and the embedded hub.
func (n *netLink) Close() error {
	if n == nil {
		return nil
	}
	var errs []error
	n.conn.Close()
	if n.outbox != nil {
		errs = append(errs, n.outbox.Close())
	}
	if n.status != nil {
		errs = append(errs, n.status.Close())
	}
	if n.origins != nil {
		errs = append(errs, n.origins.Close())
	}
	if n.hub != nil {
		n.hub.Close()
	}
	return errors.Join(errs...)
}
