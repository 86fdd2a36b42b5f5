package network

import (
	"bytes"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
)

// addBatches fills the batches part of the report from the summaries:
// rows, per-host and facility totals, and the flags. codes are the
// registered station codes (nil: not read), from which central hosts that
// publish nothing are told.
func (rep *FacilityReport) addBatches(sums *batchSummaries, o ReportOptions, codes []StationCodeHolder) {
	for _, err := range sums.bad {
		rep.Flags = append(rep.Flags, Flag{Problem: "summary not counted: " + err.Error()})
	}
	hosts := map[string]*BatchHostReport{}
	host := func(name string) *BatchHostReport {
		h := hosts[name]
		if h == nil {
			h = &BatchHostReport{Host: name}
			hosts[name] = h
		}
		return h
	}
	for _, s := range sums.batches {
		if o.Batch != "" && s.Batch != o.Batch {
			continue
		}
		rep.Batches = append(rep.Batches, s)
		h := host(s.Host)
		h.Site, h.Code = s.Site, s.Code
		h.Batches++
		if s.State != spool.BatchDone {
			h.Open++
		}
		h.add(s.Counts)
		for _, p := range batchProblems(s) {
			rep.Flags = append(rep.Flags, Flag{Host: s.Host, Batch: s.Batch, Problem: p})
		}
	}
	sort.Slice(rep.Batches, func(a, b int) bool {
		x, y := rep.Batches[a], rep.Batches[b]
		if x.Host != y.Host {
			return x.Host < y.Host
		}
		return x.Batch < y.Batch
	})
	centralSites := map[string]bool{}
	for name, b := range sums.beats {
		centralSites[b.Site] = true
		if o.Batch != "" && hosts[name] == nil {
			continue
		}
		h := host(name)
		h.Site, h.Code, h.Updated, h.Problem = b.Site, b.Code, b.Updated, b.Problem
	}
	for _, name := range sortedHostNames(hosts) {
		h := hosts[name]
		centralSites[h.Site] = true
		switch age := rep.Generated.Sub(h.Updated); {
		case h.Updated.IsZero():
			rep.Flags = append(rep.Flags, Flag{Host: name, Problem: "unknown: batch summaries but no host record on the hub"})
		case h.Open > 0 && age > o.StaleAfter:
			h.Stale = true
			rep.Flags = append(rep.Flags, Flag{Host: name, Problem: fmt.Sprintf("stale: %d batch(es) not done, last published %s ago (%s)",
				h.Open, age.Round(time.Second), h.Updated.UTC().Format(time.RFC3339))})
		}
		if h.Problem != "" {
			rep.Flags = append(rep.Flags, Flag{Host: name, Problem: "cannot publish a summary: " + h.Problem})
		}
		rep.BatchHosts = append(rep.BatchHosts, *h)
		rep.BatchTotals.Hosts++
		rep.BatchTotals.Batches += h.Batches
		rep.BatchTotals.Open += h.Open
		rep.BatchTotals.add(h.BatchCounts)
	}
	if o.Batch == "" {
		// Central hosts the facility knows of that publish nothing.
		unknown := map[string]string{}
		for _, h := range rep.Hosts {
			if hosts[h.Host] == nil && h.Host != "" {
				unknown[h.Host] = "outcome events on the hub"
			}
		}
		for _, c := range codes {
			if c.Site != "" && centralSites[c.Site] && hosts[c.Host] == nil && unknown[c.Host] == "" {
				unknown[c.Host] = "serial station code " + c.Code + " registered at site " + c.Site
			}
		}
		for _, name := range sortedHostNames(unknown) {
			rep.Flags = append(rep.Flags, Flag{Host: name, Problem: "unknown: " + unknown[name] + " but no batch summaries"})
		}
	}
	rep.Flags = append(rep.Flags, overlappingSerials(rep.Batches)...)
}

// batchProblems are the reasons a batch's blanks do not reconcile.
func batchProblems(s *BatchSummary) []string {
	var out []string
	c := s.Counts
	if sum := c.Printed + c.Spoiled + c.Unknown; c.BlanksUsed != sum {
		out = append(out, fmt.Sprintf("blanks used %d, but printed %d + spoiled %d + outcome unknown %d = %d", c.BlanksUsed, c.Printed, c.Spoiled, c.Unknown, sum))
	}
	if s.State == spool.BatchDone && c.Printed != c.Expected {
		out = append(out, fmt.Sprintf("done with %d card(s) printed for %d blank(s) expected", c.Printed, c.Expected))
	}
	if s.State != spool.BatchDone && c.Unknown > 0 {
		out = append(out, fmt.Sprintf("%d card(s) of unknown outcome held for an operator (confirm or void)", c.Unknown))
	}
	if c.Loaded > 0 && c.BlanksUsed > c.Loaded {
		out = append(out, fmt.Sprintf("blanks used %d, more than the %d loaded", c.BlanksUsed, c.Loaded))
	}
	return out
}

// overlappingSerials flags batches of two hosts whose serial ranges
// under one station code overlap (each host has its own code, so they
// never should).
func overlappingSerials(batches []*BatchSummary) []Flag {
	type span struct {
		s      *BatchSummary
		lo, hi uint32
	}
	byCode := map[string][]span{}
	for _, b := range batches {
		if b.Serials == nil {
			continue
		}
		lo, err1 := security.ParseSerial(b.Serials.First)
		hi, err2 := security.ParseSerial(b.Serials.Last)
		if err1 != nil || err2 != nil || lo.Station != hi.Station {
			continue
		}
		k := lo.Issuer + "-" + lo.Station
		byCode[k] = append(byCode[k], span{b, lo.Sequence, hi.Sequence})
	}
	var out []Flag
	for _, code := range sortedHostNames(byCode) {
		list := byCode[code]
		for i := range list {
			for j := i + 1; j < len(list); j++ {
				a, b := list[i], list[j]
				if a.s.Host != b.s.Host && a.lo <= b.hi && b.lo <= a.hi {
					out = append(out, Flag{Host: a.s.Host, Batch: a.s.Batch, Problem: fmt.Sprintf("serials %s…%s overlap those of %s batch %s (%s…%s)",
						a.s.Serials.First, a.s.Serials.Last, b.s.Host, b.s.Batch, b.s.Serials.First, b.s.Serials.Last)})
				}
			}
		}
	}
	return out
}

func sortedHostNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// batchesText formats the batches part of the report.
func (r *FacilityReport) batchesText(b *bytes.Buffer) {
	t := r.BatchTotals
	what := "every batch"
	if r.Batch != "" {
		what = "batch " + r.Batch
	}
	fmt.Fprintf(b, "Cards of the central facility (%s), from the hosts' batch summaries on the hub (kept without age limit): %d batch(es) at %d host(s), %d not done\n",
		what, t.Batches, t.Hosts, t.Open)
	fmt.Fprintf(b, "jobs %d: blanks expected %d, used %d; printed %d (reprints %d), spoiled %d, voided serials %d, outcome unknown %d, aborted %d, cancelled %d\n",
		t.Jobs, t.Expected, t.BlanksUsed, t.Printed, t.Reprinted, t.Spoiled, t.Voided, t.Unknown, t.Aborted, t.Cancelled)
	if len(r.Flags) == 0 {
		b.WriteString("discrepancies: none\n")
	} else {
		fmt.Fprintf(b, "DISCREPANCIES (%d):\n", len(r.Flags))
		for _, f := range r.Flags {
			where := f.Host
			if f.Batch != "" {
				where += " " + f.Batch
			}
			if where == "" {
				where = "hub"
			}
			fmt.Fprintf(b, "  %s: %s\n", where, f.Problem)
		}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSITE\tCODE\tBATCHES\tNOT DONE\tEXPECTED\tPRINTED\tREPRINTS\tSPOILED\tVOIDED\tUNKNOWN\tBLANKS USED\tLAST PUBLISHED")
	for _, h := range r.BatchHosts {
		last := orText(timeText(h.Updated), "-")
		if h.Stale {
			last += " STALE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", h.Host, orText(h.Site, "-"), orText(h.Code, "-"), h.Batches, h.Open,
			h.Expected, h.Printed, h.Reprinted, h.Spoiled, h.Voided, h.Unknown, h.BlanksUsed, last)
	}
	tw.Flush()
	b.WriteString("\n")
	flagged := map[string]bool{}
	for _, f := range r.Flags {
		if f.Batch != "" {
			flagged[f.Host+" "+f.Batch] = true
		}
	}
	tw = tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tBATCH\tSTATE\tTEMPLATE\tJOBS\tEXPECTED\tPRINTED\tREPRINTS\tSPOILED\tVOIDED\tUNKNOWN\tBLANKS USED\tLOADED\tSERIALS\tFLAG")
	for _, s := range r.Batches {
		c := s.Counts
		serials := "-"
		if s.Serials != nil {
			serials = s.Serials.First + "…" + s.Serials.Last
		}
		flag := ""
		if flagged[s.Host+" "+s.Batch] {
			flag = "!"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.Host, s.Batch, s.State, orText(s.Template, "-"),
			c.Jobs, c.Expected, c.Printed, c.Reprinted, c.Spoiled, c.Voided, c.Unknown, c.BlanksUsed, c.Loaded, serials, flag)
	}
	tw.Flush()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
