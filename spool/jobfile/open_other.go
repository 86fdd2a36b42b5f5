//go:build !unix

package jobfile

// Without O_NOFOLLOW the Lstat check and the SameFile check after opening
// are what refuse symbolic links.
const (
	oNoFollow = 0
	oNonBlock = 0
)

func isLoop(error) bool { return false }
