package samples

import (
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
)

// BenchmarkPortrait draws one sample portrait at the sample jobs' size
// (cardd demo and the tests draw one per job).
func BenchmarkPortrait(b *testing.B) {
	b.ReportAllocs()
	done := benchcpu.ThreadMeter(b)
	for i := 0; b.Loop(); i++ {
		Portrait(uint64(i), PortraitWidth, PortraitHeight)
	}
	done()
}
