package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
)

func writeAuditLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range []audit.Record{
		{Event: audit.EventIssued, Serial: "S-1", Job: "J1", Template: "temporary", Printer: "p1", PayloadHash: security.PayloadHash("x")},
		{Event: audit.EventIssued, Serial: "S-2", Job: "J2", Template: "temporary", Printer: "p1", PayloadHash: security.PayloadHash("y")},
		{Event: audit.EventSpoiled, Serial: "S-2", Reason: "jam"},
		{Event: audit.EventReprinted, Serial: "S-3", Replaces: "S-2", Reason: "spoiled"},
		{Event: audit.EventVoided, Serial: "S-9"},
	} {
		if _, err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditVerifyAndExport(t *testing.T) {
	log := writeAuditLog(t)
	code, out, errOut := runCardd(t, "audit", "verify", "--log", log)
	if code != exitOK || !strings.Contains(out, "ok: 5 records") {
		t.Fatalf("audit verify: exit %d out %q err %q", code, out, errOut)
	}
	deny := filepath.Join(t.TempDir(), "deny.json")
	code, _, errOut = runCardd(t, "audit", "export", "--log", log, "--out", deny)
	if code != exitOK {
		t.Fatalf("audit export: exit %d: %s", code, errOut)
	}
	d, err := security.LoadDenyList(deny)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Serials, ",") != "S-2,S-9" {
		t.Fatalf("deny list %v", d.Serials)
	}
	code, out, _ = runCardd(t, "audit", "export", "--log", log)
	if code != exitOK || !strings.Contains(out, `"S-9"`) {
		t.Fatalf("export to stdout: exit %d %q", code, out)
	}

	// Tamper with record 2: verify names it (record 3's link breaks) and
	// export refuses.
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, []byte(strings.Replace(string(b), `"J2"`, `"J7"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCardd(t, "audit", "verify", "--log", log)
	if code != exitFailure || !strings.Contains(out, "BROKEN at record 3 (line 3)") {
		t.Fatalf("tampered verify: exit %d out %q", code, out)
	}
	if code, _, _ := runCardd(t, "audit", "export", "--log", log); code != exitFailure {
		t.Fatalf("export of a broken log: exit %d", code)
	}
}

func TestAuditUsage(t *testing.T) {
	for _, args := range [][]string{{"audit"}, {"audit", "nope"}, {"audit", "verify", "extra"}} {
		if code, _, _ := runCardd(t, args...); code != exitUsage {
			t.Errorf("cardd %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, _ := runCardd(t, "audit", "verify", "--log", "/nonexistent/audit.log"); code != exitFailure {
		t.Errorf("missing log: exit %d", code)
	}
}

func TestAuditWithStationConfig(t *testing.T) {
	log := writeAuditLog(t)
	cfg := securityConfig(t, "keys/trust.json", "deny.json", log)
	code, out, errOut := runCardd(t, "audit", "verify", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "ok: 5 records") {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
	code, out, _ = runCardd(t, "audit", "export", "--config", cfg)
	if code != exitOK || !strings.Contains(out, `"S-2"`) {
		t.Fatalf("export: exit %d out %q", code, out)
	}
}

// signedAuditLog writes writeAuditLog's records to a log that signs
// checkpoints with a new audit key, and returns the log and the verifier
// key file.
func signedAuditLog(t *testing.T) (logPath, pub string) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "audit.key")
	s, _, _, err := audit.EnsureKey(key, "cardd.example/office-7/audit", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(dir, "audit.log")
	l, err := audit.OpenWith(logPath, audit.Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []audit.Record{
		{Event: audit.EventIssued, Serial: "S-1", Job: "J1", Template: "temporary", Printer: "p1", PayloadHash: security.PayloadHash("x")},
		{Event: audit.EventIssued, Serial: "S-2", Job: "J2", Template: "temporary", Printer: "p1", PayloadHash: security.PayloadHash("y")},
		{Event: audit.EventSpoiled, Serial: "S-2", Reason: "jam"},
		{Event: audit.EventReprinted, Serial: "S-3", Replaces: "S-2", Reason: "spoiled"},
		{Event: audit.EventVoided, Serial: "S-9"},
	} {
		if _, err := l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return logPath, key + ".pub"
}

// rechain rewrites the log at path with its records changed by change,
// renumbered and with the hash chain recomputed, as someone who can write
// the file would: the chain alone still verifies.
func rechain(t *testing.T, path string, change func([]audit.Record) []audit.Record) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []audit.Record
	_, err = audit.Read(f, func(r audit.Record) error { recs = append(recs, r); return nil })
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	prev := audit.GenesisHash
	for i, r := range change(recs) {
		r.Seq, r.Prev = uint64(i+1), prev
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
		sum := sha256.Sum256(line)
		prev = hex.EncodeToString(sum[:])
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAuditCheckpointVerifyProve(t *testing.T) {
	logPath, pub := signedAuditLog(t)
	code, out, errOut := runCardd(t, "audit", "verify", "--log", logPath, "--key", pub)
	if code != exitOK || !strings.Contains(out, "ok: 5 records") || !strings.Contains(out, "holds the 5 records of the signed checkpoint of cardd.example/office-7/audit") {
		t.Fatalf("verify: exit %d out %q err %q", code, out, errOut)
	}
	saved := filepath.Join(t.TempDir(), "checkpoint.txt")
	if code, _, errOut := runCardd(t, "audit", "checkpoint", "--log", logPath, "--out", saved); code != exitOK {
		t.Fatalf("checkpoint: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(saved); !strings.HasPrefix(string(b), "cardd.example/office-7/audit\n5\n") {
		t.Fatalf("saved checkpoint:\n%s", b)
	}
	if code, out, _ := runCardd(t, "audit", "checkpoint", "--log", logPath, "--all"); code != exitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"note":`) {
		t.Fatalf("checkpoint --all: exit %d %q", code, out)
	}
	proof := filepath.Join(t.TempDir(), "proof.txt")
	code, _, errOut = runCardd(t, "audit", "prove", "S-2", "--log", logPath, "--key", pub, "--out", proof)
	if code != exitOK || !strings.Contains(errOut, "3 proof(s) of S-2") {
		t.Fatalf("prove: exit %d: %s", code, errOut)
	}
	code, out, errOut = runCardd(t, "audit", "check-proof", proof, "--key", pub)
	if code != exitOK || strings.Count(out, ": ok: record ") != 3 || !strings.Contains(out, "record 4 is in the log of cardd.example/office-7/audit") {
		t.Fatalf("check-proof: exit %d out %q err %q", code, out, errOut)
	}
	// A proof whose record was changed fails.
	b, _ := os.ReadFile(proof)
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte(strings.Replace(string(b), `"reason":"jam"`, `"reason":"jaw"`, 1)), 0o600)
	if code, out, _ := runCardd(t, "audit", "check-proof", bad, "--key", pub); code != exitFailure || !strings.Contains(out, "proof 2: FAILS") {
		t.Fatalf("changed proof: exit %d %q", code, out)
	}
	if code, _, errOut := runCardd(t, "audit", "prove", "S-404", "--log", logPath, "--key", pub); code == exitOK || !strings.Contains(errOut, `no record of serial "S-404"`) {
		t.Fatalf("unknown serial: exit %d %q", code, errOut)
	}

	// Tampering re-chained so that the chain verifies is caught, against
	// the kept checkpoint and against the one saved elsewhere (after the
	// kept ones were removed too).
	for _, tc := range []struct {
		name   string
		change func([]audit.Record) []audit.Record
	}{
		{"truncated", func(r []audit.Record) []audit.Record { return r[:3] }},
		{"rewritten middle", func(r []audit.Record) []audit.Record { r[2].Reason = "misprint"; return r }},
		{"reordered", func(r []audit.Record) []audit.Record { r[0], r[1] = r[1], r[0]; return r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logPath, pub := signedAuditLog(t)
			saved := filepath.Join(t.TempDir(), "checkpoint.txt")
			if code, _, errOut := runCardd(t, "audit", "checkpoint", "--log", logPath, "--out", saved); code != exitOK {
				t.Fatalf("checkpoint: exit %d: %s", code, errOut)
			}
			rechain(t, logPath, tc.change)
			if st, err := audit.VerifyFile(logPath); err != nil {
				t.Fatalf("the re-chained log does not verify as a chain: %v", err)
			} else if code, _, _ := runCardd(t, "audit", "verify", "--log", logPath, "--key", pub, "--checkpoint", "/nonexistent"); code == exitOK {
				t.Fatalf("a missing checkpoint file passed (%d records)", st.Records)
			}
			code, out, _ := runCardd(t, "audit", "verify", "--log", logPath, "--key", pub)
			if code != exitFailure || !strings.Contains(out, "DOES NOT MATCH THE CHECKPOINT") {
				t.Fatalf("kept checkpoint: exit %d %q", code, out)
			}
			os.Remove(audit.CheckpointsFile(logPath))
			code, out, _ = runCardd(t, "audit", "verify", "--log", logPath, "--key", pub, "--checkpoint", saved)
			if code != exitFailure || !strings.Contains(out, "DOES NOT MATCH THE CHECKPOINT") {
				t.Fatalf("saved checkpoint: exit %d %q", code, out)
			}
			if code, out, _ := runCardd(t, "audit", "verify", "--log", logPath); code != exitOK || !strings.Contains(out, "no signed checkpoint yet") {
				t.Fatalf("without checkpoints: exit %d %q", code, out)
			}
		})
	}
}
