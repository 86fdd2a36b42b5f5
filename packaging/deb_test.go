package packaging

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestDebianPackage builds the .deb (build.sh: go build with cgo, then
// nfpm through go run) and checks it with test-deb.sh: the exact file
// list, modes, conffiles, maintainer scripts, the unpacked binary and
// configuration, and systemd-analyze verify on the unit.
func TestDebianPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building the Debian package takes a while")
	}
	for _, tool := range []string{"dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the package is checked on Debian machines only", tool)
		}
	}
	out, err := exec.Command("./test-deb.sh").CombinedOutput()
	t.Logf("test-deb.sh:\n%s", out)
	if err != nil {
		t.Fatalf("test-deb.sh: %v", err)
	}
	if !regexp.MustCompile(`(?m)^[1-9][0-9]* passed, 0 failed$`).Match(out) {
		t.Fatal("test-deb.sh did not report its checks passing")
	}
}
