package station

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
)

// TestQRBoxesHoldTheSymbol: the pre-print check first reads the QR from
// the K panel cut to the signed_qr boxes; for the shipped templates the cut
// is a small part of the panel and reads exactly what the whole panel
// reads, and a panel whose symbol was wiped fails the check.
func TestQRBoxesHoldTheSymbol(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers[0].Duplex = true
	cfg.Printers[0].Emulator = &config.Emulator{Speed: 0}
	st, err := Open(t.Context(), cfg, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, name := range []string{"temporary", "permanent"} {
		t.Run(name, func(t *testing.T) {
			jobs, photos := sampleJobs(t, name, 1)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "photo.jpg"), photos[0], 0o600); err != nil {
				t.Fatal(err)
			}
			serial := fmt.Sprintf("DEMO-Q%d", i)
			card, err := st.composer.Compose(t.Context(), spool.ComposeRequest{Job: jobs[0], Dir: dir, Serial: serial, Printer: cfg.Printers[0].Name, Issued: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := st.composer.cat.Template(name)
			if err != nil {
				t.Fatal(err)
			}
			side := qrSide(card, tmpl)
			if side == nil || side.K == nil {
				t.Fatal("no side with a QR on K")
			}
			cut := qrBoxes(card, tmpl, side)
			if cut == nil {
				t.Fatal("no cut")
			}
			if got, whole := cut.Rect.Dx()*cut.Rect.Dy(), side.K.Rect.Dx()*side.K.Rect.Dy(); got*3 > whole {
				t.Errorf("cut %v is more than a third of the panel %v", cut.Rect, side.K.Rect)
			}
			want, err := security.DecodeQR(side.K)
			if err != nil {
				t.Fatal(err)
			}
			got, err := security.DecodeQR(cut)
			if err != nil || got != want {
				t.Fatalf("cut reads %q, %v; the panel reads %q", got, err, want)
			}
			// Wipe the K panel: nothing is read in the cut, and the check
			// (cut first, then the whole side) fails.
			wiped := *card
			k := *side.K
			k.Pix = append([]byte(nil), side.K.Pix...)
			k.Fill(k.Rect, false)
			if side == &card.Front {
				wiped.Front.K = &k
				side = &wiped.Front
			} else {
				b := *card.Back
				b.K = &k
				wiped.Back, side = &b, &b
			}
			if text, err := security.DecodeQR(qrBoxes(&wiped, tmpl, side)); err == nil {
				t.Fatalf("wiped panel read %q", text)
			}
			if _, err := st.composer.prePrintCheck(&wiped, tmpl, serial); err == nil {
				t.Fatal("pre-print check passed a card without its QR")
			}
			if text, err := st.composer.prePrintCheck(card, tmpl, serial); err != nil || text != want {
				t.Fatalf("pre-print check: %q, %v", text, err)
			}
		})
	}
}
