package spool

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

func stateOf(e *env) []Job {
	jobs := e.sp.Jobs()
	for i := range jobs {
		jobs[i].Created = jobs[i].Created.UTC()
		jobs[i].Updated = jobs[i].Updated.UTC()
		jobs[i].NotBefore = jobs[i].NotBefore.UTC()
		if len(jobs[i].Voided) == 0 {
			jobs[i].Voided = nil
		}
	}
	return jobs
}

func TestCompact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Batching = Batching{Size: 2, Window: time.Hour}
	})
	p := e.printers["p1"]
	p.script = []step{{printer.OutcomeRejected, nil}, {printer.OutcomeUnknown, nil}, {printer.OutcomePrinted, nil}}
	e.submit("M-1", nil) // spoiled, then printed: two serials
	e.submit("M-2", nil) // unknown: held
	e.drain()
	e.clock.Advance(time.Second)
	e.drain()
	e.clock.Advance(time.Second)
	e.drain()
	e.submit("M-3", func(j *jobfile.Job) { j.Mode = jobfile.ModePermanent }) // in an open batch
	e.submit("M-4", nil)
	e.drain()
	if err := e.s.Hold(ctx, "M-3", "wait"); err != nil {
		t.Fatal(err)
	}
	e.wantState("M-1", StateCompleted, "")
	e.wantState("M-2", StateHeld, ReasonOutcomeUnknown)
	if j := e.job("M-1"); len(j.Voided) != 1 || j.Serial == "" {
		t.Errorf("M-1 serials %q voided %v", j.Serial, j.Voided)
	}
	want := stateOf(e)
	wantBatches := e.sp.Batches()
	before, after, err := e.sp.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("journal %d -> %d bytes", before, after)
	}
	if got := stateOf(e); !reflect.DeepEqual(got, want) {
		t.Fatalf("state changed by Compact:\n got %+v\nwant %+v", got, want)
	}
	if j := e.job("M-1"); len(j.History) != 1 || !j.History[0].Snapshot {
		t.Errorf("M-1 history %+v", j.History)
	}
	e.crash()
	if got := stateOf(e); !reflect.DeepEqual(got, want) {
		t.Fatalf("state after Compact and replay:\n got %+v\nwant %+v", got, want)
	}
	gotBatches := e.sp.Batches()
	for i := range gotBatches {
		gotBatches[i].Opened, wantBatches[i].Opened = gotBatches[i].Opened.UTC(), wantBatches[i].Opened.UTC()
	}
	if !reflect.DeepEqual(gotBatches, wantBatches) {
		t.Errorf("batches after replay %+v, want %+v", gotBatches, wantBatches)
	}
	// Life goes on after compaction: new records, duplicates still refused.
	e.submit("M-1", nil)
	if err := e.s.Confirm(ctx, "M-2", "ok"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.crash()
	e.wantState("M-2", StateCompleted, "confirmed")
	if jobs := e.sp.Jobs(); jobs[len(jobs)-1].State != StateAborted {
		t.Errorf("duplicate after compaction: %+v", jobs[len(jobs)-1])
	}
	if _, err := os.Stat(filepath.Join(e.root, fileJournal+".compact")); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
}
