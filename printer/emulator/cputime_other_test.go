//go:build !linux

package emulator

import "testing"

// cpuMeter reports nothing where the thread's CPU time is not available.
func cpuMeter(b *testing.B) func() { return func() {} }
