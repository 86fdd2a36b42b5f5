package audit

import "github.com/cardd/cardd/internal/fastjson"

// Opening a log decodes every record, and encoding/json's reflection is
// most of that time. fastDecode reads a record line as Append writes it
// (compact JSON, the known keys, plain strings) without reflection;
// anything else — whitespace, an escape in a string, an unknown or
// repeated key in another case, a null, a number that is not a plain
// integer — makes it give up, and decodeRecord falls back to encoding/json
// with unknown fields refused, so the record (or the error) is always what
// that decoder gives (FuzzFastDecode checks it). The chain, the record
// checks and the tree are verified on the result either way.

// decodeRecord decodes one line into rec as read does: a JSON object with
// only Record's fields and nothing after it.
func decodeRecord(b []byte, rec *Record) error {
	if fastDecode(b, rec) {
		return nil
	}
	*rec = Record{}
	return decodeRecordJSON(b, rec)
}

// fastDecode decodes one record's JSON into r. It reports false when the
// input is anything but the simple form; r is then undefined.
func fastDecode(js []byte, r *Record) bool {
	d := fastjson.NewDecoder(js)
	return d.Object(func(key []byte) bool { return field(&d, key, r) }) && d.End()
}

// field decodes the value of one key of a Record.
func field(d *fastjson.Decoder, key []byte, r *Record) bool {
	var ok bool
	switch string(key) {
	case "seq":
		r.Seq, ok = d.Uint()
	case "time":
		r.Time, ok = d.Time()
	case "at":
		r.At, ok = d.Time()
	case "event":
		var s string
		s, ok = d.Str()
		r.Event = Event(s)
	case "serial":
		r.Serial, ok = d.Str()
	case "replaces":
		r.Replaces, ok = d.Str()
	case "job":
		r.Job, ok = d.Str()
	case "job_num":
		r.JobNum, ok = d.Uint()
	case "template":
		r.Template, ok = d.Str()
	case "printer":
		r.Printer, ok = d.Str()
	case "payload_sha256":
		r.PayloadHash, ok = d.Str()
	case "input_sha256":
		r.InputHash, ok = d.Str()
	case "operator":
		r.Operator, ok = d.Str()
	case "action":
		r.Action, ok = d.Str()
	case "reason":
		r.Reason, ok = d.Str()
	case "prev":
		r.Prev, ok = d.Str()
	}
	return ok
}
