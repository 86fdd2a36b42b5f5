package spool

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
)

// fastSamples are records of every shape the scheduler writes.
func fastSamples() []Record {
	t0 := time.Date(2026, 12, 3, 4, 5, 6, 789, time.UTC)
	ev := &printer.Evidence{Serial: "EVO-1", Fed: 41, Printed: -1, Rejected: -1, Panels: 205, Inside: printer.PresenceNone, At: t0}
	return []Record{
		{Seq: 1, Time: t0, Job: 1, ID: "CASE-1", State: StatePending, Source: "CASE-1-abc", Template: "temporary", Mode: "temporary", Hash: "9f86"},
		{Seq: 2, Time: t0, Job: 1, State: StateProcessing, Sub: SubComposing, Serial: "S-1", Printer: "p1", Attempt: 1, Audit: &PendingAudit{Kind: AuditIssued, Serial: "S-1"}},
		{Seq: 3, Time: t0, Job: 1, Ack: 2},
		{Seq: 4, Time: t0, Job: 1, State: StateProcessing, Sub: SubPrinting, Printer: "p1", Evidence: ev},
		{Seq: 5, Time: t0, Job: 1, State: StateHeld, Reason: "outcome unknown", Outcome: printer.OutcomeUnknown, Rejecting: RejectingCard, After: ev, Settled: "hold: ünïcode “quotes”"},
		{Seq: 6, Time: t0, Job: 1, State: StatePending, Void: true, Serial: "S-1", Stray: true, StraySerial: "S-0", NotBefore: t0.Add(time.Minute), Attempt: -1, Checked: true},
		{Seq: 7, Time: t0, Batch: "B1", BatchState: BatchClosed, Reason: "size"},
		{Seq: 8, Time: t0, Job: 9, Snapshot: true, Voided: []string{"S-2", "S-3"}, Created: t0, Purged: true, State: StateCompleted, ReprintOf: "CASE-0",
			Reason: "line\nbreak \"quoted\" \\ back\tslash \x01"},
		{Seq: 9, Time: t0, Job: 9, Voided: []string{}},
	}
}

func TestFastDecodeMatchesJSON(t *testing.T) {
	for _, want := range fastSamples() {
		line, err := encodeRecord(&want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeLine(line[:len(line)-1])
		if err != nil {
			t.Fatal(err)
		}
		var ref Record
		if err := json.Unmarshal(line[9:len(line)-1], &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ref) {
			t.Errorf("record %d:\n fast %+v\n json %+v", want.Seq, got, ref)
		}
	}
	// The fast path takes the usual records (no escapes).
	for _, r := range fastSamples()[:7] {
		js, _ := json.Marshal(&r)
		var got Record
		if !fastDecode(js, &got) {
			t.Errorf("fast path refused %s", js)
		}
	}
}

// FuzzFastDecode: whenever the fast decoder accepts input, encoding/json
// accepts it too and gives the same record.
func FuzzFastDecode(f *testing.F) {
	for _, r := range fastSamples() {
		js, _ := json.Marshal(&r)
		f.Add(js)
	}
	f.Add([]byte(`{"seq":01}`))
	f.Add([]byte(`{"seq":1,"evidence":{"fed":1},"evidence":{"panels":2}}`))
	f.Add([]byte(`{"Seq":1,"t":"2026-12-03T04:05:06Z"}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		var fast Record
		if !fastDecode(js, &fast) {
			return
		}
		var ref Record
		if err := json.Unmarshal(js, &ref); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", js, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%q:\n fast %+v\n json %+v", js, fast, ref)
		}
	})
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
		case reflect.Int:
			v.SetInt(1)
		case reflect.Uint64:
			v.SetUint(1)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Slice:
			v.Set(reflect.ValueOf([]string{"x"}))
		case reflect.Struct: // time.Time
			v.Set(reflect.ValueOf(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", f.Name, v.Kind())
		}
		js, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if !fastDecode(js, &got) {
			t.Errorf("field %s (%s): fastDecode does not know it", f.Name, js)
		}
	}
}
