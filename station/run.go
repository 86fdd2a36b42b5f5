package station

import (
	"context"
	"errors"
)

// Run serves the HTTP endpoint and runs the scheduler until ctx ends or
// the endpoint fails; the card in a printer when ctx ends is allowed to
// finish. It is called once; the caller closes the station afterwards.
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
	httpDone := false
	select {
	case err = <-runErr:
	case err = <-herr:
		// The endpoint failed: stop the scheduler too (a supervisor
		// restarts the daemon).
		httpDone = true
		if err == nil {
			err = errors.New("http: endpoint stopped")
		}
		stop()
		err = errors.Join(err, <-runErr)
	}
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
