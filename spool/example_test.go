package spool_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// Stand-ins for layout, the security packages and a printer driver, which
// cmd/cardd wires in for real.
type composer struct{}

func (composer) Compose(_ context.Context, req spool.ComposeRequest) (*printer.Card, error) {
	return &printer.Card{Geometry: printer.CR80(300)}, nil
}

type serials struct{ n int }

func (s *serials) Next(context.Context) (string, error) {
	s.n++
	return fmt.Sprintf("OFF7-%06d", s.n), nil
}

type audit struct{}

func (audit) Record(_ context.Context, e spool.AuditEvent) error {
	fmt.Println("audit:", e.Kind, e.Serial, e.JobID)
	return nil
}

type instantPrinter struct{}

func (instantPrinter) Print(context.Context, *printer.Card) (printer.Result, error) {
	return printer.Result{Outcome: printer.OutcomePrinted}, nil
}

func (instantPrinter) Status(context.Context) (printer.Status, error) {
	return printer.Status{State: printer.StateIdle}, nil
}

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "spool-example")
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "spool")

	// The daemon opens the spool (creating its areas) and starts the
	// scheduler, which recovers whatever a previous run left.
	sp, err := spool.Open(root, spool.Options{}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sp.Close()
	s, err := spool.NewScheduler(ctx, sp, spool.Config{
		Composer: composer{}, Serials: &serials{}, Audit: audit{},
		Printers: []spool.PrinterConfig{{Name: "desk", Printer: instantPrinter{}, Policy: spool.PolicyRetryJob}},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	// A producer commits a job (cardd submit does this).
	job := &jobfile.Job{ID: "CASE-1", Template: "temporary", Fields: map[string]string{"surname": "Doe"}}
	if _, err := spool.Submit(root, job, nil); err != nil {
		fmt.Println(err)
		return
	}

	// The daemon's Run does this on a watcher hint or its rescan timer.
	if err := s.Rescan(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.ProcessNext(ctx, "desk"); err != nil {
		fmt.Println(err)
		return
	}
	j, _ := sp.Job("CASE-1")
	fmt.Println(j.ID, j.State, j.Serial, j.Printer)
	// Output:
	// audit: issued OFF7-000001 CASE-1
	// audit: printed OFF7-000001 CASE-1
	// CASE-1 completed OFF7-000001 desk
}
