package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardd/cardd/network"
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

// facilityReportCmd is "cardd batch report --hub": one report of the whole
// facility from the outcome events every central host published to the
// hub, read with the network credentials of the configuration named.
func facilityReportCmd(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "batch report --hub", "[--config FILE | --work DIR] [--json]",
		"Prints one report of the whole facility from the hub: the outcome events of every central\n"+
			"host (kept on the hub for 30 days) and the registered serial station codes. Per central\n"+
			"host: requests received, cards printed, reprinted, spoiled and voided, outcomes unknown,\n"+
			"requests failed or held, blanks used; per field office: its requests by latest state;\n"+
			"and whether any serial was printed twice. It connects with the [network] credentials of\n"+
			"the configuration, which must be a central host's (an office reads only its own events).\n"+
			"Exits 1 when a serial was printed twice.")
	st := addStationFlags(fs)
	fs.Bool("hub", true, "read the facility's outcome events from the hub (this command)")
	asJSON := fs.Bool("json", false, "print JSON")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"--hub reports on the whole facility: give no BATCH"}
	}
	cfg, err := st.load()
	if err != nil {
		return err
	}
	if cfg.Network == nil {
		return configError{Err: fmt.Errorf("--hub: the station has no [network] table (%s)", st.source())}
	}
	if network.Role(cfg.Network.Role) != network.RoleCentral {
		return configError{Err: fmt.Errorf("--hub: the facility report reads every office's events and needs a central host's credentials; %s is site %s, role %s", st.source(), cfg.Network.Site, cfg.Network.Role)}
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := connectHub(cctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := network.ReadFacilityReport(cctx, c, time.Now())
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
	if len(rep.DuplicateSerials) > 0 {
		return errSilentFailure
	}
	return nil
}
