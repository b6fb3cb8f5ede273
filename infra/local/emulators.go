package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ErrEmulator reports an emulator that could not be started.
var ErrEmulator = errors.New("local: emulator did not start")

const (
	emulatorScript  = "scripts/emulators.sh"
	emulatorLogDir  = ".cache/run"
	emulatorTimeout = 240 * time.Second // the JVM starts slowly on a small, busy machine
)

// emulator is DynamoDB Local, ElasticMQ or S3Proxy, as scripts/emulators.sh runs them.
type emulator struct {
	name string // "dynamodb", "sqs" or "s3", as the script names them
	port int
}

// startEmulators makes DynamoDB Local, ElasticMQ and S3Proxy answer on their ports: one that answers already
// is used as it is, the others are started as children of the runner. stop ends the ones it
// started.
func startEmulators(ctx context.Context, s settings, log *slog.Logger) (stop func(), err error) {
	type running struct {
		emulator
		cmd     *exec.Cmd
		exited  chan struct{}
		logPath string
	}
	var started []running
	stop = func() {
		for _, r := range started {
			terminate(r.cmd, r.exited, 5*time.Second)
		}
	}
	for _, e := range []emulator{{"dynamodb", s.DynamoDBPort}, {"sqs", s.SQSPort}, {"s3", s.S3Port}} {
		if answers(ctx, e.port) {
			log.Info("emulator already running; using it", "emulator", e.name, "port", e.port)
			continue
		}
		cmd, exited, logPath, err := e.start(s)
		if err != nil {
			stop()
			return nil, err
		}
		started = append(started, running{e, cmd, exited, logPath})
	}
	// They start at once; the JVMs take a few seconds each.
	for _, r := range started {
		if err := r.wait(ctx, r.exited); err != nil {
			stop()
			return nil, fmt.Errorf("%w (log: %s)", err, r.logPath)
		}
		log.Info("emulator started", "emulator", r.name, "port", r.port, "log", r.logPath)
	}
	return stop, nil
}

// start runs the emulator through the script, its output in .cache/run.
func (e emulator) start(s settings) (cmd *exec.Cmd, exited chan struct{}, logPath string, err error) {
	if err := os.MkdirAll(emulatorLogDir, 0o755); err != nil {
		return nil, nil, "", err
	}
	logPath = filepath.Join(emulatorLogDir, fmt.Sprintf("%s-%d.log", e.name, e.port))
	out, err := os.Create(logPath)
	if err != nil {
		return nil, nil, "", err
	}
	cmd = exec.Command("bash", emulatorScript, "run", e.name)
	cmd.Env = append(os.Environ(), "DYNAMODB_PORT="+strconv.Itoa(s.DynamoDBPort), "SQS_PORT="+strconv.Itoa(s.SQSPort), "S3_PORT="+strconv.Itoa(s.S3Port))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, nil, "", fmt.Errorf("%w: %s: %v (run from the repository root)", ErrEmulator, e.name, err)
	}
	exited = make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(exited)
	}()
	return cmd, exited, logPath, nil
}

// wait waits until the emulator answers, fails or takes too long.
func (e emulator) wait(ctx context.Context, exited <-chan struct{}) error {
	deadline := time.Now().Add(emulatorTimeout)
	for !answers(ctx, e.port) {
		select {
		case <-exited:
			return fmt.Errorf("%w: %s exited (is it installed? make tools)", ErrEmulator, e.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s does not answer on port %d after %s", ErrEmulator, e.name, e.port, emulatorTimeout)
		}
	}
	return nil
}

// answers reports whether something answers HTTP on the port (DynamoDB Local says 400 to a
// bare GET, which counts).
func answers(ctx context.Context, port int) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
