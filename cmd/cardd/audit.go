package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
)

// defaultAuditLog is where the daemon keeps its issuance log unless
// configured otherwise.
const defaultAuditLog = "/var/lib/cardd/audit.log"

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
`)
}

// addAuditLogFlags adds --log and --config to fs. The function it returns,
// called after parsing, gives the audit log path: --log, else the --config
// station's security.audit_log, else the default path.
func addAuditLogFlags(fs *flag.FlagSet) func() (string, error) {
	logPath := fs.String("log", "", "audit log file (default: the --config station's security.audit_log, else "+defaultAuditLog+")")
	cfgPath := fs.String("config", "", "station config file to take the audit log path from")
	return func() (string, error) {
		if *logPath != "" {
			return *logPath, nil
		}
		if *cfgPath == "" {
			return defaultAuditLog, nil
		}
		cfg, err := loadConfig(*cfgPath, "")
		if err != nil {
			return "", err
		}
		if cfg.Security.AuditLog != "" {
			return cfg.Security.AuditLog, nil
		}
		return defaultAuditLog, nil
	}
}

func auditVerify(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit verify", "[--log FILE]",
		"Checks every record of the issuance log and the SHA-256 chain linking them. On success\n"+
			"prints the record count and the head hash (keep it somewhere else to detect a cut-off\n"+
			"tail later); on failure names the first broken record and exits 1.")
	auditLog := addAuditLogFlags(fs)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
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
	for _, ev := range []audit.Event{audit.EventIssued, audit.EventPrinted, audit.EventOutcomeUnknown, audit.EventReprinted,
		audit.EventSpoiled, audit.EventVoided, audit.EventOperator} {
		if n := st.Events[ev]; n > 0 {
			fmt.Fprintf(e.stdout, "  %-10s %d\n", ev, n)
		}
	}
	return nil
}

func auditExport(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit export", "[--log FILE] [--out FILE]",
		"Writes the deny list (JSON) of serials that verifiers must refuse: voided, spoiled, and\n"+
			"replaced by a reprint. The log must verify first. Without --out the list goes to stdout;\n"+
			"with it the file is replaced atomically.")
	auditLog := addAuditLogFlags(fs)
	out := fs.String("out", "", "deny list file to write (default stdout)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
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
