package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrStopped reports an invocation of a function that is shutting down.
var ErrStopped = errors.New("local: function stopped")

const (
	// stopGrace is how long a process may take to exit after SIGTERM.
	stopGrace = 2 * time.Second
	// Restart delays of a sandbox whose process keeps failing to initialize.
	minInitBackoff = time.Second
	maxInitBackoff = 30 * time.Second
)

// Function runs one function as a pool of bootstrap processes, each driven through its own
// Runtime API, and hands invocations to whichever process asks for one next. A process that
// exits fails its invocation and is replaced. Invoke is safe for concurrent use.
type Function struct {
	spec   functionSpec
	binary string
	env    []string
	logs   *logSink
	log    *slog.Logger

	queue chan *invocation // unbuffered: a send completes when a process takes it
	done  chan struct{}    // closed when the pool stops

	wg       sync.WaitGroup
	settleWG sync.WaitGroup // one per sandbox, done at its first init (or init failure)
}

// newFunction returns the pool for spec, running binary with env (functionEnv); process
// output goes to logs.
func newFunction(spec functionSpec, binary string, env []string, logs *logSink, log *slog.Logger) *Function {
	return &Function{
		spec: spec, binary: binary, env: env, logs: logs,
		log:   log.With("function", spec.Name),
		queue: make(chan *invocation),
		done:  make(chan struct{}),
	}
}

// Start starts the pool's processes. They run until ctx is done; Wait then returns once
// every one has exited.
func (f *Function) Start(ctx context.Context) {
	f.settleWG.Add(f.spec.Pool)
	for n := 1; n <= f.spec.Pool; n++ {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.runSandbox(ctx, n, sync.OnceFunc(f.settleWG.Done))
		}()
	}
	go func() {
		<-ctx.Done()
		close(f.done)
	}()
}

// Wait waits until every process of the pool has exited after Start's context ended.
func (f *Function) Wait() { f.wg.Wait() }

// Settled waits until every process has initialized or failed to, or ctx is done.
func (f *Function) Settled(ctx context.Context) error {
	settled := make(chan struct{})
	go func() {
		f.settleWG.Wait()
		close(settled)
	}()
	select {
	case <-settled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Invoke calls the function synchronously with payload, waiting for a free process as long as
// ctx allows; the function's own timeout starts when a process takes the invocation. A
// failed invocation returns a *FunctionError.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := newInvocation(payload)
	start := time.Now()
	select {
	case f.queue <- inv:
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: waiting for a free process: %w", f.spec.Name, ctx.Err())
	case <-f.done:
		return nil, fmt.Errorf("invoke %s: %w", f.spec.Name, ErrStopped)
	}
	select {
	case <-inv.done:
	case <-ctx.Done():
		// As in Lambda, the invocation runs on; only its caller has gone.
		return nil, fmt.Errorf("invoke %s: %w", f.spec.Name, ctx.Err())
	}
	ms := time.Since(start).Milliseconds()
	if inv.err != nil {
		// The caller logs the failure, as the one that handles it.
		f.log.Debug("invocation failed", "request_id", inv.id, "ms", ms, "error_type", inv.err.Type)
		return nil, inv.err
	}
	f.log.Debug("invoked", "request_id", inv.id, "ms", ms)
	return inv.result, nil
}

// requeue hands an invocation a going process had taken to another one.
func (f *Function) requeue(inv *invocation) {
	select {
	case f.queue <- inv:
	case <-f.done:
		inv.finish(nil, &FunctionError{Type: "Runtime.ExitError", Message: "the local stack is shutting down"})
	}
}

// runSandbox keeps one process of the pool running until ctx is done: a process that exits
// is replaced at once if it had initialized, and after a growing delay if it had not.
func (f *Function) runSandbox(ctx context.Context, n int, settle func()) {
	backoff := minInitBackoff
	for ctx.Err() == nil {
		p, err := f.startProcess(n, settle)
		if err != nil {
			f.log.Error("cannot start", "process", n, "error", err)
			settle()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxInitBackoff)
			continue
		}
		stopOnCancel := context.AfterFunc(ctx, func() { p.stop("shutdown", stopGrace) })
		<-p.exited
		stopOnCancel()
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		initialized, fe, reason := p.initialized, p.initErr, or(p.killReason, exitReason(p.waitErr))
		p.mu.Unlock()
		if !initialized {
			settle()
			if fe == nil {
				fe = &FunctionError{Type: "Runtime.ExitError", Message: "Error: " + exitReason(p.waitErr)}
			}
			f.log.Error("init failed; restarting", "process", p.name, "error_type", fe.Type, "error", fe.Message, "retry_in", backoff)
			// The invocation waiting for this sandbox fails, as an invoke that triggers a
			// failing init does in Lambda.
			select {
			case inv := <-f.queue:
				inv.finish(nil, fe)
			default:
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxInitBackoff)
			continue
		}
		backoff = minInitBackoff
		f.log.Warn("process exited; restarting", "process", p.name, "reason", reason)
	}
}

// process is one running bootstrap and the Runtime API it talks to.
type process struct {
	fn      *Function
	name    string // "webhook.2"
	cmd     *exec.Cmd
	srv     *http.Server
	started time.Time
	onInit  func()

	stopping chan struct{} // closed when the runner ends the process
	stopOnce sync.Once
	exited   chan struct{} // closed after cmd.Wait returned and the fields below are final

	mu          sync.Mutex
	current     *invocation
	initialized bool
	initErr     *FunctionError
	gone        bool
	killReason  string
	waitErr     error
}

// startProcess starts process n of the pool with a Runtime API of its own.
func (f *Function) startProcess(n int, onInit func()) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	p := &process{
		fn: f, name: fmt.Sprintf("%s.%d", f.spec.Name, n), onInit: onInit,
		stopping: make(chan struct{}), exited: make(chan struct{}),
	}
	p.srv = &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}

	out := f.logs.writer(fmt.Sprintf("%-12s| ", p.name))
	cmd := exec.Command(f.binary)
	cmd.Dir = filepath.Dir(f.binary)
	cmd.Env = append(slices.Clone(f.env),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME="+logStreamName(time.Now()),
		"LAMBDA_TASK_ROOT="+cmd.Dir,
	)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second // a grandchild holding the output pipe must not hang Wait
	p.cmd = cmd
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start %s: %w", f.binary, err)
	}
	// The process may connect before Serve runs: the listener holds its connection until then.
	go p.srv.Serve(ln)
	go func() {
		err := cmd.Wait()
		out.Flush()
		p.exit(err)
	}()
	return p, nil
}

// exit fails the invocation the process held and closes its Runtime API.
func (p *process) exit(waitErr error) {
	p.mu.Lock()
	p.gone = true
	p.waitErr = waitErr
	inv := p.current
	p.current = nil
	if inv != nil {
		inv.timer.Stop()
	}
	p.mu.Unlock()
	p.srv.Close()
	if inv != nil {
		inv.finish(nil, &FunctionError{Type: "Runtime.ExitError",
			Message: fmt.Sprintf("RequestId: %s Error: %s", inv.id, exitReason(waitErr))})
	}
	close(p.exited)
}

// stop ends the process: SIGTERM to its process group, SIGKILL after grace.
func (p *process) stop(reason string, grace time.Duration) {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.killReason = reason
		p.mu.Unlock()
		close(p.stopping)
		terminate(p.cmd, p.exited, grace)
	})
}

// kill ends the process at once, as Lambda ends a sandbox after a timeout or init error.
func (p *process) kill(reason string) {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.killReason = reason
		p.mu.Unlock()
		close(p.stopping)
		signalGroup(p.cmd, syscall.SIGKILL)
	})
}

// exitReason describes how a process ended in Lambda's words.
func exitReason(err error) string {
	if err == nil {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + err.Error() // "exit status 3", "signal: killed"
}

// logStreamName is a log stream name of the form Lambda gives each sandbox.
func logStreamName(now time.Time) string {
	return now.UTC().Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(newRequestID(), "-", "")
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
