package benchcpu

import (
	"syscall"
	"time"
)

// threadSupported says whether Thread reads the thread's CPU time here.
const threadSupported = true

// Thread returns the CPU time (user and system) the calling OS thread has
// used. Lock the goroutine to its thread around the measurement.
func Thread() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
