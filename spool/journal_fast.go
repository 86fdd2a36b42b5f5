package spool

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cardd/cardd/printer"
)

// A restart replays the whole journal, and encoding/json's reflection is
// most of that time. fastDecode reads the records as encodeRecord writes
// them (compact JSON, the known keys, plain strings) without reflection;
// anything else — an escape in a string, an unknown key, a null, a number
// that is not a plain integer, a key in another case — makes it give up,
// and decodeLine falls back to encoding/json, so the result is always what
// json.Unmarshal gives (FuzzFastDecode checks that).

// fastDecode decodes one record's JSON into r. It reports false when the
// input is anything but the simple form; r is then undefined.
func fastDecode(js []byte, r *Record) bool {
	d := fastDec{b: js}
	if !d.byte('{') {
		return false
	}
	if d.peek('}') {
		d.i++
		return d.i == len(d.b)
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		if !d.field(key, r) {
			return false
		}
		if d.peek(',') {
			d.i++
			continue
		}
		if !d.byte('}') {
			return false
		}
		return d.i == len(d.b)
	}
}

type fastDec struct {
	b []byte
	i int
}

func (d *fastDec) peek(c byte) bool { return d.i < len(d.b) && d.b[d.i] == c }

func (d *fastDec) byte(c byte) bool {
	if d.peek(c) {
		d.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, valid UTF-8.
func (d *fastDec) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// uint reads a JSON integer without sign, fraction or exponent.
func (d *fastDec) uint() (uint64, bool) {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	digits := d.b[start:d.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	return n, err == nil
}

// int reads a JSON integer that fits a Go int.
func (d *fastDec) int() (int, bool) {
	neg := d.byte('-')
	u, ok := d.uint()
	if !ok || u > 1<<62 {
		return 0, false
	}
	if neg {
		return -int(u), true
	}
	return int(u), true
}

func (d *fastDec) bool() (bool, bool) {
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		d.i += 4
		return true, true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

func (d *fastDec) time() (time.Time, bool) {
	s, ok := d.str()
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// object reads an object whose values field decodes.
func (d *fastDec) object(field func(key string) bool) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') || !field(key) {
			return false
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}')
	}
}

func (d *fastDec) evidence() (*printer.Evidence, bool) {
	e := &printer.Evidence{}
	ok := d.object(func(key string) bool {
		var ok bool
		switch key {
		case "serial":
			e.Serial, ok = d.str()
		case "fed":
			e.Fed, ok = d.int()
		case "printed":
			e.Printed, ok = d.int()
		case "rejected":
			e.Rejected, ok = d.int()
		case "panels":
			e.Panels, ok = d.int()
		case "inside":
			var s string
			s, ok = d.str()
			e.Inside = printer.Presence(s)
		case "at":
			e.At, ok = d.time()
		case "card_panels":
			e.CardPanels, ok = d.int()
		}
		return ok
	})
	return e, ok
}

// field decodes the value of one key of a Record.
func (d *fastDec) field(key string, r *Record) bool {
	var ok bool
	str := func(dst *string) bool {
		*dst, ok = d.str()
		return ok
	}
	switch key {
	case "seq":
		r.Seq, ok = d.uint()
	case "t":
		r.Time, ok = d.time()
	case "job":
		r.Job, ok = d.uint()
	case "id":
		return str(&r.ID)
	case "state":
		var s string
		s, ok = d.str()
		r.State = State(s)
	case "sub":
		var s string
		s, ok = d.str()
		r.Sub = Sub(s)
	case "serial":
		return str(&r.Serial)
	case "void":
		r.Void, ok = d.bool()
	case "printer":
		return str(&r.Printer)
	case "outcome":
		var s string
		s, ok = d.str()
		r.Outcome = printer.Outcome(s)
	case "reason":
		return str(&r.Reason)
	case "source":
		return str(&r.Source)
	case "template":
		return str(&r.Template)
	case "mode":
		return str(&r.Mode)
	case "reprint_of":
		return str(&r.ReprintOf)
	case "hash":
		return str(&r.Hash)
	case "attempt":
		r.Attempt, ok = d.int()
	case "not_before":
		r.NotBefore, ok = d.time()
	case "purged":
		r.Purged, ok = d.bool()
	case "batch":
		return str(&r.Batch)
	case "batch_state":
		var s string
		s, ok = d.str()
		r.BatchState = BatchState(s)
	case "checked":
		r.Checked, ok = d.bool()
	case "stray":
		r.Stray, ok = d.bool()
	case "stray_serial":
		return str(&r.StraySerial)
	case "evidence":
		if r.Evidence != nil {
			return false // a repeated key merges in encoding/json
		}
		r.Evidence, ok = d.evidence()
	case "evidence_after":
		if r.After != nil {
			return false
		}
		r.After, ok = d.evidence()
	case "rejecting":
		return str(&r.Rejecting)
	case "settled":
		return str(&r.Settled)
	case "snapshot":
		r.Snapshot, ok = d.bool()
	case "audit":
		if r.Audit != nil {
			return false
		}
		a := &PendingAudit{}
		ok = d.object(func(k string) bool {
			switch k {
			case "kind":
				s, ok := d.str()
				a.Kind = AuditKind(s)
				return ok
			case "serial":
				return str(&a.Serial)
			case "note":
				return str(&a.Note)
			}
			return false
		})
		r.Audit = a
	case "ack":
		r.Ack, ok = d.uint()
	case "voided":
		if !d.byte('[') {
			return false
		}
		r.Voided = []string{}
		if d.byte(']') {
			return true
		}
		for {
			s, ok := d.str()
			if !ok {
				return false
			}
			r.Voided = append(r.Voided, s)
			if d.byte(',') {
				continue
			}
			return d.byte(']')
		}
	case "created":
		r.Created, ok = d.time()
	}
	return ok
}
