//go:build unix

package layout_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has
// used. Benchmarks report it per operation next to wall time, which on a
// shared machine mostly measures the other tenants.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
