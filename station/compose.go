package station

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/httpapi"
	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// composer is the scheduler's spool.Composer: template lookup, render at
// the printer's resolution with the station's signing key, the pre-print
// check (the QR code read back from the rendered panel verifies against
// the station's trust list), the printer's panel selection, and the
// "issued" audit record with the signed payload's hash, written before
// the card goes to the printer.
type composer struct {
	cat      *catalog.Catalog
	r        *layout.Renderer
	verifier *security.Verifier
	audit    *audit.Log
	mode     string
	tempDays int
	permDays int
	printers map[string]*config.Printer
	metrics  *httpapi.Metrics
	spool    *spool.Spool
	now      func() time.Time

	// track keeps card → job id for stationPrinter.onPrint.
	track bool
	cards sync.Map
}

// The composer screens jobs before a serial exists.
var _ spool.Screener = (*composer)(nil)

// Screen implements spool.Screener, the pre-serial validation step: the
// template exists, a template that shows the photo gets one, and the
// photo passes the renderer's own limits (file size, JPEG or PNG, width ×
// height read from the header before anything is decoded, then the image
// data decoded: layout.Renderer.CheckJobPhoto, whose decode of a large
// JPEG the photo gate and the job's composition take up). A job that fails is
// refused before a serial is allocated, so a producer cannot burn
// serials. A template that exists but cannot be loaded is the station's
// problem, not the job's: the job is held until an operator releases it.
func (c *composer) Screen(ctx context.Context, req spool.ScreenRequest) (spool.Verdict, error) {
	job := req.Job
	fail := func(field string, err error) (spool.Verdict, error) {
		return spool.Verdict{}, &jobfile.Error{File: job.File, JobID: job.ID, Field: field, Err: fmt.Errorf("%w: %w", spool.ErrBadJob, err)}
	}
	t, err := c.cat.Template(job.Template)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return fail("template", fmt.Errorf("no template %q at this station", job.Template))
	case err != nil:
		return spool.Verdict{Hold: fmt.Sprintf("template %q cannot be loaded: %v; fix it, then release the job", job.Template, err)}, nil
	}
	switch {
	case job.Photo == "" && t.NeedsPhoto():
		return fail("photo", fmt.Errorf("template %q shows the holder's photo; the job names none", t.Name))
	case job.Photo != "":
		if err := c.r.CheckJobPhoto(job.ID, req.Photo, req.PhotoSum(), job.Photo); err != nil {
			return fail("photo", err)
		}
	}
	return spool.Verdict{}, nil
}

// Compose implements spool.Composer. Problems caused by the job (unknown
// template, unreadable photo, a field the template cannot render) wrap
// spool.ErrBadJob so the job is refused; anything else (a pre-print check
// that fails, the audit log) leaves the job held for an operator.
func (c *composer) Compose(ctx context.Context, req spool.ComposeRequest) (*printer.Card, error) {
	start := c.now()
	job := req.Job
	c.observeWait(req)
	pc := c.printers[req.Printer]
	if pc == nil {
		return nil, fmt.Errorf("job %s: unknown printer %q", job.ID, req.Printer)
	}
	t, err := c.cat.Template(job.Template)
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, fmt.Errorf("job %s: template %q: %w: %w", job.ID, job.Template, spool.ErrBadJob, err)
		}
		return nil, fmt.Errorf("job %s: template %q: %w", job.ID, job.Template, err)
	}
	var photo []byte
	if job.Photo != "" {
		if photo, err = job.ReadPhoto(req.Dir, layout.DefaultMaxPhotoBytes); err != nil {
			return nil, fmt.Errorf("job %s: photo %q: %w: %w", job.ID, job.Photo, spool.ErrBadJob, err)
		}
	}
	d := c.data(job, photo, req.Serial, req.Issued)
	if photo != nil {
		// Hashed once, here, on the bytes read from the job's directory
		// now (not the intake's digest: the file may have changed since):
		// it ties the gate's kept report and the intake's decode to them.
		d.PhotoSHA256 = sha256.Sum256(photo)
		// The face the photo gate found at intake (kept beside the job):
		// fit = "face" places the crop from it without searching again.
		if f := photogate.KeptFace(req.Dir, d.PhotoSHA256); f != nil {
			d.Faces = []portrait.Face{*f}
		}
	}
	g := printer.CR80(pc.Resolution)
	// Only the printer's panels are drawn; elements on others are skipped
	// and logged, a required one holds the job (a printer/template mismatch).
	res, err := c.r.RenderWith(ctx, t, d, g, &layout.RenderOptions{Panels: printerPanels(pc.FrontPanels), BackPanels: printerPanels(pc.BackPanels), LogSkipped: true})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		if errors.Is(err, layout.ErrPanelMissing) {
			return nil, fmt.Errorf("job %s: printer %s: %w", job.ID, pc.Name, err)
		}
		return nil, fmt.Errorf("job %s: render %s: %w: %w", job.ID, t.Name, spool.ErrBadJob, err)
	}
	card := res.Card
	if card.Back != nil && !pc.Duplex {
		return nil, fmt.Errorf("job %s: template %s has a back but printer %s prints one side", job.ID, t.Name, pc.Name)
	}
	if m := job.Magnetic; m != nil {
		card.Mag = printer.MagTracks{m.Track1, m.Track2, m.Track3}
		if !card.Mag.Empty() && (pc.Magnetic == "" || pc.Magnetic == config.MagneticNone) {
			return nil, fmt.Errorf("job %s: magnetic stripe data, but printer %s has no encoder", job.ID, pc.Name)
		}
	}
	selectPanels(card, pc)
	qrText, err := c.prePrintCheck(card, t, req.Serial)
	if err != nil {
		return nil, fmt.Errorf("job %s: serial %s: pre-print check: %w", job.ID, req.Serial, err)
	}
	hash := security.PayloadHash(qrText)
	if qrText == "" {
		// A template without a signed QR: the record still needs a
		// payload hash; it is the hash of the serial alone.
		hash = security.PayloadHash("serial:" + req.Serial)
	}
	if err := c.issued(ctx, audit.Record{Event: audit.EventIssued, Serial: req.Serial, Job: job.ID, Template: t.Name, Printer: req.Printer, PayloadHash: hash}); err != nil {
		return nil, fmt.Errorf("job %s: serial %s: audit: %w", job.ID, req.Serial, err)
	}
	if c.track {
		c.cards.Store(card, job.ID)
	}
	c.metrics.ObserveCompose(c.now().Sub(start))
	return card, nil
}

// issued appends the "issued" record r unless the audit log already holds
// an issued (or printed) record of r.Serial for r.Job: a job keeps its
// serial across restarts and is composed again after a crash, so without
// this check each re-composition would append another issued record. The
// first record stands; a re-composition's signed payload may differ from
// it (the issue time, hence iat, is the scheduler's clock at each
// composition), and the hash of the first one is what the log keeps.
func (c *composer) issued(ctx context.Context, r audit.Record) error {
	if s, ok := c.audit.SerialOf(r.Job); ok && s == r.Serial {
		return nil
	}
	_, err := c.audit.Append(ctx, r)
	return err
}

// jobOf returns (and forgets) the job id of a composed card.
func (c *composer) jobOf(card *printer.Card) string {
	v, ok := c.cards.LoadAndDelete(card)
	if !ok {
		return ""
	}
	return v.(string)
}

// observeWait records how long the job waited between its claim and now,
// for its first attempt.
func (c *composer) observeWait(req spool.ComposeRequest) {
	j, err := c.spool.Job(filepath.Base(req.Dir))
	if err != nil || j.Attempt != 1 || j.Created.IsZero() {
		return
	}
	c.metrics.ObserveClaimLatency(req.Issued.Sub(j.Created))
}

// data is the job as composition sees it, with the pipeline's values: the
// serial, the issue time, the card type (the job's mode or the station's)
// and the expiry.
func (c *composer) data(job *jobfile.Job, photo []byte, serial string, issued time.Time) *layout.Data {
	mode := job.Mode
	if mode == "" {
		mode = c.mode
	}
	d := &layout.Data{JobID: job.ID, Fields: job.Fields, Photo: photo, PhotoName: job.Photo, Serial: serial, CardType: mode, IssuedAt: issued}
	if mode == jobfile.ModePermanent {
		d.CardType = layout.CardPermanent
		d.Expires = issued.AddDate(0, 0, c.permDays)
	} else {
		d.CardType = layout.CardTemporary
		d.Expires = issued.AddDate(0, 0, c.tempDays)
	}
	return d
}

// prePrintCheck reads the QR code back from the side whose template holds
// the signed_qr element and verifies it: it must be valid for the
// station's trust list and carry the card's serial. It returns the QR
// text ("" when the template has no signed QR).
func (c *composer) prePrintCheck(card *printer.Card, t *layout.Template, serial string) (string, error) {
	side := qrSide(card, t)
	if side == nil {
		return "", nil
	}
	// First the QR elements' boxes alone on the K panel: the symbol is
	// read from where the template prints it, without searching the
	// whole card. Anything short of a valid credential with the card's
	// serial there is judged on the whole side below, as before.
	if k := qrBoxes(card, t, side); k != nil {
		if res, text, err := security.VerifyRendered(k, c.verifier); err == nil && res.Valid() && res.Credential != nil && strings.EqualFold(credentialSerial(res), serial) {
			return text, nil
		}
	}
	var img image.Image = side.K
	if side.K == nil {
		img = printer.Flatten(side, card.Geometry)
	}
	res, text, err := security.VerifyRendered(img, c.verifier)
	if err != nil {
		return "", err
	}
	if !res.Valid() {
		return "", fmt.Errorf("QR verdict %s: %s", res.Verdict, res.Reason)
	}
	if res.Credential == nil || !strings.EqualFold(credentialSerial(res), serial) {
		return "", fmt.Errorf("QR carries serial %q, not %q", credentialSerial(res), serial)
	}
	return text, nil
}

// credentialSerial is the serial a verified credential carries.
func credentialSerial(res security.Result) string {
	if res.Credential == nil {
		return ""
	}
	return res.Credential.ID
}

// qrSide returns the side of card whose template side holds a signed_qr
// element, or nil.
func qrSide(card *printer.Card, t *layout.Template) *printer.Side {
	has := func(st *layout.SideTemplate) bool {
		if st == nil {
			return false
		}
		for _, e := range st.Elements {
			if _, ok := e.(*layout.SignedQR); ok {
				return true
			}
		}
		return false
	}
	switch {
	case has(t.Front):
		return &card.Front
	case has(t.Back) && card.Back != nil:
		return card.Back
	}
	return nil
}

// qrBoxMarginMM widens a signed_qr element's box when the K panel is cut
// to it (rounding, a canvas larger than the card).
const qrBoxMarginMM = 2

// qrBoxes returns the K panel of side cut to the boxes of its template
// side's signed_qr elements (their union, widened by qrBoxMarginMM, whole
// bytes wide), as a Mono at the origin; nil when the side has no K panel
// or the template is not laid out as the landscape raster is (a portrait
// template is turned onto the card).
func qrBoxes(card *printer.Card, t *layout.Template, side *printer.Side) *printer.Mono {
	k := side.K
	st := t.Front
	if side != &card.Front {
		st = t.Back
	}
	g := card.Geometry
	if k == nil || st == nil || t.Width < t.Height || k.Rect != g.Bounds() {
		return nil
	}
	dpmm := g.DotsPerMM()
	dots := func(mm float64) int { return int(math.Round(mm * dpmm)) }
	origin := image.Pt((g.Width-dots(t.Width))/2, (g.Height-dots(t.Height))/2)
	var r image.Rectangle
	for _, e := range st.Elements {
		q, ok := e.(*layout.SignedQR)
		if !ok {
			continue
		}
		b := q.Box()
		r = r.Union(image.Rect(dots(b.X-qrBoxMarginMM), dots(b.Y-qrBoxMarginMM), dots(b.X+b.W+qrBoxMarginMM), dots(b.Y+b.H+qrBoxMarginMM)).Add(origin))
	}
	r.Min.X &^= 7 // whole bytes: rows are copied, not shifted
	r = r.Intersect(k.Rect)
	if r.Empty() {
		return nil
	}
	out := printer.NewMono(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		src := k.Pix[(r.Min.Y+y)*k.Stride+r.Min.X/8:]
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], src)
	}
	// Dots of the last byte past the cut belong to the panel beyond it.
	if pad := uint(r.Dx() % 8); pad != 0 {
		for y := range r.Dy() {
			out.Pix[y*out.Stride+out.Stride-1] &= 0xff << (8 - pad)
		}
	}
	return out
}

// printerPanels converts configured panels; nil stays nil (every panel).
func printerPanels(ps []config.Panel) []printer.Panel {
	if len(ps) == 0 {
		return nil
	}
	out := make([]printer.Panel, len(ps))
	for i, p := range ps {
		out[i] = printer.Panel(p)
	}
	return out
}

// selectPanels drops the panels a printer is not configured to print on a
// side (front_panels, back_panels).
func selectPanels(card *printer.Card, pc *config.Printer) {
	keep := func(s *printer.Side, panels []config.Panel) {
		has := func(p printer.Panel) bool {
			for _, q := range panels {
				if string(q) == string(p) {
					return true
				}
			}
			return false
		}
		if !has(printer.PanelColor) {
			s.Color = nil
		}
		if !has(printer.PanelK) {
			s.K = nil
		}
		if !has(printer.PanelOverlay) {
			s.Overlay = nil
		}
		if !has(printer.PanelUV) {
			s.UV = nil
		}
	}
	if len(pc.FrontPanels) > 0 {
		keep(&card.Front, pc.FrontPanels)
	}
	if card.Back != nil && pc.Duplex && len(pc.BackPanels) > 0 {
		keep(card.Back, pc.BackPanels)
	}
}

// auditLog is the scheduler's spool.Audit on security's hash-chained audit
// log. Voided and spoiled serials also rewrite the deny list file (from
// the whole log) so that verifiers and the /verify page refuse them.
type auditLog struct {
	log      *audit.Log
	path     string
	denyPath string
	now      func() time.Time
	logger   *slog.Logger
	mu       sync.Mutex // one deny list rewrite at a time
	// shared, when set, returns the serials the issuance network denies
	// (every station's revocations); the deny list holds them too.
	shared func() []string

	obsMu     sync.Mutex
	observers []func(spool.AuditEvent)
}

// observe adds fn to the functions told of each recorded outcome.
func (a *auditLog) observe(fn func(spool.AuditEvent)) {
	a.obsMu.Lock()
	defer a.obsMu.Unlock()
	a.observers = append(a.observers, fn)
}

// notify tells the observers of e, an outcome the log now holds.
func (a *auditLog) notify(e spool.AuditEvent) {
	a.obsMu.Lock()
	obs := a.observers
	a.obsMu.Unlock()
	for _, fn := range obs {
		fn(e)
	}
}

// Record implements spool.Audit. The spool's "issued" event is not
// written here: the composer writes it with the signed payload's hash once
// the payload exists, still before the first byte goes to the printer.
// Every other event becomes the audit record of its own kind (printed,
// outcome-unknown, spoiled, voided), and a printed reprint also records
// that its serial replaces the original job's (reprinted).
//
// The spool delivers events at least once: after a crash it sends an
// unacknowledged event again with the same kind, serial, job and time.
// Records carry the event's time (audit.Record.At) and are appended with
// audit.Log.AppendOnce, so a repeat is not recorded twice.
func (a *auditLog) Record(ctx context.Context, e spool.AuditEvent) error {
	reason := auditText(e.Reason)
	var (
		err  error
		deny bool
	)
	switch e.Kind {
	case spool.AuditIssued:
		return nil
	case spool.AuditPrinted:
		err = a.once(ctx, audit.Record{Event: audit.EventPrinted, Serial: e.Serial, Job: e.JobID, JobNum: e.Job, Template: e.Template, Printer: e.Printer, Reason: reason, At: e.Time})
		if err == nil && e.ReprintOf != "" {
			deny, err = a.reprinted(ctx, e)
		}
	case spool.AuditUnknown:
		err = a.once(ctx, audit.Record{Event: audit.EventOutcomeUnknown, Serial: e.Serial, Job: e.JobID, JobNum: e.Job, Printer: e.Printer, Reason: reason, At: e.Time})
	case spool.AuditSpoiled:
		err = a.once(ctx, audit.Record{Event: audit.EventSpoiled, Serial: e.Serial, Job: e.JobID, JobNum: e.Job, Printer: e.Printer, Reason: reason, At: e.Time})
		deny = true
	case spool.AuditVoid:
		err = a.once(ctx, audit.Record{Event: audit.EventVoided, Serial: e.Serial, Job: e.JobID, JobNum: e.Job, Reason: reason, At: e.Time})
		deny = true
	case spool.AuditSettled:
		// An automatic settlement of an unknown outcome that neither
		// printed nor spoiled the card (never fed, or held for a
		// person); the reason names the evidence.
		err = a.once(ctx, audit.Record{Event: audit.EventOperator, Operator: "station", Action: "settled", Serial: e.Serial, Job: e.JobID, JobNum: e.Job, Printer: e.Printer, Reason: reason, At: e.Time})
	case spool.AuditOverride:
		// An operator released a job held by an intake check (no
		// serial exists yet); the reason names the check and why.
		err = a.once(ctx, audit.Record{Event: audit.EventOperator, Action: "override-check", Job: e.JobID, JobNum: e.Job, Reason: reason, At: e.Time})
	default:
		err = fmt.Errorf("unknown audit event %q", e.Kind)
	}
	if err == nil && deny {
		// Also on a repeat: a crash may have come between the record
		// and the rewrite.
		err = a.writeDenyList()
	}
	if err != nil {
		return fmt.Errorf("audit %s of serial %s (job %s): %w", e.Kind, e.Serial, e.JobID, err)
	}
	a.notify(e)
	return nil
}

// once appends r unless the log holds it already (a repeated delivery).
func (a *auditLog) once(ctx context.Context, r audit.Record) error {
	if r.At.IsZero() {
		// Not from the spool's journal: nothing identifies a repeat.
		_, err := a.log.Append(ctx, r)
		return err
	}
	_, appended, err := a.log.AppendOnce(ctx, r)
	if err == nil && !appended {
		a.logger.Debug("audit event already recorded", "event", r.Event, "serial", r.Serial, "job", r.Job)
	}
	return err
}

// reprinted records that the printed reprint e replaces the serial of the
// job it reprints (the serial of that job's latest issued or printed
// record). It reports whether the deny list must be rewritten.
func (a *auditLog) reprinted(ctx context.Context, e spool.AuditEvent) (bool, error) {
	old, ok := a.log.SerialOf(e.ReprintOf)
	if !ok || old == e.Serial {
		a.logger.Warn("reprint: the audit log has no serial for the original job; recording only the void the spool sends",
			"job", e.JobID, "reprint_of", e.ReprintOf, "serial", e.Serial)
		return false, nil
	}
	err := a.once(ctx, audit.Record{Event: audit.EventReprinted, Serial: e.Serial, Replaces: old, Job: e.JobID, JobNum: e.Job,
		Printer: e.Printer, Reason: auditText("reprint of job " + e.ReprintOf), At: e.Time})
	return err == nil, err
}

// writeDenyList rewrites the deny list file from the audit log (the
// serials the open log keeps: it is not read again) and the network's
// shared revocations. A file that already holds exactly this list (the
// same serials, in the form Marshal writes) is left as it is, so a restart
// or a repeated event that changes nothing costs no atomic rewrite; a
// missing, damaged or different file is rewritten.
func (a *auditLog) writeDenyList() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	deny := a.log.DenyList(a.now().UTC())
	if a.shared != nil {
		if more := a.shared(); len(more) > 0 {
			deny = security.NewDenyList(deny.Generated, append(deny.Serials, more...))
		}
	}
	if denyListHolds(a.denyPath, deny.Serials) {
		return nil
	}
	b, err := deny.Marshal()
	if err != nil {
		return fmt.Errorf("deny list: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(a.denyPath), 0o700); err != nil {
		return fmt.Errorf("deny list: %w", err)
	}
	if err := security.WriteFileAtomic(a.denyPath, b, 0o644); err != nil {
		return fmt.Errorf("deny list %s: %w", a.denyPath, err)
	}
	return nil
}

// denyListHolds reports whether the deny list file at path is exactly the
// list of serials (sorted, without repeats) as Marshal writes it, with
// whatever generated time it has.
func denyListHolds(path string, serials []string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	old, err := security.ParseDenyList(bytes.NewReader(b))
	if err != nil || !slices.Equal(old.Serials, serials) {
		return false
	}
	same, err := security.NewDenyList(old.Generated, serials).Marshal()
	return err == nil && bytes.Equal(same, b)
}

// auditText makes a reason fit an audit record: one line, at most
// audit.MaxField bytes, cut on a character boundary.
func auditText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= audit.MaxField {
		return s
	}
	cut := audit.MaxField - 3
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
