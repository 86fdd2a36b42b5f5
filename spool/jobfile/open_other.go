//go:build !unix

package jobfile

import "io/fs"

// Without O_NOFOLLOW the Lstat check and the SameFile check after opening
// are what refuse symbolic links.
const (
	oNoFollow = 0
	oNonBlock = 0
)

func isLoop(error) bool { return false }

// linkCount is 1: the platform's FileInfo does not carry a link count.
func linkCount(fs.FileInfo) uint64 { return 1 }
