//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C in the terminal reaches
// the runner alone and the runner stops its children in order. (Only Linux can also tie the
// child's life to the runner's.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
