package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
)

// cmdAudit is "cardd audit": check the issuance log and export the deny
// list.
func cmdAudit(ctx context.Context, e *env) error {
	return subcommands{
		help:    printAuditHelp,
		missing: "missing subcommand (verify, export, checkpoint, prove, check-proof)",
		unknown: "unknown audit subcommand %q (want verify, export, checkpoint, prove or check-proof)",
		table: map[string]func(context.Context, *env) error{
			"verify":      auditVerify,
			"export":      auditExport,
			"checkpoint":  auditCheckpoint,
			"prove":       auditProve,
			"check-proof": auditCheckProof,
		},
	}.dispatch(ctx, e)
}

func printAuditHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd audit SUBCOMMAND [flags]

Subcommands:
  verify  [--log FILE] [--checkpoint FILE] [--key FILE]
                                     check the hash chain of the whole log and that it still holds
                                     what the latest signed checkpoint (or FILE) covered
  export  [--log FILE] [--out FILE]  write the deny list of voided, spoiled and replaced serials
  checkpoint [--log FILE] [--all] [--out FILE]
                                     print the latest signed checkpoint (--all: every one, as kept)
  prove   SERIAL [--log FILE] [--checkpoint FILE] [--key FILE] [--out FILE]
                                     print inclusion proofs of the serial's records
  check-proof FILE --key FILE        check inclusion proofs against their signed checkpoint

The log is a Merkle-tree transparency log: the station signs checkpoints
(origin, record count, root hash) with its audit key (security.audit_key;
its public key is KEY.pub) and keeps them in audit.log.checkpoints. Keep
checkpoints elsewhere ("cardd audit checkpoint --out FILE") to detect a
log truncated or rewritten later ("cardd audit verify --checkpoint FILE").

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
	fs := newFlagSet(e, "audit verify", "[--config FILE | --work DIR | --log FILE] [--checkpoint FILE] [--key FILE] [--hub]",
		"Checks every record of the issuance log and the SHA-256 chain linking them, then that the\n"+
			"log still holds exactly the records a signed checkpoint covered (its Merkle tree root):\n"+
			"the latest checkpoint the station kept, or --checkpoint FILE, one saved elsewhere, whose\n"+
			"signature is checked with the station's audit verifier key (--key FILE for another).\n"+
			"A log truncated, or rewritten, reordered or with records removed up to the checkpoint,\n"+
			"fails even when its hash chain was rebuilt. On failure it names what is wrong and exits 1.\n"+
			"With --hub (a\n"+
			"station of a network) it also fetches the latest checkpoint the hub witnessed for\n"+
			"this station and fails if the log was truncated or rewritten since.")
	auditLog := addAuditLogFlags(fs)
	hub := fs.Bool("hub", false, "also compare the log with the hub's latest checkpoint of this station")
	cpFile := fs.String("checkpoint", "", "signed checkpoint `FILE` to check the log against (default: the latest the station kept)")
	keyFile := fs.String("key", "", "audit verifier key `FILE` (default: the station's security.audit_key + .pub)")
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
	if err := verifyCheckpoint(e, fs, logPath, *cpFile, *keyFile); err != nil {
		return err
	}
	if *hub {
		if err := verifyWithHub(ctx, e, fs, logPath, *keyFile); err != nil {
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
func verifyWithHub(ctx context.Context, e *env, fs *flag.FlagSet, logPath, keyFile string) error {
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
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := connectHub(cctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
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
	if cp.Note == "" {
		return nil
	}
	// The signed checkpoint the hub holds: the log's Merkle tree root.
	v, err := auditVerifier(fs, keyFile)
	if err != nil {
		return err
	}
	signed, err := audit.ParseCheckpoint([]byte(cp.Note), v)
	if err != nil {
		fmt.Fprintf(e.stdout, "DOES NOT MATCH THE HUB: its signed checkpoint does not open with the verifier key: %v\n", err)
		return errSilentFailure
	}
	if _, err := audit.VerifyAgainst(logPath, signed); err != nil {
		fmt.Fprintf(e.stdout, "DOES NOT MATCH THE HUB: %v\n", err)
		return errSilentFailure
	}
	fmt.Fprintf(e.stdout, "ok: holds the %d records of the signed checkpoint the hub witnessed\n", signed.Size)
	return nil
}

// auditVerifier resolves the audit verifier key: --key FILE, else the
// station's security.audit_key + ".pub" (the flags' configuration).
func auditVerifier(fs *flag.FlagSet, keyFile string) (note.Verifier, error) {
	if keyFile == "" {
		cfg, err := loadConfig(fs.Lookup("config").Value.String(), fs.Lookup("work").Value.String())
		if err != nil {
			return nil, err
		}
		keyFile = cfg.Security.AuditKey + ".pub"
		if _, err := os.Stat(keyFile); err != nil {
			return nil, configError{Err: fmt.Errorf("audit verifier key %s (security.audit_key + .pub) does not exist; give --key FILE", keyFile)}
		}
	}
	return audit.LoadVerifier(keyFile)
}

// loadCheckpoint returns the signed checkpoint in file, or the latest the
// station kept beside logPath (nil, nil when there is none), its
// signature checked with v.
func loadCheckpoint(logPath, file string, v note.Verifier) (*audit.Checkpoint, error) {
	var msg []byte
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		msg = b
	} else {
		kept, err := audit.ReadCheckpoints(audit.CheckpointsFile(logPath))
		if err != nil {
			return nil, err
		}
		if len(kept) == 0 {
			return nil, nil
		}
		msg = kept[len(kept)-1].Note
		file = audit.CheckpointsFile(logPath)
	}
	cp, err := audit.ParseCheckpoint(msg, v)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	return cp, nil
}

// verifyCheckpoint is the checkpoint part of "cardd audit verify".
func verifyCheckpoint(e *env, fs *flag.FlagSet, logPath, cpFile, keyFile string) error {
	if cpFile == "" {
		if kept, err := audit.ReadCheckpoints(audit.CheckpointsFile(logPath)); err != nil {
			return err
		} else if len(kept) == 0 {
			fmt.Fprintln(e.stdout, "no signed checkpoint yet: the hash chain alone was checked")
			return nil
		}
	}
	v, err := auditVerifier(fs, keyFile)
	if err != nil {
		return err
	}
	cp, err := loadCheckpoint(logPath, cpFile, v)
	if err != nil {
		fmt.Fprintf(e.stdout, "BAD CHECKPOINT: %v\n", err)
		return errSilentFailure
	}
	if _, err := audit.VerifyAgainst(logPath, cp); err != nil {
		fmt.Fprintf(e.stdout, "DOES NOT MATCH THE CHECKPOINT of %s (%d records): %v\n", cp.Origin, cp.Size, err)
		return errSilentFailure
	}
	fmt.Fprintf(e.stdout, "ok: holds the %d records of the signed checkpoint of %s, root %s\n", cp.Size, cp.Origin, cp.Root)
	return nil
}

func auditCheckpoint(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit checkpoint", "[--config FILE | --work DIR | --log FILE] [--all] [--out FILE]",
		"Prints the latest checkpoint the station signed of its audit log: a signed note whose text is\n"+
			"the log's origin, its record count and its Merkle tree root (c2sp.org/tlog-checkpoint). Keep it\n"+
			"somewhere the station cannot write, and check the log against it later with\n"+
			"\"cardd audit verify --checkpoint FILE\". --all prints every kept checkpoint, one JSON line each.")
	auditLog := addAuditLogFlags(fs)
	all := fs.Bool("all", false, "every checkpoint kept, as JSON lines")
	out := fs.String("out", "", "file to write (default stdout; replaced atomically)")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) != 0 {
		return usageError{"unexpected arguments"}
	}
	logPath, err := auditLog()
	if err != nil {
		return err
	}
	var b []byte
	if *all {
		if b, err = os.ReadFile(audit.CheckpointsFile(logPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit checkpoint: %w", err)
		}
	} else {
		kept, err := audit.ReadCheckpoints(audit.CheckpointsFile(logPath))
		if err != nil {
			return err
		}
		if len(kept) == 0 {
			return fmt.Errorf("audit checkpoint: the station has signed no checkpoint of %s yet", logPath)
		}
		b = kept[len(kept)-1].Note
	}
	if *out == "" {
		_, err := e.stdout.Write(b)
		return err
	}
	if err := security.WriteFileAtomic(*out, b, 0o644); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

// proofSeparator separates proofs in the output of "cardd audit prove".
const proofSeparator = "%%\n"

func auditProve(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit prove", "SERIAL [--config FILE | --work DIR | --log FILE] [--checkpoint FILE] [--key FILE] [--out FILE]",
		"Prints an inclusion proof of each record of the audit log that names SERIAL (issued,\n"+
			"printed, spoiled, voided, replaced …) against the latest signed checkpoint (or --checkpoint\n"+
			"FILE): the record, its place and the hashes leading to the checkpoint's root, then the\n"+
			"signed checkpoint. Proofs are separated by a line \"%%\". Anyone with the station's audit\n"+
			"verifier key checks them with \"cardd audit check-proof FILE --key KEY.pub\" (Go:\n"+
			"audit.ParseProof and audit.CheckProof). Records newer than the checkpoint are not proved.")
	auditLog := addAuditLogFlags(fs)
	cpFile := fs.String("checkpoint", "", "signed checkpoint `FILE` to prove against (default: the latest the station kept)")
	keyFile := fs.String("key", "", "audit verifier key `FILE` (default: the station's security.audit_key + .pub)")
	out := fs.String("out", "", "file to write (default stdout; replaced atomically)")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{"want one SERIAL"}
	}
	logPath, err := auditLog()
	if err != nil {
		return err
	}
	v, err := auditVerifier(fs, *keyFile)
	if err != nil {
		return err
	}
	cp, err := loadCheckpoint(logPath, *cpFile, v)
	if err != nil {
		return err
	}
	if cp == nil {
		return fmt.Errorf("audit prove: the station has signed no checkpoint of %s yet", logPath)
	}
	proofs, err := audit.Prove(logPath, args[0], cp)
	if err != nil {
		return err
	}
	if len(proofs) == 0 {
		return fmt.Errorf("audit prove: no record of serial %q among the %d records of the checkpoint", args[0], cp.Size)
	}
	var b []byte
	for i, p := range proofs {
		if i > 0 {
			b = append(b, proofSeparator...)
		}
		b = append(b, p.Marshal()...)
	}
	if *out == "" {
		_, err = e.stdout.Write(b)
	} else if err = security.WriteFileAtomic(*out, b, 0o644); err != nil {
		err = fmt.Errorf("audit prove: %w", err)
	}
	if err == nil {
		fmt.Fprintf(e.stderr, "%d proof(s) of %s against the checkpoint of %d records of %s\n", len(proofs), args[0], cp.Size, cp.Origin)
	}
	return err
}

func auditCheckProof(_ context.Context, e *env) error {
	fs := newFlagSet(e, "audit check-proof", "FILE --key FILE",
		"Checks the inclusion proofs in FILE (\"cardd audit prove\" output, \"-\" for stdin): the\n"+
			"checkpoint's signature with the station's audit verifier key, then that each record is\n"+
			"in the log the checkpoint covers. Prints each record checked; exits 1 if any fails.")
	keyFile := fs.String("key", "", "audit verifier key `FILE` (the station's KEY.pub)")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{"want one FILE"}
	}
	if *keyFile == "" {
		return usageError{"--key FILE is required (the station's audit verifier key)"}
	}
	v, err := audit.LoadVerifier(*keyFile)
	if err != nil {
		return err
	}
	var b []byte
	if args[0] == "-" {
		b, err = io.ReadAll(io.LimitReader(e.stdin, 64*audit.MaxProof))
	} else {
		b, err = os.ReadFile(args[0])
	}
	if err != nil {
		return fmt.Errorf("audit check-proof: %w", err)
	}
	failed := false
	parts := strings.Split(string(b), "\n"+proofSeparator)
	for i, part := range parts {
		if i < len(parts)-1 {
			part += "\n" // the split took the note's last newline
		}
		p, err := audit.ParseProof([]byte(part), v)
		if err == nil {
			err = audit.CheckProof(p)
		}
		if err != nil {
			fmt.Fprintf(e.stdout, "proof %d: FAILS: %v\n", i+1, err)
			failed = true
			continue
		}
		fmt.Fprintf(e.stdout, "proof %d: ok: record %d is in the log of %s (checkpoint of %d records): %s\n",
			i+1, p.Seq, p.Checkpoint.Origin, p.Checkpoint.Size, sanitizeLine(string(p.Line)))
	}
	if failed {
		return errSilentFailure
	}
	return nil
}

// sanitizeLine replaces control characters in a line of untrusted text.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return '?'
		}
		return r
	}, s)
}
