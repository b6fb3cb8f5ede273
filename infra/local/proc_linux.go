package main

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C in the terminal reaches
// the runner alone and the runner stops its children in order, and has the kernel kill the
// child if the runner dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
