package station

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// TestDenyListRewriteOnlyOnChange: the deny list file holds the serials
// audit.DenyList derives from the log file plus the network's shared
// revocations; a restart (or a repeated event) that changes no serial
// leaves the file as it is (same file, same bytes), while a new serial, a
// new shared revocation, and a missing, damaged or differently written file
// are rewritten.
func TestDenyListRewriteOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, denyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "deny-list.json")
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	at := func(s int) time.Time { return time.Date(2026, 11, 27, 9, 0, s, 0, time.UTC) }
	var shared []string
	open := func() *auditLog {
		a := openAuditAdapter(t, path, denyPath, now)
		a.shared = func() []string { return shared }
		return a
	}
	stat := func() os.FileInfo {
		t.Helper()
		fi, err := os.Stat(denyPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	// check: the file lists what audit.DenyList of the log file and the
	// shared revocations give.
	check := func(what string) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want, err := audit.DenyList(f, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want = security.NewDenyList(time.Time{}, append(want.Serials, shared...))
		got, err := security.LoadDenyList(denyPath)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got.Serials, want.Serials) {
			t.Fatalf("%s: deny list %q, want %q", what, got.Serials, want.Serials)
		}
	}

	a := open()
	for _, serial := range []string{"DEMO-DEMO-0000001-A", "DEMO-DEMO-0000002-B", "DEMO-DEMO-0000003-C"} {
		if _, err := a.log.Issued(ctx, serial, "job-"+serial, "temporary", "evo1", "QR "+serial); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.writeDenyList(); err != nil { // as Open does
		t.Fatal(err)
	}
	check("empty log")
	spoiled := spool.AuditEvent{Kind: spool.AuditSpoiled, Time: at(1), Serial: "DEMO-DEMO-0000001-A", JobID: "job-1", Job: 1, Printer: "evo1", Reason: "jam"}
	if err := a.Record(ctx, spoiled); err != nil {
		t.Fatal(err)
	}
	check("after a spoiled card")
	fi, data := stat(), mustRead(t, denyPath)
	// A repeated delivery changes no serial: no rewrite.
	if err := a.Record(ctx, spoiled); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, stat()) || !bytes.Equal(data, mustRead(t, denyPath)) {
		t.Fatal("a repeated event that changed no serial rewrote the deny list")
	}
	if err := a.log.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart with the same serials: not rewritten.
	a = open()
	if err := a.writeDenyList(); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, stat()) || !bytes.Equal(data, mustRead(t, denyPath)) {
		t.Fatal("a restart with unchanged serials rewrote the deny list")
	}
	check("restart")

	// Each of these must give a rewritten, correct file.
	for _, c := range []struct {
		name   string
		change func()
	}{
		{"voided serial", func() {
			if err := a.Record(ctx, spool.AuditEvent{Kind: spool.AuditVoid, Time: at(2), Serial: "DEMO-DEMO-0000002-B", JobID: "job-2", Job: 2, Reason: "lost"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"shared revocation", func() { shared = []string{"OTHER-STN-0000009-Z"}; a.writeDenyList() }},
		{"missing file", func() { os.Remove(denyPath); a.writeDenyList() }},
		{"damaged file", func() { os.WriteFile(denyPath, data[:len(data)/2], 0o644); a.writeDenyList() }},
		{"same serials written differently", func() {
			d, err := security.LoadDenyList(denyPath)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(denyPath, append(bytes.TrimSpace(mustRead(t, denyPath)), "\n\n"...), 0o644)
			if d2, err := security.LoadDenyList(denyPath); err != nil || !slices.Equal(d.Serials, d2.Serials) {
				t.Fatalf("reformatted list: %v", err)
			}
			a.writeDenyList()
		}},
	} {
		before := stat()
		c.change()
		// (A removed file's inode may be reused: there the content says it.)
		if c.name != "missing file" && os.SameFile(before, stat()) {
			t.Errorf("%s: deny list not rewritten", c.name)
		}
		check(c.name)
		b := mustRead(t, denyPath)
		d, _ := security.LoadDenyList(denyPath)
		if want, _ := d.Marshal(); !bytes.Equal(b, want) {
			t.Errorf("%s: file %q, want %q", c.name, b, want)
		}
	}
	if err := a.log.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
