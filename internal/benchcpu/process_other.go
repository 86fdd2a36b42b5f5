//go:build !unix

package benchcpu

import "time"

// Process returns zero: the process CPU time is not read on this platform.
func Process() time.Duration { return 0 }
