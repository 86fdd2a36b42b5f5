package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fastSamples are records of every event with every field the log writes.
func fastSamples() []Record {
	t := time.Date(2026, 12, 3, 4, 5, 6, 789000, time.UTC)
	h := strings.Repeat("ab", 32)
	return []Record{
		{Seq: 1, Time: t, Event: EventIssued, Serial: "DEMO-DEMO-0000001-X", Job: "CASE-1", Template: "temporary", Printer: "evo1", PayloadHash: h, Prev: GenesisHash},
		{Seq: 2, Time: t, At: t.Add(-time.Second), Event: EventPrinted, Serial: "DEMO-DEMO-0000001-X", Job: "CASE-1", JobNum: 7, Template: "temporary", Printer: "evo1", Prev: h},
		{Seq: 3, Time: t, Event: EventSpoiled, Printer: "evo1", Reason: "stray card rejected — Ünïcode", Prev: h},
		{Seq: 4, Time: t, Event: EventReprinted, Serial: "S-2", Replaces: "S-1", Job: "J", Reason: "damaged", Prev: h},
		{Seq: 5, Time: t, Event: EventOperator, Operator: "ann", Action: "confirm", Serial: "S-2", InputHash: h, Prev: h},
		{Seq: 6, Time: t, Event: EventVoided, Serial: "S-3", Reason: "lost", Prev: h},
		{Seq: 7, Time: t, Event: EventOutcomeUnknown, Serial: "S-4", Job: "J-4", Printer: "p", Reason: "crash", Prev: h},
	}
}

// TestFastDecodeSamples: the records Append writes take the fast path and
// decode to what they were.
func TestFastDecodeSamples(t *testing.T) {
	for _, r := range fastSamples() {
		js, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if !fastDecode(js, &got) {
			t.Fatalf("fast path refused %s", js)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("%s:\n got  %+v\n want %+v", js, got, r)
		}
	}
}

// TestFastDecodeKnowsEveryField: a field added to Record must be added to
// fastDecode too, or every record carrying it would take the slow path.
func TestFastDecodeKnowsEveryField(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		var r Record
		v := reflect.ValueOf(&r).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Uint64:
			v.SetUint(1)
		case reflect.Struct: // time.Time
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		default:
			t.Fatalf("field %s: kind %s not handled by this test", f.Name, v.Kind())
		}
		js, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if !fastDecode(js, &got) || !reflect.DeepEqual(got, r) {
			t.Errorf("field %s: fast path refused or lost %s (%+v)", f.Name, js, got)
		}
	}
}

// FuzzFastDecode: whenever the fast decoder accepts input, encoding/json
// (as the log reads it: unknown fields refused, nothing after the record)
// accepts it too and gives the same record; and decodeRecord gives what
// encoding/json gives, record and error alike.
func FuzzFastDecode(f *testing.F) {
	for _, r := range fastSamples() {
		js, _ := json.Marshal(&r)
		f.Add(js)
	}
	f.Add([]byte(`{"seq":01}`))
	f.Add([]byte(`{"Seq":1,"event":"voided"}`))
	f.Add([]byte(`{"seq":1,"serial":null}`))
	f.Add([]byte(`{"seq":1,"serial":"a","serial":"b"}`))
	f.Add([]byte(`{"seq":1,"time":"2026-12-03T04:05:06+01:00"}`))
	f.Add([]byte(`{"seq":1,"extra":2}`))
	f.Add([]byte(`{"seq":1} {}`))
	f.Add([]byte(`{"seq":1.0}`))
	f.Add([]byte(`{"seq":18446744073709551616}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		var ref Record
		refErr := decodeRecordJSON(js, &ref)
		var fast Record
		if fastDecode(js, &fast) {
			if refErr != nil {
				t.Fatalf("fast path accepted %q, encoding/json: %v", js, refErr)
			}
			if !reflect.DeepEqual(fast, ref) {
				t.Fatalf("%q:\n fast %+v\n json %+v", js, fast, ref)
			}
		}
		var got Record
		err := decodeRecord(js, &got)
		if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
			t.Fatalf("%q: decodeRecord error %v, encoding/json %v", js, err, refErr)
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("%q:\n decodeRecord %+v\n json %+v", js, got, ref)
		}
	})
}
