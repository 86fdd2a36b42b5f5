//go:build unix

package spool

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cardd/cardd/spool/jobfile"
)

// TestSpoolModesUnderUmask: the areas producers and operators write
// (incoming/, control/) are group-writable as documented even under the
// packaged unit's UMask=0027, and the private areas stay private. The
// umask is the process's, so the spool is opened in a child process.
func TestSpoolModesUnderUmask(t *testing.T) {
	if root := os.Getenv("CARDD_TEST_UMASK_ROOT"); root != "" {
		syscall.Umask(0o027)
		sp, err := Open(root, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sp.Close()
		if _, err := Submit(root, &jobfile.Job{ID: "U-1", Template: "t"}, nil); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "spool")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolModesUnderUmask$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CARDD_TEST_UMASK_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := map[string]os.FileMode{
		".": rootPerm, dirIncoming: 0o770, dirControl: 0o770,
		dirActive: 0o700, dirHeld: 0o700, dirDone: 0o700, dirFailed: 0o700,
	}
	for area, perm := range want {
		fi, err := os.Stat(filepath.Join(root, area))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != perm {
			t.Errorf("%s: mode %04o, want %04o", area, got, perm)
		}
	}
	// A job directory "cardd submit" made: the daemon's group can purge it.
	ents, err := os.ReadDir(filepath.Join(root, dirIncoming))
	if err != nil || len(ents) != 1 {
		t.Fatalf("incoming: %v %v", ents, err)
	}
	if fi, err := os.Stat(filepath.Join(root, dirIncoming, ents[0].Name())); err != nil || fi.Mode().Perm() != incomingPerm {
		t.Errorf("submitted job directory: %v, want mode %04o", fi.Mode(), incomingPerm)
	}
}
