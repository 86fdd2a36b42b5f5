//go:build !linux

package benchcpu

import "time"

// threadSupported says whether Thread reads the thread's CPU time here.
const threadSupported = false

// Thread returns zero: the thread CPU time is not read on this platform.
func Thread() time.Duration { return 0 }
