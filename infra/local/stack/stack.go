// Package stack runs the local stack (./infra/local, as `make dev` does) as a child process,
// for the end-to-end tests and the load driver: start it with its own ports, wait for its
// ready line, stop it as Ctrl-C would. The stack does not outlive its parent: it gets SIGTERM
// if the parent dies without stopping it (a test binary killed on its timeout, a Ctrl-C in
// the load driver), and stops its own children then.
package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Stack is a running local stack.
type Stack struct {
	cmd  *exec.Cmd
	done chan struct{}
	bin  string // the directory of the runner's binary, removed by Stop
}

// Start runs the local stack from the repository root dir with env added to this process's
// environment and its logs (stderr) written to logs, and returns once it printed its ready
// line. It fails if that takes longer than wait (the build of the runner not included).
func Start(ctx context.Context, dir string, env []string, logs io.Writer, wait time.Duration) (*Stack, error) {
	// Built, then run: `go run` would stand between this process and the runner, and a
	// signal the kernel sends it when this process dies would not reach the runner.
	bin, err := os.MkdirTemp("", "buzon-local-")
	if err != nil {
		return nil, err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "local"), "./infra/local")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(bin)
		return nil, fmt.Errorf("build the local stack: %w\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "local"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// Its own process group: Stop signals the runner, the functions and the emulators together.
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(bin)
		return nil, err
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(bin)
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	s := &Stack{cmd: cmd, done: make(chan struct{}), bin: bin}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	select {
	case <-ready:
		return s, nil
	case <-s.done:
		s.Stop()
		return nil, errors.New("the local stack exited before it was ready")
	case <-time.After(wait):
		s.Stop()
		return nil, fmt.Errorf("the local stack printed no ready line in %s", wait)
	}
}

// Stop interrupts the stack, as Ctrl-C does, and waits for it; after 20 s it kills it.
func (s *Stack) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	os.RemoveAll(s.bin)
}

// FreePorts returns n distinct TCP ports free on 127.0.0.1 now: every port stays bound until
// all are chosen, so no two are the same.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
