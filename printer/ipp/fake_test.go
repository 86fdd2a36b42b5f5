package ipp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/cardd/cardd/printer"
)

// fakeQueue is an IPP server for unit tests of the driver's state
// handling, beside the real cupsd tests (cupsd_test.go). It answers
// Get-Printer-Attributes with the printer fields, Print-Job with job 7, and
// Get-Job-Attributes with the next of jobs (the last one repeats).
type fakeQueue struct {
	mu        sync.Mutex
	state     int
	reasons   []string
	accepting bool
	sides     []string
	formats   []string
	jobs      []jobAttrs // successive Get-Job-Attributes answers
	polls     int
	cancelled []int
	printJob  *goipp.Message // the last Print-Job request
	document  []byte         // its document
	failPrint goipp.Status   // answer Print-Job with this status when set
	dropPolls bool           // break the connection on Get-Job-Attributes
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{
		state: printerIdle, reasons: []string{"none"}, accepting: true,
		sides:   []string{"one-sided", "two-sided-long-edge"},
		formats: []string{"application/octet-stream", FormatCUPSRaster, FormatPWGRaster},
		jobs:    []jobAttrs{{state: jobCompleted, atProcessing: true, reasons: []string{"job-completed-successfully"}}},
	}
}

func (f *fakeQueue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req goipp.Message
	rd := bytes.NewReader(body)
	if err := req.Decode(rd); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, req.RequestID)
	resp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	resp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	switch goipp.Op(req.Code) {
	case goipp.OpGetPrinterAttributes:
		f.printerAttrs(resp)
	case goipp.OpPrintJob:
		f.printJob = &req
		f.document = body[len(body)-rd.Len():]
		if f.failPrint != 0 {
			resp.Code = goipp.Code(f.failPrint)
			break
		}
		resp.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(7)))
		resp.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(jobPending)))
	case goipp.OpGetJobAttributes:
		if f.dropPolls {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		j := f.jobs[min(f.polls, len(f.jobs)-1)]
		if len(f.cancelled) > 0 {
			// Cancelled: as far as the job had got.
			last := f.jobs[min(f.polls, len(f.jobs))-1]
			j = jobAttrs{state: jobCanceled, atProcessing: last.atProcessing, reasons: []string{"job-canceled-by-user"}}
		}
		f.polls++
		resp.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(7)))
		resp.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(j.state)))
		rs := goipp.Attribute{Name: "job-state-reasons"}
		for _, r := range append([]string{"none"}, j.reasons...)[min(1, len(j.reasons)):] {
			rs.Values.Add(goipp.TagKeyword, goipp.String(r))
		}
		resp.Job.Add(rs)
		if j.atProcessing {
			resp.Job.Add(goipp.MakeAttribute("time-at-processing", goipp.TagInteger, goipp.Integer(1796270567)))
		} else {
			resp.Job.Add(goipp.MakeAttribute("time-at-processing", goipp.TagNoValue, goipp.Binary{}))
		}
	case goipp.OpCancelJob:
		id, _ := firstInt(req.Operation, "job-id")
		f.cancelled = append(f.cancelled, id)
	default:
		resp.Code = goipp.Code(goipp.StatusErrorOperationNotSupported)
	}
	w.Header().Set("Content-Type", goipp.ContentType)
	b, err := resp.EncodeBytes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
}

// fakePrinterAttrs returns the printer attributes the fake queue answers.
func fakePrinterAttrs(f *fakeQueue) goipp.Attributes {
	resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
	f.printerAttrs(resp)
	return resp.Printer
}

func (f *fakeQueue) printerAttrs(resp *goipp.Message) {
	add := func(name string, tag goipp.Tag, vs ...goipp.Value) {
		a := goipp.Attribute{Name: name}
		for _, v := range vs {
			a.Values.Add(tag, v)
		}
		resp.Printer.Add(a)
	}
	strs := func(ss []string) []goipp.Value {
		var vs []goipp.Value
		for _, s := range ss {
			vs = append(vs, goipp.String(s))
		}
		return vs
	}
	add("printer-name", goipp.TagName, goipp.String("card"))
	add("printer-make-and-model", goipp.TagText, goipp.String("Magicard Tango 2E - CUPS+Gutenprint v5.3.4"))
	add("printer-device-id", goipp.TagText, goipp.String("MFG:Magicard;MDL:Tango 2E;SN:T2E0042;"))
	add("printer-state", goipp.TagEnum, goipp.Integer(f.state))
	add("printer-state-reasons", goipp.TagKeyword, strs(f.reasons)...)
	add("printer-state-message", goipp.TagText, goipp.String("fake"))
	add("printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(f.accepting))
	add("document-format-supported", goipp.TagMimeType, strs(f.formats)...)
	add("printer-resolution-supported", goipp.TagResolution, goipp.Resolution{Xres: 300, Yres: 300, Units: goipp.UnitsDpi})
	add("printer-resolution-default", goipp.TagResolution, goipp.Resolution{Xres: 300, Yres: 300, Units: goipp.UnitsDpi})
	add("sides-supported", goipp.TagKeyword, strs(f.sides)...)
	size := func(x, y int) goipp.Collection {
		var c goipp.Collection
		c.Add(goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(x)))
		c.Add(goipp.MakeAttribute("y-dimension", goipp.TagInteger, goipp.Integer(y)))
		return c
	}
	add("media-size-supported", goipp.TagBeginCollection, size(21000, 29700), size(5690, 8602))
	add("job-creation-attributes-supported", goipp.TagKeyword, strs([]string{"copies", "media", "media-col", "printer-resolution", "sides"})...)
	add("marker-names", goipp.TagName, goipp.String("YMCKO ribbon"))
	add("marker-levels", goipp.TagInteger, goipp.Integer(12))
}

func startFake(t *testing.T) (*fakeQueue, *Dev) {
	t.Helper()
	f := newFakeQueue()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	d, err := New("ipp://"+strings.TrimPrefix(srv.URL, "http://")+"/printers/card", &Opts{PollInterval: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, d
}

func simplexCard() *printer.Card {
	g := printer.CR80(300)
	img := image.NewRGBA(g.Bounds())
	for y := range g.Height {
		for x := range g.Width {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	return &printer.Card{Geometry: g, Front: printer.Side{Color: img}}
}

func TestReasonMapping(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want printer.Reason
	}{
		{"media-empty-error", printer.ReasonFeederEmpty},
		{"media-needed", printer.ReasonFeederEmpty},
		{"media-jam-error", printer.ReasonCardJam},
		{"cover-open-error", printer.ReasonCoverOpen},
		{"door-open", printer.ReasonCoverOpen},
		{"marker-supply-empty-error", printer.ReasonRibbonOut},
		{"marker-supply-low-warning", printer.ReasonRibbonLow},
		{"marker-supply-low-report", ""},
		{"offline-report", printer.ReasonOffline},
		{"paused", printer.ReasonOffline},
		{"output-area-full-error", printer.ReasonHopperFull},
		{"media-empty-warning", ""},
		{"connecting-to-device", ""},
		{"cups-missing-filter-error", printer.ReasonMechanical},
		{"none", ""},
		{"door-open-report", ""},
		{"media-jam-warning", ""},
	} {
		got, ok := reasonFor(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// TestDeviceReports: the faults CUPS's network backends pass on as
// reports and warnings (from SNMP) are recognised, others are not.
func TestDeviceReports(t *testing.T) {
	got := deviceReports([]string{"door-open-report", "media-jam-warning", "toner-empty-warning", "media-low-report", "cover-open-error", "none", "output-area-full-warning", "media-empty-warning"})
	want := []printer.Reason{printer.ReasonCoverOpen, printer.ReasonCardJam, printer.ReasonRibbonOut, printer.ReasonHopperFull, printer.ReasonFeederEmpty}
	if !slices.Equal(got, want) {
		t.Fatalf("deviceReports: %v, want %v", got, want)
	}
}

// TestStatusMapping reads the fake queue's state through Status.
func TestStatusMapping(t *testing.T) {
	f, d := startFake(t)
	f.state, f.reasons = printerStopped, []string{"cover-open-error", "marker-supply-low-warning"}
	st, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.State != printer.StateError || !slices.Equal(st.Reasons, []printer.Reason{printer.ReasonCoverOpen, printer.ReasonRibbonLow}) ||
		!errors.Is(st.Err(), printer.ErrCoverOpen) || !strings.Contains(st.Raw, `"YMCKO ribbon"=12%`) {
		t.Fatalf("status %+v", st)
	}
	f.state, f.reasons, f.accepting = printerIdle, []string{"none"}, false
	st, err = d.Status(t.Context())
	if err != nil || st.State != printer.StateOffline || !errors.Is(st.Err(), printer.ErrOffline) {
		t.Fatalf("not accepting: %+v, %v", st, err)
	}
	info, err := d.Identify(t.Context())
	if err != nil || info.Vendor != "Magicard" || info.Serial != "T2E0042" || !info.Caps.Duplex || info.Caps.DPI != 300 {
		t.Fatalf("Identify: %+v, %v", info, err)
	}
}

// TestJobOutcomes walks Print through each way a job can end.
func TestJobOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jobs   []jobAttrs
		want   printer.Outcome
		cancel bool
		errHas string
	}{
		{"completed", []jobAttrs{{state: jobProcessing, atProcessing: true}, {state: jobCompleted, atProcessing: true}}, printer.OutcomePrinted, false, ""},
		{"completed with errors", []jobAttrs{{state: jobCompleted, atProcessing: true, reasons: []string{"job-completed-with-errors"}}}, printer.OutcomeUnknown, false, "completed with errors"},
		{"aborted before processing", []jobAttrs{{state: jobAborted, reasons: []string{"document-format-error"}}}, printer.OutcomeNotFed, false, "aborted"},
		{"aborted while processing", []jobAttrs{{state: jobProcessing, atProcessing: true}, {state: jobAborted, atProcessing: true}}, printer.OutcomeUnknown, false, "may have reached"},
		{"canceled by an operator", []jobAttrs{{state: jobCanceled, atProcessing: true}}, printer.OutcomeUnknown, false, "canceled"},
		{"processing-stopped", []jobAttrs{{state: jobProcessing, atProcessing: true}, {state: jobProcessingStopped, atProcessing: true, reasons: []string{"printer-stopped"}}}, printer.OutcomeUnknown, true, "queue stopped"},
		{"held", []jobAttrs{{state: jobPendingHeld, reasons: []string{"job-hold-until-specified"}}}, printer.OutcomeNotFed, true, "held"},
		{"restarted", []jobAttrs{{state: jobProcessing, atProcessing: true}, {state: jobPending}}, printer.OutcomeUnknown, true, "restarted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d := startFake(t)
			f.jobs = tc.jobs
			res, err := d.Print(t.Context(), simplexCard())
			if res.Outcome != tc.want || (tc.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.errHas)) {
				t.Fatalf("Print: %s, %v; want %s with %q", res.Outcome, err, tc.want, tc.errHas)
			}
			if got := len(f.cancelled) > 0; got != tc.cancel {
				t.Fatalf("Cancel-Job sent: %v (%v)", got, f.cancelled)
			}
		})
	}
}

// TestPrintRefusals: a card the queue cannot take is not fed and no job
// is created.
func TestPrintRefusals(t *testing.T) {
	f, d := startFake(t)
	f.state, f.reasons = printerStopped, []string{"cover-open-error"}
	res, err := d.Print(t.Context(), simplexCard())
	if res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrCoverOpen) || f.printJob != nil {
		t.Fatalf("cover open: %s, %v", res.Outcome, err)
	}
	f.state, f.reasons, f.accepting = printerIdle, []string{"none"}, false
	if res, err = d.Print(t.Context(), simplexCard()); res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("not accepting: %s, %v", res.Outcome, err)
	}
	f.accepting = true
	f.formats = []string{"application/pdf"}
	if res, err = d.Print(t.Context(), simplexCard()); res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrUnsupported) {
		t.Fatalf("no raster format: %s, %v", res.Outcome, err)
	}
	f.formats = []string{FormatPWGRaster}
	c := simplexCard()
	c.Mag[1] = "12345"
	if res, err = d.Print(t.Context(), c); res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrUnsupported) {
		t.Fatalf("magnetic: %s, %v", res.Outcome, err)
	}
	c = simplexCard()
	c.Geometry = printer.CR80(600)
	if res, err = d.Print(t.Context(), c); res.Outcome != printer.OutcomeNotFed || !strings.Contains(fmtErr(err), "600 dpi") {
		t.Fatalf("600 dpi card: %s, %v", res.Outcome, err)
	}
	if f.printJob != nil {
		t.Fatal("a Print-Job was sent")
	}
	f.failPrint = goipp.StatusErrorDocumentFormatNotSupported
	if res, err = d.Print(t.Context(), simplexCard()); res.Outcome != printer.OutcomeNotFed || !strings.Contains(fmtErr(err), "document-format-not-supported") {
		t.Fatalf("Print-Job refused: %s, %v", res.Outcome, err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLostSpooler: the spooler unreachable before the job is a card not
// fed; the connection lost while following the job is an unknown card.
func TestLostSpooler(t *testing.T) {
	f, d := startFake(t)
	f.dropPolls = true
	res, err := d.Print(t.Context(), simplexCard())
	if res.Outcome != printer.OutcomeUnknown || !strings.Contains(fmtErr(err), "connection to the spooler lost") {
		t.Fatalf("lost while polling: %s, %v", res.Outcome, err)
	}
	d2, err := New("ipp://127.0.0.1:1/printers/card", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = d2.Print(t.Context(), simplexCard())
	if res.Outcome != printer.OutcomeNotFed || !errors.Is(err, printer.ErrOffline) {
		t.Fatalf("spooler down: %s, %v", res.Outcome, err)
	}
}

// TestPrintJobRequest checks what a duplex card's Print-Job says and that
// its document is a two-page raster of the queue's page. The card's back is
// the side seen turning the card over its short edge: a queue that prints
// two-sided-short-edge gets it so (Tumble set in the page headers), one
// that prints two-sided-long-edge only gets the back's page turned half a
// turn, which comes to the same card.
func TestPrintJobRequest(t *testing.T) {
	for _, tc := range []struct {
		sides    []string
		want     string
		turnBack bool
	}{
		{[]string{"one-sided", "two-sided-long-edge"}, "two-sided-long-edge", true},
		{[]string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"}, "two-sided-short-edge", false},
	} {
		t.Run(tc.want, func(t *testing.T) { testPrintJobRequest(t, tc.sides, tc.want, tc.turnBack) })
	}
}

func testPrintJobRequest(t *testing.T, sides []string, wantSides string, turnBack bool) {
	f, d := startFake(t)
	f.sides = sides
	c := simplexCard()
	back := c.Front
	c.Back = &back
	if res, err := d.Print(t.Context(), c); err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print: %s, %v", res.Outcome, err)
	}
	m := f.printJob
	if got := firstString(m.Operation, "document-format"); got != FormatCUPSRaster {
		t.Errorf("document-format %q", got)
	}
	if n, _ := firstInt(m.Job, "copies"); n != 1 {
		t.Errorf("copies %d", n)
	}
	if got := firstString(m.Job, "sides"); got != wantSides {
		t.Errorf("sides %q, want %q", got, wantSides)
	}
	h := f.document[4:]
	if dup, tum := binary.BigEndian.Uint32(h[offDuplex:]), binary.BigEndian.Uint32(h[offTumble:]); dup != 1 || (tum == 1) == turnBack {
		t.Errorf("page header Duplex %d, Tumble %d", dup, tum)
	}
	col := find(m.Job, "media-col")
	if col == nil {
		t.Fatal("no media-col")
	}
	ms := find(goipp.Attributes(col.Values[0].V.(goipp.Collection)), "media-size")
	if s, _ := sizeOf(ms.Values[0].V.(goipp.Collection)); s != (mediaSize{5690, 8602}) {
		t.Errorf("media-size %+v", s)
	}
	if r := resolutionsOf(m.Job, "printer-resolution"); !slices.Equal(r, []int{300}) {
		t.Errorf("printer-resolution %v", r)
	}
	pages := decodeRaster(t, f.document)
	if len(pages) != 2 || pages[0].Rect.Dx() != 672 || pages[0].Rect.Dy() != 1016 {
		t.Fatalf("document: %d pages", len(pages))
	}
	want := renderPage(&c.Front, c.Geometry, 672, 1016, true)
	if !bytes.Equal(pages[0].Pix, want.Pix) {
		t.Fatal("the front page decodes to something else than the side")
	}
	if turnBack {
		want = turnedHalf(want)
	}
	if !bytes.Equal(pages[1].Pix, want.Pix) {
		t.Fatalf("the back page decodes to something else than the side (turned half: %v)", turnBack)
	}
}

// decodeRaster reads a version 2 raster stream of 24-bit pages (the
// test's reader, independent of the encoder's code).
func decodeRaster(t *testing.T, b []byte) []*image.RGBA {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("RaS2")) {
		t.Fatalf("sync word %q", b[:min(4, len(b))])
	}
	b = b[4:]
	var pages []*image.RGBA
	for len(b) > 0 {
		if len(b) < rasterHeaderSize {
			t.Fatalf("short header: %d bytes", len(b))
		}
		h := b[:rasterHeaderSize]
		b = b[rasterHeaderSize:]
		w := int(binary.BigEndian.Uint32(h[offWidth:]))
		ht := int(binary.BigEndian.Uint32(h[offHeight:]))
		if bpp := binary.BigEndian.Uint32(h[offBitsPerPixel:]); bpp != 24 || int(binary.BigEndian.Uint32(h[offBytesPerLine:])) != 3*w {
			t.Fatalf("bits per pixel %d", bpp)
		}
		img := image.NewRGBA(image.Rect(0, 0, w, ht))
		for y := 0; y < ht; {
			rep := int(b[0]) + 1
			b = b[1:]
			line := make([]byte, 0, 3*w)
			for len(line) < 3*w {
				c := int(b[0])
				b = b[1:]
				if c < 128 {
					for range c + 1 {
						line = append(line, b[:3]...)
					}
					b = b[3:]
				} else {
					n := 257 - c
					line = append(line, b[:3*n]...)
					b = b[3*n:]
				}
			}
			if len(line) != 3*w {
				t.Fatalf("line %d: %d bytes, want %d", y, len(line), 3*w)
			}
			for r := 0; r < rep && y < ht; r++ {
				for x := range w {
					copy(img.Pix[y*img.Stride+4*x:], line[3*x:3*x+3])
					img.Pix[y*img.Stride+4*x+3] = 0xff
				}
				y++
			}
		}
		pages = append(pages, img)
	}
	return pages
}

func TestLocalServer(t *testing.T) {
	env := map[string]string{"CUPS_SERVER": " print.lan:8631 "}
	if got := LocalServer(func(k string) string { return env[k] }); got != "print.lan:8631" {
		t.Errorf("with CUPS_SERVER: %q", got)
	}
	got := LocalServer(func(string) string { return "" })
	if got != LocalSocket && got != "localhost:631" {
		t.Errorf("without CUPS_SERVER: %q", got)
	}
	for _, s := range []string{"print.lan", "print.lan:8631", "[::1]:631", "/run/cups/cups.sock"} {
		if _, _, err := serverClient(s); err != nil {
			t.Errorf("serverClient(%q): %v", s, err)
		}
	}
	if _, _, err := serverClient("host:"); err == nil {
		t.Error("serverClient took an empty port")
	}
}

// TestIPPS reaches a queue over ipps:// (IPP over TLS) with the queue's
// certificate trusted through Opts.TLS.
func TestIPPS(t *testing.T) {
	f := newFakeQueue()
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	uri := "ipps://" + strings.TrimPrefix(srv.URL, "https://") + "/printers/card"
	d, err := New(uri, &Opts{PollInterval: time.Millisecond, TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := d.Print(t.Context(), simplexCard()); err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print over ipps: %s, %v", res.Outcome, err)
	}
	untrusted, err := New(uri, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusted.Status(t.Context()); !errors.Is(err, printer.ErrOffline) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// TestPendingJobGivenUp: a job that never left the queue (pending until
// the driver gives up on it) is cancelled and its card was not fed; one
// that was processing when the driver gave up is unknown.
func TestPendingJobGivenUp(t *testing.T) {
	for _, tc := range []struct {
		state int
		want  printer.Outcome
	}{{jobPending, printer.OutcomeNotFed}, {jobProcessing, printer.OutcomeUnknown}} {
		f := newFakeQueue()
		f.jobs = []jobAttrs{{state: tc.state, atProcessing: tc.state == jobProcessing}}
		srv := httptest.NewServer(f)
		d, err := New("ipp://"+strings.TrimPrefix(srv.URL, "http://")+"/printers/card", &Opts{PollInterval: time.Millisecond, JobTimeout: 20 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.Print(t.Context(), simplexCard())
		srv.Close()
		if res.Outcome != tc.want || !strings.Contains(fmtErr(err), "did not end within") || len(f.cancelled) != 1 {
			t.Fatalf("%s job given up: %s, %v (cancelled %v)", jobStateName(tc.state), res.Outcome, err, f.cancelled)
		}
	}
}
