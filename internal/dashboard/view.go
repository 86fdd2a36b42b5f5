package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cardd/cardd/internal/textsafe"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
)

// maxPerState caps the jobs listed per state on the queue page.
const maxPerState = 100

var funcs = template.FuncMap{
	// plain shows untrusted text with control, bidi and other invisible
	// characters escaped (HTML escaping alone keeps them);
	// plainLines does so line by line, keeping the line breaks.
	"plain": textsafe.Escape,
	"plainLines": func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = textsafe.Escape(l)
		}
		return strings.Join(lines, "\n")
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		d := now.Sub(t).Round(time.Second)
		switch {
		case d < 2*time.Second:
			return "just now"
		case d < time.Minute:
			return fmt.Sprintf("%d s ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		}
		return t.Local().Format("2006-01-02 15:04")
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("15:04:05")
	},
	"blocking": func(r printer.Reason) bool { return r.Blocking() },
	"pct": func(a, b int) int {
		if b <= 0 || a < 0 {
			return 0
		}
		return min(100, a*100/b)
	},
	"known":  func(n int) bool { return n >= 0 },
	"row":    func(v *view, j spool.Job) jobRow { return jobRow{V: v, Job: j} },
	"table":  func(v *view, jobs []spool.Job) jobTable { return jobTable{V: v, Jobs: jobs} },
	"checks": func(v *view, j spool.Job) []portrait.Result { return v.Checks[j.Num] },
	"args": func(v *view, j spool.Job, action, label, reason string) actionView {
		return actionView{V: v, Job: j, Action: action, Label: label, Reason: reason}
	},
}

// jobRow, jobTable and actionView carry the page's view into nested
// templates.
type jobRow struct {
	V   *view
	Job spool.Job
}

type jobTable struct {
	V    *view
	Jobs []spool.Job
}

type actionView struct {
	V      *view
	Job    spool.Job
	Action string
	Label  string
	// Reason is "" (no reason field), "optional" or "required".
	Reason string
}

// printerView is one printer on the printers page.
type printerView struct {
	spool.PrinterInfo
	// Reasons are the scheduler's reasons, else the printer's own.
	Reasons []printer.Reason
	Class   string // ok, warn, fault
	Label   string
	// ErrWords is the last error in words for the operator; the raw
	// error (with the printer's reply) stays in Err, behind "details".
	ErrWords string
}

// reasonWords says what each printer reason means to an operator at the
// printer.
var reasonWords = map[printer.Reason]string{
	printer.ReasonCoverOpen:         "The cover is open: close it.",
	printer.ReasonRibbonOut:         "The ribbon is used up: load a new one.",
	printer.ReasonRibbonLow:         "The ribbon is nearly used up.",
	printer.ReasonNoRibbon:          "No ribbon is loaded.",
	printer.ReasonUnsupportedRibbon: "The ribbon loaded is not the one configured.",
	printer.ReasonFeederEmpty:       "The feeder is out of blank cards: load some.",
	printer.ReasonHopperFull:        "The output hopper is full: empty it.",
	printer.ReasonRejectFull:        "The reject box is full: empty it.",
	printer.ReasonCardJam:           "A card is jammed: open the printer and remove it.",
	printer.ReasonMechanical:        "The printer reports a mechanical fault.",
	printer.ReasonNeedsCleaning:     "The printer needs cleaning.",
	printer.ReasonOffline:           "The printer does not answer (off, unplugged or unreachable).",
	printer.ReasonMagError:          "The magnetic stripe could not be encoded.",
}

// errWords turns a printer's last error into words: the first reason it
// names (as "[cover-open]" or a reason the printer reports), else what
// kind of failure it was.
func errWords(err string, reasons []printer.Reason) string {
	if err == "" {
		return ""
	}
	for _, r := range slices.Sorted(maps.Keys(reasonWords)) {
		if strings.Contains(err, "["+string(r)+"]") {
			return reasonWords[r]
		}
	}
	for _, r := range reasons {
		if w, ok := reasonWords[r]; ok {
			return w
		}
	}
	switch l := strings.ToLower(err); {
	case strings.Contains(l, "timeout") || strings.Contains(l, "deadline"):
		return "The printer did not answer in time."
	case strings.Contains(l, "no such device") || strings.Contains(l, "offline") || strings.Contains(l, "connection"):
		return "The link to the printer was lost."
	}
	return "The printer reported an error."
}

// jobGroup is the jobs of one state on the queue page.
type jobGroup struct {
	State spool.State
	Title string
	Jobs  []spool.Job
	More  int
}

// batchView is one batch with its report.
type batchView struct {
	spool.Batch
	Report   *spool.BatchReport
	Done     int
	Progress int
	Text     string
}

// view is what a page template receives.
type view struct {
	Page      string
	Station   string
	Now       time.Time
	CSRF      string
	Msg, Err  string
	Preview   bool
	Actions   bool
	TestCard  bool
	Printers  []printerView
	Queue     map[spool.State]int
	Held      int
	Groups    []jobGroup
	Completed []spool.Job
	Recent    []spool.Job
	Batches   []batchView
	Batch     *batchView
	Back      string
	// Checks are the photo checks of jobs held by the photo gate.
	Checks map[uint64][]portrait.Result
	// Permanent is each job's permanent card status (field office of a
	// network), nil otherwise.
	Permanent     map[string]string
	ShowPermanent bool
}

var queueOrder = []struct {
	s     spool.State
	title string
}{
	{spool.StateProcessing, "Printing now"},
	{spool.StateStopped, "Stopped (printer fault)"},
	{spool.StateHeld, "Held for the operator"},
	{spool.StatePending, "Waiting"},
}

func (d *Dashboard) build(page string, r *http.Request) (*view, int) {
	st := d.o.Status()
	v := &view{Page: page, Station: d.o.Station, Now: d.o.Now(), Preview: d.o.Preview != nil, TestCard: d.o.TestCard != nil, Queue: st.Queue, Back: r.URL.Path}
	v.Msg, v.Err = r.URL.Query().Get("msg"), r.URL.Query().Get("err")
	if v.Queue == nil {
		v.Queue = map[spool.State]int{}
	}
	v.Held = v.Queue[spool.StateHeld]
	for _, p := range st.Printers {
		pv := printerView{PrinterInfo: p, Reasons: p.Reasons}
		if len(pv.Reasons) == 0 {
			pv.Reasons = p.Status.Reasons
		}
		pv.ErrWords = errWords(p.Err, pv.Reasons)
		pv.Class, pv.Label = "ok", string(p.Status.State)
		if pv.Label == "" {
			pv.Label = "unknown"
		}
		switch {
		case p.Stopped || p.Status.Blocked():
			pv.Class, pv.Label = "fault", "stopped"
			if !p.Stopped {
				pv.Label = string(p.Status.State)
			}
		case p.Busy:
			pv.Class, pv.Label = "busy", "printing"
		case len(pv.Reasons) > 0 || p.Err != "":
			pv.Class = "warn"
		}
		v.Printers = append(v.Printers, pv)
	}
	switch page {
	case "queue", "outcomes":
		jobs := d.o.Jobs()
		byState := map[spool.State][]spool.Job{}
		var final []spool.Job
		for _, j := range jobs {
			if j.State.Final() {
				final = append(final, j)
			} else {
				byState[j.State] = append(byState[j.State], j)
			}
		}
		slices.SortFunc(final, func(a, b spool.Job) int { return b.Updated.Compare(a.Updated) })
		if len(final) > d.o.Recent {
			final = final[:d.o.Recent]
		}
		v.Recent = final
		if d.o.Permanent != nil {
			v.Permanent, v.ShowPermanent = d.o.Permanent(), true
		}
		for _, j := range final {
			if j.State == spool.StateCompleted && !j.Purged && len(v.Completed) < 10 {
				v.Completed = append(v.Completed, j)
			}
		}
		if d.o.PhotoReport != nil {
			for _, j := range byState[spool.StateHeld] {
				if !j.Checked {
					continue
				}
				if rep := d.o.PhotoReport(j); rep != nil {
					if v.Checks == nil {
						v.Checks = map[uint64][]portrait.Result{}
					}
					v.Checks[j.Num] = rep.Checks
				}
			}
		}
		for _, q := range queueOrder {
			js := byState[q.s]
			slices.SortFunc(js, func(a, b spool.Job) int { return int(a.Num - b.Num) })
			g := jobGroup{State: q.s, Title: q.title, Jobs: js}
			if len(js) > maxPerState {
				g.Jobs, g.More = js[:maxPerState], len(js)-maxPerState
			}
			v.Groups = append(v.Groups, g)
		}
	case "batches":
		bs := st.Batches
		if d.o.Batches != nil {
			bs = d.o.Batches()
		}
		for i := len(bs) - 1; i >= 0; i-- {
			v.Batches = append(v.Batches, d.batch(bs[i], false))
		}
	case "batch":
		id := r.PathValue("id")
		bs := st.Batches
		if d.o.Batches != nil {
			bs = d.o.Batches()
		}
		for _, b := range bs {
			if b.ID == id {
				bv := d.batch(b, true)
				v.Batch = &bv
			}
		}
		if v.Batch == nil {
			return v, http.StatusNotFound
		}
	}
	return v, http.StatusOK
}

func (d *Dashboard) batch(b spool.Batch, text bool) batchView {
	bv := batchView{Batch: b}
	if d.o.Report == nil {
		return bv
	}
	rep, err := d.o.Report(b.ID)
	if err != nil {
		d.o.Log.Warn("dashboard: batch report", "batch", b.ID, "err", err)
		return bv
	}
	bv.Report = rep
	for _, m := range rep.Manifest {
		if m.State.Final() {
			bv.Done++
		}
	}
	if rep.Jobs > 0 {
		bv.Progress = bv.Done * 100 / rep.Jobs
	}
	if text {
		bv.Text = rep.Text()
	}
	return bv
}

// page serves one page, or only its <main> content with ?part=main (what
// the script fetches on a change).
func (d *Dashboard) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, code := d.build(name, r)
		v.CSRF = d.formToken(d.sessionToken(w, r))
		tmpl := "layout"
		if r.URL.Query().Get("part") == "main" {
			tmpl = "main"
		}
		var buf bytes.Buffer
		if err := d.tmpl.ExecuteTemplate(&buf, tmpl, v); err != nil {
			d.o.Log.Error("dashboard: render", "page", name, "err", err)
			http.Error(w, "render error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		w.Write(buf.Bytes())
	}
}

// Snapshot is what the event stream pushes: the scheduler's snapshot
// (printers, queue counts, batches) and a version that changes whenever
// any job's state, sub-state or serial changes. Jobs themselves are not
// pushed: the page fetches what it shows.
type Snapshot struct {
	Status spool.Status `json:"status"`
	// Jobs is how many jobs the spool knows.
	Jobs int `json:"jobs"`
	// Version is a hash of every job's number, state, sub-state and
	// serial.
	Version string `json:"version"`
}

func (d *Dashboard) snapshot() ([]byte, error) {
	s := Snapshot{Status: d.o.Status()}
	for i := range s.Status.Printers {
		// The poll time changes at every poll; it is not a change.
		s.Status.Printers[i].Status.At = time.Time{}
	}
	h := fnv.New64a()
	var buf []byte
	for _, j := range d.o.Jobs() {
		s.Jobs++
		buf = strconv.AppendUint(buf[:0], j.Num, 10)
		buf = append(buf, 0)
		buf = append(buf, j.State...)
		buf = append(buf, 0)
		buf = append(buf, j.Sub...)
		buf = append(buf, 0)
		buf = append(buf, j.Serial...)
		buf = append(buf, 0)
		h.Write(buf)
	}
	if d.o.Permanent != nil {
		// A permanent card's news is a change too.
		perm := d.o.Permanent()
		keys := make([]string, 0, len(perm))
		for k := range perm {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			h.Write([]byte(k + "\x00" + perm[k] + "\x00"))
		}
	}
	s.Version = strconv.FormatUint(h.Sum64(), 36)
	return json.Marshal(s)
}

func (d *Dashboard) snapshotJSON(w http.ResponseWriter, r *http.Request) {
	b, err := d.snapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// events streams the snapshot (event "status") whenever it changes, and a
// comment every 15 s to keep the connection alive.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	tick := time.NewTicker(d.o.Interval)
	defer tick.Stop()
	var last [32]byte
	idle := 0
	for first := true; ; first = false {
		b, err := d.snapshot()
		if err != nil {
			d.o.Log.Error("dashboard: snapshot", "err", err)
			return
		}
		sum := sha256.Sum256(b)
		var out string
		switch {
		case first || sum != last:
			last, idle = sum, 0
			out = "event: status\ndata: " + strings.ReplaceAll(string(b), "\n", "") + "\n\n"
			if first {
				out = "retry: 2000\n" + out
			}
		case idle*int(d.o.Interval) >= int(15*time.Second):
			idle, out = 0, ": keep-alive\n\n"
		default:
			idle++
		}
		if out != "" {
			// The server's write timeout is for ordinary replies; a
			// stream extends its deadline at every write.
			_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := w.Write([]byte(out)); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
