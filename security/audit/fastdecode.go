package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

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
	d := fastDec{b: js}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.i == len(d.b)
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') || !d.field(key, r) {
			return false
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}') && d.i == len(d.b)
	}
}

type fastDec struct {
	b []byte
	i int
}

func (d *fastDec) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// raw reads a string without escapes or control characters, valid UTF-8,
// and returns its bytes (valid until d.b changes).
func (d *fastDec) raw() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
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
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return nil, false
}

func (d *fastDec) str() (string, bool) {
	s, ok := d.raw()
	return string(s), ok
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

func (d *fastDec) time() (time.Time, bool) {
	s, ok := d.raw()
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalText(s); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// field decodes the value of one key of a Record.
func (d *fastDec) field(key string, r *Record) bool {
	var ok bool
	switch key {
	case "seq":
		r.Seq, ok = d.uint()
	case "time":
		r.Time, ok = d.time()
	case "at":
		r.At, ok = d.time()
	case "event":
		var s string
		s, ok = d.str()
		r.Event = Event(s)
	case "serial":
		r.Serial, ok = d.str()
	case "replaces":
		r.Replaces, ok = d.str()
	case "job":
		r.Job, ok = d.str()
	case "job_num":
		r.JobNum, ok = d.uint()
	case "template":
		r.Template, ok = d.str()
	case "printer":
		r.Printer, ok = d.str()
	case "payload_sha256":
		r.PayloadHash, ok = d.str()
	case "input_sha256":
		r.InputHash, ok = d.str()
	case "operator":
		r.Operator, ok = d.str()
	case "action":
		r.Action, ok = d.str()
	case "reason":
		r.Reason, ok = d.str()
	case "prev":
		r.Prev, ok = d.str()
	}
	return ok
}
