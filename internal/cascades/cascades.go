// Package cascades finds, for tests, the trained face and pupil cascades
// the pigo module ships (cascade/facefinder, cascade/puploc) in the
// module cache, as "go list -m" reports it. They are data of the
// dependency and never committed to this repository; a station gets them
// from its Debian package. Only tests import this package.
package cascades

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Module is the module whose cascades are used.
const Module = "github.com/esimov/pigo"

// Find returns the cascade directory of the pigo module the main module
// requires, or the error of looking for it.
func Find() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cascade")
	for _, f := range []string{"facefinder", "puploc"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Dir returns the cascade directory, skipping the test when it cannot be
// found (failing when the CI environment variable is set).
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pigo's cascades not found with go list -m %s (and CI is set, so this fails): %v", Module, err)
		}
		t.Skipf("pigo's cascades not found with go list -m %s (go mod download fetches them): %v", Module, err)
	}
	return dir
}
