package station

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
	// heldRequests keeps the permanent requests of jobs held at intake
	// until they are released (then queued in the outbox) or cancelled
	// (never forwarded); pendingVoids the temporary cards to void once
	// their outcome is final, their permanent card being printed.
	heldRequests *network.Shelf
	pendingVoids *network.Shelf
	// duties wakes the office's duty loop (a job released, a temporary
	// card printed, a permanent card printed).
	duties chan struct{}
	// central host
	origins *network.Origins
	// batches keeps the host's batch summaries on the hub.
	batches *network.BatchPublisher
	// witness holds the error of an audit log that does not match the
	// hub's checkpoint (nil while it matches).
	witness atomic.Pointer[error]
	// codeOK is closed once the station's serial station code is known
	// to be its own: confirmed by the hub now, or at an earlier start
	// (recorded under STATE/network). The scheduler prints nothing
	// before (see Station.runScheduler).
	codeOK   chan struct{}
	codeOnce sync.Once
}

// codeConfirmed opens the way for printing: the code is the station's.
func (n *netLink) codeConfirmed() { n.codeOnce.Do(func() { close(n.codeOK) }) }

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
	n.codeOK = make(chan struct{})
	ok, err := network.CodeConfirmed(n.dir, cfg.Security.SerialStation, n.name, n.site)
	if err != nil {
		return nil, err
	}
	if ok {
		n.codeConfirmed()
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
		if n.heldRequests, err = network.OpenShelf(filepath.Join(n.dir, "held-requests")); err != nil {
			return nil, err
		}
		if n.pendingVoids, err = network.OpenShelf(filepath.Join(n.dir, "pending-voids")); err != nil {
			return nil, err
		}
		n.duties = make(chan struct{}, 1)
	case network.RoleCentral:
		if n.origins, err = network.OpenOrigins(filepath.Join(n.dir, "origins")); err != nil {
			return nil, err
		}
		n.batches = network.NewBatchPublisher(n.conn, n.name, n.site, cfg.Security.SerialStation, batchSource{s}, n.log.With("part", "batch summaries"))
		n.batches.Now = s.opts.Now
		n.batches.Every = s.opts.BatchSummaries
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
// the offices, revocations to the shared deny list). At a field office a
// card printed (or confirmed) and a check overridden also wake the duty
// loop: a temporary card may have a void waiting for it, a released job a
// request to queue.
func (n *netLink) wrapAudit(next spool.Audit) spool.Audit {
	a := &network.Audit{Next: next, Site: n.site, Host: n.name, Role: n.role, Queue: n.queue, Origins: n.origins}
	if n.role == network.RoleCentral {
		// A card's outcome changes its batch's figures: publish them.
		return auditFunc(func(ctx context.Context, e spool.AuditEvent) error {
			err := a.Record(ctx, e)
			n.batches.Wake()
			return err
		})
	}
	if n.role != network.RoleFieldOffice {
		return a
	}
	return auditFunc(func(ctx context.Context, e spool.AuditEvent) error {
		if err := a.Record(ctx, e); err != nil {
			return err
		}
		if e.Kind == spool.AuditPrinted || e.Kind == spool.AuditOverride {
			n.wakeDuties()
		}
		return nil
	})
}

// auditFunc adapts a function to a spool.Audit.
type auditFunc func(ctx context.Context, e spool.AuditEvent) error

func (f auditFunc) Record(ctx context.Context, e spool.AuditEvent) error { return f(ctx, e) }

// wakeDuties wakes the office's duty loop.
func (n *netLink) wakeDuties() {
	select {
	case n.duties <- struct{}{}:
	default:
	}
}

// screener is a field office's intake step: a job asking for a permanent
// card has its request queued durably in the outbox before it is
// admitted; a request that cannot be queued refuses the job with the
// reason (the producer may send it again). A job an earlier screener holds
// (the photo gate) has its request kept at the office instead, durably,
// and queued only when an operator releases the job; a cancelled one is
// never forwarded. (A job a screener or the spool refuses never gets
// here.)
func (n *netLink) screener() spool.Screener {
	if n.role != network.RoleFieldOffice {
		return nil
	}
	return spool.ScreenerFunc(func(ctx context.Context, req spool.ScreenRequest) (spool.Verdict, error) {
		if !req.Job.Permanent {
			return spool.Verdict{}, nil
		}
		if req.Job.ReprintOf != "" {
			// A reprint of a temporary card (cardd jobs reprint copies
			// the job file, permanent = true included): the original
			// job's request stands; a second one would print a second
			// permanent card.
			n.log.Info("reprint of a temporary card: no second permanent request", "job", req.Job.ID, "reprint_of", req.Job.ReprintOf)
			return spool.Verdict{}, nil
		}
		refuse := func(err error) (spool.Verdict, error) {
			return spool.Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "permanent", Err: err}
		}
		r := &network.Request{Office: n.site, Job: req.Job, Photo: req.Photo, Sent: n.st.opts.Now()}
		if req.Held != "" {
			data, err := network.EncodeRequest(r)
			if err != nil {
				return refuse(err)
			}
			if err := n.heldRequests.Put(req.Job.ID, data); err != nil {
				return refuse(err)
			}
			if err := n.status.Add(network.StatusEntry{Job: req.Job.ID, Kind: network.StatusWaitingRelease, Reason: req.Held, Time: n.st.opts.Now().UTC()}); err != nil {
				n.log.Warn("status", "err", err)
			}
			n.log.Info("job held at intake: its permanent request waits for the release", "job", req.Job.ID, "reason", req.Held)
			return spool.Verdict{}, nil
		}
		queued, err := n.outbox.Enqueue(r)
		if err != nil {
			return refuse(err)
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
// events or the central host's taker. Every station registers its serial
// station code (a central host before it takes requests); a code held by
// another host stops the station.
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
		goRun("office duties", n.officeDuties)
		goRun("station code", func(ctx context.Context) error { return n.registerCode(ctx, nil) })
	case network.RoleCentral:
		goRun("taker", n.take)
		goRun("refusals", n.reportRefusals)
		goRun("batch summaries", n.batches.Run)
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

// registerCode registers the station's serial station code on the hub
// (after setup, a central host's streams), retrying while the hub is
// unreachable or not set up yet; a code another host holds ends it with
// ErrCodeInUse, which stops the station. A station whose code the hub
// confirmed at an earlier start prints meanwhile (the code is checked
// again as soon as the hub answers); one whose code is new prints nothing
// until the hub confirms it, which is then recorded under STATE/network.
func (n *netLink) registerCode(ctx context.Context, setup func(context.Context) error) error {
	code := n.st.cfg.Security.SerialStation
	for {
		var err error
		if setup != nil {
			err = setup(ctx)
		}
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			err = network.RegisterStationCode(rctx, n.conn, code, n.name, n.st.opts.Now())
			cancel()
		}
		if errors.Is(err, network.ErrCodeInUse) {
			n.log.Error("serial station code in use by another station; stopping", "code", code, "err", err)
			// A configuration problem: restarting does not fix it.
			return ConfigError{Err: err}
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		n.log.Warn("waiting for the hub to register the serial station code", "code", code, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	n.log.Info("station code registered", "code", code, "host", n.name)
	if err := network.RecordCodeConfirmed(n.dir, network.ConfirmedCode{Code: code, Host: n.name, Site: n.site, Time: n.st.opts.Now().UTC()}); err != nil {
		// Printing goes on (the hub confirmed the code); the next start
		// waits for the hub again.
		n.log.Warn("the hub's confirmation of the station code is not recorded", "code", code, "err", err)
	}
	n.codeConfirmed()
	return nil
}

// take sets up the hub's streams, registers the station code and takes
// requests (central host).
func (n *netLink) take(ctx context.Context) error {
	err := n.registerCode(ctx, func(ctx context.Context) error {
		return network.EnsureStreams(ctx, n.conn.JS, network.StreamOptions{Replicas: n.cfg.Replicas})
	})
	if err != nil || ctx.Err() != nil {
		return err
	}
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
// printed (and network.void_temporary_on_permanent), the temporary card is
// to be voided (and so revoked). The void is recorded durably before the
// event is acknowledged and carried out by the duty loop as soon as the
// temporary card's outcome is final: at once when it printed already,
// when it prints if it is still queued or printing, after an operator's
// decision if its outcome is unknown, and after a restart.
func (n *netLink) onEvent(ctx context.Context, e *network.Event) error {
	if e.Kind != network.EventPrinted || !n.cfg.VoidTemporaryOnPermanent || n.st.sched == nil {
		return nil
	}
	data, err := json.Marshal(pendingVoid{Serial: e.Serial, Host: e.Host, Time: e.Time})
	if err != nil {
		return err
	}
	if err := n.pendingVoids.Put(e.Job, data); err != nil {
		return err
	}
	n.wakeDuties()
	return nil
}

// pendingVoid is a temporary card to void once its outcome is final: its
// permanent card's serial and host.
type pendingVoid struct {
	Serial string    `json:"serial"`
	Host   string    `json:"host"`
	Time   time.Time `json:"time"`
}

// latestReprint follows a temporary card to the reprint that replaces
// it (cardd jobs reprint), and that one's reprint, and so on: it returns
// the card that is or will be valid and whether its outcome is final.
// Cancelled and refused reprints replace nothing.
func (n *netLink) latestReprint(j spool.Job) (spool.Job, bool) {
	for {
		var next *spool.Job
		for _, o := range n.st.sp.Jobs() {
			if o.ReprintOf == j.ID && o.State != spool.StateCancelled && o.State != spool.StateAborted && (next == nil || o.Num > next.Num) {
				next = &o
			}
		}
		if next == nil {
			return j, j.State.Final()
		}
		j = *next
	}
}

// OfficeDutyInterval is how often a field office looks at its held
// requests and pending voids without being woken (a job cancelled while
// held, a temporary card that failed for good).
const OfficeDutyInterval = 5 * time.Second

// officeDuties carries out, at a field office, what waits on a job's
// state: requests of released jobs go to the outbox, temporary cards whose
// permanent card printed are voided. It runs at start (what a previous
// run left), when woken and every OfficeDutyInterval.
func (n *netLink) officeDuties(ctx context.Context) error {
	t := time.NewTicker(OfficeDutyInterval)
	defer t.Stop()
	for {
		n.releaseHeldRequests()
		n.applyPendingVoids(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-n.duties:
		case <-t.C:
		}
	}
}

// releaseHeldRequests queues the requests of jobs released since they
// were held at intake and drops those of jobs cancelled or refused
// meanwhile. A job not in the spool yet (its admission still under way)
// is looked at again later.
func (n *netLink) releaseHeldRequests() {
	ids, err := n.heldRequests.IDs()
	if err != nil {
		n.log.Warn("held requests", "err", err)
		return
	}
	for _, id := range ids {
		j, err := n.st.sp.Job(id)
		if err != nil {
			continue
		}
		switch {
		case j.State == spool.StateHeld && j.Checked:
			continue // still held at intake
		case j.State == spool.StateCancelled || j.State == spool.StateAborted:
			if err := n.heldRequests.Remove(id); err != nil {
				n.log.Warn("held requests", "job", id, "err", err)
				continue
			}
			if err := n.status.Add(network.StatusEntry{Job: id, Kind: network.StatusWithdrawn, Reason: j.Reason, Time: n.st.opts.Now().UTC()}); err != nil {
				n.log.Warn("status", "err", err)
			}
			n.log.Info("job held at intake was not released; its permanent request is not forwarded", "job", id, "state", j.State, "reason", j.Reason)
			continue
		}
		data, ok, err := n.heldRequests.Get(id)
		if err != nil || !ok {
			if err != nil {
				n.log.Warn("held requests", "job", id, "err", err)
			}
			continue
		}
		r, err := network.DecodeRequest(network.RequestSubject(n.site, id), data)
		if err != nil {
			n.log.Error("held request unreadable; not forwarded", "job", id, "err", err)
			continue
		}
		queued, err := n.outbox.Enqueue(r)
		if err != nil {
			n.log.Warn("released job's permanent request not queued yet; will retry", "job", id, "err", err)
			continue
		}
		if queued {
			if err := n.status.Add(network.StatusEntry{Job: id, Kind: network.StatusQueued, Time: n.st.opts.Now().UTC()}); err != nil {
				n.log.Warn("status", "err", err)
			}
			n.log.Info("job released: its permanent request is queued", "job", id)
		}
		if err := n.heldRequests.Remove(id); err != nil {
			n.log.Warn("held requests", "job", id, "err", err)
		}
	}
}

// applyPendingVoids voids each temporary card whose permanent card printed
// once its own outcome is final: printed (voided now), or never printed
// (cancelled, refused, failed: nothing to void). A card still queued,
// printing, stopped or held keeps its pending void.
func (n *netLink) applyPendingVoids(ctx context.Context) {
	ids, err := n.pendingVoids.IDs()
	if err != nil {
		n.log.Warn("pending voids", "err", err)
		return
	}
	for _, id := range ids {
		data, ok, err := n.pendingVoids.Get(id)
		if err != nil || !ok {
			continue
		}
		var pv pendingVoid
		if err := json.Unmarshal(data, &pv); err != nil {
			n.log.Error("pending void unreadable; dropped", "job", id, "err", err)
			n.pendingVoids.Remove(id)
			continue
		}
		j, err := n.st.sp.Job(id)
		switch {
		case errors.Is(err, spool.ErrNotFound):
			n.log.Warn("permanent card printed for a job this office does not have; nothing to void", "job", id, "permanent_serial", pv.Serial)
			n.pendingVoids.Remove(id)
			continue
		case err != nil:
			continue
		case j.State == spool.StateCancelled || j.State == spool.StateAborted:
			n.log.Info("permanent card printed; the temporary card never printed, nothing to void", "job", id, "state", j.State)
			n.pendingVoids.Remove(id)
			continue
		case j.State != spool.StateCompleted:
			continue // the temporary card's outcome is not final yet
		}
		// A temporary card reprinted at the office: the reprint's card
		// is the one to void, once its outcome is final (the reprint
		// voids the card it replaces when it prints).
		var final bool
		if j, final = n.latestReprint(j); !final {
			continue
		}
		serial := j.Serial
		if serial != "" {
			err := n.st.sched.Supersede(ctx, j.ID, "permanent card "+pv.Serial+" printed at "+pv.Host)
			if err != nil {
				if ctx.Err() == nil {
					n.log.Warn("temporary card not voided yet; will retry", "job", id, "err", err)
				}
				continue
			}
			n.log.Info("temporary card voided: the permanent card is printed", "job", j.ID, "request", id, "serial", serial, "permanent_serial", pv.Serial)
		}
		if err := n.pendingVoids.Remove(id); err != nil {
			n.log.Warn("pending voids", "job", id, "err", err)
		}
	}
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

// batchSource is a central host's spool as its batch summaries see it:
// a done batch's report as written when it finished (what "cardd batch
// report BATCH" shows), any other batch's computed as it stands.
type batchSource struct{ s *Station }

func (b batchSource) Batches() []spool.Batch { return b.s.sp.Batches() }

func (b batchSource) BatchReports(ids []string) ([]*spool.BatchReport, error) {
	sched := b.s.sched
	if sched == nil {
		return nil, errors.New("the scheduler is not open")
	}
	out := make([]*spool.BatchReport, len(ids))
	var errs []error
	var live []string // batches without a written report
	at := map[string]int{}
	for i, id := range ids {
		rep, err := b.s.sp.WrittenBatchReport(id)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
		case rep != nil:
			out[i] = rep
		default:
			live = append(live, id)
			at[id] = i
		}
	}
	if len(live) > 0 {
		reps, err := sched.BatchReports(live)
		if err != nil {
			errs = append(errs, err)
		}
		for i, rep := range reps {
			out[at[live[i]]] = rep
		}
	}
	return out, errors.Join(errs...)
}
