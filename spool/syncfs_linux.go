package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole file system that holds dir (syncfs(2)): every
// file and directory written on it before the call, the staged jobs'
// among them, is durable when it returns without error (Linux reports
// write-back errors to syncfs since 5.8).
func syncFS(dir string, _ []*Staged) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
