package fastjson

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// sample is a record of every kind of value a Decoder reads.
type sample struct {
	S  string    `json:"s"`
	U  uint64    `json:"u"`
	I  int       `json:"i"`
	B  bool      `json:"b"`
	T  time.Time `json:"t"`
	L  []string  `json:"l"`
	In *inner    `json:"in"`
}

type inner struct {
	K string `json:"k"`
}

// decode reads a sample with a Decoder, as the journal and the audit log
// read their records.
func decode(js []byte) (sample, bool) {
	var s sample
	d := NewDecoder(js)
	ok := d.Object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "s":
			s.S, ok = d.Str()
		case "u":
			s.U, ok = d.Uint()
		case "i":
			s.I, ok = d.Int()
		case "b":
			s.B, ok = d.Bool()
		case "t":
			s.T, ok = d.Time()
		case "l":
			s.L, ok = d.Strings()
		case "in":
			s.In = &inner{}
			ok = d.Object(func(k []byte) bool {
				if string(k) != "k" {
					return false
				}
				var ok bool
				s.In.K, ok = d.Str()
				return ok
			})
		}
		return ok
	}) && d.End()
	return s, ok
}

func TestDecoderMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 3, 13, 4, 5, 600, time.UTC)
	want := sample{S: "Ærø 1", U: 1 << 40, I: -7, B: true, T: at, L: []string{"a", ""}, In: &inner{K: "v"}}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decode(js)
	if !ok {
		t.Fatalf("decode(%s) gave up", js)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode(%s) = %+v, want %+v", js, got, want)
	}
	if got, ok := decode([]byte(`{"l":[]}`)); !ok || got.L == nil || len(got.L) != 0 {
		t.Fatalf(`an empty array: got %#v, %v; want an empty non-nil slice as encoding/json gives`, got.L, ok)
	}
}

// TestDecoderGivesUp lists the forms a Decoder leaves to encoding/json.
func TestDecoderGivesUp(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"s":"a"`, `{"s":"a"}x`, `{ "s":"a"}`, `{"s":"a\"b"}`, `{"s":"a` + "\x01" + `"}`,
		`{"s":"` + "\xff" + `"}`, `{"s":null}`, `{"u":-1}`, `{"u":01}`, `{"u":1.5}`, `{"u":1e3}`,
		`{"u":18446744073709551616}`, `{"i":-4611686018427387905}`, `{"b":tru}`, `{"t":"yesterday"}`,
		`{"l":["a",1]}`, `{"l":["a"}`, `{"in":{"x":"y"}}`, `{"other":1}`, `{"s":"a",}`,
	} {
		if got, ok := decode([]byte(in)); ok {
			t.Errorf("decode(%q) = %+v, want it to give up", in, got)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte(`{"s":"x","u":3,"i":-2,"b":false,"t":"2026-12-03T13:04:05Z","l":["a"],"in":{"k":"v"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		got, ok := decode(js)
		if !ok {
			return
		}
		// What the decoder accepts, encoding/json reads the same way.
		var want sample
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatalf("decode(%q) accepted what encoding/json refuses: %v", js, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %+v, encoding/json gives %+v", js, got, want)
		}
	})
}
