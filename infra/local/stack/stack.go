// Package stack runs the local stack (`go run ./infra/local`) as a child process, for the
// end-to-end tests and the load driver: start it with its own ports, wait for its ready line,
// stop it as Ctrl-C would.
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
	"strings"
	"syscall"
	"time"
)

// Stack is a running local stack.
type Stack struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs the local stack from the repository root dir with env added to this process's
// environment and its logs (stderr) written to logs, and returns once it printed its ready
// line. It fails if that takes longer than wait.
func Start(ctx context.Context, dir string, env []string, logs io.Writer, wait time.Duration) (*Stack, error) {
	cmd := exec.CommandContext(ctx, "go", "run", "./infra/local")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// Its own process group: Stop signals the runner, the functions and the emulators together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	s := &Stack{cmd: cmd, done: make(chan struct{})}
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
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
