package main

import (
	"context"
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
