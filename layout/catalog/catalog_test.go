package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const tmpl = "name = \"%s\"\n[front]\n[[front.element]]\nkind = \"rect\"\nw = 1.0\nh = 1.0\nfill = \"red\"\n"

func write(t *testing.T, path, src string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestCatalog(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, filepath.Join(dir, "office.toml"), strings.Replace(tmpl, "%s", "office", 1), t0)
	// A directory template shadows the shipped one of the same name.
	write(t, filepath.Join(dir, "temporary.toml"), strings.Replace(tmpl, "%s", "local-temporary", 1), t0)
	c := New(dir, nil)

	a, err := c.Template("office")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Template("office")
	if err != nil || a != b {
		t.Fatalf("second lookup: %v, same=%v", err, a == b)
	}
	if tp, err := c.Template("temporary"); err != nil || tp.Name != "local-temporary" {
		t.Fatalf("shadowing: %v %v", tp, err)
	}
	if tp, err := c.Template("permanent"); err != nil || tp.Back == nil {
		t.Fatalf("shipped permanent: %v %v", tp, err)
	}
	// A changed file is parsed again.
	write(t, filepath.Join(dir, "office.toml"), strings.Replace(tmpl, "%s", "office-v2", 1), t0.Add(time.Hour))
	if tp, err := c.Template("office"); err != nil || tp.Name != "office-v2" {
		t.Fatalf("after change: %v %v", tp, err)
	}
	names, err := c.Names()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "office,permanent,temporary" {
		t.Errorf("Names() = %s", got)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("x", 65)} {
		if _, err := c.Template(bad); err == nil {
			t.Errorf("Template(%q) accepted", bad)
		}
	}
	if _, err := c.Template("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing template: %v", err)
	}
	write(t, filepath.Join(dir, "broken.toml"), "[front]\n[[front.element]]\nkind = \"nope\"\n", t0)
	if _, err := c.Template("broken"); err == nil || !strings.Contains(err.Error(), "broken.toml:3") {
		t.Errorf("broken template: %v", err)
	}
	if _, err := New("", nil).Template("office"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no directory: %v", err)
	}
}
