package spool

import (
	"github.com/cardd/cardd/internal/fastjson"
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
	d := fastjson.NewDecoder(js)
	return d.Object(func(key []byte) bool { return field(&d, key, r) }) && d.End()
}

func evidence(d *fastjson.Decoder) (*printer.Evidence, bool) {
	e := &printer.Evidence{}
	ok := d.Object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "serial":
			e.Serial, ok = d.Str()
		case "fed":
			e.Fed, ok = d.Int()
		case "printed":
			e.Printed, ok = d.Int()
		case "rejected":
			e.Rejected, ok = d.Int()
		case "panels":
			e.Panels, ok = d.Int()
		case "inside":
			var s string
			s, ok = d.Str()
			e.Inside = printer.Presence(s)
		case "at":
			e.At, ok = d.Time()
		case "card_panels":
			e.CardPanels, ok = d.Int()
		}
		return ok
	})
	return e, ok
}

// field decodes the value of one key of a Record.
func field(d *fastjson.Decoder, key []byte, r *Record) bool {
	var ok bool
	str := func(dst *string) bool {
		*dst, ok = d.Str()
		return ok
	}
	switch string(key) {
	case "seq":
		r.Seq, ok = d.Uint()
	case "t":
		r.Time, ok = d.Time()
	case "job":
		r.Job, ok = d.Uint()
	case "id":
		return str(&r.ID)
	case "state":
		var s string
		s, ok = d.Str()
		r.State = State(s)
	case "sub":
		var s string
		s, ok = d.Str()
		r.Sub = Sub(s)
	case "serial":
		return str(&r.Serial)
	case "void":
		r.Void, ok = d.Bool()
	case "printer":
		return str(&r.Printer)
	case "outcome":
		var s string
		s, ok = d.Str()
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
		r.Attempt, ok = d.Int()
	case "not_before":
		r.NotBefore, ok = d.Time()
	case "purged":
		r.Purged, ok = d.Bool()
	case "batch":
		return str(&r.Batch)
	case "batch_state":
		var s string
		s, ok = d.Str()
		r.BatchState = BatchState(s)
	case "checked":
		r.Checked, ok = d.Bool()
	case "stray":
		r.Stray, ok = d.Bool()
	case "stray_serial":
		return str(&r.StraySerial)
	case "evidence":
		if r.Evidence != nil {
			return false // a repeated key merges in encoding/json
		}
		r.Evidence, ok = evidence(d)
	case "evidence_after":
		if r.After != nil {
			return false
		}
		r.After, ok = evidence(d)
	case "rejecting":
		return str(&r.Rejecting)
	case "settled":
		return str(&r.Settled)
	case "snapshot":
		r.Snapshot, ok = d.Bool()
	case "audit":
		if r.Audit != nil {
			return false
		}
		a := &PendingAudit{}
		ok = d.Object(func(k []byte) bool {
			switch string(k) {
			case "kind":
				s, ok := d.Str()
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
		r.Ack, ok = d.Uint()
	case "voided":
		r.Voided, ok = d.Strings()
	case "created":
		r.Created, ok = d.Time()
	}
	return ok
}
