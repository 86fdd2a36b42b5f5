//go:build unix

package jobfile

import (
	"errors"
	"syscall"
)

const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonBlock = syscall.O_NONBLOCK
)

// isLoop reports whether err is the ELOOP an O_NOFOLLOW open returns for a
// symbolic link.
func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }
