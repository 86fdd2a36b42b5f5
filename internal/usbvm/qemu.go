package usbvm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// VM is one guest boot.
type VM struct {
	// QEMU is the emulator binary; default qemu-system-x86_64 from PATH.
	QEMU string
	// Kernel and Initrd are the guest image.
	Kernel, Initrd string
	// Sockets are the Unix sockets of the virtual USB devices, each
	// attached to the guest's xHCI controller in order. Their servers must
	// already listen.
	Sockets []string
	// MemoryMB is the guest memory; default 256.
	MemoryMB int
	// Timeout bounds the whole boot; default 90 s.
	Timeout time.Duration
	// Console, when set, receives the serial console as it arrives.
	Console io.Writer
}

// Result is what a boot produced.
type Result struct {
	Console  string        // the whole serial console
	Exit     int           // the payload's exit status; -1 when not reported
	Duration time.Duration // wall time from QEMU start to exit
	Booted   time.Duration // wall time until /init started the payload
}

// Args returns QEMU's command line for the VM: software emulation (nested
// KVM is unreliable on build machines), an xHCI controller, one usb-redir
// device per socket, the serial console on stdio.
func (vm VM) Args() []string {
	mem := vm.MemoryMB
	if mem == 0 {
		mem = 256
	}
	args := []string{"-accel", "tcg", "-m", strconv.Itoa(mem), "-smp", "1",
		"-nographic", "-no-reboot", "-nic", "none",
		"-kernel", vm.Kernel, "-initrd", vm.Initrd,
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1",
		"-device", "qemu-xhci,id=usbhc,p2=8,p3=8"}
	for i, s := range vm.Sockets {
		args = append(args,
			"-chardev", fmt.Sprintf("socket,id=ur%d,path=%s", i, s),
			"-device", fmt.Sprintf("usb-redir,chardev=ur%d,id=redir%d,bus=usbhc.0", i, i))
	}
	return args
}

// Run boots the VM, waits for it to power off, and returns its console.
// QEMU is killed when ctx ends or the timeout passes.
func (vm VM) Run(ctx context.Context) (Result, error) {
	qemu := vm.QEMU
	if qemu == "" {
		p, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return Result{Exit: -1}, fmt.Errorf("%w: qemu-system-x86_64 not installed", ErrUnavailable)
		}
		qemu = p
	}
	timeout := vm.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, vm.Args()...)
	cmd.WaitDelay = 2 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{Exit: -1}, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{Exit: -1}, fmt.Errorf("usbvm: start qemu: %w", err)
	}
	var (
		mu      sync.Mutex
		console strings.Builder
		booted  time.Duration
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			mu.Lock()
			console.WriteString(line + "\n")
			if booted == 0 && strings.Contains(line, markerStart) {
				booted = time.Since(start)
			}
			mu.Unlock()
			if vm.Console != nil {
				fmt.Fprintln(vm.Console, line)
			}
		}
	}()
	<-done
	werr := cmd.Wait()
	res := Result{Console: console.String(), Duration: time.Since(start), Booted: booted, Exit: exitStatus(console.String())}
	if ctx.Err() != nil {
		return res, fmt.Errorf("usbvm: guest did not power off within %v: %w (qemu stderr: %s)", timeout, ctx.Err(), stderr.Bytes())
	}
	if werr != nil {
		return res, fmt.Errorf("usbvm: qemu: %w (stderr: %s)", werr, stderr.Bytes())
	}
	if res.Exit < 0 {
		return res, fmt.Errorf("usbvm: guest powered off without reporting the payload's status (qemu stderr: %s)", stderr.Bytes())
	}
	return res, nil
}

var exitLine = regexp.MustCompile(markerExit + `(-?\d+)`)

// exitStatus returns the status /init reported, or -1.
func exitStatus(console string) int {
	m := exitLine.FindAllStringSubmatch(console, -1)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	if err != nil {
		return -1
	}
	return n
}

// TestCase is the outcome of one Go test the guest ran with -test.v.
type TestCase struct {
	Name     string
	Status   string // "PASS", "FAIL" or "SKIP"
	Duration time.Duration
}

var caseLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)`)

// ParseTestLog extracts the results of "go test -test.v" output.
func ParseTestLog(console string) []TestCase {
	var out []TestCase
	for _, line := range strings.Split(console, "\n") {
		m := caseLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		secs, _ := strconv.ParseFloat(m[3], 64)
		out = append(out, TestCase{Name: m[2], Status: m[1], Duration: time.Duration(secs * float64(time.Second))})
	}
	return out
}
