//go:build unix

package jobfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenFileHostile feeds OpenFile, ReadFile, Load and ReadPhoto every
// kind of file a hostile producer can put in a job directory. None may
// block, read more than the limit, follow a link or accept a file with a
// second hard link; each error names the file.
func TestOpenFileHostile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "job")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, p("ok.jpg"), []byte("portrait"))
	if err := syscall.Mkfifo(p("fifo.jpg"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", p("zero.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("fifo.jpg", p("fifolink.jpg")); err != nil {
		t.Fatal(err)
	}
	// A sparse file of 1 TiB: no disk, but a reader without a limit would
	// try to allocate all of it.
	sparse, err := os.Create(p("sparse.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sparse.Truncate(1 << 40); err != nil {
		t.Skipf("filesystem cannot hold a sparse 1 TiB file: %v", err)
	}
	sparse.Close()
	// A hard link to a file the producer may read but was never given.
	secret := filepath.Join(root, "secret.jpg")
	writeFile(t, secret, []byte("someone else's portrait"))
	if err := os.Link(secret, p("linked.jpg")); err != nil {
		t.Fatal(err)
	}
	// A unix socket.
	ln, err := listenUnix(p("sock.jpg"))
	if err == nil {
		t.Cleanup(func() { ln.Close() })
	}
	tests := []struct {
		name string
		want error
	}{
		{"ok.jpg", nil},
		{"fifo.jpg", ErrNotRegular},
		{"zero.jpg", ErrSymlink},
		{"fifolink.jpg", ErrSymlink},
		{"sparse.jpg", ErrTooLarge},
		{"linked.jpg", ErrLinked},
		{"missing.jpg", ErrMissing},
	}
	if err == nil {
		tests = append(tests, struct {
			name string
			want error
		}{"sock.jpg", ErrNotRegular})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mem runtime.MemStats
			runtime.ReadMemStats(&mem)
			before := mem.TotalAlloc
			done := make(chan error, 1)
			go func() {
				_, err := ReadFile(p(tc.name), 1<<20)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(2 * time.Minute):
				t.Fatalf("ReadFile(%s) blocked", tc.name)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("ReadFile(%s) = %v, want %v naming the file", tc.name, err, tc.want)
			}
			runtime.ReadMemStats(&mem)
			if grew := mem.TotalAlloc - before; grew > 64<<20 {
				t.Errorf("ReadFile(%s) allocated %d bytes for a refused file", tc.name, grew)
			}
			j := &Job{ID: "job-1", Template: "t", Photo: tc.name, File: "job.toml"}
			_, err = j.ReadPhoto(dir, 1<<20)
			var je *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &je) || je.Field != "photo" || je.JobID != "job-1" {
				t.Errorf("ReadPhoto(%s) = %v, want %v naming job and field", tc.name, err, tc.want)
			}
			if _, err := Load(p(tc.name)); !errors.Is(err, tc.want) {
				t.Errorf("Load(%s) = %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}
