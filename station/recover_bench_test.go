package station

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// writeJournal10k writes a job journal in spool's format (CRC-32C of the
// JSON, a space, the JSON of a spool.Record, a newline) for 10,000 jobs: the
// station's life before a crash. 9,880 jobs were printed and purged, 100
// wait, 19 are held with outcome unknown and the evidence read before
// their card, and one was in the printer (evidence journaled) when the
// daemon was killed.
func writeJournal10k(b *testing.B, path, spoolDir string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	table := crc32.MakeTable(crc32.Castagnoli)
	var seq uint64
	put := func(r spool.Record) {
		seq++
		r.Seq = seq
		js, err := json.Marshal(&r)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(w, "%08x %s\n", crc32.Checksum(js, table), js)
	}
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	for n := uint64(1); n <= 10000; n++ {
		at := t0.Add(time.Duration(n) * time.Minute)
		id := fmt.Sprintf("CASE-2026-%06d", n)
		serial := fmt.Sprintf("DEMO-DEMO-%07d-X", n)
		put(spool.Record{Time: at, Job: n, ID: id, State: spool.StatePending, Template: "temporary", Source: id + "-abcd1234",
			Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
		dir := ""
		switch {
		case n > 9900:
			dir = "active"
		case n == 9900:
			dir = "active"
		case n > 9880:
			dir = "held"
		}
		if dir != "" {
			if err := os.MkdirAll(filepath.Join(spoolDir, dir, fmt.Sprintf("%08d", n)), 0o700); err != nil {
				b.Fatal(err)
			}
		}
		if n > 9900 {
			continue
		}
		put(spool.Record{Time: at, Job: n, State: spool.StateProcessing, Sub: spool.SubComposing, Serial: serial, Printer: "emulator", Attempt: 1,
			Audit: &spool.PendingAudit{Kind: spool.AuditIssued, Serial: serial}})
		put(spool.Record{Time: at, Job: n, Ack: seq})
		ev := printer.Evidence{Serial: "EMU-0001", Fed: int(n - 1), Printed: -1, Rejected: -1, Panels: 6 * int(n-1), Inside: printer.PresenceNone, At: at}
		put(spool.Record{Time: at, Job: n, State: spool.StateProcessing, Sub: spool.SubPrinting, Printer: "emulator", Evidence: &ev})
		switch {
		case n == 9900:
		case n > 9880:
			put(spool.Record{Time: at, Job: n, State: spool.StateHeld, Outcome: printer.OutcomeUnknown, Reason: spool.ReasonOutcomeUnknown,
				Audit: &spool.PendingAudit{Kind: spool.AuditUnknown, Serial: serial}})
			put(spool.Record{Time: at, Job: n, Ack: seq})
		default:
			put(spool.Record{Time: at, Job: n, State: spool.StateCompleted, Outcome: printer.OutcomePrinted,
				Audit: &spool.PendingAudit{Kind: spool.AuditPrinted, Serial: serial}})
			put(spool.Record{Time: at, Job: n, Ack: seq})
			put(spool.Record{Time: at.Add(time.Hour), Job: n, State: spool.StateCompleted, Purged: true})
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// writeAudit10k continues the station's audit log (cfg.Security.AuditLog)
// with the records of writeJournal10k's jobs as the station appends them:
// for each job an issued record (the composer's, with the payload's hash),
// then printed for the 9,880 completed jobs and outcome-unknown for the 19
// held (the scheduler's, with the spool event's time); the card in the
// printer at the crash has only its issued record. The lines are written
// with their hash chain in one go (not 19,800 fsyncs), then the log is
// opened once with the station's audit key to build its tree file and sign
// a checkpoint of the whole log, as a running station would have.
func writeAudit10k(b *testing.B, cfg *config.Config) {
	b.Helper()
	path := cfg.Security.AuditLog
	st, err := audit.VerifyFile(path)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	seq, prev := st.Records, st.Head
	put := func(r audit.Record) {
		seq++
		r.Seq, r.Prev = seq, prev
		line, err := json.Marshal(&r)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(line)
		prev = hex.EncodeToString(sum[:])
		w.Write(line)
		w.WriteByte('\n')
	}
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	for n := uint64(1); n <= 9900; n++ {
		at := t0.Add(time.Duration(n) * time.Minute)
		id := fmt.Sprintf("CASE-2026-%06d", n)
		serial := fmt.Sprintf("DEMO-DEMO-%07d-X", n)
		put(audit.Record{Time: at.Add(time.Second), Event: audit.EventIssued, Serial: serial, Job: id, Template: "temporary",
			Printer: "emulator", PayloadHash: security.PayloadHash("DEMO1:" + serial)})
		switch {
		case n == 9900:
		case n > 9880:
			put(audit.Record{Time: at.Add(2 * time.Second), At: at, Event: audit.EventOutcomeUnknown, Serial: serial, Job: id, JobNum: n,
				Printer: "emulator", Reason: "outcome unknown: the daemon stopped while the card was in the printer"})
		default:
			put(audit.Record{Time: at.Add(2 * time.Second), At: at, Event: audit.EventPrinted, Serial: serial, Job: id, JobNum: n,
				Template: "temporary", Printer: "emulator"})
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	// A state file from the first start is not this log's.
	os.Remove(audit.StateFile(path))
	_, key, err := ensureAuditKey(cfg)
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.OpenWith(path, audit.Options{Signer: key.signer})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	if n, _ := l.Head(); n < 10000 {
		b.Fatalf("audit log of %d records", n)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStationRecover10k is "cardd run" restarting after a crash with
// a 10,000-job journal (writeJournal10k): Station.Open — state directory,
// keys, serial allocator, audit log (writeAudit10k: 19,800 records)
// checked against its checkpoint, deny list,
// printers (the in-process emulator), spool journal replayed and the
// scheduler's recovery (the card found in the printer held, owed audit
// events sent) — up to where Run logs "station running". "as-written"
// replays the whole journal (no snapshot) and verifies the whole audit
// log (no open state file); "snapshot+256KiB" loads the spool's snapshot
// written when all but the journal's last 256 KiB was journaled (the most
// RunOptions.SnapshotAbove leaves to replay after a crash) and replays
// those bytes, and "audit=state+1000" opens the audit log from its open
// state file written when all but its last 1,000 records were appended
// (audit.DefaultStateEvery, the most a crash leaves after it), reading and
// verifying those records (the rest is verified in the background after
// "station running", not measured here). Reported: median-ms and p90-ms of
// that wall time, cpu-ns/op (process CPU time).
func BenchmarkStationRecover10k(b *testing.B) {
	for _, v := range []struct {
		name      string
		tail      int64
		auditTail int
	}{{"journal=as-written,audit=full", 0, -1}, {"journal=snapshot+256KiB,audit=state+1000", 256 << 10, audit.DefaultStateEvery}} {
		b.Run(v.name, func(b *testing.B) { benchStationRecover(b, v.tail, v.auditTail) })
	}
}

func benchStationRecover(b *testing.B, tail int64, auditTail int) {
	base := b.TempDir()
	cfg, err := config.Embedded(filepath.Join(base, "work"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.HTTP.Listen = ""
	for i := range cfg.Printers {
		cfg.Printers[i].Emulator.Speed = 0
		cfg.Printers[i].Emulator.Output = ""
	}
	log := slog.New(slog.DiscardHandler)
	// A first start makes the keys, the allocator and the audit log.
	st, err := Open(context.Background(), cfg, log, Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	// Its clean stop left a snapshot of an empty spool: not this journal's.
	os.Remove(cfg.Paths.Journal + ".snapshot")
	writeJournal10k(b, cfg.Paths.Journal, cfg.Paths.Spool)
	writeAudit10k(b, cfg)
	if tail > 0 {
		snapshotAllBut(b, cfg.Paths.Journal, tail)
	}
	if auditTail >= 0 {
		auditStateAllBut(b, cfg.Security.AuditLog, auditTail)
	}
	master := filepath.Join(base, "master")
	if out, err := exec.Command("cp", "-a", filepath.Join(base, "work"), master).CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	// The held jobs' reason files as the daemon wrote them when it held
	// them (before the crash): one start writes them, and they are kept
	// beside the state of the crash.
	st, err = Open(context.Background(), cfg, log, Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	reasons, err := filepath.Glob(filepath.Join(cfg.Paths.Spool, "held", "*", "reason.txt"))
	if err != nil || len(reasons) < 19 {
		b.Fatalf("reason files %v, %v", reasons, err)
	}
	for _, r := range reasons {
		rel, _ := filepath.Rel(filepath.Join(base, "work"), r)
		if strings.Contains(rel, "00009900") {
			continue // the card in the printer: not held before the crash
		}
		data, err := os.ReadFile(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(master, rel), data, 0o640); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		work := filepath.Join(base, "work")
		if err := os.RemoveAll(work); err != nil {
			b.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", master, work).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		c0 := benchcpu.Process()
		b.StartTimer()
		start := time.Now()
		st, err := Open(context.Background(), cfg, log, Options{})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		cpu += benchcpu.Process() - c0
		b.StopTimer()
		if j, err := st.Spool().Job("CASE-2026-009900"); err != nil || j.State != spool.StateHeld {
			b.Fatalf("the card in the printer at the crash: %+v, %v", j.State, err)
		}
		st.Close()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// snapshotAllBut writes beside journal a snapshot of the spool covering
// all of the journal but about its last tail bytes (cut at a record): the
// state of a daemon that wrote its last snapshot that long before it was
// killed.
func snapshotAllBut(b *testing.B, journal string, tail int64) {
	b.Helper()
	data, err := os.ReadFile(journal)
	if err != nil {
		b.Fatal(err)
	}
	cut := int64(len(data)) - tail
	for cut > 0 && data[cut-1] != '\n' {
		cut--
	}
	dir := b.TempDir()
	jp := filepath.Join(dir, "journal")
	if err := os.WriteFile(jp, data[:cut], 0o600); err != nil {
		b.Fatal(err)
	}
	sp, err := spool.Open(dir, spool.Options{NoSync: true, Journal: jp}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Snapshot(); err != nil {
		b.Fatal(err)
	}
	snap, err := os.ReadFile(jp + ".snapshot")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(journal+".snapshot", snap, 0o600); err != nil {
		b.Fatal(err)
	}
}

// auditStateAllBut writes beside the audit log at path the open state
// file covering all of its records but the last tail: the state of a
// daemon killed tail records after it last wrote one.
func auditStateAllBut(b *testing.B, path string, tail int) {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	cut := len(data)
	for range tail + 1 {
		cut = strings.LastIndexByte(string(data[:cut]), '\n')
	}
	cut++
	tmp := filepath.Join(b.TempDir(), "audit.log")
	if err := os.WriteFile(tmp, data[:cut], 0o600); err != nil {
		b.Fatal(err)
	}
	l, err := audit.OpenWith(tmp, audit.Options{State: true})
	if err != nil {
		b.Fatal(err)
	}
	if n, _ := l.Head(); n == 0 {
		b.Fatal("empty prefix")
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.ReadFile(audit.StateFile(tmp))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(audit.StateFile(path), st, 0o600); err != nil {
		b.Fatal(err)
	}
}
