package spool

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
)

// writeRecoveryJournal writes a spool at root as a station leaves it after
// months of work and a crash: 10,000 jobs in the journal, 9,880 of them
// completed and purged (each with its five records: queued, composing,
// printing with the printer's evidence, printed, audit acknowledged), 100
// queued, 19 held with outcome unknown and their evidence, and one whose
// card was in the printer when the daemon was killed. Job directories
// exist for the jobs not purged.
func writeRecoveryJournal(tb testing.TB, root string) {
	tb.Helper()
	for _, d := range []string{dirIncoming, dirActive, dirHeld, dirDone, dirFailed, dirControl} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	j, _, err := openJournal(filepath.Join(root, fileJournal), false)
	if err != nil {
		tb.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	fed := 0
	put := func(r Record) {
		if err := j.write(&r, false); err != nil {
			tb.Fatal(err)
		}
	}
	for n := uint64(1); n <= 10000; n++ {
		at := t0.Add(time.Duration(n) * time.Minute)
		id := "CASE-2026-" + numName(n)
		serial := fmt.Sprintf("ISS-STA-%07d-X", n)
		put(Record{Time: at, Job: n, ID: id, State: StatePending, Template: "temporary", Source: id + "-abcd1234", Hash: hash})
		if n > 10000-100 {
			if err := os.MkdirAll(filepath.Join(root, dirActive, numName(n)), 0o700); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		put(Record{Time: at, Job: n, State: StateProcessing, Sub: SubComposing, Serial: serial, Printer: "p1", Attempt: 1,
			Audit: &PendingAudit{Kind: AuditIssued, Serial: serial}})
		put(Record{Time: at, Job: n, Ack: j.nextSeq - 1})
		ev := printer.Evidence{Serial: "EVO-1", Fed: fed, Printed: -1, Rejected: -1, Panels: 6 * fed, Inside: printer.PresenceNone, At: at}
		put(Record{Time: at, Job: n, State: StateProcessing, Sub: SubPrinting, Printer: "p1", Evidence: &ev})
		fed++
		switch {
		case n == 10000-100:
			// In the printer when the daemon died.
			if err := os.MkdirAll(filepath.Join(root, dirActive, numName(n)), 0o700); err != nil {
				tb.Fatal(err)
			}
		case n > 10000-120:
			put(Record{Time: at, Job: n, State: StateHeld, Outcome: printer.OutcomeUnknown, Reason: ReasonOutcomeUnknown,
				Audit: &PendingAudit{Kind: AuditUnknown, Serial: serial}})
			put(Record{Time: at, Job: n, Ack: j.nextSeq - 1})
			if err := os.MkdirAll(filepath.Join(root, dirHeld, numName(n)), 0o700); err != nil {
				tb.Fatal(err)
			}
		default:
			put(Record{Time: at, Job: n, State: StateCompleted, Outcome: printer.OutcomePrinted, Audit: &PendingAudit{Kind: AuditPrinted, Serial: serial}})
			put(Record{Time: at, Job: n, Ack: j.nextSeq - 1})
			put(Record{Time: at.Add(time.Hour), Job: n, State: StateCompleted, Purged: true})
		}
	}
	if err := j.f.Sync(); err != nil {
		tb.Fatal(err)
	}
	// The held jobs' reason files, as the daemon wrote them when it held
	// them.
	sp, err := Open(root, Options{NoSync: true}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer sp.Close()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, j := range sp.jobs {
		if j.State == StateHeld {
			if err := sp.place(j, dirHeld); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// copyTree copies the spool at src to dst (files and directories only).
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkRecover10k is a restart after a crash with a 10,000-job journal
// (writeRecoveryJournal): Open replays the journal, NewScheduler recovers
// (the card found in the printer held with its evidence, directories
// placed, owed audit events sent), and the first poll of the printer
// reads its evidence and settles the held cards. The station is running
// (and may print) when this returns. "as-written" replays every record of
// the 10,000 jobs (about 69,000); "compacted" the journal as the daemon
// keeps it once it compacted (RunOptions.CompactAbove: each finished job
// one record), without a snapshot; "snapshot+256KiB" loads a snapshot that
// covers all but the journal's last 256 KiB (RunOptions.SnapshotAbove: the
// most a crash leaves after the snapshot), which is replayed;
// "compacted+snapshot" loads the snapshot compaction wrote (nothing after
// it). Reported: median-ms and p90-ms of that wall time, cpu-ns/op (process
// CPU time), journal-MB and tail-MB (the part replayed).
func BenchmarkRecover10k(b *testing.B) {
	for _, v := range []struct {
		name      string
		compacted bool
		snapshot  bool
		tail      int64
	}{
		{"journal=as-written", false, false, 0},
		{"journal=compacted", true, false, 0},
		{"journal=snapshot+256KiB", false, true, 256 << 10},
		{"journal=compacted+snapshot", true, true, 0},
	} {
		b.Run(v.name, func(b *testing.B) {
			master := filepath.Join(b.TempDir(), "master")
			writeRecoveryJournal(b, master)
			journal := filepath.Join(master, fileJournal)
			if v.compacted {
				sp, err := Open(master, Options{NoSync: true}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := sp.Compact(); err != nil {
					b.Fatal(err)
				}
				sp.Close()
			}
			if !v.snapshot {
				if err := os.Remove(snapshotPath(journal)); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
			} else if v.tail > 0 {
				snapshotAllBut(b, journal, v.tail)
			}
			fi, err := os.Stat(journal)
			if err != nil {
				b.Fatal(err)
			}
			benchRecover(b, master)
			b.ReportMetric(float64(fi.Size())/(1<<20), "journal-MB")
			b.ReportMetric(float64(v.tail)/(1<<20), "tail-MB")
		})
	}
}

// snapshotAllBut writes beside journal a snapshot of the spool covering
// all of the journal but about its last tail bytes (cut at a record): the
// state of a daemon that wrote its last snapshot that long before a crash.
func snapshotAllBut(tb testing.TB, journal string, tail int64) {
	tb.Helper()
	data, err := os.ReadFile(journal)
	if err != nil {
		tb.Fatal(err)
	}
	cut := int64(len(data)) - tail
	for cut > 0 && data[cut-1] != '\n' {
		cut--
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fileJournal), data[:cut], 0o600); err != nil {
		tb.Fatal(err)
	}
	sp, err := Open(dir, Options{NoSync: true}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Snapshot(); err != nil {
		tb.Fatal(err)
	}
	snap, err := os.ReadFile(snapshotPath(filepath.Join(dir, fileJournal)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(snapshotPath(journal), snap, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func benchRecover(b *testing.B, master string) {
	ctx := context.Background()
	var lat []time.Duration
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(b.TempDir(), "spool")
		copyTree(b, master, root)
		fp := &fakePrinter{t: b, composer: &fakeComposer{}, audit: &fakeAudit{}}
		ep := &evPrinter{fakePrinter: fp}
		ep.emu.serial, ep.emu.fed = "EVO-1", 10000-100
		cpu0 := benchcpu.Process()
		b.StartTimer()
		start := time.Now()
		sp, err := Open(root, Options{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewScheduler(ctx, sp, Config{Composer: fp.composer, Serials: &fakeSerials{}, Audit: fp.audit,
			Printers: []PrinterConfig{{Name: "p1", Printer: ep}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Poll(ctx, "p1"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		cpu += benchcpu.Process() - cpu0
		b.StopTimer()
		j, err := sp.Job("CASE-2026-" + numName(10000-100))
		if err != nil || j.State != StateCompleted || j.Settled == "" {
			b.Fatalf("the card in the printer at the crash was not settled: %+v %v", j.State, err)
		}
		sp.Close()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
