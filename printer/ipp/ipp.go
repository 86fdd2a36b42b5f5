package ipp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/cardd/cardd/printer"
)

// Opts configures a Dev. The zero value of a field means its default.
type Opts struct {
	// User is the requesting-user-name the jobs carry; default "cardd".
	User string
	// PollInterval is how often a job's state is read while it runs;
	// default 500 ms.
	PollInterval time.Duration
	// RequestTimeout bounds one IPP exchange, a card's upload included;
	// default 60 s.
	RequestTimeout time.Duration
	// JobTimeout bounds a card from its Print-Job until its job ends.
	// Past it the job is cancelled and the card's outcome is unknown
	// (a queue stuck on a printer fault ends here); default 10 minutes.
	JobTimeout time.Duration
	// Ribbon is the ribbon the configuration names, reported by Identify
	// (the queue does not say which ribbon is loaded).
	Ribbon string
	// TLS configures ipps:// connections; nil uses the system's roots.
	TLS *tls.Config
	// HTTPClient, when set, carries every request (tests, a proxy);
	// TLS and RequestTimeout are then the client's business.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultOpts are the defaults Opts' zero fields take.
var DefaultOpts = Opts{
	User:           "cardd",
	PollInterval:   500 * time.Millisecond,
	RequestTimeout: 60 * time.Second,
	JobTimeout:     10 * time.Minute,
}

func (o *Opts) withDefaults() Opts {
	var r Opts
	if o != nil {
		r = *o
	}
	d := DefaultOpts
	if r.User == "" {
		r.User = d.User
	}
	if r.PollInterval <= 0 {
		r.PollInterval = d.PollInterval
	}
	if r.RequestTimeout <= 0 {
		r.RequestTimeout = d.RequestTimeout
	}
	if r.JobTimeout <= 0 {
		r.JobTimeout = d.JobTimeout
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Dev is one IPP print queue. Its methods are safe for concurrent use.
type Dev struct {
	uri string
	c   client
	o   Opts
	log *slog.Logger
	id  atomic.Uint32

	ppdMu   sync.Mutex
	ppd     *ppdOptions // the queue's PPD options; nil: none known
	ppdRead bool        // ppd was read (a queue without a PPD has none)
}

var _ printer.Printer = (*Dev)(nil)

// New returns the driver for the queue at printerURI (ipp://HOST[:PORT]/PATH
// or ipps://…). opts nil means DefaultOpts; log nil discards logs. New
// checks the URI only: nothing is sent until a method is called.
func New(printerURI string, opts *Opts, log *slog.Logger) (*Dev, error) {
	uri, httpURL, err := ParseURI(printerURI)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := opts.withDefaults()
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLS
		tr.Proxy = nil // a queue is reached directly
		hc = &http.Client{Transport: tr}
	}
	return &Dev{
		uri: uri,
		c:   client{http: hc, url: httpURL, user: o.User},
		o:   o,
		log: log.With("driver", "ipp", "queue", uri),
	}, nil
}

// String names the queue.
func (d *Dev) String() string { return d.uri }

// request sends one request with the driver's request timeout.
func (d *Dev) request(ctx context.Context, op goipp.Op, fill func(*goipp.Message), doc []byte) (*goipp.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.RequestTimeout)
	defer cancel()
	m := d.c.newRequest(op, d.id.Add(1), d.uri)
	if fill != nil {
		fill(m)
	}
	return d.c.do(ctx, m, doc)
}

// printerAttributes are the attributes the driver asks a queue for.
var printerAttributes = []string{
	"printer-name", "printer-make-and-model", "printer-info", "printer-device-id",
	"printer-firmware-string-version", "printer-serial-number", "printer-uuid",
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"document-format-supported", "printer-resolution-supported", "printer-resolution-default",
	"sides-supported", "color-supported", "media-size-supported", "media-col-default",
	"media-supported", "job-creation-attributes-supported",
	"marker-names", "marker-levels", "marker-types", "queued-job-count",
}

// statusAttributes are the attributes a status poll asks for.
var statusAttributes = []string{
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"marker-names", "marker-levels", "marker-types",
}

func requested(names []string) goipp.Attribute {
	a := goipp.Attribute{Name: "requested-attributes"}
	for _, n := range names {
		a.Values.Add(goipp.TagKeyword, goipp.String(n))
	}
	return a
}

// getPrinter reads the queue's attributes names.
func (d *Dev) getPrinter(ctx context.Context, names []string) (printerAttrs, error) {
	m, err := d.request(ctx, goipp.OpGetPrinterAttributes, func(m *goipp.Message) {
		m.Operation.Add(requested(names))
	}, nil)
	if err != nil {
		return printerAttrs{}, d.offline(err)
	}
	return parsePrinter(m.Printer), nil
}

// offline marks an error that means the queue could not be reached.
func (d *Dev) offline(err error) error {
	var te *transportError
	if errors.As(err, &te) {
		return fmt.Errorf("%w: queue %s: %w", printer.ErrOffline, d.uri, err)
	}
	return fmt.Errorf("queue %s: %w", d.uri, err)
}

// Identify reads the queue's description. Model is the queue's make and
// model (for a CUPS queue, the driver's name for the printer), Firmware and
// Serial what the queue reports of the device, if anything.
func (d *Dev) Identify(ctx context.Context) (printer.Info, error) {
	p, err := d.getPrinter(ctx, printerAttributes)
	if err != nil {
		return printer.Info{}, fmt.Errorf("ipp identify: %w", err)
	}
	info := infoOf(&p, d.o.Ribbon)
	info.Caps.Panels = queuePanels(&p, d.queueOptions(ctx, true))
	return info, nil
}

// infoOf turns a queue's description into an Info.
func infoOf(p *printerAttrs, ribbon string) printer.Info {
	info := printer.Info{Model: p.makeModel, Firmware: p.firmware, Serial: p.serial, DeviceID: p.deviceID}
	if info.Model == "" {
		info.Model = p.info
	}
	if info.Model == "" {
		info.Model = p.name
	}
	for _, f := range strings.Split(p.deviceID, ";") {
		k, v, _ := strings.Cut(f, ":")
		switch strings.TrimSpace(k) {
		case "MFG", "MANUFACTURER":
			info.Vendor = strings.TrimSpace(v)
		case "SN", "SERN", "SERIALNUMBER":
			if info.Serial == "" {
				info.Serial = strings.TrimSpace(v)
			}
		}
	}
	if info.Vendor == "" {
		info.Vendor, _, _ = strings.Cut(info.Model, " ")
	}
	dpi := p.resDefault
	if dpi == 0 && len(p.resolutions) > 0 {
		dpi = p.resolutions[0]
	}
	info.Caps = printer.Capabilities{Duplex: twoSided(p.sides) != "", Ribbon: ribbon, DPI: dpi}
	return info
}

// Status reads the queue's state: printer-state, printer-state-reasons
// mapped to the project's reasons (see reasonFor), whether it accepts
// jobs. Consumables are unknown (-1): IPP reports supplies as percentages
// (marker-levels), which Raw keeps. A queue that cannot be reached is an
// error matching printer.ErrOffline.
func (d *Dev) Status(ctx context.Context) (printer.Status, error) {
	p, err := d.getPrinter(ctx, statusAttributes)
	if err != nil {
		return printer.Status{State: printer.StateOffline, Reasons: []printer.Reason{printer.ReasonOffline}, At: d.o.Now()}, fmt.Errorf("ipp status: %w", err)
	}
	return statusOf(&p, d.o.Now()), nil
}

// ClearError does nothing: a fault is cleared at the printer, and the
// spooler resumes by itself (or an administrator re-enables a stopped
// queue, which cardd does not do behind the administrator's back).
func (d *Dev) ClearError(ctx context.Context) error { return nil }

// Eject is not possible through a spooler.
func (d *Dev) Eject(ctx context.Context, reject bool) error {
	return fmt.Errorf("ipp: eject through queue %s: %w", d.uri, printer.ErrUnsupported)
}

// TestCard is not possible through a spooler: IPP has no built-in test
// card ("cardd printers test-card" composes one and prints it as a card).
func (d *Dev) TestCard(ctx context.Context) error {
	return fmt.Errorf("ipp: built-in test card through queue %s: %w", d.uri, printer.ErrUnsupported)
}

// Print sends the card as one Print-Job and follows the job until it ends.
// See the package documentation for what each end means for the card.
func (d *Dev) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	start := d.o.Now()
	res := printer.Result{Outcome: printer.OutcomeNotFed}
	done := func(err error) (printer.Result, error) {
		res.Duration = d.o.Now().Sub(start)
		return res, err
	}
	p, err := d.getPrinter(ctx, printerAttributes)
	if err != nil {
		return done(fmt.Errorf("ipp print: %w", err))
	}
	res.Status = statusOf(&p, d.o.Now())
	if p.hasAccepting && !p.accepting {
		return done(&printer.StatusError{Reasons: []printer.Reason{printer.ReasonOffline}, Raw: res.Status.Raw, Op: "print: queue not accepting jobs"})
	}
	if err := res.Status.Err(); err != nil {
		return done(fmt.Errorf("ipp print: queue %s: %w", d.uri, err))
	}
	plan, err := planJob(&p, c)
	if err != nil {
		return done(fmt.Errorf("ipp print: queue %s: %w", d.uri, err))
	}
	plan.options = cardOptions(d.queueOptions(ctx, false), c)
	doc := plan.encode(c)
	m, err := d.request(ctx, goipp.OpPrintJob, plan.fill, doc)
	if err != nil {
		var te *transportError
		if errors.As(err, &te) && te.sent {
			// The request may have reached the spooler: a job may
			// exist and print.
			res.Outcome = printer.OutcomeUnknown
			return done(fmt.Errorf("ipp print: queue %s: lost while submitting the card (a job may exist): %w", d.uri, err))
		}
		return done(fmt.Errorf("ipp print: %w", d.offline(err)))
	}
	j := parseJob(m.Job)
	if j.id <= 0 {
		res.Outcome = printer.OutcomeUnknown
		return done(fmt.Errorf("ipp print: queue %s: Print-Job response without job-id", d.uri))
	}
	log := d.log.With("job_id", j.id)
	log.Debug("job submitted", "options", plan.options, "format", plan.setup.format, "bytes", len(doc), "pages", plan.setup.pages, "sides", plan.sides)
	out, err := d.follow(ctx, j, log)
	res.Outcome = out
	if p, perr := d.getPrinter(context.WithoutCancel(ctx), statusAttributes); perr == nil {
		st := statusOf(&p, d.o.Now())
		res.Status = st
		if err != nil && st.Blocked() {
			err = fmt.Errorf("%w; %w", err, &printer.StatusError{Reasons: st.Reasons, Raw: st.Raw, Op: "print"})
		}
		if rs := deviceReports(p.reasons); out == printer.OutcomePrinted && len(rs) > 0 {
			// The spooler delivered the card while the printer said
			// it could not print (read by the backend during the
			// job): whether it printed is not known.
			res.Outcome = printer.OutcomeUnknown
			err = fmt.Errorf("ipp print: queue %s: job %d completed while the printer reported %v: the card may not have printed: %w",
				d.uri, j.id, rs, &printer.StatusError{Reasons: rs, Raw: st.Raw, Op: "print"})
		}
	}
	return done(err)
}

// follow polls job j until it ends and returns the card's outcome.
func (d *Dev) follow(ctx context.Context, j jobAttrs, log *slog.Logger) (printer.Outcome, error) {
	deadline := d.o.Now().Add(d.o.JobTimeout)
	seen := j.state >= jobProcessing
	lost := 0
	for {
		if ended(j.state) {
			return d.endOf(&j)
		}
		switch {
		case j.state == jobProcessingStopped:
			return d.abandon(ctx, &j, log, "the queue stopped while printing it")
		case j.state == jobPendingHeld:
			return d.notStarted(d.abandon(ctx, &j, log, "the queue held it"))(&j, seen)
		case seen && j.state == jobPending:
			// Back to pending after processing: the spooler restarted
			// it (cupsd restarted mid-card). Part of it may be printed.
			return d.abandon(ctx, &j, log, "the spooler restarted it after it had started")
		case d.o.Now().After(deadline):
			return d.notStarted(d.abandon(ctx, &j, log, fmt.Sprintf("it did not end within %v", d.o.JobTimeout)))(&j, seen)
		}
		t := time.NewTimer(d.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return d.notStarted(d.abandon(context.WithoutCancel(ctx), &j, log, "printing was cancelled: "+ctx.Err().Error()))(&j, seen)
		case <-t.C:
		}
		nj, err := d.getJob(ctx, j.id)
		if err != nil {
			var se *statusError
			if errors.As(err, &se) {
				// The spooler no longer knows the job (a restarted
				// cupsd that lost it): nobody can say what printed.
				return printer.OutcomeUnknown, fmt.Errorf("ipp print: queue %s: job %d lost: %w", d.uri, j.id, err)
			}
			lost++
			log.Warn("job state not read", "err", err, "failures", lost)
			if lost >= 2 {
				return printer.OutcomeUnknown, fmt.Errorf("ipp print: queue %s: job %d lost (connection to the spooler lost): %w", d.uri, j.id, err)
			}
			continue
		}
		lost = 0
		if nj.state == 0 {
			nj.state = j.state
		}
		j = nj
		seen = seen || j.state >= jobProcessing || j.atProcessing
		log.Debug("job state", "state", jobStateName(j.state), "reasons", joinOrNone(j.reasons))
	}
}

// endOf reports the outcome of a job that ended.
func (d *Dev) endOf(j *jobAttrs) (printer.Outcome, error) {
	out := outcomeOf(j)
	if out == printer.OutcomePrinted {
		if has(j.reasons, "job-completed-with-errors") {
			return printer.OutcomeUnknown, fmt.Errorf("ipp print: queue %s: job %d completed with errors (%s)", d.uri, j.id, joinOrNone(j.reasons))
		}
		return out, nil
	}
	msg := ""
	if j.message != "" {
		msg = ": " + j.message
	}
	err := fmt.Errorf("ipp print: queue %s: job %d %s (%s)%s", d.uri, j.id, jobStateName(j.state), joinOrNone(j.reasons), msg)
	if out == printer.OutcomeNotFed {
		return out, err
	}
	return out, fmt.Errorf("%w: part of the card may have reached the printer", err)
}

// notStarted turns the unknown outcome of an abandoned job into not fed
// when the job was cancelled before it ever reached the printer: cardd never
// saw it processing and the spooler says it did not start (no
// time-at-processing, no impressions). A job that had started (a queue
// stopped mid-card, a restarted spooler) stays unknown: its callers do not
// ask.
func (d *Dev) notStarted(out printer.Outcome, err error) func(j *jobAttrs, seen bool) (printer.Outcome, error) {
	return func(j *jobAttrs, seen bool) (printer.Outcome, error) {
		if out == printer.OutcomeUnknown && !seen && j.state == jobCanceled && !j.atProcessing && j.impressions == 0 {
			return printer.OutcomeNotFed, err
		}
		return out, err
	}
}

// abandon cancels a job cardd gives up on, so the spooler does not print
// it later behind the daemon's back, and reports the card's fate unknown.
func (d *Dev) abandon(ctx context.Context, j *jobAttrs, log *slog.Logger, why string) (printer.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.RequestTimeout)
	defer cancel()
	_, cerr := d.request(ctx, goipp.OpCancelJob, func(m *goipp.Message) {
		m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(j.id)))
	}, nil)
	cancelled := "cancelled"
	if cerr != nil {
		cancelled = "not cancelled (" + cerr.Error() + "): the spooler may still print it"
	} else if nj, err := d.getJob(ctx, j.id); err == nil {
		*j = nj
	}
	log.Warn("job abandoned", "why", why, "cancel", cancelled)
	return printer.OutcomeUnknown, fmt.Errorf("ipp print: queue %s: job %d %s (%s): %s; job %s",
		d.uri, j.id, jobStateName(j.state), joinOrNone(j.reasons), why, cancelled)
}

// getJob reads a job's state.
func (d *Dev) getJob(ctx context.Context, id int) (jobAttrs, error) {
	m, err := d.request(ctx, goipp.OpGetJobAttributes, func(m *goipp.Message) {
		m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id)))
		m.Operation.Add(requested([]string{"job-id", "job-state", "job-state-reasons", "job-printer-state-message", "time-at-processing", "job-impressions-completed"}))
	}, nil)
	if err != nil {
		return jobAttrs{}, err
	}
	j := parseJob(m.Job)
	if j.id == 0 {
		j.id = id
	}
	return j, nil
}

// jobPlan is how one card goes to the queue.
type jobPlan struct {
	setup pageSetup
	media mediaSize
	turn  bool // the card is turned a quarter to fit the page
	sides string
	// options are the queue's PPD options chosen for the card.
	options []jobOption
	// turnBack turns the back's page half a turn: the queue prints
	// two-sided-long-edge only, and the card's back is the side seen
	// turning the card over its short edge.
	turnBack bool
	mediaK   string // media keyword, when media-col is not supported
	col      bool   // media-col is supported
	res      bool   // printer-resolution is supported as a job attribute
	uri      string
}

// CR80's size in hundredths of a millimetre.
const (
	cr80Long  = 8560
	cr80Short = 5398
	// mediaSlack is how much larger than the card a page may be (a
	// card printer's page is the card plus a bleed).
	mediaSlack = 500
	// mediaShort is how much smaller (rounding in the queue's size).
	mediaShort = 50
)

// fitsCR80 reports whether a media size holds a CR80 card, in either
// orientation, with at most mediaSlack to spare.
func fitsCR80(m mediaSize) bool {
	long, short := max(m.x, m.y), min(m.x, m.y)
	return long >= cr80Long-mediaShort && long <= cr80Long+mediaSlack &&
		short >= cr80Short-mediaShort && short <= cr80Short+mediaSlack
}

// planJob decides the document format, resolution, media and sides of a
// card on the queue described by p, or says why the queue cannot take it.
func planJob(p *printerAttrs, c *printer.Card) (*jobPlan, error) {
	if err := c.Geometry.Validate(); err != nil {
		return nil, err
	}
	if !c.Mag.Empty() {
		return nil, fmt.Errorf("%w: magnetic stripe data cannot go through an IPP queue (use the printer's native driver)", printer.ErrUnsupported)
	}
	if c.Front.UV != nil || (c.Back != nil && c.Back.UV != nil) {
		return nil, fmt.Errorf("%w: a UV (F) panel cannot go through an IPP queue: the queue takes one colour image per side", printer.ErrUnsupported)
	}
	pl := &jobPlan{}
	switch {
	case has(p.formats, FormatCUPSRaster):
		pl.setup.format = FormatCUPSRaster
	case has(p.formats, FormatPWGRaster):
		pl.setup.format = FormatPWGRaster
	default:
		return nil, fmt.Errorf("%w: document-format-supported (%s) has neither %s nor %s", printer.ErrUnsupported,
			joinOrNone(p.formats), FormatCUPSRaster, FormatPWGRaster)
	}
	dpi := c.Geometry.DPI
	switch {
	case slices.Contains(p.resolutions, dpi) || p.resDefault == dpi:
	case len(p.resolutions) == 0 && p.resDefault == 0:
	default:
		return nil, fmt.Errorf("%w: the card is composed at %d dpi, the queue prints at %s dpi (set the printer's resolution to match)",
			printer.ErrUnsupported, dpi, dpiList(p))
	}
	pl.res = has(p.createAttrs, "printer-resolution") && len(p.resolutions) > 0
	sizes := slices.Clone(p.mediaSizes)
	if p.mediaDefault.x > 0 {
		sizes = append([]mediaSize{p.mediaDefault}, sizes...)
	}
	best := mediaSize{}
	for _, s := range sizes {
		if fitsCR80(s) && (best.x == 0 || s.x*s.y < best.x*best.y) {
			best = s
		}
	}
	if best.x == 0 {
		return nil, fmt.Errorf("%w: no CR80 media (85.6 × 54 mm) among the queue's sizes %s", printer.ErrUnsupported, sizeList(sizes))
	}
	pl.media = best
	pl.col = has(p.createAttrs, "media-col") || len(p.createAttrs) == 0
	if !pl.col {
		pl.mediaK = mediaKeyword(p.mediaNames, best)
	}
	if c.Back != nil {
		pl.sides = twoSided(p.sides)
		if pl.sides == "" {
			return nil, fmt.Errorf("%w: the card has a back and the queue prints one side only (sides-supported %s): its back would be a second card",
				printer.ErrUnsupported, joinOrNone(p.sides))
		}
	} else if has(p.sides, "one-sided") || len(p.sides) == 0 {
		pl.sides = "one-sided"
	}
	s := &pl.setup
	s.dpi = dpi
	s.width = (best.x*dpi + 1270) / 2540
	s.height = (best.y*dpi + 1270) / 2540
	s.widthPt = float64(best.x) * 72 / 2540
	s.heightPt = float64(best.y) * 72 / 2540
	s.mediaName = pwgName(best)
	s.duplex = c.Back != nil
	s.tumble = pl.sides == "two-sided-short-edge"
	pl.turnBack = pl.sides == "two-sided-long-edge"
	s.pages = 1
	if c.Back != nil {
		s.pages = 2
	}
	g := c.Geometry
	pl.turn = (g.Width > g.Height) != (s.width > s.height)
	cw, ch := g.Width, g.Height
	if pl.turn {
		cw, ch = ch, cw
	}
	if cw > s.width+2 || ch > s.height+2 {
		return nil, fmt.Errorf("%w: the card (%d × %d dots) does not fit the queue's page (%d × %d dots at %d dpi)",
			printer.ErrUnsupported, cw, ch, s.width, s.height, dpi)
	}
	pl.uri = p.uri
	return pl, nil
}

// fill adds the Print-Job attributes of the plan.
func (pl *jobPlan) fill(m *goipp.Message) {
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String("cardd card")))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(pl.setup.format)))
	m.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(1)))
	if pl.sides != "" {
		m.Job.Add(goipp.MakeAttribute("sides", goipp.TagKeyword, goipp.String(pl.sides)))
	}
	switch {
	case pl.col:
		size := goipp.Collection{}
		size.Add(goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(pl.media.x)))
		size.Add(goipp.MakeAttribute("y-dimension", goipp.TagInteger, goipp.Integer(pl.media.y)))
		col := goipp.Collection{}
		col.Add(goipp.MakeAttribute("media-size", goipp.TagBeginCollection, size))
		m.Job.Add(goipp.MakeAttribute("media-col", goipp.TagBeginCollection, col))
	case pl.mediaK != "":
		m.Job.Add(goipp.MakeAttribute("media", goipp.TagKeyword, goipp.String(pl.mediaK)))
	}
	if pl.res {
		m.Job.Add(goipp.MakeAttribute("printer-resolution", goipp.TagResolution,
			goipp.Resolution{Xres: pl.setup.dpi, Yres: pl.setup.dpi, Units: goipp.UnitsDpi}))
	}
	for _, o := range pl.options {
		m.Job.Add(goipp.MakeAttribute(o.name, goipp.TagName, goipp.String(o.value)))
	}
}

// encode renders the card's sides onto pages and writes the document.
func (pl *jobPlan) encode(c *printer.Card) []byte {
	pages := []*printer.Side{&c.Front}
	if c.Back != nil {
		pages = append(pages, c.Back)
	}
	s := &pl.setup
	// A page codes to at most its RGB size plus a control byte per 128
	// dots and a repeat byte per line.
	out := make([]byte, 0, 4+len(pages)*(rasterHeaderSize+s.height*(2+3*s.width+s.width/128)))
	out = append(out, "RaS2"...)
	page := image.NewRGBA(image.Rect(0, 0, s.width, s.height))
	for i, side := range pages {
		renderInto(page, side, c.Geometry, pl.turn)
		if i == 1 && pl.turnBack {
			turnHalf(page)
		}
		out = appendHeader(out, s)
		out = appendLines(out, page)
	}
	return out
}

// dpiList lists a queue's resolutions for messages.
func dpiList(p *printerAttrs) string {
	var s []string
	for _, r := range p.resolutions {
		s = append(s, fmt.Sprint(r))
	}
	if len(s) == 0 && p.resDefault > 0 {
		s = append(s, fmt.Sprint(p.resDefault))
	}
	return strings.Join(s, ", ")
}

// sizeList lists media sizes in millimetres for messages.
func sizeList(sizes []mediaSize) string {
	if len(sizes) == 0 {
		return "(none reported)"
	}
	var s []string
	for _, m := range sizes {
		s = append(s, fmt.Sprintf("%g × %g mm", float64(m.x)/100, float64(m.y)/100))
	}
	return strings.Join(s, ", ")
}

// pwgName is the self-describing PWG media name of a custom size.
func pwgName(m mediaSize) string {
	mm := func(v int) string {
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", float64(v)/100), "0"), ".")
	}
	return fmt.Sprintf("custom_%sx%smm_%sx%smm", mm(m.x), mm(m.y), mm(m.x), mm(m.y))
}

// mediaKeyword finds the media-supported keyword naming size m: a PWG
// self-describing name ends in _WxHmm or _WxHin.
func mediaKeyword(names []string, m mediaSize) string {
	for _, n := range names {
		i := strings.LastIndexByte(n, '_')
		if i < 0 {
			continue
		}
		var w, h float64
		var unit string
		if _, err := fmt.Sscanf(strings.Replace(n[i+1:], "x", " ", 1), "%g %g%s", &w, &h, &unit); err != nil {
			continue
		}
		scale := 100.0
		if unit == "in" {
			scale = 2540
		} else if unit != "mm" {
			continue
		}
		if abs(int(w*scale+0.5)-m.x) <= 10 && abs(int(h*scale+0.5)-m.y) <= 10 {
			return n
		}
	}
	return ""
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
