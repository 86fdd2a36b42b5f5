package ipp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardd/cardd/printer"
)

// reasonFor maps one printer-state-reasons keyword to the project's
// reason; ok is false for keywords that say nothing a station acts on
// ("none", reports such as "connecting-to-device", unknown warnings).
//
// A keyword is a base name with an optional severity suffix: -error
// (printing stopped), -warning (printing goes on) or -report (for
// information). Reports are dropped except offline-report, which is how
// CUPS says a network printer does not answer; warnings are kept only for
// the reasons that are warnings anyway (supply low, cleaning due). An
// unknown keyword with -error stops printing all the same and becomes
// mechanical, with the keyword kept in Status.Raw.
func reasonFor(keyword string) (printer.Reason, bool) {
	base, severity := keyword, ""
	for _, s := range []string{"-error", "-warning", "-report"} {
		if b, ok := strings.CutSuffix(keyword, s); ok {
			base, severity = b, s
			break
		}
	}
	var r printer.Reason
	switch base {
	case "none", "":
		return "", false
	case "offline", "shutdown", "paused", "stopped-partly", "timed-out", "printer-stopped":
		r = printer.ReasonOffline
	case "media-empty", "media-needed", "input-tray-missing":
		r = printer.ReasonFeederEmpty
	case "media-jam", "input-media-jam", "output-media-jam":
		r = printer.ReasonCardJam
	case "cover-open", "door-open", "interlock-open":
		r = printer.ReasonCoverOpen
	case "marker-supply-empty", "toner-empty", "ink-empty":
		r = printer.ReasonRibbonOut
	case "marker-supply-missing", "toner-missing":
		r = printer.ReasonNoRibbon
	case "marker-supply-low", "toner-low", "ink-low":
		r = printer.ReasonRibbonLow
	case "output-area-full", "output-tray-full", "output-area-almost-full":
		r = printer.ReasonHopperFull
	case "cleaner-life-almost-over", "cleaner-life-over":
		r = printer.ReasonNeedsCleaning
	case "marker-supply-wrong", "media-type-mismatch":
		r = printer.ReasonUnsupportedRibbon
	default:
		if severity == "-error" {
			return printer.ReasonMechanical, true
		}
		return "", false
	}
	switch {
	case severity == "-report" && r != printer.ReasonOffline:
		return "", false
	case severity == "-warning" && r.Blocking():
		return "", false
	case base == "output-area-almost-full":
		return "", false
	}
	return r, true
}

// deviceReports returns the printer faults a queue's backend reports as
// -report or -warning: how CUPS's network backends pass on what they read
// from the printer by SNMP (door-open-report, media-jam-warning,
// media-empty-warning, toner-empty-warning, output-area-full-warning). They
// are refreshed only while a job runs — a cover closed after a job still
// shows as open until the next one — so they cannot stop the station's
// printer (it would never send the job that clears them); they are kept in
// Status.Raw, and a job that completes while one is reported leaves its
// card unknown (see Dev.Print).
func deviceReports(keywords []string) []printer.Reason {
	var out []printer.Reason
	for _, k := range keywords {
		base, sev := k, ""
		for _, s := range []string{"-warning", "-report"} {
			if b, ok := strings.CutSuffix(k, s); ok {
				base, sev = b, s
			}
		}
		if sev == "" {
			continue
		}
		var r printer.Reason
		switch base {
		case "door-open", "cover-open", "interlock-open":
			r = printer.ReasonCoverOpen
		case "media-jam":
			r = printer.ReasonCardJam
		case "media-empty":
			r = printer.ReasonFeederEmpty
		case "toner-empty", "marker-supply-empty":
			r = printer.ReasonRibbonOut
		case "output-area-full":
			r = printer.ReasonHopperFull
		default:
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// statusOf turns a printer's attributes into the project's Status.
func statusOf(p *printerAttrs, at time.Time) printer.Status {
	st := printer.Status{At: at, Consumables: printer.Consumables{
		RibbonLeft: -1, RibbonCapacity: -1, CardsPrinted: -1, PanelsPrinted: -1, FeederLoaded: -1,
	}}
	for _, k := range p.reasons {
		if r, ok := reasonFor(k); ok && !slices.Contains(st.Reasons, r) {
			st.Reasons = append(st.Reasons, r)
		}
	}
	if p.hasAccepting && !p.accepting && !slices.Contains(st.Reasons, printer.ReasonOffline) {
		st.Reasons = append(st.Reasons, printer.ReasonOffline)
	}
	switch p.state {
	case printerIdle:
		st.State = printer.StateIdle
	case printerProcessing:
		st.State = printer.StatePrinting
	default:
		st.State = printer.StateError
	}
	if st.Blocked() {
		st.State = printer.StateError
		if slices.Contains(st.Reasons, printer.ReasonOffline) {
			st.State = printer.StateOffline
		}
	}
	st.Raw = rawStatus(p)
	return st
}

// rawStatus is the printer's own words, kept for diagnosis.
func rawStatus(p *printerAttrs) string {
	var b strings.Builder
	fmt.Fprintf(&b, "printer-state=%s printer-state-reasons=%s", stateName(p.state), joinOrNone(p.reasons))
	if p.hasAccepting {
		fmt.Fprintf(&b, " printer-is-accepting-jobs=%t", p.accepting)
	}
	if p.message != "" {
		fmt.Fprintf(&b, " printer-state-message=%q", p.message)
	}
	for i, n := range p.markerNames {
		if i < len(p.markerLevels) {
			fmt.Fprintf(&b, " marker %q=%d%%", n, p.markerLevels[i])
		}
	}
	return b.String()
}

// outcomeOf maps a job that ended to the card's outcome.
//
// completed means the spooler delivered the whole document to the
// printer's device (for a raw socket, that the bytes were written): it is
// the spooler's word that the card printed, and the only one there is.
// canceled or aborted before the job reached the printer means no card
// was fed; after it (time-at-processing set, or pages counted), part of
// the card may have gone to the printer, so its fate is unknown.
// processing-stopped leaves a card possibly inside a stopped printer:
// unknown too.
func outcomeOf(j *jobAttrs) printer.Outcome {
	switch j.state {
	case jobCompleted:
		return printer.OutcomePrinted
	case jobCanceled, jobAborted:
		if j.atProcessing || j.impressions > 0 {
			return printer.OutcomeUnknown
		}
		return printer.OutcomeNotFed
	}
	return printer.OutcomeUnknown
}

// ended reports whether a job state is final.
func ended(state int) bool {
	return state == jobCanceled || state == jobAborted || state == jobCompleted
}
