package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool"
)

// TestDemoNetwork runs "cardd demo --network": two field offices and the
// central facility with its embedded hub, as stations in this process.
// Every job prints its temporary card at its office and its permanent card
// at the centre, in one batch, and each office knows its permanent cards'
// serials; the summary says where each card went and the emulators wrote
// the cards. One job at each office proves all of it (a second each only
// doubled the cards, the CPU-heaviest part under the race detector).
func TestDemoNetwork(t *testing.T) {
	t.Parallel()
	work, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := runCardd(t, "demo", "--network", "--jobs", "1", "--work", work, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	central, err := spool.Open(filepath.Join(work, "central", "spool"), spool.Options{ReadOnly: true, Journal: filepath.Join(work, "central", "state", "journal")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer central.Close()
	byID := map[string]spool.Job{}
	printers, batches := map[string]int{}, map[string]bool{}
	for _, j := range central.Jobs() {
		byID[j.ID] = j
		printers[j.Printer]++
		batches[j.Batch] = true
	}
	if len(byID) != 2 || len(batches) != 1 {
		t.Errorf("central facility has %d jobs in batches %v, want 2 in one batch", len(byID), batches)
	}
	for _, office := range []struct{ id, prefix string }{{"office-a", "OFA"}, {"office-b", "OFB"}} {
		status, err := network.ReadStatus(network.StateDir(filepath.Join(work, office.id, "state")))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{office.prefix + "-0001"} {
			cj, ok := byID[network.CentralJobID(office.id, id)]
			if !ok || cj.State != spool.StateCompleted || cj.Serial == "" {
				t.Errorf("%s/%s at the central facility: %+v", office.id, id, cj)
				continue
			}
			f := netDemoFinal(status[id])
			if f == nil || f.Kind != string(network.EventPrinted) || f.Serial != cj.Serial {
				t.Errorf("office %s sees %s as %+v, want printed %s", office.id, id, f, cj.Serial)
			}
			line := ""
			for _, l := range strings.Split(stdout, "\n") {
				if strings.Contains(l, " "+id+" ") {
					line = l
				}
			}
			if !strings.Contains(line, cj.Serial+" printed at central on "+cj.Printer) {
				t.Errorf("summary line of %s: %q, want its permanent serial %s and printer %s", id, line, cj.Serial, cj.Printer)
			}
			// The temporary card is voided once its permanent card is
			// printed, even when the news came while it was printing.
			if !strings.Contains(line, " voided ") {
				t.Errorf("summary line of %s: %q, want the temporary card voided", id, line)
			}
		}
		temp, _ := filepath.Glob(filepath.Join(out, office.id, "*", "card-*-front.png"))
		if len(temp) != 1 {
			t.Errorf("office %s printed %d temporary cards, want 1", office.id, len(temp))
		}
	}
	perm, _ := filepath.Glob(filepath.Join(out, "central", "*", "card-*-back.png"))
	if len(perm) != 2 {
		t.Errorf("the central facility's printers wrote %d duplex cards, want 2", len(perm))
	}
	// The batch's reconciliation report is kept beside the cards (the
	// work directory is temporary unless --work names it), and the summary
	// names that copy.
	for b := range batches {
		report := filepath.Join(out, "central", "batch-"+b+"-report.txt")
		if got, err := os.ReadFile(report); err != nil || !bytes.Contains(got, []byte(b)) {
			t.Errorf("batch report %s: %v\n%s", report, err, got)
		}
		if !strings.Contains(stdout, "reconciliation report in "+report+"\n") {
			t.Errorf("the summary does not name %s:\n%s", report, stdout)
		}
	}
	// The closing hint runs as printed (issue 10).
	hint := ""
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, " verify --trust ") {
			hint = strings.TrimSpace(l)
		}
	}
	_, after, _ := strings.Cut(hint, " verify ")
	args := strings.Fields(after)
	if len(args) != 4 || args[0] != "--trust" || args[2] != "--image" {
		t.Fatalf("verify hint %q, want CARDD verify --trust FILE --image FILE", hint)
	}
	if code, vout, verr := runCardd(t, append([]string{"verify"}, args...)...); code != 0 || !strings.Contains(vout, "verdict: valid") {
		t.Errorf("%s: exit %d\n%s%s", hint, code, vout, verr)
	}
	if len(printers) != 2 {
		t.Logf("the batch printed on %d printer(s): %v", len(printers), printers)
	}
}
