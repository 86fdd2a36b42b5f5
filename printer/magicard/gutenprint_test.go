package magicard

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cardd/cardd/printer"
)

// gutenprintBackend returns the path of Gutenprint's dye-sublimation CUPS
// backend (Debian package printer-driver-gutenprint), which hosts the
// Magicard backend written from Magicard's own driver output. Without it
// the test skips, except under CI=true, where it fails.
func gutenprintBackend(t *testing.T) string {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/cups/backend/gutenprint5*+usb")
	if len(m) > 0 {
		return m[len(m)-1]
	}
	msg := "Gutenprint's backend /usr/lib/cups/backend/gutenprint5*+usb is missing: install it with 'apt-get install -y --no-install-recommends printer-driver-gutenprint' to check streams against Gutenprint's Magicard backend"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var parsedPage = regexp.MustCompile(`(?m)^INFO: Parsed page \d+`)

// runBackend feeds stream to the Magicard backend in its test mode 2 (parse
// every page, attach to no printer; a Tango 2E's USB IDs stand in for the
// device) and returns its exit status, its log and the pages it parsed.
func runBackend(t *testing.T, backend string, stream []byte) (int, string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.bin")
	if err := os.WriteFile(path, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(backend, path)
	cmd.Env = append(os.Environ(), "BACKEND=magicard", "TEST_MODE=2", "EXTRA_VID=0x0C1F", "EXTRA_PID=0x1800")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", backend, err)
	}
	return code, log.String(), len(parsedPage.FindAllString(log.String(), -1))
}

// fullBleed is a card dyed and printed black to every edge: its first
// plane byte would be non-zero if row 0 sat at canvas dot 0.
func fullBleed() *printer.Card {
	g := printer.CR80(300)
	img := image.NewRGBA(g.Bounds())
	for y := range g.Height {
		for x := range g.Width {
			img.SetRGBA(x, y, color.RGBA{uint8(x), 20, uint8(y), 255})
		}
	}
	k := printer.NewMono(g.Bounds())
	k.Fill(k.Rect, true)
	o := printer.NewMono(g.Bounds())
	o.Fill(o.Rect, true)
	side := printer.Side{Color: img, K: k, Overlay: o}
	back := side
	return &printer.Card{Geometry: g, Front: side, Back: &back}
}

// TestGutenprintParsesOurStreams checks every kind of stream the driver
// writes against Gutenprint's Magicard backend: each must parse to its
// exact end. The stream is fed twice in a row, so a side whose length the
// backend misjudged would leave it reading the second copy from the wrong
// byte and refusing it.
func TestGutenprintParsesOurStreams(t *testing.T) {
	backend := gutenprintBackend(t)
	colourBack := func(mag bool) *printer.Card {
		c := SampleCard(true, mag)
		c.Back.Color = SampleCard(false, false).Front.Color
		return c
	}
	for _, tc := range []struct {
		name string
		card *printer.Card
		opts Opts
	}{
		{"simplex", SampleCard(false, false), DefaultOpts},
		{"duplex", colourBack(false), DefaultOpts},
		{"full bleed duplex", fullBleed(), DefaultOpts},
		{"magnetic duplex", colourBack(true), DefaultOpts},
		{"magnetic simplex offsets and powers", func() *printer.Card { c := SampleCard(false, true); return c }(),
			Opts{OffsetX: 1.5, OffsetY: -0.5, ColorPower: 60, BlackPower: 45, OverlayPower: 70, MagVerify: true}},
		{"no overcoat", func() *printer.Card { c := SampleCard(false, false); c.Front.Overlay = nil; return c }(), DefaultOpts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := AppendJob(nil, tc.card, &tc.opts, 0)
			if err != nil {
				t.Fatal(err)
			}
			sides := 1
			if tc.card.Back != nil {
				sides = 2
			}
			code, log, pages := runBackend(t, backend, append(append([]byte{}, stream...), stream...))
			if code != 0 || pages != 2*sides || strings.Contains(log, "ERROR") {
				t.Fatalf("backend exit %d, %d pages parsed, want %d:\n%s", code, pages, 2*sides, log)
			}
		})
	}
}

// TestGutenprintRefusesKOnly pins a limit of Gutenprint's backend (see the
// package documentation): it wants Y, M and C plane lengths on every side,
// so a side printed in resin black only (IMFK) cannot go through it.
func TestGutenprintRefusesKOnly(t *testing.T) {
	backend := gutenprintBackend(t)
	c := SampleCard(false, false)
	c.Front.Color = nil
	stream, err := AppendJob(nil, c, &DefaultOpts, 0)
	if err != nil {
		t.Fatal(err)
	}
	code, log, pages := runBackend(t, backend, stream)
	if pages != 0 || !strings.Contains(log, "Plane lengths missing") {
		t.Fatalf("backend took a K-only side (exit %d, %d pages):\n%s", code, pages, log)
	}
}
