package ipp

import (
	"strings"

	"github.com/OpenPrinting/goipp"
)

// IPP enum values the driver reads (RFC 8011).
const (
	printerIdle       = 3
	printerProcessing = 4
	printerStopped    = 5

	jobPending           = 3
	jobPendingHeld       = 4
	jobProcessing        = 5
	jobProcessingStopped = 6
	jobCanceled          = 7
	jobAborted           = 8
	jobCompleted         = 9
)

// mediaSize is a media size in hundredths of a millimetre, as IPP gives it.
type mediaSize struct{ x, y int }

// printerAttrs is what the driver reads of a printer's attributes. Values
// the printer did not send stay zero.
type printerAttrs struct {
	name         string
	makeModel    string
	info         string
	deviceID     string
	firmware     string
	serial       string
	uuid         string
	state        int
	reasons      []string
	message      string
	accepting    bool
	hasAccepting bool
	formats      []string
	resolutions  []int // dpi, cross-feed = feed resolutions only
	resDefault   int
	sides        []string
	color        bool
	mediaSizes   []mediaSize
	mediaDefault mediaSize
	mediaNames   []string // media-supported keywords
	createAttrs  []string // job-creation-attributes-supported
	markerNames  []string
	markerLevels []int
	markerTypes  []string
	uri          string // printer-uri-supported (first)
	queued       int
}

// jobAttrs is what the driver reads of a job's attributes.
type jobAttrs struct {
	id           int
	state        int
	reasons      []string
	message      string
	atProcessing bool // the job reached the printer (time-at-processing set)
	impressions  int
}

// find returns the attribute named name, or nil.
func find(attrs goipp.Attributes, name string) *goipp.Attribute {
	for i := range attrs {
		if attrs[i].Name == name {
			return &attrs[i]
		}
	}
	return nil
}

// strings returns every value of name that is a string.
func stringsOf(attrs goipp.Attributes, name string) []string {
	a := find(attrs, name)
	if a == nil {
		return nil
	}
	var out []string
	for _, v := range a.Values {
		switch s := v.V.(type) {
		case goipp.String:
			out = append(out, string(s))
		case goipp.TextWithLang:
			out = append(out, s.Text)
		}
	}
	return out
}

// firstString returns the first string value of name, or "".
func firstString(attrs goipp.Attributes, name string) string {
	if s := stringsOf(attrs, name); len(s) > 0 {
		return s[0]
	}
	return ""
}

// intsOf returns every integer or enum value of name.
func intsOf(attrs goipp.Attributes, name string) []int {
	a := find(attrs, name)
	if a == nil {
		return nil
	}
	var out []int
	for _, v := range a.Values {
		if n, ok := v.V.(goipp.Integer); ok {
			out = append(out, int(n))
		}
	}
	return out
}

// firstInt returns the first integer value of name and whether there was one.
func firstInt(attrs goipp.Attributes, name string) (int, bool) {
	if n := intsOf(attrs, name); len(n) > 0 {
		return n[0], true
	}
	return 0, false
}

// firstBool returns the first boolean value of name and whether there was one.
func firstBool(attrs goipp.Attributes, name string) (bool, bool) {
	a := find(attrs, name)
	if a == nil {
		return false, false
	}
	for _, v := range a.Values {
		if b, ok := v.V.(goipp.Boolean); ok {
			return bool(b), true
		}
	}
	return false, false
}

// dpiOf converts a resolution to dots per inch; 0 when it is not square
// or not in a known unit.
func dpiOf(r goipp.Resolution) int {
	if r.Xres != r.Yres || r.Xres <= 0 {
		return 0
	}
	switch r.Units {
	case goipp.UnitsDpi:
		return r.Xres
	case goipp.UnitsDpcm:
		return int(float64(r.Xres)*2.54 + 0.5)
	}
	return 0
}

// resolutionsOf returns the square resolutions of name in dpi.
func resolutionsOf(attrs goipp.Attributes, name string) []int {
	a := find(attrs, name)
	if a == nil {
		return nil
	}
	var out []int
	for _, v := range a.Values {
		if r, ok := v.V.(goipp.Resolution); ok {
			if d := dpiOf(r); d > 0 {
				out = append(out, d)
			}
		}
	}
	return out
}

// sizeOf reads a media-size collection (x-dimension, y-dimension). Ranges
// (custom sizes) are not fixed sizes and are skipped.
func sizeOf(c goipp.Collection) (mediaSize, bool) {
	x, okx := firstInt(goipp.Attributes(c), "x-dimension")
	y, oky := firstInt(goipp.Attributes(c), "y-dimension")
	if !okx || !oky || x <= 0 || y <= 0 {
		return mediaSize{}, false
	}
	return mediaSize{x, y}, true
}

// parsePrinter reads the printer attributes of a Get-Printer-Attributes
// response (or one printer group of CUPS-Get-Printers).
func parsePrinter(attrs goipp.Attributes) printerAttrs {
	var p printerAttrs
	p.name = firstString(attrs, "printer-name")
	p.makeModel = firstString(attrs, "printer-make-and-model")
	p.info = firstString(attrs, "printer-info")
	p.deviceID = firstString(attrs, "printer-device-id")
	p.firmware = firstString(attrs, "printer-firmware-string-version")
	p.serial = firstString(attrs, "printer-serial-number")
	p.uuid = firstString(attrs, "printer-uuid")
	p.uri = firstString(attrs, "printer-uri-supported")
	p.state, _ = firstInt(attrs, "printer-state")
	p.reasons = stringsOf(attrs, "printer-state-reasons")
	p.message = firstString(attrs, "printer-state-message")
	p.accepting, p.hasAccepting = firstBool(attrs, "printer-is-accepting-jobs")
	p.formats = stringsOf(attrs, "document-format-supported")
	p.resolutions = resolutionsOf(attrs, "printer-resolution-supported")
	if r := resolutionsOf(attrs, "printer-resolution-default"); len(r) > 0 {
		p.resDefault = r[0]
	}
	p.sides = stringsOf(attrs, "sides-supported")
	p.color, _ = firstBool(attrs, "color-supported")
	if a := find(attrs, "media-size-supported"); a != nil {
		for _, v := range a.Values {
			if c, ok := v.V.(goipp.Collection); ok {
				if s, ok := sizeOf(c); ok {
					p.mediaSizes = append(p.mediaSizes, s)
				}
			}
		}
	}
	if a := find(attrs, "media-col-default"); a != nil && len(a.Values) > 0 {
		if c, ok := a.Values[0].V.(goipp.Collection); ok {
			if ms := find(goipp.Attributes(c), "media-size"); ms != nil && len(ms.Values) > 0 {
				if sc, ok := ms.Values[0].V.(goipp.Collection); ok {
					p.mediaDefault, _ = sizeOf(sc)
				}
			}
		}
	}
	p.mediaNames = stringsOf(attrs, "media-supported")
	p.createAttrs = stringsOf(attrs, "job-creation-attributes-supported")
	p.markerNames = stringsOf(attrs, "marker-names")
	p.markerLevels = intsOf(attrs, "marker-levels")
	p.markerTypes = stringsOf(attrs, "marker-types")
	p.queued, _ = firstInt(attrs, "queued-job-count")
	return p
}

// parseJob reads the job attributes of a Print-Job or Get-Job-Attributes
// response.
func parseJob(attrs goipp.Attributes) jobAttrs {
	var j jobAttrs
	j.id, _ = firstInt(attrs, "job-id")
	j.state, _ = firstInt(attrs, "job-state")
	j.reasons = stringsOf(attrs, "job-state-reasons")
	j.message = firstString(attrs, "job-printer-state-message")
	if j.message == "" {
		j.message = firstString(attrs, "job-state-message")
	}
	// time-at-processing is an integer once the job started processing
	// and no-value (goipp.Void) before.
	if t, ok := firstInt(attrs, "time-at-processing"); ok && t > 0 {
		j.atProcessing = true
	}
	j.impressions, _ = firstInt(attrs, "job-impressions-completed")
	return j
}

// has reports whether list holds s.
func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// twoSided returns the sides value for a card with a back: the first
// two-sided value the printer supports, preferring short-edge (a card's
// back is seen turning the card over its short edge, see jobPlan), or "".
func twoSided(sides []string) string {
	for _, s := range []string{"two-sided-short-edge", "two-sided-long-edge"} {
		if has(sides, s) {
			return s
		}
	}
	return ""
}

// stateName names a printer-state enum.
func stateName(s int) string {
	switch s {
	case printerIdle:
		return "idle"
	case printerProcessing:
		return "processing"
	case printerStopped:
		return "stopped"
	}
	return "unknown"
}

// jobStateName names a job-state enum.
func jobStateName(s int) string {
	switch s {
	case jobPending:
		return "pending"
	case jobPendingHeld:
		return "pending-held"
	case jobProcessing:
		return "processing"
	case jobProcessingStopped:
		return "processing-stopped"
	case jobCanceled:
		return "canceled"
	case jobAborted:
		return "aborted"
	case jobCompleted:
		return "completed"
	}
	return "unknown"
}

// joinOrNone joins reasons for messages.
func joinOrNone(r []string) string {
	if len(r) == 0 {
		return "none"
	}
	return strings.Join(r, ", ")
}
