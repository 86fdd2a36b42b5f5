package benchcpu

import (
	"runtime"
	"testing"
	"time"
)

// spin burns CPU on the calling thread for at least d of wall time.
func spin(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		n++
	}
	return n
}

func TestClocksAdvance(t *testing.T) {
	tests := []struct {
		name      string
		read      func() time.Duration
		supported bool
	}{
		{"process", Process, runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1"},
		{"thread", Thread, threadSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := tc.read()
			spin(30 * time.Millisecond)
			after := tc.read()
			if !tc.supported {
				if before != 0 || after != 0 {
					t.Fatalf("unsupported clock read %v, %v; want 0", before, after)
				}
				return
			}
			// 30 ms of spinning is at least a few ms of CPU even on a
			// loaded machine with a coarse clock.
			if got := after - before; got < time.Millisecond {
				t.Fatalf("CPU time advanced %v over a 30 ms spin; want ≥ 1ms", got)
			}
		})
	}
}

func BenchmarkThreadMeter(b *testing.B) {
	b.ReportAllocs()
	done := ThreadMeter(b)
	for b.Loop() {
		spin(time.Microsecond)
	}
	done()
}

func BenchmarkReportProcess(b *testing.B) {
	b.ReportAllocs()
	start := Process()
	for b.Loop() {
		spin(time.Microsecond)
	}
	ReportProcess(b, start)
}
