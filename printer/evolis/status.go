package evolis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cardd/cardd/printer"
)

// IsError reports whether a reply is an error reply ("ERR…" or
// "ERROR…").
func IsError(reply string) bool { return strings.HasPrefix(reply, "ERR") }

// ReplyReasons maps an error reply to the shared reasons; an error reply
// that names no printer condition (a command or parameter error) maps to
// none. It never fails: unknown text yields no reasons.
func ReplyReasons(reply string) []printer.Reason {
	switch reply {
	case ReplyCoverOpen:
		return []printer.Reason{printer.ReasonCoverOpen}
	case ReplyFeederEmpty:
		return []printer.Reason{printer.ReasonFeederEmpty}
	case ReplyRibbon:
		return []printer.Reason{printer.ReasonRibbonOut}
	case ReplyNoRibbon:
		return []printer.Reason{printer.ReasonNoRibbon}
	case ReplyBadRibbon:
		return []printer.Reason{printer.ReasonUnsupportedRibbon}
	case ReplyMechanical, "ERR CARD":
		return []printer.Reason{printer.ReasonCardJam}
	case ReplyHopperFull:
		return []printer.Reason{printer.ReasonHopperFull}
	case ReplyRejectFull:
		return []printer.Reason{printer.ReasonRejectFull}
	case ReplyMagnetic:
		return []printer.Reason{printer.ReasonMagError}
	case "ERR NEED CLEANING":
		return []printer.Reason{printer.ReasonNeedsCleaning}
	}
	return nil
}

// ReplyError turns an error reply to op into an error: a
// *printer.StatusError (matching the reasons' sentinels) when the reply
// names a printer condition, else an error wrapping printer.ErrProtocol
// (or printer.ErrUnsupported) that quotes the reply.
func ReplyError(op, reply string) error {
	if r := ReplyReasons(reply); len(r) > 0 {
		return &printer.StatusError{Reasons: r, Raw: reply, Op: op}
	}
	if reply == ReplyUnsupported {
		return fmt.Errorf("evolis: %s: printer replied %q: %w", op, reply, printer.ErrUnsupported)
	}
	return fmt.Errorf("evolis: %s: printer replied %q: %w", op, reply, printer.ErrProtocol)
}

// ParseVolts parses a sensor reply such as "5,00 Volts" (decimal comma or
// point; the unit may be missing) into volts.
func ParseVolts(reply string) (float64, error) {
	s := strings.TrimSpace(reply)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "Volts"), "V"))
	if s == "" || len(s) > 16 {
		return 0, fmt.Errorf("evolis: sensor reply %q is not a voltage", reply)
	}
	v, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil || v < 0 || v > 50 {
		return 0, fmt.Errorf("evolis: sensor reply %q is not a voltage", reply)
	}
	return v, nil
}

// ParseCounter parses a counter reply (decimal digits, surrounding spaces
// allowed).
func ParseCounter(reply string) (int, error) {
	n, err := ParseCount(strings.TrimSpace(reply), 1<<31-1)
	if err != nil {
		return 0, fmt.Errorf("evolis: counter reply %q: %w", reply, err)
	}
	return n, nil
}

// sensorThreshold separates a sensor that sees (about 5 V) from one that
// does not (about 0 V).
const sensorThreshold = 2.5

// StatusQueries returns the queries a status poll sends, in order;
// ParseStatus matches replies to them by position.
func StatusQueries() []string {
	return []string{"Rse;c", "Rlr;p", "Rse;f", "Rlr;h", "Rcr", "Rco;l", "Rco;c", "Rco;p"}
}

// ParseStatus builds a Status from the replies to StatusQueries (same
// order; a missing or unparsable reply leaves its field unknown). lowPrints
// is the ribbon-low threshold in prints left.
//
//   - Rse;c, the cover sensor: below 2.5 V the cover is open;
//   - Rlr;p, card position: "CARD" a card is inside (busy), "ERR CARD" or
//     another error reply a card is jammed, "NO CARD"/"OK" none;
//   - Rse;f, the feeder sensor: below 2.5 V the feeder is empty;
//   - Rlr;h, the output hopper: "CARD" means full;
//   - Rcr, ribbon end mark: "OK" not at its end, an error reply at its end;
//   - Rco;l prints left on the ribbon, Rco;c cards inserted, Rco;p panels
//     printed.
func ParseStatus(replies []string, lowPrints int) (printer.Status, error) {
	st := printer.Status{
		State: printer.StateIdle,
		Consumables: printer.Consumables{
			RibbonLeft: -1, RibbonCapacity: -1, CardsPrinted: -1, PanelsPrinted: -1, FeederLoaded: -1,
		},
	}
	st.Raw = strings.Join(replies, "|")
	get := func(i int) (string, bool) {
		if i < len(replies) {
			return replies[i], true
		}
		return "", false
	}
	var errs []string
	add := func(r printer.Reason) {
		for _, have := range st.Reasons {
			if have == r {
				return
			}
		}
		st.Reasons = append(st.Reasons, r)
	}
	if r, ok := get(0); ok {
		if v, err := ParseVolts(r); err != nil {
			errs = append(errs, "cover: "+err.Error())
		} else if v < sensorThreshold {
			add(printer.ReasonCoverOpen)
		}
	}
	busy := false
	if r, ok := get(1); ok {
		switch {
		case r == "CARD" || r == "SMART CARD" || r == "CONTACTLESS CARD":
			busy = true
		case r == "NO CARD" || r == "OK":
		case IsError(r):
			add(printer.ReasonCardJam)
		default:
			errs = append(errs, fmt.Sprintf("card position: unexpected %q", r))
		}
	}
	if r, ok := get(2); ok {
		if v, err := ParseVolts(r); err != nil {
			errs = append(errs, "feeder: "+err.Error())
		} else if v < sensorThreshold {
			add(printer.ReasonFeederEmpty)
			st.Consumables.FeederLoaded = 0
		}
	}
	if r, ok := get(3); ok {
		switch r {
		case "CARD":
			add(printer.ReasonHopperFull)
		case "NO CARD", "OK":
		default:
			errs = append(errs, fmt.Sprintf("hopper: unexpected %q", r))
		}
	}
	if r, ok := get(4); ok {
		switch {
		case r == ReplyOK:
		case IsError(r):
			if rs := ReplyReasons(r); len(rs) > 0 {
				for _, x := range rs {
					add(x)
				}
			} else {
				add(printer.ReasonRibbonOut)
			}
		default:
			errs = append(errs, fmt.Sprintf("ribbon end: unexpected %q", r))
		}
	}
	for i, dst := range []*int{&st.Consumables.RibbonLeft, &st.Consumables.CardsPrinted, &st.Consumables.PanelsPrinted} {
		if r, ok := get(5 + i); ok {
			if n, err := ParseCounter(r); err == nil {
				*dst = n
			} else {
				errs = append(errs, err.Error())
			}
		}
	}
	if n := st.Consumables.RibbonLeft; n >= 0 && n <= lowPrints && n > 0 {
		add(printer.ReasonRibbonLow)
	}
	switch {
	case st.Blocked():
		st.State = printer.StateError
	case busy:
		st.State = printer.StateBusy
	}
	if len(errs) > 0 {
		return st, fmt.Errorf("evolis: status: %s: %w", strings.Join(errs, "; "), printer.ErrProtocol)
	}
	return st, nil
}

// EvidenceQueries returns the queries Dev.Evidence sends, in order;
// ParseEvidence matches replies to them by position.
func EvidenceQueries() []string { return []string{"Rsn", "Rco;c", "Rco;p", "Rlr;p"} }

// ParseEvidence builds printer.Evidence from the replies to
// EvidenceQueries. A reply that is missing or does not parse leaves its
// field unknown and is reported in the error (wrapping
// printer.ErrProtocol): settlement then holds the card for a person.
func ParseEvidence(replies []string) (printer.Evidence, error) {
	ev := printer.NoEvidence()
	get := func(i int) string {
		if i < len(replies) {
			return strings.TrimSpace(replies[i])
		}
		return ""
	}
	var errs []string
	if s := get(0); s != "" && !IsError(s) && len(s) <= 64 {
		ev.Serial = s
	} else {
		errs = append(errs, fmt.Sprintf("serial: %q", s))
	}
	for i, dst := range []*int{&ev.Fed, &ev.Panels} {
		if n, err := ParseCounter(get(1 + i)); err == nil {
			*dst = n
		} else {
			errs = append(errs, err.Error())
		}
	}
	switch r := get(3); {
	case r == "CARD" || r == "SMART CARD" || r == "CONTACTLESS CARD":
		ev.Inside = printer.PresenceCard
	case r == "NO CARD" || r == "OK":
		ev.Inside = printer.PresenceNone
	case strings.HasPrefix(r, "ERROR"):
		// The query itself was refused ("ERROR CDE"): unknown.
		errs = append(errs, fmt.Sprintf("card position: %q", r))
	case IsError(r):
		// A jam: the card is stuck inside.
		ev.Inside = printer.PresenceCard
	default:
		errs = append(errs, fmt.Sprintf("card position: unexpected %q", r))
	}
	if len(errs) > 0 {
		return ev, fmt.Errorf("evolis: evidence: %s: %w", strings.Join(errs, "; "), printer.ErrProtocol)
	}
	return ev, nil
}
