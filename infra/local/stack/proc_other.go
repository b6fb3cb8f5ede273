//go:build unix && !linux

package stack

import "syscall"

// sysProcAttr puts the runner in its own process group. (Only Linux can also tie the
// runner's life to this process's.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
