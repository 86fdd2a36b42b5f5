package natstest

import "syscall"

// sysProcAttr puts a server in its own process group and has the kernel
// kill it if the test process dies first, so no server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
