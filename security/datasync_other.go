//go:build !linux

package security

import "os"

// datasync flushes f to stable storage (fsync where fdatasync is not
// available).
func datasync(f *os.File) error { return f.Sync() }
