package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
)

// cmdAudit is "cardd audit": check the issuance log and export the deny
// list.
func cmdAudit(ctx context.Context, e *env) error {
	return subcommands{
		help:    printAuditHelp,
		missing: "missing subcommand (verify, export)",
		unknown: "unknown audit subcommand %q (want verify or export)",
		table: map[string]func(context.Context, *env) error{
			"verify": auditVerify,
			"export": auditExport,
		},
	}.dispatch(ctx, e)
}

func printAuditHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd audit SUBCOMMAND [flags]

Subcommands:
  verify  [--log FILE]               check the hash chain of the whole log; names the first broken record
  export  [--log FILE] [--out FILE]  write the deny list of voided, spoiled and replaced serials

The log is the station's security.audit_log: --config FILE, or the embedded
default under --work DIR (default cardd-work), as every station command;
--log FILE names a log directly.
`)
}

// addAuditLogFlags adds --log and the station flags (--config, --work) to
// fs. The function it returns, called after parsing, gives the audit log
// path: --log, else the station's security.audit_log. A station whose
// state directory does not exist is "no station at …".
func addAuditLogFlags(fs *flag.FlagSet) func() (string, error) {
	logPath := fs.String("log", "", "audit log `FILE` (default: the station's security.audit_log)")
	st := addStationFlags(fs)
	return func() (string, error) {
		if *logPath != "" {
			if _, err := os.Stat(*logPath); errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("audit log %s (--log) does not exist", *logPath)
			}
			return *logPath, nil
		}
		cfg, err := st.load()
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(cfg.Paths.State); errors.Is(err, os.ErrNotExist) {
			return "", st.noStation(cfg.Paths.State)
		}
		if _, err := os.Stat(cfg.Security.AuditLog); errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("the station has no audit log yet: %s does not exist (it is written with the first card issued; looked with %s)", cfg.Security.AuditLog, st.source())
		}
		return cfg.Security.AuditLog, nil
	}
}

func auditVerify(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "audit verify", "[--config FILE | --work DIR | --log FILE] [--hub]",
		"Checks every record of the issuance log and the SHA-256 chain linking them. On success\n"+
			"prints the record count and the head hash (keep it somewhere else to detect a cut-off\n"+
			"tail later); on failure names the first broken record and exits 1. With --hub (a\n"+
			"station of a network) it also fetches the latest checkpoint the hub witnessed for\n"+
			"this station and fails if the log was truncated or rewritten since.")
	auditLog := addAuditLogFlags(fs)
	hub := fs.Bool("hub", false, "also compare the log with the hub's latest checkpoint of this station")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"unexpected arguments"}
	}
	logPath, err := auditLog()
	if err != nil {
		return err
	}
	st, err := audit.VerifyFile(logPath)
	if err != nil {
		var ce *audit.ChainError
		if errors.As(err, &ce) {
			fmt.Fprintf(e.stdout, "BROKEN at %v\n(%d records before it verify)\n", ce, st.Records)
			return errSilentFailure
		}
		return err
	}
	fmt.Fprintf(e.stdout, "ok: %d records, head %s\n", st.Records, st.Head)
	if *hub {
		if err := verifyWithHub(ctx, e, fs, logPath); err != nil {
			return err
		}
	}
	for _, ev := range []audit.Event{audit.EventIssued, audit.EventPrinted, audit.EventOutcomeUnknown, audit.EventReprinted,
		audit.EventSpoiled, audit.EventVoided, audit.EventOperator} {
		if n := st.Events[ev]; n > 0 {
			fmt.Fprintf(e.stdout, "  %-10s %d\n", ev, n)
		}
	}
	return nil
}

func auditExport(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit export", "[--config FILE | --work DIR | --log FILE] [--out FILE]",
		"Writes the deny list (JSON) of serials that verifiers must refuse: voided, spoiled, and\n"+
			"replaced by a reprint. The log must verify first. Without --out the list goes to stdout;\n"+
			"with it the file is replaced atomically.")
	auditLog := addAuditLogFlags(fs)
	out := fs.String("out", "", "deny list file to write (default stdout)")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"unexpected arguments"}
	}
	logPath, err := auditLog()
	if err != nil {
		return err
	}
	f, err := os.Open(logPath)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	defer f.Close()
	d, err := audit.DenyList(f, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("audit export %s: %w", logPath, err)
	}
	b, err := d.Marshal()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := e.stdout.Write(b)
		return err
	}
	if err := security.WriteFileAtomic(*out, b, 0o644); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintf(e.stderr, "wrote %d denied serials to %s\n", len(d.Serials), *out)
	return nil
}

// verifyWithHub compares the audit log with the latest checkpoint the hub
// holds for the station of the configuration the flags name.
func verifyWithHub(ctx context.Context, e *env, fs *flag.FlagSet, logPath string) error {
	cfg, err := loadConfig(fs.Lookup("config").Value.String(), fs.Lookup("work").Value.String())
	if err != nil {
		return err
	}
	if cfg.Network == nil {
		return configError{Err: errors.New("--hub: the station has no [network] table")}
	}
	name, err := network.StationName(cfg)
	if err != nil {
		return configError{Err: err}
	}
	co, err := network.ConnOptionsFromConfig(cfg)
	if err != nil {
		return configError{Err: err}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := network.Connect(cctx, co, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.WaitConnected(cctx); err != nil {
		return fmt.Errorf("--hub: %w (a station that runs the hub itself needs an entry of its own in hub_users)", err)
	}
	cp, err := network.LatestCheckpoint(cctx, c, name)
	if err != nil {
		return err
	}
	if _, err := network.VerifyLog(logPath, cp); err != nil {
		fmt.Fprintf(e.stdout, "DOES NOT MATCH THE HUB: %v\n", err)
		return errSilentFailure
	}
	fmt.Fprintf(e.stdout, "ok: matches the hub's checkpoint of %s: %d records, head %s, witnessed %s\n",
		name, cp.Records, cp.Head, cp.Time.UTC().Format(time.RFC3339))
	return nil
}
