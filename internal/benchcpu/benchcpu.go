// Package benchcpu measures CPU time for benchmarks. The build machine is
// shared, so wall time (ns/op) mostly counts the waits for a core; the
// CPU time a benchmark spent does not. Process time is read on unix
// systems, the calling thread's time on Linux; elsewhere the readings are
// zero and ThreadMeter reports nothing.
//
// Only tests and benchmarks import this package.
package benchcpu

import (
	"runtime"
	"testing"
	"time"
)

// ReportProcess reports the process CPU time used since start (a value
// from Process) per benchmark iteration, as the metric "cpu-ns/op".
func ReportProcess(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64((Process()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// ThreadMeter locks the benchmark's goroutine to its OS thread and returns
// a function that unlocks it and reports the CPU time that thread spent
// per iteration ("cpu-ns/op"). Where the thread's CPU time cannot be read
// the returned function does nothing.
func ThreadMeter(b *testing.B) (done func()) {
	if !threadSupported {
		return func() {}
	}
	runtime.LockOSThread()
	start := Thread()
	return func() {
		d := Thread() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
