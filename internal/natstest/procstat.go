package natstest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// RSS returns the resident memory of the node's running process in bytes
// (VmRSS of /proc/PID/status; Linux only).
func (n *Node) RSS() (int64, error) {
	return ProcessRSS(n.PID())
}

// CPUTime returns the user and system CPU time the node's running process
// has used (/proc/PID/stat; Linux only).
func (n *Node) CPUTime() (time.Duration, error) {
	return ProcessCPU(n.PID())
}

// StoreBytes returns the disk space the node's store directory takes, in
// allocated blocks (what du counts), not file lengths.
func (n *Node) StoreBytes() (int64, error) {
	return DiskUsage(n.StoreDir)
}

// ProcessRSS returns the resident memory of process pid in bytes (Linux).
func ProcessRSS(pid int) (int64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("natstest: no process")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("natstest: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("natstest: /proc/%d/status: VmRSS line %q", pid, line)
		}
	}
	return 0, fmt.Errorf("natstest: /proc/%d/status has no VmRSS", pid)
}

// ProcessCPU returns the user plus system CPU time process pid has used
// (Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("natstest: no process")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("natstest: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("natstest: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("natstest: /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("natstest: /proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// DiskUsage returns the disk space the files under dir take, in allocated
// blocks. Files that vanish during the walk (a running server replaces
// files by renames) are skipped.
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path != dir {
			return nil
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("natstest: disk usage of %s: %w", dir, err)
	}
	return total, nil
}
