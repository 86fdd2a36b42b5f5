//go:build unix

package spool

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileJob is a job directory or incoming entry a hostile or careless
// producer can make.
type hostileJob struct {
	name string
	// make builds the job directory (dir does not exist yet) or, with
	// entry, the incoming entry at path.
	make   func(t *testing.T, dir string)
	entry  bool
	reason string // the failed job's reason contains this
}

const hostileTOML = "id = \"H-1\"\ntemplate = \"temporary\"\nphoto = \"photo.png\"\n"

func hostileJobs(t *testing.T, outside string) []hostileJob {
	mkdir := func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(t *testing.T, p, data string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fifo := func(t *testing.T, p string) {
		t.Helper()
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(t *testing.T, target, p string) {
		t.Helper()
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	sparse := func(t *testing.T, p string) {
		t.Helper()
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(1 << 40); err != nil {
			t.Skipf("no sparse 1 TiB file on this filesystem: %v", err)
		}
	}
	hardlink := func(t *testing.T, data, p string) {
		t.Helper()
		src := filepath.Join(outside, filepath.Base(p)+"-"+randHex(4))
		write(t, src, data)
		if err := os.Link(src, p); err != nil {
			t.Fatal(err)
		}
	}
	photo := func(t *testing.T) string { return string(pngPhoto(t, 8, 10)) }
	withPhoto := func(f func(t *testing.T, p string)) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			mkdir(t, dir)
			write(t, filepath.Join(dir, "job.toml"), hostileTOML)
			f(t, filepath.Join(dir, "photo.png"))
		}
	}
	withJobFile := func(f func(t *testing.T, p string)) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			mkdir(t, dir)
			f(t, filepath.Join(dir, "job.toml"))
		}
	}
	return []hostileJob{
		{name: "job file FIFO", make: withJobFile(fifo), reason: "job.toml is a FIFO"},
		{name: "job file symlink to /dev/zero", make: withJobFile(func(t *testing.T, p string) { link(t, "/dev/zero", p) }), reason: "symbolic link"},
		{name: "job file sparse 1 TiB", make: withJobFile(sparse), reason: "too large"},
		{name: "job file hard link", make: withJobFile(func(t *testing.T, p string) { hardlink(t, hostileTOML, p) }), reason: "hard links"},
		{name: "photo FIFO", make: withPhoto(fifo), reason: "photo.png is a FIFO"},
		{name: "photo symlink to /dev/zero", make: withPhoto(func(t *testing.T, p string) { link(t, "/dev/zero", p) }), reason: "symbolic link"},
		{name: "photo sparse 1 TiB", make: withPhoto(sparse), reason: "too large"},
		{name: "photo hard link", make: withPhoto(func(t *testing.T, p string) { hardlink(t, photo(t), p) }), reason: "hard links"},
		{name: "job.toml and job.json", make: func(t *testing.T, dir string) {
			mkdir(t, dir)
			write(t, filepath.Join(dir, "job.toml"), "id = \"H-1\"\ntemplate = \"temporary\"\n")
			write(t, filepath.Join(dir, "job.json"), `{"id":"H-2","template":"temporary"}`)
		}, reason: "ambiguous"},
		{name: "entry FIFO named like a job file", entry: true, make: func(t *testing.T, p string) { fifo(t, p+".toml") }, reason: "FIFO"},
		{name: "entry FIFO", entry: true, make: fifo, reason: "FIFO"},
		{name: "entry socket", entry: true, make: func(t *testing.T, p string) {
			t.Helper()
			fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(fd)
			if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: p}); err != nil {
				t.Skipf("cannot bind a unix socket at %s: %v", p, err)
			}
		}, reason: "socket"},
	}
}

// TestHostileIntake drops each hostile job beside a good one. Intake must
// not block (a FIFO), allocate without bound (/dev/zero, a sparse file) or
// accept a file the producer was never given (a hard link); the hostile
// job fails with a reason naming the file, without a serial, once, and the
// good job still prints.
func TestHostileIntake(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	for _, tc := range hostileJobs(t, outside) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, PolicyRetryJob)
			in := filepath.Join(e.root, dirIncoming)
			if tc.entry {
				tc.make(t, filepath.Join(in, "bad"))
			} else {
				stage := filepath.Join(in, ".stage")
				tc.make(t, stage)
				if err := os.Rename(stage, filepath.Join(in, "bad")); err != nil {
					t.Fatal(err)
				}
			}
			e.submit("good-1", nil)
			var mem runtime.MemStats
			runtime.ReadMemStats(&mem)
			before := mem.TotalAlloc
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- e.s.Rescan(context.Background()) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Rescan: %v", err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("Rescan blocked on the hostile job for 2 minutes")
			}
			runtime.ReadMemStats(&mem)
			if grew := mem.TotalAlloc - before; grew > 256<<20 {
				t.Errorf("intake allocated %d MiB for a hostile job", grew>>20)
			}
			t.Logf("intake took %v", time.Since(start))
			e.drain()
			e.wantState("good-1", StateCompleted, "")
			var bad []Job
			for _, j := range e.sp.Jobs() {
				if j.ID != "good-1" {
					bad = append(bad, j)
				}
			}
			if len(bad) != 1 {
				t.Fatalf("hostile entry made %d jobs: %+v", len(bad), bad)
			}
			j := bad[0]
			if j.State != StateAborted || !strings.Contains(j.Reason, tc.reason) {
				t.Fatalf("hostile job: %s %q, want aborted with %q", j.State, j.Reason, tc.reason)
			}
			if j.Serial != "" || len(j.Voided) > 0 {
				t.Errorf("hostile job burnt a serial: %q %v", j.Serial, j.Voided)
			}
			final := filepath.Join(e.root, dirFailed, numName(j.Num))
			reason, err := os.ReadFile(filepath.Join(final, fileReason))
			if err != nil || !strings.Contains(string(reason), tc.reason) {
				t.Errorf("reason file: %v %q", err, reason)
			}
			if !strings.Contains(string(reason), "path: "+final+"\n") {
				t.Errorf("reason file does not name the job's final path %s:\n%s", final, reason)
			}
			// Refused once: a second scan leaves it alone.
			if err := e.s.Rescan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(e.sp.Jobs()); n != 2 {
				t.Errorf("%d jobs after a second scan, want 2", n)
			}
		})
	}
}
