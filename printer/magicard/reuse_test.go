package magicard

import (
	"bytes"
	"image"
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
	// The packers write every byte of the colour planes into room that
	// is not cleared first: a second card placed elsewhere on the canvas
	// (an Enduro's head position) or with white where the first had dye
	// must leave none of the first's bytes.
	for _, tc := range []struct {
		f            Format
		head1, head2 int
	}{
		{FormatRio, 0, 0},
		{FormatEnduro, EnduroHeadCentre, EnduroHeadCentre},
		{FormatEnduro, EnduroHeadCentre, 50}, // the raster at the canvas's first dot
		{FormatEnduro, 50, 0},                // and at its last
	} {
		o := Opts{Format: tc.f}
		first := SampleCard(true, true)
		first.Back.Color = first.Front.Color // dye everywhere on both sides
		second := SampleCard(true, false)
		second.Back.Color = image.NewRGBA(second.Geometry.Bounds()) // transparent: no dye
		buf, err := AppendJob(nil, first, &o, tc.head1)
		if err != nil {
			t.Fatal(err)
		}
		want, err := AppendJob(nil, second, &o, tc.head2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJob(buf[:0], second, &o, tc.head2)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &buf[0] {
			t.Errorf("%+v: the second card was not laid out in the first card's buffer", tc)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%+v: the second card's stream in the reused buffer differs from a fresh one", tc)
		}
	}
}
