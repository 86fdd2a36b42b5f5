package security

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the architecture's arrows: security and its
// sub-packages do pure computation and may use package printer for its
// raster types only, internal/textsafe (pure text escaping) for the
// problems they report and internal/fastjson (a reflection-free reader of
// cardd's own compact JSON) for the audit log's records; they import no
// spool, layout, driver, transport or gousb, and need no cgo.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps", "github.com/cardd/cardd/security/...")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0") // must build without cgo
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list with CGO_ENABLED=0: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/cardd/cardd/") &&
			!strings.HasPrefix(dep, "github.com/cardd/cardd/security") && dep != "github.com/cardd/cardd/printer" &&
			dep != "github.com/cardd/cardd/internal/textsafe" && dep != "github.com/cardd/cardd/internal/fastjson":
			t.Errorf("security depends on %s", dep)
		case strings.Contains(dep, "gousb"):
			t.Errorf("security depends on %s", dep)
		}
	}
}
