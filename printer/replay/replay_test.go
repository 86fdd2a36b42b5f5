package replay_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
	"github.com/cardd/cardd/printer/replay"
)

var update = flag.Bool("update", false, "rewrite the recordings in testdata")

func newEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	lang, err := emulator.LanguageByName("evolis")
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(lang, &emulator.Options{
		Clock:    emulator.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Geometry: printer.Geometry{DPI: 300, Width: 64, Height: 32},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func smallCard() *printer.Card {
	g := printer.Geometry{DPI: 300, Width: 64, Height: 32}
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(4, 4, 40, 12), true)
	col := image.NewRGBA(g.Bounds())
	for i := range col.Pix {
		col.Pix[i] = byte(i * 7)
	}
	return &printer.Card{Geometry: g, Front: printer.Side{Color: col, K: k}}
}

// session is what the test drives: status, then a print.
func session(t *testing.T, tr printer.Transport) (printer.Status, printer.Result) {
	t.Helper()
	dev := evolis.New(tr, nil, nil)
	st, err := dev.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := dev.Print(context.Background(), smallCard())
	if err != nil {
		t.Fatal(err)
	}
	return st, res
}

func TestRecordThenPlayback(t *testing.T) {
	e := newEmulator(t)
	rec := replay.Record(e.Transport(), 256)
	st, res := session(t, rec)
	script := rec.Script()
	path := filepath.Join("testdata", "evolis-status-print.script")
	if *update {
		if err := os.WriteFile(path, script, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(script, want) {
		t.Errorf("recording differs from %s:\n%s", path, script)
	}
	entries, err := replay.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	pl := replay.Playback("evolis", entries)
	st2, res2 := session(t, pl)
	if err := pl.Close(); err != nil {
		t.Errorf("Close after a full replay: %v", err)
	}
	if st2.State != st.State || st2.Consumables != st.Consumables || res2.Outcome != res.Outcome {
		t.Errorf("replayed session differs: %+v %+v vs %+v %+v", st2, res2, st, res)
	}
}

func TestPlaybackDetectsDifferences(t *testing.T) {
	script := []byte("# a query\n> \"\\x1bRsn\\r\"\n< \"EMU1\\r\"\n> 1b 52 66 76 0d\n< \"1.0\\r\"\n")
	entries, err := replay.Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Unconsumed traffic fails Close.
	pl := replay.Playback("t", entries)
	pl.Write(ctx, []byte("\x1bRsn\r"))
	if err := pl.Close(); !errors.Is(err, replay.ErrMismatch) {
		t.Errorf("Close with traffic left: %v", err)
	}

	// A different byte is reported where it occurs.
	pl = replay.Playback("t", entries)
	if _, err := pl.Write(ctx, []byte("\x1bRsx\r")); !errors.Is(err, replay.ErrMismatch) {
		t.Errorf("wrong write: %v", err)
	}

	// Reading before writing what the script expects.
	pl = replay.Playback("t", entries)
	if _, err := pl.Read(ctx, make([]byte, 4)); !errors.Is(err, replay.ErrMismatch) {
		t.Errorf("early read: %v", err)
	}

	// Split writes and reads in small pieces are fine.
	pl = replay.Playback("t", entries)
	for _, c := range []string{"\x1b", "Rs", "n\r"} {
		if _, err := pl.Write(ctx, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2)
	var got []byte
	for len(got) < 5 {
		n, err := pl.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "EMU1\r" {
		t.Errorf("reply %q", got)
	}
	pl.Write(ctx, []byte("\x1bRfv\r"))
	pl.Read(ctx, make([]byte, 8))
	if err := pl.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := pl.Write(ctx, []byte("x")); !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("write after close: %v", err)
	}
}

func TestHashedWrites(t *testing.T) {
	big := bytes.Repeat([]byte{1, 2, 3}, 1000)
	rec := replay.Record(sink{}, 16)
	rec.Write(context.Background(), big)
	entries, err := replay.Parse(rec.Script())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Data != nil || entries[0].Len != len(big) {
		t.Fatalf("entries %+v", entries)
	}
	pl := replay.Playback("h", entries)
	pl.Write(context.Background(), big[:1000])
	pl.Write(context.Background(), big[1000:])
	if err := pl.Close(); err != nil {
		t.Errorf("hashed replay: %v", err)
	}
	pl = replay.Playback("h", entries)
	bad := bytes.Clone(big)
	bad[2000] = 9
	if _, err := pl.Write(context.Background(), bad); !errors.Is(err, replay.ErrMismatch) {
		t.Errorf("changed hashed write: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"? 00", "> zz", "> \"unterminated", "< len=3 sha256=00", "> len=x sha256=00", ">", "> len=4 sha256=0011"} {
		if _, err := replay.Parse([]byte(s)); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

type sink struct{}

func (sink) Write(ctx context.Context, p []byte) (int, error) { return len(p), nil }
func (sink) Read(ctx context.Context, p []byte) (int, error)  { return 0, printer.ErrTimeout }
func (sink) Close() error                                     { return nil }
func (sink) String() string                                   { return "sink" }

func FuzzParse(f *testing.F) {
	f.Add([]byte("> \"\\x1bRsn\\r\"\n< 4f 4b 0d\n# c\n> len=3 sha256=039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		entries, err := replay.Parse(in)
		if err != nil {
			return
		}
		again, err := replay.Parse(replay.Format(entries))
		if err != nil {
			t.Fatalf("formatted script does not parse: %v", err)
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries became %d", len(entries), len(again))
		}
		for i := range again {
			if again[i].Dir != entries[i].Dir || !bytes.Equal(again[i].Data, entries[i].Data) || again[i].Len != entries[i].Len || again[i].Sum != entries[i].Sum {
				t.Fatalf("entry %d changed", i)
			}
		}
	})
}
