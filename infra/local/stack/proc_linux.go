package stack

import "syscall"

// sysProcAttr puts the runner in its own process group and has the kernel send it SIGTERM
// (it then stops its functions and emulators) if this process dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
