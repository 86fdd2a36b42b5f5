package magicard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/magicard"
	"github.com/cardd/cardd/printer/replay"
)

// conversation is what the replay test does with a printer: identify,
// print a duplex card with a stripe, read the status.
func conversation(t *testing.T, tr printer.Transport) {
	t.Helper()
	dev := magicard.New(tr, &magicard.Opts{After: instantPoll}, nil)
	ctx := context.Background()
	if _, err := dev.Identify(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := dev.Query(ctx, "MSR"); err != nil || v == "" {
		t.Fatalf("Query MSR = %q, %v", v, err)
	}
	res, err := dev.Print(ctx, magicard.SampleCard(true, true))
	if err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("Print = %s, %v", res.Outcome, err)
	}
	st, err := dev.Status(ctx)
	if err != nil || st.Consumables.CardsPrinted != 1 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
}

// TestReplayConversation plays back the whole conversation recorded from
// the emulator (testdata/duplex-mag.replay, -update re-records it): the
// driver must write exactly the recorded bytes, job included (by length
// and SHA-256), and leave nothing of the script unconsumed.
func TestReplayConversation(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "duplex-mag.replay")
	if magicard.UpdateGolden() {
		lang, _ := emulator.LanguageByName("magicard")
		emu, err := emulator.New(lang, &emulator.Options{Clock: emulator.NewFakeClock(time.Time{})})
		if err != nil {
			t.Fatal(err)
		}
		rec := replay.Record(emu.Transport(), 128)
		conversation(t, rec)
		if err := os.WriteFile(path, rec.Script(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	entries, err := replay.Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	p := replay.Playback("magicard", entries)
	conversation(t, p)
	if err := p.Close(); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
