package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// TestStatusLine: on a terminal the progress line is redrawn in place and
// a log line never runs into it; elsewhere there is no carriage return
// and only the last state is printed.
func TestStatusLine(t *testing.T) {
	var tty bytes.Buffer
	s := newStatusLine(&tty, true)
	log := slog.New(slog.NewTextHandler(s.logs(&tty), nil))
	s.println("starting")
	s.set("1/3 jobs settled")
	log.Warn("job cannot be composed")
	s.set("3/3 jobs settled")
	s.done()
	got := tty.String()
	if !strings.Contains(got, "1/3 jobs settled\r\x1b[Ktime=") {
		t.Errorf("the log line does not clear the status line first: %q", got)
	}
	if !strings.Contains(got, "job cannot be composed\"\n1/3 jobs settled") {
		t.Errorf("the status line is not redrawn after the log line: %q", got)
	}
	if !strings.HasSuffix(got, "\r\x1b[K3/3 jobs settled\n") {
		t.Errorf("the last status does not end its line: %q", got)
	}

	var file bytes.Buffer
	s = newStatusLine(&file, false)
	log = slog.New(slog.NewTextHandler(s.logs(&file), nil))
	s.println("starting")
	s.set("1/3 jobs settled")
	log.Warn("job cannot be composed")
	s.set("3/3 jobs settled")
	s.done()
	if got := file.String(); strings.ContainsAny(got, "\r\x1b") || strings.Contains(got, "1/3") || !strings.HasSuffix(got, "\n3/3 jobs settled\n") {
		t.Errorf("not a terminal: %q; want plain lines and only the last status", got)
	}
}

// TestMergeTrustList: a demo with a new work directory (a new key) writing
// into the same out directory adds its key to the trust list there; the
// earlier key stays, and merging again changes nothing.
func TestMergeTrustList(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out", "trust.json")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	list := func(name string) string {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		e, err := security.NewTrustEntry("https://demo.cardd.example/issuer", pub, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := security.MarshalTrustList([]security.TrustEntry{e})
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, string(b))
	}
	a, b := list("a.json"), list("b.json")
	for _, src := range []string{a, b, b} {
		if err := mergeTrustList(dst, src); err != nil {
			t.Fatal(err)
		}
	}
	got, err := security.LoadTrustList(dst)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Entries()); n != 2 {
		t.Fatalf("%d entries after merging work A, B and B again, want 2", n)
	}
}

// TestSelfCommand: a hint names cardd as it was started: by name from
// PATH, by absolute path, or "go run" for a binary go run built.
func TestSelfCommand(t *testing.T) {
	arg0 := os.Args[0]
	t.Cleanup(func() { os.Args[0] = arg0 })
	for _, tc := range []struct{ arg0, want string }{
		{"cardd", "cardd"},
		{"/usr/local/bin/cardd", "/usr/local/bin/cardd"},
		{"/tmp/go-build123/b001/exe/cardd", "go run ./cmd/cardd"},
	} {
		os.Args[0] = tc.arg0
		if got := selfCommand(); got != tc.want {
			t.Errorf("os.Args[0] %q: %q, want %q", tc.arg0, got, tc.want)
		}
	}
	os.Args[0] = "bin/cardd"
	if got := selfCommand(); !filepath.IsAbs(got) || !strings.HasSuffix(got, "/bin/cardd") {
		t.Errorf("bin/cardd: %q, want its absolute path", got)
	}
}

// TestDemoWorkHint: the summary suggests --work DIR to keep the bad job's
// spool only when the demo ran without it (issue 10: it was printed even
// with --work).
func TestDemoWorkHint(t *testing.T) {
	cfg, err := demoConfig(t.TempDir(), t.TempDir(), jobfile.ModeTemporary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	const hint = "(run with --work DIR to keep the spool)"
	for _, kept := range []bool{false, true} {
		r := &demoResult{jobs: []spool.Job{{Num: 2, ID: "DEMO-BAD", State: spool.StateAborted, Reason: "photo"}}, workKept: kept}
		var b strings.Builder
		r.print(&b, cfg, t.TempDir())
		if got := strings.Contains(b.String(), hint); got == kept {
			t.Errorf("--work given %v: hint shown %v:\n%s", kept, got, b.String())
		}
		if !strings.Contains(b.String(), "The bad job DEMO-BAD moved to") {
			t.Errorf("no line about the bad job:\n%s", b.String())
		}
	}
}
