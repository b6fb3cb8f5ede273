package main

import (
	"os/exec"
	"syscall"
	"time"
)

// signalGroup sends sig to the process group cmd leads (sysProcAttr made it a leader).
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, sig)
	}
}

// terminate asks cmd's process group to stop with SIGTERM and kills it after grace; exited is
// closed once cmd.Wait has returned.
func terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	signalGroup(cmd, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		signalGroup(cmd, syscall.SIGKILL)
		<-exited
	}
}
