package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// loadEnv enables TestLoadQueuedRSS (CARDD_LOAD=1); the number of jobs is
// CARDD_LOAD_JOBS (default 10000).
const loadEnv = "CARDD_LOAD"

// procKB reads a "Name:   N kB" line of /proc/PID/status.
func procKB(t *testing.T, pid int, name string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// TestLoadQueuedRSS measures the daemon binary's memory with 10,000 jobs
// queued: the jobs are committed to incoming/ first (directories renamed
// into place, without fsync to keep the set-up short), then "cardd run"
// starts with its printer's cover open so nothing prints, claims and
// admits them all; its resident set size must stay at most 150 MB.
func TestLoadQueuedRSS(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skipf("load test; set %s=1", loadEnv)
	}
	n := 10000
	if v := os.Getenv("CARDD_LOAD_JOBS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	bin := buildCardd(t)
	cfgPath := filepath.Join(dir, "station.toml")
	cfgText := `[station]
id = "load"

[paths]
spool = "spool"
state = "state"

[[printers]]
name = "emu"
driver = "evolis"
connection = "emulator"
poll_interval = "1s"

[printers.emulator]
speed = 0.0
faults = [{kind = "cover-open", at_card = 0}]

[http]
listen = ""

[log]
level = "warn"
format = "json"
`
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	incoming := filepath.Join(dir, "spool", "incoming")
	if err := os.MkdirAll(incoming, 0o770); err != nil {
		t.Fatal(err)
	}
	photo, err := samples.PortraitJPEG(1, 96, 120)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := demoJobs("temporary", "temporary", 1)
	if err != nil {
		t.Fatal(err)
	}
	setup := time.Now()
	for i := range n {
		j := *data[0]
		j.ID = fmt.Sprintf("LOAD-%06d", i)
		var buf bytes.Buffer
		if err := j.Encode(&buf, jobfile.FormatTOML); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(incoming, fmt.Sprintf(".tmp-%06d", i))
		if err := os.Mkdir(tmp, 0o770); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "job.toml"), buf.Bytes(), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "photo.jpg"), photo, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(incoming, fmt.Sprintf("job-%06d", i))); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d jobs committed in %s", n, time.Since(setup).Round(time.Millisecond))
	logf, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	journal := filepath.Join(dir, "state", "journal")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("jobs not all queued in 5 minutes")
		}
		time.Sleep(time.Second)
		sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{ReadOnly: true, Journal: journal}, nil)
		if err != nil {
			continue
		}
		c := sp.Counts()
		sp.Close()
		if c[spool.StatePending] == n {
			break
		}
		if c[spool.StateAborted]+c[spool.StateCompleted] > 0 {
			t.Fatalf("jobs not queued: %v", c)
		}
	}
	queued := time.Since(started)
	time.Sleep(2 * time.Second) // a rescan and a few polls with the full queue
	rss := procKB(t, cmd.Process.Pid, "VmRSS")
	hwm := procKB(t, cmd.Process.Pid, "VmHWM")
	t.Logf("%d jobs claimed and queued in %s; daemon RSS %.1f MB (peak %.1f MB)", n, queued.Round(time.Millisecond), float64(rss)/1024, float64(hwm)/1024)
	if hwm > 150*1024 {
		t.Errorf("peak RSS %.1f MB is over 150 MB", float64(hwm)/1024)
	}
}
