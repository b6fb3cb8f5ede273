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
//
// The pool scales as Lambda does: spec.Pool processes are kept warm, and an invocation that
// finds none free starts another (a cold start), up to spec.MaxPool; a process started so
// stops after idleTimeout without an invocation, or when it exits, and is not replaced.
type Function struct {
	spec   functionSpec
	binary string
	env    []string
	logs   *logSink
	log    *slog.Logger

	queue chan *invocation // unbuffered: a send completes when a process takes it
	done  chan struct{}    // closed when the pool stops
	ctx   context.Context  // Start's: the life of every process

	mu      sync.Mutex
	size    int // sandboxes running, the warm ones included
	nextID  int // the number of the next sandbox started on demand
	peak    int // the most sandboxes that ran at once
	started int // sandboxes started on demand

	wg       sync.WaitGroup
	settleWG sync.WaitGroup // one per sandbox, done at its first init (or init failure)
}

// idleTimeout is how long a process started on demand waits for an invocation before it
// stops. Lambda keeps an idle execution environment for minutes; locally a shorter time gives
// the machine back soon after a burst.
const idleTimeout = 30 * time.Second

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
	f.ctx = ctx
	f.settleWG.Add(f.spec.Pool)
	f.mu.Lock()
	f.size, f.peak, f.nextID = f.spec.Pool, f.spec.Pool, f.spec.Pool+1
	f.mu.Unlock()
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

// grow starts one more process, on demand, unless the pool is at its cap.
func (f *Function) grow() {
	f.mu.Lock()
	if f.size >= max(f.spec.MaxPool, f.spec.Pool) || f.ctx == nil || f.ctx.Err() != nil {
		f.mu.Unlock()
		return
	}
	f.size++
	f.peak = max(f.peak, f.size)
	f.started++
	n := f.nextID
	f.nextID++
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.runOnDemand(f.ctx, n)
		f.mu.Lock()
		f.size--
		f.mu.Unlock()
	}()
}

// Scale reports how the pool scaled: the processes running now, the most that ran at once,
// and how many were started on demand.
func (f *Function) Scale() (size, peak, started int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size, f.peak, f.started
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
		// A free process took it.
	default:
		// Every process is busy or starting: as Lambda, start another, and give the
		// invocation to whichever process asks first.
		f.grow()
		select {
		case f.queue <- inv:
		case <-ctx.Done():
			return nil, fmt.Errorf("invoke %s: waiting for a free process: %w", f.spec.Name, ctx.Err())
		case <-f.done:
			return nil, fmt.Errorf("invoke %s: %w", f.spec.Name, ErrStopped)
		}
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
		p, err := f.startProcess(n, settle, false)
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

// runOnDemand runs one process started on demand until it stops (idle, or exited for any
// reason); it is not replaced: the next invocation that finds no free process starts another.
func (f *Function) runOnDemand(ctx context.Context, n int) {
	p, err := f.startProcess(n, func() {}, true)
	if err != nil {
		f.log.Error("cannot start", "process", n, "error", err)
		return
	}
	stopOnCancel := context.AfterFunc(ctx, func() { p.stop("shutdown", stopGrace) })
	defer stopOnCancel()
	<-p.exited
	p.mu.Lock()
	initialized, fe, reason := p.initialized, p.initErr, or(p.killReason, exitReason(p.waitErr))
	p.mu.Unlock()
	switch {
	case ctx.Err() != nil:
	case !initialized:
		if fe == nil {
			fe = &FunctionError{Type: "Runtime.ExitError", Message: "Error: " + exitReason(p.waitErr)}
		}
		f.log.Error("init failed", "process", p.name, "error_type", fe.Type, "error", fe.Message)
		// The invocation that started it fails, as an invoke that triggers a failing init
		// does in Lambda.
		select {
		case inv := <-f.queue:
			inv.finish(nil, fe)
		default:
		}
	case reason == idleReason:
		f.log.Debug("process stopped", "process", p.name, "reason", reason)
	default:
		f.log.Warn("process exited", "process", p.name, "reason", reason)
	}
}

// idleReason is why a process started on demand is stopped after idleTimeout.
const idleReason = "idle"

// process is one running bootstrap and the Runtime API it talks to.
type process struct {
	fn      *Function
	name    string // "webhook.2"
	cmd     *exec.Cmd
	srv     *http.Server
	started time.Time
	onInit  func()

	onDemand bool          // started on demand: stops after idleTimeout without an invocation
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

// startProcess starts process n of the pool with a Runtime API of its own; onDemand: it was
// started for an invocation no process was free for.
func (f *Function) startProcess(n int, onInit func(), onDemand bool) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	p := &process{
		fn: f, name: fmt.Sprintf("%s.%d", f.spec.Name, n), onInit: onInit, onDemand: onDemand,
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
