package magicard

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cardd/cardd/printer"
)

// Framing bytes of the Magicard language.
const (
	ENQ = 0x05 // lead-in filler
	SOH = 0x01 // start of a header or reply
	ETX = 0x03 // end of a side block or reply
	FS  = 0x1C // ends the header and every plane
)

// Major is the major error code of an INF reply. Magicard does not publish
// the numbers; these are cardd's, shared with printer/emulator.
type Major int

// The major error codes.
const (
	MajorNone          Major = 0  // no error
	MajorCoverOpen     Major = 1  // lid or print-head cover open
	MajorRibbonOut     Major = 2  // dye film used up
	MajorNoRibbon      Major = 3  // no dye film loaded
	MajorWrongRibbon   Major = 4  // film not usable for the job or printer
	MajorNoCard        Major = 5  // card not fed: hopper empty
	MajorCardJam       Major = 6  // card stuck in the transport
	MajorHopperFull    Major = 7  // output hopper full
	MajorRejectFull    Major = 8  // reject box full
	MajorMechanical    Major = 9  // head lift, flipper, motor or sensor fault
	MajorMagnetic      Major = 10 // magnetic encoding or verification failed
	MajorCleaning      Major = 11 // cleaning due (warning: printing goes on)
	MajorOffline       Major = 12 // printer paused or offline
	MajorCommand       Major = 13 // malformed or unknown command (minor says which check failed)
	maxKnownMajorValue Major = 13
)

// Minor codes that go with MajorCommand.
const (
	MinorBadLeadIn  = 1 // a job that does not start with 0x05 … SOH ','
	MinorBadHeader  = 2 // unknown, duplicate, misplaced or malformed header command
	MinorBadLength  = 3 // a plane shorter or longer than its SZx, or a wrong SZx
	MinorBadTrailer = 4 // a plane not closed by FS, its letter and ':'
	MinorBadEnd     = 5 // a side not closed by ETX
	MinorUnknownCmd = 6 // an unknown REQ command or STA key
)

// Reason maps a major error code to the shared vocabulary; ok is false for
// MajorNone and for codes this package does not know (which Status reports
// as mechanical).
func (m Major) Reason() (r printer.Reason, ok bool) {
	switch m {
	case MajorCoverOpen:
		return printer.ReasonCoverOpen, true
	case MajorRibbonOut:
		return printer.ReasonRibbonOut, true
	case MajorNoRibbon:
		return printer.ReasonNoRibbon, true
	case MajorWrongRibbon:
		return printer.ReasonUnsupportedRibbon, true
	case MajorNoCard:
		return printer.ReasonFeederEmpty, true
	case MajorCardJam:
		return printer.ReasonCardJam, true
	case MajorHopperFull:
		return printer.ReasonHopperFull, true
	case MajorRejectFull:
		return printer.ReasonRejectFull, true
	case MajorMechanical, MajorCommand:
		return printer.ReasonMechanical, true
	case MajorMagnetic:
		return printer.ReasonMagError, true
	case MajorCleaning:
		return printer.ReasonNeedsCleaning, true
	case MajorOffline:
		return printer.ReasonOffline, true
	}
	return "", false
}

// MajorFor returns the major code a printer reports for a shared reason;
// MajorNone for ReasonRibbonLow, which Magicard derives from the film
// counters rather than reporting as an error.
func MajorFor(r printer.Reason) Major {
	for m := MajorNone + 1; m <= maxKnownMajorValue; m++ {
		if mr, ok := m.Reason(); ok && mr == r && m != MajorCommand {
			return m
		}
	}
	return MajorNone
}

// Model flag bits of an INF reply.
const (
	ModelDuplex   = 1 << 0 // the printer has a card flipper
	ModelMagnetic = 1 << 1 // the printer has a magnetic stripe encoder
	ModelPronto   = 1 << 5 // Pronto family (Enduro/Pronto plane format)
)

// Inf is a parsed INF reply.
//
// The reply is SOH, "STA$$", then the fields below in this order,
// separated by ',' (':' is accepted too), then ',' and ETX. The vendor
// document lists these fields in this order but not every one's exact
// syntax; numbers are decimal ASCII.
type Inf struct {
	ModelFlags      int    // ModelDuplex | ModelMagnetic | ModelPronto
	Model           string // model name
	Serial          string // printer serial number
	HeadSerial      string // print-head serial number
	Firmware        string // firmware version
	HandFeed        bool   // hand-feed mode selected
	TotalCards      int    // lifetime cards
	CardsOnHead     int    // cards printed with the current head
	DyePanels       int    // lifetime dye panels
	Cleans          int    // cleanings done
	CardsSinceClean int    // cards since the last cleaning
	CleanInterval   int    // cards allowed between cleanings (0: never prompt)
	HeadPosition    int    // print-head vertical position, in dots
	ImageStart      int    // image start adjustment
	ImageEnd        int    // image end adjustment
	Major           Major  // major error code
	Minor           int    // minor error code
	FilmUID         string // dye-film RFID tag
	FilmShots       int    // prints the film holds when new (0: unknown)
	FilmUsed        int    // prints already taken from the film
	FilmName        string // film type as the printer names it ("YMCKO")
}

// infFields is the number of fields an INF reply carries.
const infFields = 21

// maxReply bounds a reply: a printer that sends more without ETX is broken.
const maxReply = 4096

// ParseINF parses an INF reply (with its SOH and ETX). It never panics on
// malformed input; errors wrap printer.ErrProtocol.
func ParseINF(b []byte) (Inf, error) {
	var inf Inf
	body, err := unframe(b)
	if err != nil {
		return inf, fmt.Errorf("magicard: INF reply: %w", err)
	}
	const tag = "STA$$"
	if !bytes.HasPrefix(body, []byte(tag)) {
		return inf, fmt.Errorf("magicard: INF reply %q: missing %s: %w", clip(b), tag, printer.ErrProtocol)
	}
	body = body[len(tag):]
	// Empty fields are significant (an empty film UID), so split by hand.
	f := splitAny(string(body), ",:")
	if len(f) != infFields {
		return inf, fmt.Errorf("magicard: INF reply %q: %d fields, want %d: %w", clip(b), len(f), infFields, printer.ErrProtocol)
	}
	p := fieldParser{fields: f}
	inf.ModelFlags = p.int(0, "model flags")
	inf.Model = p.str(1)
	inf.Serial = p.str(2)
	inf.HeadSerial = p.str(3)
	inf.Firmware = p.str(4)
	inf.HandFeed = p.int(5, "hand feed") != 0
	inf.TotalCards = p.int(6, "total cards")
	inf.CardsOnHead = p.int(7, "cards on head")
	inf.DyePanels = p.int(8, "dye panels")
	inf.Cleans = p.int(9, "cleans")
	inf.CardsSinceClean = p.int(10, "cards since clean")
	inf.CleanInterval = p.int(11, "clean interval")
	inf.HeadPosition = p.int(12, "head position")
	inf.ImageStart = p.int(13, "image start")
	inf.ImageEnd = p.int(14, "image end")
	inf.Major = Major(p.int(15, "major error"))
	inf.Minor = p.int(16, "minor error")
	inf.FilmUID = p.str(17)
	inf.FilmShots = p.int(18, "film shots")
	inf.FilmUsed = p.int(19, "film used")
	inf.FilmName = p.str(20)
	if p.err != nil {
		return Inf{}, fmt.Errorf("magicard: INF reply %q: %w", clip(b), p.err)
	}
	return inf, nil
}

// AppendINF appends the INF reply for inf, as a printer sends it.
func AppendINF(dst []byte, inf Inf) []byte {
	hf := 0
	if inf.HandFeed {
		hf = 1
	}
	dst = append(dst, SOH)
	dst = append(dst, "STA$$"...)
	dst = fmt.Appendf(dst, "%d,%s,%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%s,%d,%d,%s,",
		inf.ModelFlags, inf.Model, inf.Serial, inf.HeadSerial, inf.Firmware, hf,
		inf.TotalCards, inf.CardsOnHead, inf.DyePanels, inf.Cleans, inf.CardsSinceClean,
		inf.CleanInterval, inf.HeadPosition, inf.ImageStart, inf.ImageEnd,
		int(inf.Major), inf.Minor, inf.FilmUID, inf.FilmShots, inf.FilmUsed, inf.FilmName)
	return append(dst, ETX)
}

// RibbonLowAt is the number of prints left on the film at or below which
// Status reports printer.ReasonRibbonLow.
const RibbonLowAt = 10

// Status converts the INF reply to the shared Status. raw is kept verbatim.
func (inf Inf) Status(raw string, at time.Time) printer.Status {
	st := printer.Status{State: printer.StateIdle, Raw: raw, At: at}
	if inf.Major != MajorNone {
		r, ok := inf.Major.Reason()
		if !ok {
			r = printer.ReasonMechanical
		}
		st.Reasons = append(st.Reasons, r)
	}
	left := -1
	if inf.FilmShots > 0 {
		left = max(inf.FilmShots-inf.FilmUsed, 0)
		if left <= RibbonLowAt && inf.Major != MajorRibbonOut {
			st.Reasons = append(st.Reasons, printer.ReasonRibbonLow)
		}
	}
	if inf.CleanInterval > 0 && inf.CardsSinceClean >= inf.CleanInterval && inf.Major != MajorCleaning {
		st.Reasons = append(st.Reasons, printer.ReasonNeedsCleaning)
	}
	capacity := -1
	if inf.FilmShots > 0 {
		capacity = inf.FilmShots
	}
	st.Consumables = printer.Consumables{
		RibbonLeft:     left,
		RibbonCapacity: capacity,
		CardsPrinted:   inf.TotalCards,
		PanelsPrinted:  inf.DyePanels,
		FeederLoaded:   -1,
	}
	if st.Blocked() {
		st.State = printer.StateError
	}
	return st
}

// ParseSTA parses the reply to "REQ,STA,<key>," and returns its value. The
// reply is SOH, "STA," the three-letter key, the value, ',' and ETX.
func ParseSTA(b []byte, key string) (string, error) {
	body, err := unframe(b)
	if err != nil {
		return "", fmt.Errorf("magicard: STA %s reply: %w", key, err)
	}
	prefix := "STA," + key
	if !bytes.HasPrefix(body, []byte(prefix)) {
		return "", fmt.Errorf("magicard: STA %s reply %q: does not echo %q: %w", key, clip(b), prefix, printer.ErrProtocol)
	}
	v := string(body[len(prefix):])
	if strings.ContainsAny(v, ",\x01\x03\x1c") {
		return "", fmt.Errorf("magicard: STA %s reply %q: separator inside value: %w", key, clip(b), printer.ErrProtocol)
	}
	return v, nil
}

// AppendSTA appends the reply to a STA query for key with value v.
func AppendSTA(dst []byte, key, v string) []byte {
	dst = append(dst, SOH)
	dst = append(dst, "STA,"...)
	dst = append(dst, key...)
	dst = append(dst, v...)
	return append(dst, ',', ETX)
}

// unframe checks SOH … ',' ETX and returns what lies between (without the
// final comma).
func unframe(b []byte) ([]byte, error) {
	if len(b) > maxReply {
		return nil, fmt.Errorf("%d bytes, more than %d: %w", len(b), maxReply, printer.ErrProtocol)
	}
	if len(b) < 3 || b[0] != SOH || b[len(b)-1] != ETX || b[len(b)-2] != ',' {
		return nil, fmt.Errorf("%q: not framed SOH … ',' ETX: %w", clip(b), printer.ErrProtocol)
	}
	body := b[1 : len(b)-2]
	if bytes.IndexByte(body, SOH) >= 0 || bytes.IndexByte(body, ETX) >= 0 {
		return nil, fmt.Errorf("%q: stray SOH or ETX inside: %w", clip(b), printer.ErrProtocol)
	}
	return body, nil
}

func splitAny(s, seps string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(seps, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// clip shortens a reply for an error message.
func clip(b []byte) []byte {
	if len(b) > 96 {
		return b[:96]
	}
	return b
}

type fieldParser struct {
	fields []string
	err    error
}

func (p *fieldParser) str(i int) string { return p.fields[i] }

func (p *fieldParser) int(i int, name string) int {
	v, err := strconv.Atoi(p.fields[i])
	if err != nil || v < 0 {
		if p.err == nil {
			p.err = fmt.Errorf("field %d (%s) %q: not a count: %w", i, name, p.fields[i], printer.ErrProtocol)
		}
		return 0
	}
	return v
}
