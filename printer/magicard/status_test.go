package magicard

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
)

func sampleInf() Inf {
	return Inf{
		ModelFlags: ModelDuplex | ModelMagnetic, Model: "Rio Pro 360", Serial: "SN1", HeadSerial: "HS1",
		Firmware: "1.2", TotalCards: 42, CardsOnHead: 40, DyePanels: 210, Cleans: 1, CardsSinceClean: 12,
		CleanInterval: 700, HeadPosition: 12, ImageStart: 50, ImageEnd: 50, FilmUID: "UID",
		FilmShots: 300, FilmUsed: 100, FilmName: "YMCKO",
	}
}

func TestINFRoundTrip(t *testing.T) {
	t.Parallel()
	want := sampleInf()
	raw := AppendINF(nil, want)
	got, err := ParseINF(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ParseINF(AppendINF(x)) = %+v, want %+v", got, want)
	}
	if raw[0] != SOH || raw[len(raw)-1] != ETX || !strings.HasPrefix(string(raw[1:]), "STA$$") {
		t.Errorf("INF reply framing %q", raw)
	}
}

func TestParseINFErrors(t *testing.T) {
	t.Parallel()
	good := string(AppendINF(nil, sampleInf()))
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"no SOH", good[1:]},
		{"no ETX", good[:len(good)-1]},
		{"no final comma", good[:len(good)-2] + "\x03"},
		{"wrong tag", strings.Replace(good, "STA$$", "STA##", 1)},
		{"too few fields", "\x01STA$$1,2,3,\x03"},
		{"too many fields", good[:len(good)-2] + ",x,\x03"},
		{"letters in a count", strings.Replace(good, ",42,", ",4x,", 1)},
		{"negative count", strings.Replace(good, ",42,", ",-42,", 1)},
		{"stray ETX", strings.Replace(good, "Rio", "R\x03o", 1)},
		{"huge", "\x01STA$$" + strings.Repeat("9", 5000) + ",\x03"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseINF([]byte(tc.in)); !errors.Is(err, printer.ErrProtocol) {
				t.Errorf("ParseINF(%q) error %v, want ErrProtocol", tc.in, err)
			}
		})
	}
}

func TestInfStatus(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		mutate  func(*Inf)
		state   printer.State
		reasons []printer.Reason
		is      error
	}{
		{"ok", func(*Inf) {}, printer.StateIdle, nil, nil},
		{"cover", func(i *Inf) { i.Major = MajorCoverOpen }, printer.StateError, []printer.Reason{printer.ReasonCoverOpen}, printer.ErrCoverOpen},
		{"ribbon out", func(i *Inf) { i.Major = MajorRibbonOut; i.FilmUsed = 300 }, printer.StateError, []printer.Reason{printer.ReasonRibbonOut}, printer.ErrRibbonOut},
		{"no ribbon", func(i *Inf) { i.Major = MajorNoRibbon }, printer.StateError, []printer.Reason{printer.ReasonNoRibbon}, printer.ErrNoRibbon},
		{"wrong ribbon", func(i *Inf) { i.Major = MajorWrongRibbon }, printer.StateError, []printer.Reason{printer.ReasonUnsupportedRibbon}, printer.ErrUnsupportedRibbon},
		{"no card", func(i *Inf) { i.Major = MajorNoCard }, printer.StateError, []printer.Reason{printer.ReasonFeederEmpty}, printer.ErrFeederEmpty},
		{"jam", func(i *Inf) { i.Major = MajorCardJam }, printer.StateError, []printer.Reason{printer.ReasonCardJam}, printer.ErrCardJam},
		{"hopper", func(i *Inf) { i.Major = MajorHopperFull }, printer.StateError, []printer.Reason{printer.ReasonHopperFull}, printer.ErrHopperFull},
		{"reject", func(i *Inf) { i.Major = MajorRejectFull }, printer.StateError, []printer.Reason{printer.ReasonRejectFull}, printer.ErrRejectFull},
		{"mechanical", func(i *Inf) { i.Major = MajorMechanical }, printer.StateError, []printer.Reason{printer.ReasonMechanical}, printer.ErrMechanical},
		{"magnetic", func(i *Inf) { i.Major = MajorMagnetic }, printer.StateError, []printer.Reason{printer.ReasonMagError}, printer.ErrMagnetic},
		{"offline", func(i *Inf) { i.Major = MajorOffline }, printer.StateError, []printer.Reason{printer.ReasonOffline}, printer.ErrOffline},
		{"unknown code", func(i *Inf) { i.Major = 99 }, printer.StateError, []printer.Reason{printer.ReasonMechanical}, printer.ErrMechanical},
		{"cleaning code", func(i *Inf) { i.Major = MajorCleaning }, printer.StateIdle, []printer.Reason{printer.ReasonNeedsCleaning}, nil},
		{"cleaning due", func(i *Inf) { i.CardsSinceClean = 700 }, printer.StateIdle, []printer.Reason{printer.ReasonNeedsCleaning}, nil},
		{"ribbon low", func(i *Inf) { i.FilmUsed = 295 }, printer.StateIdle, []printer.Reason{printer.ReasonRibbonLow}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inf := sampleInf()
			tc.mutate(&inf)
			st := inf.Status("raw", at)
			if st.State != tc.state || !slices.Equal(st.Reasons, tc.reasons) {
				t.Errorf("Status = %s %v, want %s %v", st.State, st.Reasons, tc.state, tc.reasons)
			}
			err := st.Err()
			if (err == nil) != (tc.is == nil) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("Err() = %v, want %v", err, tc.is)
			}
			if st.Raw != "raw" || !st.At.Equal(at) {
				t.Errorf("raw %q at %v", st.Raw, st.At)
			}
		})
	}
	st := sampleInf().Status("", at)
	if c := st.Consumables; c.RibbonLeft != 200 || c.RibbonCapacity != 300 || c.CardsPrinted != 42 || c.PanelsPrinted != 210 || c.FeederLoaded != -1 {
		t.Errorf("consumables %+v", c)
	}
}

func TestMajorFor(t *testing.T) {
	t.Parallel()
	for m := MajorNone + 1; m <= maxKnownMajorValue; m++ {
		r, ok := m.Reason()
		if !ok {
			t.Fatalf("major %d has no reason", m)
		}
		if m == MajorCommand {
			continue
		}
		if got := MajorFor(r); got != m {
			t.Errorf("MajorFor(%s) = %d, want %d", r, got, m)
		}
	}
	if MajorFor(printer.ReasonRibbonLow) != MajorNone {
		t.Error("ribbon low has a major code")
	}
}

func TestParseSTA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, key, want string
		ok            bool
	}{
		{"\x01STA,MSR12345,\x03", "MSR", "12345", true},
		{string(AppendSTA(nil, "VRS", "1.2.3")), "VRS", "1.2.3", true},
		{"\x01STA,TCQ,\x03", "TCQ", "", true},
		{"\x01STA,MSR12345,\x03", "VRS", "", false},
		{"\x01STA,MSR1,2,\x03", "MSR", "", false},
		{"STA,MSR1,\x03", "MSR", "", false},
		{"\x01STA,MSR1\x03", "MSR", "", false},
		{"\x01ERR,\x03", "MSR", "", false},
	}
	for _, tc := range tests {
		got, err := ParseSTA([]byte(tc.in), tc.key)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSTA(%q, %s) = %q, %v; want %q ok=%v", tc.in, tc.key, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, printer.ErrProtocol) {
			t.Errorf("ParseSTA(%q) error %v is not ErrProtocol", tc.in, err)
		}
	}
}

func FuzzParseINF(f *testing.F) {
	f.Add(AppendINF(nil, sampleInf()))
	f.Add(AppendINF(nil, Inf{}))
	f.Add([]byte("\x01STA$$,\x03"))
	f.Add([]byte("\x01STA$$1:2:3,\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		inf, err := ParseINF(b)
		if err != nil {
			if !errors.Is(err, printer.ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		st := inf.Status(string(b), time.Time{})
		if st.Blocked() != (st.State == printer.StateError) {
			t.Fatalf("state %s with reasons %v", st.State, st.Reasons)
		}
		// What parses must survive a round trip when its strings hold no
		// separators (AppendINF writes fields verbatim).
		if !strings.ContainsAny(inf.Model+inf.Serial+inf.HeadSerial+inf.Firmware+inf.FilmUID+inf.FilmName, ",:") {
			again, err := ParseINF(AppendINF(nil, inf))
			if err != nil || again != inf {
				t.Fatalf("round trip: %+v, %v; want %+v", again, err, inf)
			}
		}
	})
}

func FuzzParseSTA(f *testing.F) {
	f.Add([]byte("\x01STA,MSR12345,\x03"), "MSR")
	f.Add([]byte("\x01STA,TCQ,\x03"), "TCQ")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		v, err := ParseSTA(b, key)
		if err != nil {
			if !errors.Is(err, printer.ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if strings.ContainsAny(v, ",\x01\x03\x1c") {
			t.Fatalf("value %q holds a separator", v)
		}
		if again, err := ParseSTA(AppendSTA(nil, key, v), key); err != nil || again != v {
			t.Fatalf("round trip %q: %q, %v", v, again, err)
		}
	})
}
