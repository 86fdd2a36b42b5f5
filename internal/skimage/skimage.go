// Package skimage provides tests with real photographs: the sample images
// Debian's python3-skimage package ships (astronaut.png, a portrait;
// chelsea.png, a cat; coffee.png, a cup; camera.png, a man with a camera).
// The package is fetched with "apt-get download" and unpacked with
// "dpkg-deb -x" into a cache directory outside the repository, once; the
// images are never committed. Only tests import this package.
package skimage

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Package is the Debian package the images come from.
const Package = "python3-skimage"

// Images are the files kept from the package.
var Images = []string{"astronaut.png", "chelsea.png", "coffee.png", "camera.png"}

// dataDir is where the package keeps its images.
const dataDir = "usr/lib/python3/dist-packages/skimage/data"

// CacheDir is where the images are kept: $CARDD_SKIMAGE_DIR, else
// cardd/skimage under the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("CARDD_SKIMAGE_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "cardd", "skimage"), nil
}

var fetchMu sync.Mutex

// Fetch makes sure the images are in dir, downloading the package when
// they are not. It needs apt-get (with package lists: apt-get update)
// and dpkg-deb.
func Fetch(dir string) error {
	fetchMu.Lock()
	defer fetchMu.Unlock()
	if have(dir) {
		return nil
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", "download", Package)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s (run apt-get update first?): %w: %s", Package, err, strings.TrimSpace(string(out)))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, Package+"_*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: want one .deb, found %d", Package, len(debs))
	}
	x := filepath.Join(tmp, "x")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], x).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(debs[0]), err, strings.TrimSpace(string(out)))
	}
	for _, name := range Images {
		src := filepath.Join(x, dataDir, name)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("%s has no %s: %w", filepath.Base(debs[0]), name, err)
		}
		// Rename within dir: a reader never sees half a file.
		if err := os.Rename(src, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func have(dir string) bool {
	for _, name := range Images {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// Dir returns the directory holding the images, fetching them when
// needed. When they cannot be had the test is skipped with the reason,
// or fails when the CI environment variable is set.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := CacheDir()
	if err == nil {
		err = Fetch(dir)
	}
	if err != nil {
		why := fmt.Sprintf("real photographs from Debian's %s unavailable: %v", Package, err)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (and CI is set, so this fails)", why)
		}
		t.Skipf("%s (scripts/setup.sh fetches them; CI=true makes this a failure)", why)
	}
	return dir
}

// Load decodes one of the images.
func Load(t testing.TB, name string) image.Image {
	t.Helper()
	path := filepath.Join(Dir(t), name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
