package magicard

import (
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
