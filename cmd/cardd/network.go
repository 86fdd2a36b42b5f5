package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
)

// cmdNetwork is "cardd network": set up the users of an issuance network's
// hub.
func cmdNetwork(ctx context.Context, e *env) error {
	return subcommands{
		help:    printNetworkHelp,
		missing: "missing subcommand (user, hub-config, release)",
		unknown: "unknown network subcommand %q (want user, hub-config or release)",
		table: map[string]func(context.Context, *env) error{
			"user":       networkUser,
			"hub-config": networkHubConfig,
			"release":    networkRelease,
		},
	}.dispatch(ctx, e)
}

func printNetworkHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd network SUBCOMMAND [flags]

Subcommands:
  user        --site NAME --role field-office|central --seed FILE
              makes an NKey for a site (seed to FILE, for its network.nkey_seed)
              and prints its [[user]] entry for the hub's users file
  hub-config  --users FILE
              prints the users file as a nats-server configuration fragment
              (max_payload and every user's permissions) for a hub run as
              nats-server
  release     [--config FILE] OFFICE JOB
              a central host died between claiming a request and taking it
              into its spool: release the claim so another host takes it
`)
}

func networkUser(_ context.Context, e *env) error {
	fs := newFlagSet(e, "network user", "--site NAME --role ROLE --seed FILE",
		"Creates an NKey for a site of the issuance network: writes its seed to FILE (mode 0600,\n"+
			"which must not exist; give it to the site as network.nkey_seed) and prints the [[user]]\n"+
			"entry to add to the hub's users file (network.hub_users of an embedded hub, or\n"+
			"\"cardd network hub-config\" for a nats-server hub). The hosts of a central site each\n"+
			"get their own NKey under the same --site.")
	site := fs.String("site", "", "the site's name (network.site)")
	role := fs.String("role", "", "field-office or central")
	seed := fs.String("seed", "", "seed file to write")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"unexpected arguments"}
	}
	if *site == "" || *role == "" || *seed == "" {
		return usageError{"give --site, --role and --seed"}
	}
	if err := network.SiteName(*site); err != nil {
		return usageError{"--site: " + err.Error()}
	}
	if err := network.Role(*role).Valid(); err != nil {
		return usageError{"--role: " + err.Error()}
	}
	u, err := hub.NewNKeyUser(*site, network.Role(*role), *seed)
	if err != nil {
		return err
	}
	b, err := hub.MarshalUsers([]hub.User{u})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote the seed of %s to %s\n", *site, *seed)
	_, err = e.stdout.Write(b)
	return err
}

func networkHubConfig(_ context.Context, e *env) error {
	fs := newFlagSet(e, "network hub-config", "--users FILE",
		"Prints the hub's users file as a nats-server configuration fragment: the max_payload the\n"+
			"network needs and one user per entry with exactly the permissions an embedded hub grants.\n"+
			"Include it in every node's configuration.")
	users := fs.String("users", "", "the hub's users file")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"unexpected arguments"}
	}
	if *users == "" {
		return usageError{"give --users FILE"}
	}
	if _, err := os.Stat(*users); err != nil {
		return usageError{err.Error()}
	}
	list, err := hub.LoadUsers(*users)
	if err != nil {
		return configError{Err: err}
	}
	b, err := hub.RenderConfig(list)
	if err != nil {
		return configError{Err: err}
	}
	_, err = e.stdout.Write(b)
	return err
}

func networkRelease(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "network release", "[--config FILE | --work DIR] OFFICE JOB",
		"Releases the claim a central host put on a forwarded request and never completed (the host\n"+
			"died between claiming it and taking it into its spool, and is not coming back), so that\n"+
			"another central host takes it. A request taken for good is not released. Connects to the\n"+
			"hub with the station's [network] settings (a central site's).")
	st := addStationFlags(fs)
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return usageError{"give OFFICE and JOB"}
	}
	cfg, err := st.load()
	if err != nil {
		return err
	}
	if cfg.Network == nil || network.Role(cfg.Network.Role) != network.RoleCentral {
		return configError{Err: errors.New("network release: the station is not a central host of a network")}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := connectHub(cctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	rec, err := network.ReleaseClaim(cctx, c, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "released the claim of host %s (since %s) on %s/%s; another central host takes it now\n", rec.Host, rec.Time.UTC().Format(time.RFC3339), args[0], args[1])
	return nil
}

// connectHub connects to the hub named by cfg's [network] table with its
// credentials and waits until the link is up (bounded by ctx). Bad
// credentials are a configuration error.
func connectHub(ctx context.Context, cfg *config.Config) (*network.Conn, error) {
	co, err := network.ConnOptionsFromConfig(cfg)
	if err != nil {
		return nil, configError{Err: err}
	}
	c, err := network.Connect(ctx, co, nil)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("hub: %w (a station that runs the hub itself needs an entry of its own in hub_users)", err)
	}
	return c, nil
}
