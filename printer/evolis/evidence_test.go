package evolis_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// TestEvidence: the evidence before a card, after a link lost mid-card
// (cards-fed counter up by one, the card inside), and after the stray is
// rejected with its notice called first (nothing inside); the printer's
// serial throughout.
func TestEvidence(t *testing.T) {
	ctx := context.Background()
	g := printer.CR80(300)
	card := testCard(g, cardKind{duplex: true, color: true})
	s, err := evolis.Encode(card, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, dev := newRig(t, &emulator.Options{Faults: emulator.FaultPlan{DisconnectAtByte: int64(s.Commands[5].Start + 1000)}}, nil)
	before, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	serial := e.Machine().Identity().Serial
	if before.Serial != serial || before.Fed != e.State().CardsFed || before.Inside != printer.PresenceNone || before.Printed != -1 || before.Rejected != -1 {
		t.Fatalf("evidence before the card %+v (emulator serial %q, fed %d)", before, serial, e.State().CardsFed)
	}
	if _, err := dev.Print(ctx, card); !errors.Is(err, printer.ErrNoDevice) {
		t.Fatalf("print across the disconnect: %v", err)
	}
	e.Reconnect()
	dev2 := evolis.New(e.Transport(), nil, nil)
	mid, err := dev2.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Serial != serial || mid.Fed != before.Fed+1 || mid.Inside != printer.PresenceCard {
		t.Fatalf("evidence with the card inside %+v, before %+v", mid, before)
	}
	// A stray is rejected only after the notice; a refusing notice keeps
	// the card inside.
	refuse := printer.WithRejectNotice(ctx, func(context.Context, bool) error { return errors.New("journal full") })
	if _, err := dev2.Print(refuse, testCard(g, cardKind{color: true})); err == nil {
		t.Fatal("print with a stray inside and a refusing notice succeeded")
	}
	if st := e.State(); !st.CardInside || st.RejectCards != 0 {
		t.Fatalf("refused notice: emulator %+v, want the card still inside", st)
	}
	var notices []bool
	noticed := printer.WithRejectNotice(ctx, func(_ context.Context, stray bool) error {
		if e.State().RejectCards != 0 {
			t.Error("notice called after the reject")
		}
		notices = append(notices, stray)
		return nil
	})
	res, err := dev2.Print(noticed, testCard(g, cardKind{color: true}))
	if err != nil || !res.StrayRejected || len(notices) != 1 || !notices[0] {
		t.Fatalf("print after the notice: %v, stray %v, notices %v", err, res.StrayRejected, notices)
	}
	after, err := dev2.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Fed != before.Fed+2 || after.Inside != printer.PresenceNone || after.Panels <= before.Panels {
		t.Fatalf("evidence after %+v, before %+v", after, before)
	}
}

func TestParseEvidence(t *testing.T) {
	for _, tc := range []struct {
		replies []string
		inside  printer.Presence
		fed     int
		bad     bool
	}{
		{[]string{"E12345", "41", "205", "NO CARD"}, printer.PresenceNone, 41, false},
		{[]string{"E12345", "41", "205", "CARD"}, printer.PresenceCard, 41, false},
		{[]string{"E12345", "41", "205", "ERR CARD"}, printer.PresenceCard, 41, false},
		{[]string{"E12345", "41", "205", "ERROR CDE"}, printer.PresenceUnknown, 41, true},
		{[]string{"E12345", "x", "205", "OK"}, printer.PresenceNone, -1, true},
		{[]string{"E12345"}, printer.PresenceUnknown, -1, true},
	} {
		ev, err := evolis.ParseEvidence(tc.replies)
		if (err != nil) != tc.bad || ev.Inside != tc.inside || ev.Fed != tc.fed {
			t.Errorf("ParseEvidence(%q) = %+v, %v", tc.replies, ev, err)
		}
		if err != nil && !errors.Is(err, printer.ErrProtocol) {
			t.Errorf("ParseEvidence(%q): %v does not wrap ErrProtocol", tc.replies, err)
		}
	}
}

func FuzzParseEvidence(f *testing.F) {
	f.Add("E1", "41", "205", "NO CARD")
	f.Add("", "-1", "9999999999999", "ERR CARD")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		ev, err := evolis.ParseEvidence([]string{a, b, c, d})
		if err == nil && (ev.Fed < 0 || ev.Panels < 0 || ev.Inside == printer.PresenceUnknown || ev.Serial == "") {
			t.Fatalf("accepted incomplete evidence %+v", ev)
		}
	})
}
