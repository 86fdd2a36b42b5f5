package magicard

import (
	"bytes"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
)

// BenchmarkAppendJobDuplexReuse is the duplex YMCKO job as Dev.Print
// lays it out, card after card in the stream buffer of the card before
// (BenchmarkAppendJobDuplex takes a fresh buffer each time).
func BenchmarkAppendJobDuplexReuse(b *testing.B) {
	for _, f := range []Format{FormatRio, FormatEnduro} {
		b.Run(f.String(), func(b *testing.B) {
			c := SampleCard(true, true)
			c.Back.Color = c.Front.Color // duplex YMCKO both sides
			o := Opts{Format: f}
			var buf []byte
			b.ReportAllocs()
			// The two sides are packed on two goroutines: count the
			// process's CPU time, not one thread's.
			start := benchcpu.Process()
			for b.Loop() {
				var err error
				if buf, err = AppendJob(buf[:0], c, &o, EnduroHeadCentre); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}

// TestAppendJobReuse: a card laid out in the stream buffer of a different
// card before it (as Dev.Print does) gives the same bytes as in a fresh
// buffer: nothing of the last card is left in its planes.
func TestAppendJobReuse(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatRio, FormatEnduro} {
		o := Opts{Format: f}
		first := SampleCard(true, true)
		first.Back.Color = first.Front.Color // dye everywhere on both sides
		second := SampleCard(false, false)
		buf, err := AppendJob(nil, first, &o, EnduroHeadCentre)
		if err != nil {
			t.Fatal(err)
		}
		want, err := AppendJob(nil, second, &o, EnduroHeadCentre)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJob(buf[:0], second, &o, EnduroHeadCentre)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &buf[0] {
			t.Errorf("%v: the second card was not laid out in the first card's buffer", f)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v: the second card's stream in the reused buffer differs from a fresh one", f)
		}
	}
}
