package ipp

import (
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/cardd/cardd/printer"
)

// FuzzResponse feeds arbitrary bytes to the driver's reading of IPP
// responses — decoding, the printer and job attributes, the status and
// outcome mapping, and the job plan built from what a queue says — which
// must never panic, whatever a server sends.
func FuzzResponse(f *testing.F) {
	fq := newFakeQueue()
	fq.reasons = []string{"cover-open-error", "marker-supply-low-warning", "offline-report"}
	for _, op := range []goipp.Op{goipp.OpGetPrinterAttributes, goipp.OpPrintJob, goipp.OpGetJobAttributes} {
		resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
		switch op {
		case goipp.OpGetPrinterAttributes:
			fq.printerAttrs(resp)
		default:
			resp.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(7)))
			resp.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(jobAborted)))
			resp.Job.Add(goipp.MakeAttribute("time-at-processing", goipp.TagNoValue, goipp.Binary{}))
		}
		b, err := resp.EncodeBytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x01\x03"))
	card := simplexCard()
	back := card.Front
	duplex := *card
	duplex.Back = &back
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeResponse(b, 1)
		if err != nil {
			return
		}
		p := parsePrinter(m.Printer)
		st := statusOf(&p, time.Unix(0, 0))
		if st.State == "" {
			t.Fatal("status without a state")
		}
		for _, c := range []*printer.Card{card, &duplex} {
			if pl, err := planJob(&p, c); err == nil {
				if pl.setup.width <= 0 || pl.setup.height <= 0 {
					t.Fatalf("plan with an empty page: %+v", pl.setup)
				}
			}
		}
		j := parseJob(m.Job)
		out := outcomeOf(&j)
		if ended(j.state) && out == "" {
			t.Fatal("ended job without an outcome")
		}
		_ = infoOf(&p, "ymcko")
	})
}
