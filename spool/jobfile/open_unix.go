//go:build unix

package jobfile

import (
	"errors"
	"io/fs"
	"syscall"
)

const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonBlock = syscall.O_NONBLOCK
)

// isLoop reports whether err is the ELOOP an O_NOFOLLOW open returns for a
// symbolic link.
func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

// linkCount returns the number of hard links of an opened file (1 when
// the platform does not say).
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
