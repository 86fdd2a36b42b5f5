package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
	"github.com/cardd/cardd/station"
)

// netDemoSite is one station of the network demo.
type netDemoSite struct {
	cfg  *config.Config
	path string // its station.toml in the work directory
	st   *station.Station
	done chan error
}

// netDemoOffices are the demo's field offices and their serial codes.
var netDemoOffices = []struct{ id, code string }{{"office-a", "OFA"}, {"office-b", "OFB"}}

// netDemoConfigs writes the configuration files of the network demo under
// work and loads them back (so they are validated as any file is): the
// central facility ("central", permanent mode, two emulated printers,
// running the hub in its own process on hubAddr, with the offices' NKeys
// in its hub_users file) and two field offices (temporary mode, one
// emulated printer each, connecting to the hub with their NKey seeds).
// Printed cards go to out/SITE/PRINTER.
func netDemoConfigs(work, out, hubAddr string, jobs int, speed float64) (central *config.Config, offices []*config.Config, err error) {
	keys := filepath.Join(work, "nkeys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	var users []hub.User
	for _, o := range netDemoOffices {
		u, err := hub.NewNKeyUser(o.id, network.RoleFieldOffice, filepath.Join(keys, o.id+".nk"))
		if err != nil {
			return nil, nil, fmt.Errorf("demo: NKey of %s: %w", o.id, err)
		}
		users = append(users, u)
	}
	usersText, err := hub.MarshalUsers(users)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: hub users: %w", err)
	}
	usersFile := filepath.Join(work, "central", "hub-users.toml")
	if err := os.MkdirAll(filepath.Dir(usersFile), 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(usersFile, usersText, 0o600); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}

	site := func(id, code string, mode config.Mode, printers int) (*config.Config, error) {
		dir := filepath.Join(work, id)
		cfg, err := config.Embedded(dir)
		if err != nil {
			return nil, configError{Err: err}
		}
		cfg.Station.ID, cfg.Station.Name, cfg.Station.Mode = id, id, mode
		cfg.Security.SerialStation = code
		cfg.HTTP.Listen = ""
		cfg.Retention.PersonalData = time.Hour
		// The photo gate holds a failing photo (see demoPortrait).
		demoPortrait(cfg)
		cfg.Batching.Size = jobs * len(netDemoOffices)
		cfg.Batching.Window = 5 * time.Second
		for len(cfg.Printers) < printers {
			p := cfg.Printers[0]
			em := *p.Emulator
			p.Emulator = &em
			p.Name = fmt.Sprintf("%s-%d", cfg.Printers[0].Name, len(cfg.Printers)+1)
			cfg.Printers = append(cfg.Printers, p)
		}
		for i := range cfg.Printers {
			p := &cfg.Printers[i]
			p.Emulator.Output = filepath.Join(out, id, p.Name)
			p.Emulator.Speed = speed
			p.Emulator.CardsLoaded = max(p.Emulator.CardsLoaded, 2*jobs+10)
			p.Emulator.RibbonPanels = max(p.Emulator.RibbonPanels, 4*jobs+10)
			p.StockLoaded = p.Emulator.CardsLoaded
			p.PollInterval = 200 * time.Millisecond
			if err := os.MkdirAll(p.Emulator.Output, 0o755); err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
		}
		return cfg, nil
	}
	c, err := site("central", "CEN", config.ModePermanent, 2)
	if err != nil {
		return nil, nil, err
	}
	c.Network = config.DefaultNetwork()
	c.Network.Role, c.Network.Site = config.RoleCentral, "central"
	c.Network.EmbeddedHub, c.Network.HubListen, c.Network.HubUsers = true, hubAddr, usersFile
	if central, err = netDemoSave(c, work); err != nil {
		return nil, nil, err
	}
	for _, o := range netDemoOffices {
		cfg, err := site(o.id, o.code, config.ModeTemporary, 1)
		if err != nil {
			return nil, nil, err
		}
		cfg.Network = config.DefaultNetwork()
		cfg.Network.Role, cfg.Network.Site = config.RoleFieldOffice, o.id
		cfg.Network.HubURLs = []string{"nats://" + hubAddr}
		cfg.Network.NKeySeed = filepath.Join(keys, o.id+".nk")
		if cfg, err = netDemoSave(cfg, work); err != nil {
			return nil, nil, err
		}
		offices = append(offices, cfg)
	}
	return central, offices, nil
}

// netDemoSave writes cfg as WORK/ID/station.toml and loads it back.
func netDemoSave(cfg *config.Config, work string) (*config.Config, error) {
	data, err := config.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(work, cfg.Station.ID, "station.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	loaded, err := config.Load(path)
	if err != nil {
		return nil, configError{Err: err}
	}
	// The demo sets the site up on purpose: its keys are made here, as
	// an installer makes them, not warned about at its first start.
	if _, err := station.Provision(loaded); err != nil {
		return nil, fmt.Errorf("demo: site %s: %w", loaded.Station.ID, err)
	}
	return loaded, nil
}

// freeLoopbackAddr returns a loopback address with a port free now, for
// the demo's hub (the offices' configurations need it before the hub
// listens).
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo: a port for the hub: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// netDemoResult is what the network demo saw.
type netDemoResult struct {
	offices   map[string][]spool.Job                      // office → its jobs
	status    map[string]map[string][]network.StatusEntry // office → job → status entries
	central   map[string]spool.Job                        // central job id → job
	batches   []string
	elapsed   time.Duration
	unsettled int
}

// runNetworkDemo runs the issuance network on this machine: the central
// facility (with the hub embedded) and two field offices, each opened and
// run as "cardd run" runs a station; n sample jobs at each office, each
// asking for a permanent card as well. It returns once every temporary
// card is printed and every permanent request has its final status back
// at its office, or when nothing moved for stall.
func runNetworkDemo(ctx context.Context, central *config.Config, offices []*config.Config, log *slog.Logger, n int, progress *statusLine, stall time.Duration) (*netDemoResult, error) {
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	open := func(cfg *config.Config) (*netDemoSite, error) {
		s := &netDemoSite{cfg: cfg, done: make(chan error, 1)}
		started := make(chan struct{})
		go func() {
			s.done <- runDaemon(dctx, cfg, log.With("site", cfg.Station.ID), daemonOptions{
				opts:    station.Options{Run: spool.RunOptions{Rescan: 500 * time.Millisecond, Poll: 200 * time.Millisecond}},
				started: func(st *station.Station) { s.st = st; close(started) },
			})
		}()
		select {
		case err := <-s.done:
			if err == nil {
				err = errors.New("stopped before it started")
			}
			return nil, fmt.Errorf("demo: %s: %w", cfg.Station.ID, err)
		case <-started:
			return s, nil
		}
	}
	var sites []*netDemoSite
	defer func() {
		stop()
		for _, s := range sites {
			<-s.done
		}
	}()
	c, err := open(central)
	if err != nil {
		return nil, err
	}
	sites = append(sites, c)
	progress.println("cardd demo --network: hub at nats://%s inside the central facility (%d printers)", central.Network.HubListen, len(central.Printers))
	var offs []*netDemoSite
	for _, cfg := range offices {
		o, err := open(cfg)
		if err != nil {
			return nil, err
		}
		sites = append(sites, o)
		offs = append(offs, o)
		progress.println("field office %s connected to the hub", cfg.Station.ID)
	}
	data, err := samples.Generate("temporary", n*len(offs), 7)
	if err != nil {
		return nil, fmt.Errorf("demo: sample jobs: %w", err)
	}
	for i, o := range offs {
		for k := range n {
			d := data[i*n+k]
			j := &jobfile.Job{ID: fmt.Sprintf("%s-%04d", strings.ToUpper(o.cfg.Security.SerialStation), k+1), Template: "temporary", Mode: jobfile.ModeTemporary,
				Fields: d.Fields, Photo: "photo.jpg", Permanent: true, PermanentTemplate: "permanent"}
			if _, err := o.st.Submit(j, d.Photo); err != nil {
				return nil, fmt.Errorf("demo: submit %s at %s: %w", j.ID, o.cfg.Station.ID, err)
			}
		}
	}
	progress.println("submitted %d jobs at each office, each asking for a permanent card too", n)

	res := &netDemoResult{offices: map[string][]spool.Job{}, status: map[string]map[string][]network.StatusEntry{}, central: map[string]spool.Job{}}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last, moved := -1, time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		for _, s := range sites {
			select {
			case err := <-s.done:
				s.done <- err // for the deferred wait
				return nil, fmt.Errorf("demo: %s stopped: %v", s.cfg.Station.ID, err)
			default:
			}
			if err := s.st.EmptyEmulatorHoppers(); err != nil {
				log.Warn("demo: empty the output hopper", "site", s.cfg.Station.ID, "err", err)
			}
		}
		temporary, permanent := 0, 0
		for _, o := range offs {
			id := o.cfg.Station.ID
			res.offices[id] = o.st.Spool().Jobs()
			for _, j := range res.offices[id] {
				if j.State.Final() || j.State == spool.StateHeld {
					temporary++
				}
			}
			st, err := network.ReadStatus(network.StateDir(o.cfg.Paths.State))
			if err != nil {
				return nil, fmt.Errorf("demo: status at %s: %w", id, err)
			}
			res.status[id] = st
			for _, j := range res.offices[id] {
				f := netDemoFinal(st[j.ID])
				// A printed permanent card counts once the office has
				// voided the temporary one (it may still have been
				// printing when the news came: the office voids it a
				// moment later).
				if f != nil && !(f.Kind == string(network.EventPrinted) && o.cfg.Network.VoidTemporaryOnPermanent &&
					j.State == spool.StateCompleted && j.Serial != "") {
					permanent++
				}
			}
		}
		total := n * len(offs)
		progress.set(fmt.Sprintf("temporary cards %d/%d, permanent cards back at the offices %d/%d", temporary, total, permanent, total))
		if temporary+permanent != last {
			last, moved = temporary+permanent, time.Now()
		}
		_, batchesDone := batchesDone(c.st)
		if temporary == total && permanent == total && batchesDone {
			break
		}
		if time.Since(moved) > stall {
			res.unsettled = 2*total - temporary - permanent
			break
		}
	}
	progress.done()
	res.elapsed = time.Since(start)
	for _, j := range c.st.Spool().Jobs() {
		res.central[j.ID] = j
	}
	for _, b := range c.st.Spool().Batches() {
		res.batches = append(res.batches, b.ID)
	}
	return res, nil
}

// netDemoFinal returns the status entry that settles a permanent request
// at its office (printed, else outcome unknown, else refused), or nil.
func netDemoFinal(es []network.StatusEntry) *network.StatusEntry {
	var unknown, refused *network.StatusEntry
	for i := range es {
		switch network.EventKind(es[i].Kind) {
		case network.EventPrinted:
			return &es[i]
		case network.EventUnknown:
			unknown = &es[i]
		case network.EventFailed, network.EventVoided:
			refused = &es[i]
		}
	}
	if unknown != nil {
		return unknown
	}
	return refused
}

// print writes the network demo's summary: where each card went.
func (r *netDemoResult) print(w io.Writer, central *config.Config, out string) {
	fmt.Fprintf(w, "\nThe issuance network in %s: two field offices, the central facility with the hub.\n\n", r.elapsed.Round(time.Millisecond))
	ids := make([]string, 0, len(r.offices))
	for id := range r.offices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "  %-10s %-10s %-34s %s\n", "OFFICE", "JOB", "TEMPORARY CARD (at the office)", "PERMANENT CARD (at the central facility)")
	for _, office := range ids {
		jobs := r.offices[office]
		sort.Slice(jobs, func(a, b int) bool { return jobs[a].Num < jobs[b].Num })
		for _, j := range jobs {
			temp := string(j.State)
			switch {
			case j.Serial != "":
				temp = j.Serial + " " + string(j.State)
			case len(j.Voided) > 0:
				temp = j.Voided[len(j.Voided)-1] + " voided"
			}
			perm := "pending"
			if f := netDemoFinal(r.status[office][j.ID]); f != nil {
				perm = f.Kind
				if f.Serial != "" {
					perm = f.Serial + " " + f.Kind
				}
				if f.Host != "" {
					perm += " at " + f.Host
				}
				if cj, ok := r.central[network.CentralJobID(office, j.ID)]; ok && cj.Printer != "" {
					perm += " on " + cj.Printer
					if cj.Batch != "" {
						perm += " (batch " + cj.Batch + ")"
					}
				}
			}
			fmt.Fprintf(w, "  %-10s %-10s %-34s %s\n", office, j.ID, temp, perm)
		}
	}
	if r.unsettled > 0 {
		fmt.Fprintf(w, "\n%d cards NOT SETTLED (nothing moved for a while).\n", r.unsettled)
	}
	fmt.Fprintln(w, "\nA temporary card's serial is voided (and on every station's deny list) once its")
	fmt.Fprintln(w, "permanent card is printed.")
	for _, id := range r.batches {
		// The central spool is in the work directory, a temporary one
		// unless --work names it: the report is copied beside the cards.
		src := filepath.Join(central.Paths.Spool, "batches", id, "report.txt")
		dst := filepath.Join(out, "central", "batch-"+id+"-report.txt")
		if b, err := os.ReadFile(src); err == nil && os.MkdirAll(filepath.Dir(dst), 0o755) == nil && security.WriteFileAtomic(dst, b, 0o644) == nil {
			fmt.Fprintf(w, "Batch %s at the central facility: reconciliation report in %s\n", id, dst)
		} else {
			fmt.Fprintf(w, "Batch %s at the central facility: reconciliation report in %s (run with --work DIR to keep it)\n", id, src)
		}
	}
	if note := demoPhotoNote(central); note != "" {
		fmt.Fprintln(w, note)
	}
	fmt.Fprintf(w, "Printed cards (PNG, as the emulated printers decoded them): %s/SITE/PRINTER/\n", out)
}

// cmdNetworkDemo is "cardd demo --network".
func cmdNetworkDemo(ctx context.Context, e *env, work, out string, jobs int, speed float64, cascades string, verbose bool) error {
	if jobs > 200 {
		return usageError{fmt.Sprintf("--jobs %d with --network: want 1 to 200 (at each office)", jobs)}
	}
	hubAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	central, offices, err := netDemoConfigs(work, out, hubAddr, jobs, speed)
	if err != nil {
		return err
	}
	if cascades != "" {
		for _, c := range append([]*config.Config{central}, offices...) {
			c.Portrait.Cascades = cascades
			demoPortrait(c)
		}
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	status := newStatusLine(e.stdout, isTerminal(e.stdout))
	log := slog.New(slog.NewTextHandler(status.logs(e.stderr), &slog.HandlerOptions{Level: level}))
	r, err := runNetworkDemo(ctx, central, offices, log, jobs, status, demoStall)
	if err != nil {
		return err
	}
	// One trust list beside the printed cards with every site's key.
	trust := filepath.Join(out, "trust.json")
	for _, cfg := range append([]*config.Config{central}, offices...) {
		if err := mergeTrustList(trust, cfg.Security.TrustList); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	r.print(e.stdout, central, out)
	// The hint names a real card, so that it runs as printed: a permanent
	// card carries its QR code on the back.
	if img := findQRImage(central); img != "" {
		fmt.Fprintf(e.stdout, "Verify a card (the trust list holds every site's public key):\n  %s verify --trust %s --image %s\n", selfCommand(), trust, img)
	}
	if r.unsettled > 0 {
		return errSilentFailure
	}
	return nil
}
