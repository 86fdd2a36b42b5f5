package network

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// FacilityReport is the whole facility's account of its cards and of
// the permanent requests.
//
// The cards come from the batch summaries every central host keeps on the
// hub (BucketBatches, no age limit): per batch and per host the blanks
// expected and used, the cards printed, spoiled, reprinted and voided,
// outcomes unknown, with the facility's totals and the discrepancies
// (Flags). These are the hosts' own reconciliation reports, summed.
//
// The requests come from the outcome events the central hosts published
// (the events stream keeps them for StreamOptions.EventsMaxAge) and the
// serial station codes registered there: per central host the requests
// received and their outcomes, per office where its requests stand, and
// whether any serial was printed twice anywhere. Requests that never
// reached a batch (failed, held, waiting) are only there; so are the
// offices. Events older than the stream's age limit are gone from this
// part, never from the batches part.
type FacilityReport struct {
	Generated time.Time `json:"generated"`
	// Batch, when set, limits the report to the batches of that id on
	// every host (and leaves out the events part).
	Batch string `json:"batch,omitempty"`
	// BatchTotals are the facility's cards, summed over Batches.
	BatchTotals BatchTotals `json:"batch_totals"`
	// BatchHosts are the central hosts that publish batch summaries.
	BatchHosts []BatchHostReport `json:"batch_hosts"`
	// Batches are every batch of every central host, by host and batch.
	Batches []*BatchSummary `json:"batches"`
	// Flags are the discrepancies: a batch whose blanks do not reconcile,
	// a host whose summaries are stale or unknown, a summary that does
	// not decode, serial ranges of two hosts that overlap.
	Flags []Flag `json:"flags,omitempty"`

	// First and Last are the times of the oldest and newest event read.
	First  time.Time `json:"first,omitzero"`
	Last   time.Time `json:"last,omitzero"`
	Events int       `json:"events"`
	// BadEvents counts messages on the events stream that did not decode
	// (logged by nobody: the report only counts them).
	BadEvents int `json:"bad_events,omitempty"`
	// Queued is the number of requests on the hub that no central host
	// has taken yet.
	Queued uint64 `json:"queued"`
	// Requests sums up every request's latest state.
	Requests RequestTally `json:"requests"`
	// Cards counts the cards of the whole facility, from the events.
	Cards HostReport `json:"cards"`
	// Hosts are the central hosts, by name, from the events.
	Hosts []HostReport `json:"hosts"`
	// Offices are the field offices, by name.
	Offices []OfficeReport `json:"offices"`
	// Codes are the registered serial station codes, holders first.
	Codes []StationCodeHolder `json:"codes"`
	// DuplicateSerials lists serials printed for more than one request or
	// by more than one host: none in a sound facility.
	DuplicateSerials []string `json:"duplicate_serials,omitempty"`
}

// BatchTotals are the facility's cards from the batch summaries.
type BatchTotals struct {
	Hosts   int `json:"hosts"`
	Batches int `json:"batches"`
	// Open counts the batches not done (open, or closed with cards to go).
	Open int `json:"open"`
	BatchCounts
}

// BatchHostReport is one central host's batches summed up.
type BatchHostReport struct {
	Host    string `json:"host"`
	Site    string `json:"site,omitempty"`
	Code    string `json:"code,omitempty"`
	Batches int    `json:"batches"`
	Open    int    `json:"open"`
	BatchCounts
	// Updated is the host's last publication (zero: no host record).
	Updated time.Time `json:"updated,omitzero"`
	// Stale: the host has batches not done and has published nothing
	// for longer than ReportOptions.StaleAfter.
	Stale bool `json:"stale,omitempty"`
	// Problem is why the host could not publish some batch's summary.
	Problem string `json:"problem,omitempty"`
}

// Flag is one discrepancy of a facility report.
type Flag struct {
	Host    string `json:"host,omitempty"`
	Batch   string `json:"batch,omitempty"`
	Problem string `json:"problem"`
}

// ReportOptions choose what a facility report covers.
type ReportOptions struct {
	// Batch limits the report to the batches of that id, on every host.
	Batch string
	// StaleAfter is how long a host with batches not done may go without
	// publishing before it is flagged (default 10 minutes; a running host
	// publishes at least every minute).
	StaleAfter time.Duration
}

// RequestTally counts requests by their latest state.
type RequestTally struct {
	Total int `json:"total"`
	// Printed: the permanent card printed (or reprinted).
	Printed int `json:"printed"`
	// Unknown: held at a central host with its outcome unknown.
	Unknown int `json:"outcome_unknown"`
	// Failed: refused at the centre (Field and Reason told the office).
	Failed int `json:"failed"`
	// Voided: the card's serial voided with no card printed since.
	Voided int `json:"voided"`
	// Held: held for an operator before printing.
	Held int `json:"held"`
	// InProgress: taken by a host, no outcome yet.
	InProgress int `json:"in_progress"`
}

// HostReport is one central host's cards (Host empty: the facility's).
type HostReport struct {
	Host string `json:"host,omitempty"`
	// Code is the serial station code the host registered.
	Code     string `json:"code,omitempty"`
	Received int    `json:"received"`
	Printed  int    `json:"printed"`
	// Reprinted counts reprints (also in Printed).
	Reprinted int `json:"reprinted"`
	Spoiled   int `json:"spoiled"`
	Voided    int `json:"voided"`
	Unknown   int `json:"outcome_unknown"`
	Failed    int `json:"failed"`
	Held      int `json:"held"`
	// BlanksUsed is cards printed plus spoiled.
	BlanksUsed int `json:"blanks_used"`
}

// OfficeReport is where one office's requests stand.
type OfficeReport struct {
	Office string `json:"office"`
	RequestTally
}

// ReadFacilityReport reads the batch summaries, the events stream and
// the station codes from the hub and sums them up. It needs a central
// host's credentials (an office may read only its own events, and no
// batch summaries). Summaries that do not decode are flagged, naming key
// and field, and left out of the sums.
func ReadFacilityReport(ctx context.Context, c *Conn, now time.Time, o ReportOptions) (*FacilityReport, error) {
	if o.StaleAfter <= 0 {
		o.StaleAfter = 10 * time.Minute
	}
	rep := &FacilityReport{Generated: now.UTC(), Batch: o.Batch}
	sums, err := readBatchSummaries(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("network: facility report: %w", err)
	}
	if o.Batch != "" {
		rep.addBatches(sums, o, nil)
		return rep, nil
	}
	if err := rep.readEvents(ctx, c); err != nil {
		return nil, err
	}
	rep.addBatches(sums, o, rep.Codes)
	return rep, nil
}

// readEvents fills the events part of the report.
func (rep *FacilityReport) readEvents(ctx context.Context, c *Conn) error {
	st, err := c.JS.Stream(ctx, StreamRequests)
	if err != nil {
		return fmt.Errorf("network: facility report: request queue: %w", err)
	}
	if info, err := st.Info(ctx); err == nil {
		rep.Queued = info.State.Msgs
	}
	type reqKey struct{ office, job string }
	type seen struct {
		ev  *Event
		seq uint64
	}
	byReq := map[reqKey][]seen{}
	hosts := map[string]*HostReport{}
	host := func(name string) *HostReport {
		h := hosts[name]
		if h == nil {
			h = &HostReport{Host: name}
			hosts[name] = h
		}
		return h
	}
	printedBy := map[string]map[string]bool{} // serial → "host office/job"
	err = readStream(ctx, c, StreamEvents, []string{subjEvents + ".>"}, func(m jetstream.Msg, seq uint64) {
		e, err := DecodeEvent(m.Subject(), m.Data())
		if err != nil {
			rep.BadEvents++
			return
		}
		rep.Events++
		if rep.First.IsZero() || e.Time.Before(rep.First) {
			rep.First = e.Time
		}
		if e.Time.After(rep.Last) {
			rep.Last = e.Time
		}
		k := reqKey{e.Office, e.Job}
		byReq[k] = append(byReq[k], seen{e, seq})
		h := host(e.Host)
		switch e.Kind {
		case EventReceived:
			h.Received++
		case EventPrinted, EventReprinted:
			h.Printed++
			if e.Kind == EventReprinted {
				h.Reprinted++
			}
			if e.Serial != "" {
				if printedBy[e.Serial] == nil {
					printedBy[e.Serial] = map[string]bool{}
				}
				printedBy[e.Serial][e.Host+" "+e.Office+"/"+e.Job] = true
			}
		case EventSpoiled:
			h.Spoiled++
		case EventVoided:
			h.Voided++
		case EventUnknown:
			h.Unknown++
		case EventFailed:
			h.Failed++
		case EventHeld:
			h.Held++
		}
	})
	if err != nil {
		return fmt.Errorf("network: facility report: %w", err)
	}
	offices := map[string]*OfficeReport{}
	for k, list := range byReq {
		sort.Slice(list, func(a, b int) bool {
			if !list[a].ev.Time.Equal(list[b].ev.Time) {
				return list[a].ev.Time.Before(list[b].ev.Time)
			}
			return list[a].seq < list[b].seq
		})
		o := offices[k.office]
		if o == nil {
			o = &OfficeReport{Office: k.office}
			offices[k.office] = o
		}
		state := requestState(list[len(list)-1].ev.Kind)
		// A printed card stays the request's outcome whatever came
		// after it but a void.
		for i := len(list) - 1; i >= 0; i-- {
			if k := list[i].ev.Kind; k == EventPrinted || k == EventReprinted {
				state = EventPrinted
				break
			} else if k == EventVoided {
				break
			}
		}
		for _, t := range []*RequestTally{&o.RequestTally, &rep.Requests} {
			t.Total++
			switch state {
			case EventPrinted:
				t.Printed++
			case EventUnknown:
				t.Unknown++
			case EventFailed:
				t.Failed++
			case EventVoided:
				t.Voided++
			case EventHeld:
				t.Held++
			default:
				t.InProgress++
			}
		}
	}
	codes, err := StationCodeHolders(ctx, c, "")
	if err != nil {
		return fmt.Errorf("network: facility report: %w", err)
	}
	rep.Codes = codes
	for i := len(codes) - 1; i >= 0; i-- { // the holder (oldest) last, so it wins
		if h := hosts[codes[i].Host]; h != nil && codes[i].Site != "" {
			h.Code = codes[i].Code
		}
	}
	for _, h := range hosts {
		h.BlanksUsed = h.Printed + h.Spoiled
		rep.Hosts = append(rep.Hosts, *h)
		c := &rep.Cards
		c.Received += h.Received
		c.Printed += h.Printed
		c.Reprinted += h.Reprinted
		c.Spoiled += h.Spoiled
		c.Voided += h.Voided
		c.Unknown += h.Unknown
		c.Failed += h.Failed
		c.Held += h.Held
		c.BlanksUsed += h.BlanksUsed
	}
	sort.Slice(rep.Hosts, func(a, b int) bool { return rep.Hosts[a].Host < rep.Hosts[b].Host })
	for _, o := range offices {
		rep.Offices = append(rep.Offices, *o)
	}
	sort.Slice(rep.Offices, func(a, b int) bool { return rep.Offices[a].Office < rep.Offices[b].Office })
	for serial, by := range printedBy {
		if len(by) > 1 {
			rep.DuplicateSerials = append(rep.DuplicateSerials, serial)
		}
	}
	sort.Strings(rep.DuplicateSerials)
	return nil
}

// requestState maps an event kind to the request state it leaves.
func requestState(k EventKind) EventKind {
	switch k {
	case EventReprinted:
		return EventPrinted
	case EventSpoiled, EventReceived:
		return EventReceived // another card follows
	}
	return k
}

// readStream reads every message of stream on filters, in stream order,
// and hands each with its stream sequence to f.
func readStream(ctx context.Context, c *Conn, stream string, filters []string, f func(m jetstream.Msg, seq uint64)) error {
	return readConsumer(ctx, c, stream, filters, jetstream.DeliverAllPolicy, f)
}

// readConsumer reads what stream holds on filters (deliver: all, or the
// last message of each subject) when it is called, through a short-lived
// pull consumer of its own (named, in memory, no acks, removed after), and
// hands each message with its stream sequence to f. Every step is bounded
// by ctx or a fetch's wait.
func readConsumer(ctx context.Context, c *Conn, stream string, filters []string, deliver jetstream.DeliverPolicy, f func(m jetstream.Msg, seq uint64)) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	cfg := jetstream.ConsumerConfig{
		Name:              "cardd_read_" + hex.EncodeToString(b),
		DeliverPolicy:     deliver,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 2 * time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	cons, err := c.JS.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.JS.DeleteConsumer(dctx, stream, cfg.Name) // else gone after InactiveThreshold
	}()
	pending := 0
	if info := cons.CachedInfo(); info != nil {
		pending = int(info.NumPending)
	}
	for pending > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := cons.Fetch(min(pending, 256), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			pending--
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			pending = int(md.NumPending)
			f(m, md.Sequence.Stream)
		}
		if err := batch.Error(); err != nil && got == 0 {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		if got == 0 {
			return fmt.Errorf("stream %s: %d messages did not arrive", stream, pending)
		}
	}
	return nil
}

// Text formats the report for a terminal.
func (r *FacilityReport) Text() string {
	var b bytes.Buffer
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	r.batchesText(&b)
	if r.Batch != "" {
		return b.String()
	}
	fmt.Fprintf(&b, "\nRequests, from the hub's outcome events (kept for the events stream's age limit, 30 days by default): %d events, %s to %s\n\n", r.Events, when(r.First), when(r.Last))
	q := r.Requests
	fmt.Fprintf(&b, "requests %d from %d offices: printed %d, outcome unknown %d, failed %d, voided %d, held %d, in progress %d; %d waiting on the hub\n",
		q.Total, len(r.Offices), q.Printed, q.Unknown, q.Failed, q.Voided, q.Held, q.InProgress, r.Queued)
	fmt.Fprintf(&b, "cards in these events at %d central hosts: printed %d (reprints %d), spoiled %d, voided %d, blanks used %d\n",
		len(r.Hosts), r.Cards.Printed, r.Cards.Reprinted, r.Cards.Spoiled, r.Cards.Voided, r.Cards.BlanksUsed)
	if len(r.DuplicateSerials) == 0 {
		b.WriteString("serials: none printed twice\n")
	} else {
		fmt.Fprintf(&b, "SERIALS PRINTED TWICE: %v\n", r.DuplicateSerials)
	}
	if r.BadEvents > 0 {
		fmt.Fprintf(&b, "%d messages on the events stream did not decode and are not counted\n", r.BadEvents)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tCODE\tRECEIVED\tPRINTED\tREPRINTS\tSPOILED\tVOIDED\tUNKNOWN\tFAILED\tHELD\tBLANKS USED")
	for _, h := range r.Hosts {
		code := h.Code
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", h.Host, code, h.Received, h.Printed, h.Reprinted, h.Spoiled, h.Voided, h.Unknown, h.Failed, h.Held, h.BlanksUsed)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFICE\tREQUESTS\tPRINTED\tUNKNOWN\tFAILED\tVOIDED\tHELD\tIN PROGRESS")
	for _, o := range r.Offices {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", o.Office, o.Total, o.Printed, o.Unknown, o.Failed, o.Voided, o.Held, o.InProgress)
	}
	tw.Flush()
	if len(r.Codes) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERIAL STATION CODE\tHOST\tSITE\tSINCE")
		for _, c := range r.Codes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, c.Host, orText(c.Site, "-"), when(c.Time))
		}
		tw.Flush()
	}
	return b.String()
}
