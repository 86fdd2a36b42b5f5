package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

// wantsHub reports whether args ask for the hub (--hub, -hub, --hub=true).
func wantsHub(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		switch strings.TrimLeft(a, "-") {
		case "hub", "hub=true", "hub=1":
			return strings.HasPrefix(a, "-")
		}
	}
	return false
}

// facilityReportCmd is "cardd batch report --hub [BATCH]": one report of
// the whole facility from the hub (the central hosts' batch summaries,
// their outcome events and the station codes), read with the network
// credentials of the configuration named.
func facilityReportCmd(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "batch report --hub", "[--config FILE | --work DIR] [--json] [--stale DURATION] [BATCH]",
		"Prints one report of the whole facility from the hub. Cards: every central host's batches,\n"+
			"from the summaries each host keeps on the hub (no age limit; no personal data): per batch\n"+
			"blanks expected, used and loaded, cards printed, reprinted, spoiled and voided, outcomes\n"+
			"unknown, serial range; per host and for the facility the totals; and the discrepancies:\n"+
			"a batch whose blanks do not reconcile, a host whose summaries are stale or unknown, a\n"+
			"summary that does not decode (named by key and field). Requests: from the outcome events\n"+
			"(kept on the hub for 30 days) and the registered serial station codes, per central host\n"+
			"the requests received and their outcomes, per field office its requests by latest state,\n"+
			"and whether any serial was printed twice. With BATCH, that batch on every host only.\n"+
			"It connects with the [network] credentials of the configuration, which must be a central\n"+
			"host's (an office reads only its own events). Exits 1 when a serial was printed twice or\n"+
			"a discrepancy is flagged.")
	st := addStationFlags(fs)
	fs.Bool("hub", true, "read the facility's report from the hub (this command)")
	asJSON := fs.Bool("json", false, "print JSON")
	stale := fs.Duration("stale", 10*time.Minute, "flag a host with batches not done that published nothing for this long")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	opts := network.ReportOptions{StaleAfter: *stale}
	switch len(args) {
	case 0:
	case 1:
		if err := jobfile.ValidID(args[0]); err != nil {
			return usageError{"batch: " + err.Error()}
		}
		opts.Batch = args[0]
	default:
		return usageError{"--hub takes at most one BATCH"}
	}
	if *stale <= 0 {
		return usageError{"--stale must be positive"}
	}
	cfg, err := st.load()
	if err != nil {
		return err
	}
	if cfg.Network == nil {
		return configError{Err: fmt.Errorf("--hub: the station has no [network] table (%s)", st.source())}
	}
	if network.Role(cfg.Network.Role) != network.RoleCentral {
		return configError{Err: fmt.Errorf("--hub: the facility report reads every central host's batches and every office's events and needs a central host's credentials; %s is site %s, role %s", st.source(), cfg.Network.Site, cfg.Network.Role)}
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := connectHub(cctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := network.ReadFacilityReport(cctx, c, time.Now(), opts)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("--hub: the hub did not answer in time: %w", err)
		}
		return err
	}
	if *asJSON {
		err = printJSON(e.stdout, rep)
	} else {
		_, err = fmt.Fprint(e.stdout, rep.Text())
	}
	if err != nil {
		return err
	}
	if len(rep.DuplicateSerials) > 0 || len(rep.Flags) > 0 {
		return errSilentFailure
	}
	return nil
}
