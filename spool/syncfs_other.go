//go:build !linux

package spool

// syncFS makes the staged jobs durable where there is no syncfs(2).
func syncFS(_ string, staged []*Staged) error { return fsyncStaged(staged) }
