package emulator

import (
	"bytes"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

// TestEvolisDocumentedCommands runs the commands of the vendor's
// programming guide beyond a plain print job, each with its documented
// effect and reply, and refuses their malformed forms.
func TestEvolisDocumentedCommands(t *testing.T) {
	e, _ := newEvolis(t, nil)
	tr := e.Transport()
	expect := func(c, want string) {
		t.Helper()
		if got := do(t, tr, cmd(c)); got != want {
			t.Fatalf("%s: reply %q, want %q", c, got, want)
		}
	}
	// Queries.
	for c, want := range map[string]string{
		"Rlr;r": "OK", "Rse;n": "5,00 Volts", "Rse;r": "5,00 Volts", "Rse;b": "2,50 Volts",
		"Rco;n": "0", "Rco;a": "1000", "Rps": "128", "Rkn": "KIT-EMU0000001",
		"Rco;z": evolis.ReplyParam, "Rse;z": evolis.ReplyParam,
	} {
		expect(c, want)
	}
	// Card movements outside a job.
	expect("Sis", evolis.ReplySequence) // no card to move
	expect("Si", "OK")
	if !e.State().CardInside {
		t.Fatal("Si left no card inside")
	}
	expect("Sis", "OK")
	expect("Sic", "OK")
	expect("Ser", "OK")
	expect("Sie", "OK")
	if st := e.State(); st.CardInside || st.HopperCards != 1 || st.RejectCards != 1 {
		t.Fatalf("after Ser and Sie: %+v", st)
	}
	expect("Sdm;250", "OK")
	expect("Sdm;x", evolis.ReplyParam)
	expect("Sc", evolis.ReplySequence) // nothing printed yet
	expect("Ssd;k", evolis.ReplySequence)

	// A job with a stored-bitmap fill (Wcb) and magnetic read-back.
	k := testK()
	for _, c := range []string{"Ss", "Dm;1;ABC123", "Smw"} {
		expect(c, "OK")
	}
	expect("Smr;1", "ABC123")
	expect("Smr;3", evolis.ReplyMagnetic) // blank track
	expect("Smr;4", evolis.ReplyParam)
	expect("Sr", "OK")
	if got := do(t, tr, kDownload(t, k)); got != "OK" {
		t.Fatalf("K download: %q", got)
	}
	expect("Wcb;o;7", evolis.ReplyParam)
	expect("Wcb;q", evolis.ReplyParam)
	expect("Wcb;o;255", "OK")
	expect("Se", "OK")
	pr := e.Printed()
	first := pr[len(pr)-1].Card
	if !bytes.Equal(first.Front.K.Pix, k.Pix) || first.Front.Overlay == nil || first.Mag[0] != "ABC123" {
		t.Fatalf("card: K equal %v, overlay %v, mag %q", bytes.Equal(first.Front.K.Pix, k.Pix), first.Front.Overlay != nil, first.Mag)
	}
	full := printer.NewMono(first.Front.Overlay.Rect)
	full.Fill(full.Rect, true)
	if !bytes.Equal(first.Front.Overlay.Pix, full.Pix) {
		t.Error("Wcb;o;255 did not varnish the whole side")
	}

	// Sc prints the same sequence on a new card; Ssd reuses a stored
	// panel in a new job.
	before := e.State().CardsPrinted
	expect("Sc", "OK")
	pr = e.Printed()
	again := pr[len(pr)-1].Card
	if e.State().CardsPrinted != before+1 || !bytes.Equal(again.Front.K.Pix, k.Pix) || again.Mag[0] != "ABC123" {
		t.Fatal("Sc did not reprint the last card")
	}
	for _, c := range []string{"Ss", "Sr", "Ssd;k", "Se"} {
		expect(c, "OK")
	}
	pr = e.Printed()
	if got := pr[len(pr)-1].Card.Front; !bytes.Equal(got.K.Pix, k.Pix) || got.Overlay != nil {
		t.Error("Ssd;k did not print the stored K panel alone")
	}
	expect("Stt;m", "OK")
	pr = e.Printed()
	if pr[len(pr)-1].Card.Mag.Empty() {
		t.Error("encoder test card has no tracks")
	}
}
