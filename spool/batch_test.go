package spool

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

func TestPermanentBatches(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Mode = jobfile.ModePermanent
		c.Batching = Batching{Size: 3, Window: time.Hour, PerTemplate: true}
	}, "p1", "p2")
	e.printers["p1"].script = []step{{printer.OutcomeRejected, errors.New("bad blank")}}
	for _, id := range []string{"A-1", "A-2", "A-3", "A-4"} {
		e.submit(id, func(j *jobfile.Job) { j.Template = "permanent-a" })
	}
	e.submit("B-1", func(j *jobfile.Job) { j.Template = "permanent-b" })
	e.submit("T-1", func(j *jobfile.Job) { j.Mode = jobfile.ModeTemporary }) // prints at once
	e.drain()
	e.wantState("T-1", StateCompleted, "")
	if e.job("T-1").Batch != "" {
		t.Error("temporary job batched")
	}
	// The retry after the spoiled card waits for its back-off.
	e.clock.Advance(time.Second)
	e.drain()
	for _, id := range []string{"A-1", "A-2", "A-3"} {
		if j := e.wantState(id, StateCompleted, ""); j.Batch != "B000001" {
			t.Errorf("%s in batch %q", id, j.Batch)
		}
	}
	e.wantState("A-4", StatePending, "")
	e.wantState("B-1", StatePending, "")
	bs := e.sp.Batches()
	if len(bs) != 3 || bs[0].State != BatchDone || bs[1].State != BatchOpen || bs[2].State != BatchOpen || bs[2].Key != "permanent-b" {
		t.Fatalf("batches %+v", bs)
	}
	data, err := os.ReadFile(filepath.Join(e.root, dirBatches, "B000001", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep BatchReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Jobs != 3 || rep.Printed != 3 || rep.Spoiled != 1 || rep.BlanksUsed != 4 || rep.BlanksExpected != 3 || rep.Voided != 1 || len(rep.Manifest) != 3 {
		t.Errorf("report %+v", rep)
	}
	// Every batch's report at once equals each batch's own.
	ids := []string{bs[2].ID, bs[0].ID, bs[1].ID}
	all, err := e.sp.BatchReports(ids, map[string]int{"p1": 7})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		one, err := e.sp.BatchReport(id, map[string]int{"p1": 7})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(all[i])
		b, _ := json.Marshal(one)
		if string(a) != string(b) {
			t.Errorf("batch %s: BatchReports %s, BatchReport %s", id, a, b)
		}
	}
	if _, err := e.sp.BatchReports([]string{"B000009"}, nil); !errors.Is(err, ErrNoBatch) {
		t.Errorf("unknown batch: %v", err)
	}
	var stock int
	for _, p := range rep.Printers {
		stock += p.StockLoaded
	}
	if stock != 200 || rep.Printers[0].Name != "p1" || rep.Printers[0].Spoiled != 1 {
		t.Errorf("printer usage %+v", rep.Printers)
	}
	txt, err := os.ReadFile(filepath.Join(e.root, dirBatches, "B000001", "report.txt"))
	if err != nil || !strings.Contains(string(txt), "printed 3, spoiled 1") || !strings.Contains(string(txt), "expected 3, used 4 (+1)") {
		t.Errorf("text report: %v\n%s", err, txt)
	}

	// Batches survive a restart; the window closes the open ones.
	e.crash()
	if got := e.sp.Batches(); len(got) != 3 || got[1].State != BatchOpen {
		t.Fatalf("after restart: %+v", got)
	}
	e.clock.Advance(time.Hour)
	e.drain()
	e.wantState("A-4", StateCompleted, "")
	e.wantState("B-1", StateCompleted, "")
	for _, b := range e.sp.Batches() {
		if b.State != BatchDone || (b.ID != "B000001" && !strings.Contains(b.Reason, "window")) {
			t.Errorf("batch %+v", b)
		}
	}
	if _, err := e.s.BatchReport("B000009"); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrNoBatch) ||
		err.Error() != `spool: no such batch: "B000009"` {
		t.Errorf("BatchReport of unknown batch: %v", err)
	}
}

func TestBatchUnknownOutcomeAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Mode = jobfile.ModePermanent
		c.Batching = Batching{Size: 10, Window: time.Hour}
	})
	e.printers["p1"].script = []step{{printer.OutcomeUnknown, printer.ErrTimeout}}
	e.submit("Q-1", nil)
	e.submit("Q-2", nil)
	e.drain()
	if err := e.s.CloseBatch("B000001", "end of shift"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CloseBatch("B000001", ""); !errors.Is(err, ErrState) {
		t.Errorf("second close: %v", err)
	}
	e.drain()
	e.clock.Advance(time.Second) // the printer's back-off after the lost card
	e.drain()
	e.wantState("Q-1", StateHeld, ReasonOutcomeUnknown)
	e.wantState("Q-2", StateCompleted, "")
	if b := e.sp.Batches()[0]; b.State != BatchClosed {
		t.Fatalf("batch with a held job is %s", b.State)
	}
	if err := e.s.Confirm(ctx, "Q-1", "in hopper"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	rep, err := e.s.BatchReport("B000001")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Batch.State != BatchDone || rep.Printed != 2 || rep.Unknown != 0 || rep.BlanksUsed != 2 {
		t.Errorf("report %+v", rep)
	}
}
