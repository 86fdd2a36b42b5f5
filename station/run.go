package station

import (
	"context"
	"errors"
	"fmt"
)

// Component is work that runs alongside a station's scheduler and HTTP
// endpoint, on the same lifetime: the issuance network's link to its hub,
// for one.
type Component interface {
	// Run runs until ctx ends and then returns nil. An error returned
	// while the station runs stops the station (a supervisor restarts
	// the daemon), as a failing HTTP endpoint does.
	Run(ctx context.Context) error
}

// ComponentFunc is a function that is a Component.
type ComponentFunc func(ctx context.Context) error

// Run implements Component.
func (f ComponentFunc) Run(ctx context.Context) error { return f(ctx) }

// component is an added Component with the name its errors carry.
type component struct {
	name string
	c    Component
}

// Add makes c run alongside the station from Run on; name prefixes its
// errors. It is called before Run.
func (s *Station) Add(name string, c Component) {
	s.components = append(s.components, component{name, c})
}

// Run serves the HTTP endpoint and runs the scheduler and the added
// components until ctx ends or the endpoint or a component fails; the
// card in a printer when ctx ends is allowed to finish. It returns once
// every component has returned. It is called once; the caller closes the
// station afterwards.
func (s *Station) Run(ctx context.Context) (err error) {
	cfg, log := s.cfg, s.log
	names := make([]string, 0, len(cfg.Printers))
	for _, p := range cfg.Printers {
		names = append(names, p.Name)
	}
	addr := ""
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	log.Info("station running", "station", cfg.Station.ID, "mode", cfg.Station.Mode, "spool", cfg.Paths.Spool, "printers", names, "http", addr)
	hctx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	// herr stays nil (blocking for ever in the select) without an
	// endpoint.
	var herr chan error
	if s.srv != nil {
		herr = make(chan error, 1)
		s.served = true
		go func() { herr <- s.srv.ServeListener(hctx, s.ln) }()
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- s.runScheduler(rctx, s.opts.Run) }()
	// Components run on the scheduler's context; cdone has room for
	// each one's result.
	cdone := make(chan error, len(s.components))
	for _, c := range s.components {
		go func() {
			err := c.c.Run(rctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", c.name, err)
			}
			cdone <- err
		}()
	}
	pending := len(s.components)
	var cerrs []error
	httpDone := false
wait:
	for {
		select {
		case err = <-runErr:
			break wait
		case err = <-herr:
			// The endpoint failed: stop the scheduler too (a supervisor
			// restarts the daemon).
			httpDone = true
			if err == nil {
				err = errors.New("http: endpoint stopped")
			}
			stop()
			err = errors.Join(err, <-runErr)
			break wait
		case cerr := <-cdone:
			pending--
			if cerr == nil {
				continue // done with its work: the station goes on
			}
			// A component failed: stop the station.
			cerrs = append(cerrs, cerr)
			stop()
			err = <-runErr
			break wait
		}
	}
	stop()
	for ; pending > 0; pending-- {
		if cerr := <-cdone; cerr != nil && !errors.Is(cerr, context.Canceled) {
			cerrs = append(cerrs, cerr)
		}
	}
	err = errors.Join(append(cerrs, err)...)
	stopHTTP()
	if herr != nil && !httpDone {
		err = errors.Join(err, <-herr)
	}
	if err != nil {
		log.Error("station stopped with an error", "err", err)
		return err
	}
	log.Info("station stopped")
	return nil
}
