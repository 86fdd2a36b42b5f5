//go:build !unix

package spool

import (
	"fmt"
	"os"
)

// lockFile creates path exclusively where flock(2) is not available; a
// stale file after a crash must then be removed by hand.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrLocked, path, err)
	}
	return f, nil
}

// inode is not available; size and time alone decide stability.
func inode(os.FileInfo) uint64 { return 0 }
