package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The Lambda Runtime API as a bootstrap sees it
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), served to one process at
// a time: each process gets its own listener, as each Lambda sandbox has its own endpoint, so
// the runner always knows which invocation a crashed process held.

const (
	runtimeAPIVersion   = "2018-06-01"
	extensionAPIVersion = "2020-01-01"
	// maxResponseBytes is Lambda's limit on a synchronous response.
	maxResponseBytes = 6 << 20
	// maxErrorBytes bounds an error document a runtime posts.
	maxErrorBytes = 1 << 20

	// Trailers aws-lambda-go sets when reading its response fails halfway.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// FunctionError is a failed invocation as Lambda reports it to the caller: the error document
// the function posted, or Lambda's own when the runtime crashed (Runtime.ExitError) or ran out
// of time (Sandbox.Timedout).
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// parseFunctionError reads an error document a runtime posted; a document that is not one is
// kept as the message, as Lambda does.
func parseFunctionError(body []byte, typeHeader string) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || (fe.Type == "" && fe.Message == "") {
		fe = FunctionError{Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = or(typeHeader, "Unhandled")
	}
	return &fe
}

// invocation is one call of a function, from Invoke until its result.
type invocation struct {
	id      string
	traceID string
	payload []byte

	once   sync.Once
	done   chan struct{}
	result []byte
	err    *FunctionError

	// Set by the process that runs it, under that process's mutex.
	deadline time.Time
	timer    *time.Timer
}

func newInvocation(payload []byte) *invocation {
	return &invocation{id: newRequestID(), traceID: newTraceID(time.Now()), payload: payload, done: make(chan struct{})}
}

// finish records the result; the first call wins (a response racing a timeout or a crash).
func (inv *invocation) finish(result []byte, err *FunctionError) {
	inv.once.Do(func() {
		inv.result, inv.err = result, err
		close(inv.done)
	})
}

// newRequestID returns a random UUID, the form of Lambda's request ids.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header of the form Lambda passes on.
func newTraceID(now time.Time) string {
	var b [12]byte
	rand.Read(b[:])
	var p [8]byte
	rand.Read(p[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), hex.EncodeToString(b[:]), hex.EncodeToString(p[:]))
}

// routes is the Runtime API of process p, and the part of the Extensions API that
// aws-lambda-go's WithEnableSIGTERM uses.
func (p *process) routes() http.Handler {
	mux := http.NewServeMux()
	rt := "/" + runtimeAPIVersion + "/runtime"
	mux.HandleFunc("GET "+rt+"/invocation/next", p.next)
	mux.HandleFunc("POST "+rt+"/invocation/{id}/response", p.response)
	mux.HandleFunc("POST "+rt+"/invocation/{id}/error", p.invocationError)
	mux.HandleFunc("POST "+rt+"/init/error", p.initError)
	ext := "/" + extensionAPIVersion + "/extension"
	mux.HandleFunc("POST "+ext+"/register", p.registerExtension)
	mux.HandleFunc("GET "+ext+"/event/next", p.extensionNext)
	return mux
}

// next hands the process the next invocation of its function, waiting as long as it takes.
// Calling next also ends the init phase, and completes an invocation the runtime never
// answered (which then fails, as Lambda has no response to give).
func (p *process) next(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	abandoned := p.current
	p.current = nil
	if abandoned != nil {
		abandoned.timer.Stop()
	}
	first := !p.initialized
	p.initialized = true
	p.mu.Unlock()
	if abandoned != nil {
		abandoned.finish(nil, &FunctionError{Type: "Runtime.NoResponse",
			Message: fmt.Sprintf("RequestId: %s Error: the runtime asked for the next invocation without answering this one", abandoned.id)})
	}
	if first {
		p.fn.log.Debug("init done", "process", p.name, "ms", time.Since(p.started).Milliseconds())
		p.onInit()
	}
	var idle <-chan time.Time
	if p.onDemand {
		t := time.NewTimer(cmp.Or(p.fn.spec.IdleTimeout, idleTimeout))
		defer t.Stop()
		idle = t.C
	}
	select {
	case <-idle:
		p.stop(idleReason, stopGrace)
		<-r.Context().Done()
	case inv := <-p.fn.queue:
		if !p.take(r.Context(), inv) {
			// The process is going away: the invocation goes to another one.
			go p.fn.requeue(inv)
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", functionARN(p.fn.spec.Name))
		h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
		h.Set("Content-Type", "application/json")
		w.Write(inv.payload)
	case <-p.stopping:
		// As in Lambda, a sandbox being shut down gets nothing more.
		<-r.Context().Done()
	case <-r.Context().Done():
	}
}

// take makes inv the process's current invocation and starts its clock, unless the process
// is going away.
func (p *process) take(ctx context.Context, inv *invocation) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stopping:
		return false
	default:
	}
	if p.gone || ctx.Err() != nil {
		return false
	}
	p.current = inv
	timeout := p.fn.spec.Timeout
	inv.deadline = time.Now().Add(timeout)
	inv.timer = time.AfterFunc(timeout, func() { p.timedOut(inv, timeout) })
	return true
}

// complete detaches the current invocation if its id is id; nil otherwise.
func (p *process) complete(id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.current
	if inv == nil || inv.id != id {
		return nil
	}
	p.current = nil
	inv.timer.Stop()
	return inv
}

// timedOut fails inv as Lambda does when a function overruns its timeout, and kills the
// process: the sandbox starts a fresh one, as Lambda re-initializes after a timeout.
func (p *process) timedOut(inv *invocation, timeout time.Duration) {
	p.mu.Lock()
	if p.current != inv {
		p.mu.Unlock()
		return
	}
	p.current = nil
	p.mu.Unlock()
	inv.finish(nil, &FunctionError{Type: "Sandbox.Timedout",
		Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, timeout.Seconds())})
	p.kill("timed out")
}

func (p *process) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	inv := p.complete(r.PathValue("id"))
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+r.PathValue("id")+" is in progress")
		return
	}
	switch {
	case err != nil:
		inv.finish(nil, &FunctionError{Type: "Runtime.TruncatedResponse", Message: "reading the response: " + err.Error()})
	case len(body) > maxResponseBytes:
		fe := &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)}
		inv.finish(nil, fe)
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, fe.Type, fe.Message)
		return
	case r.Trailer.Get(trailerErrorType) != "":
		// The runtime failed while streaming its response and said so in the trailers.
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		inv.finish(nil, parseFunctionError(doc, r.Trailer.Get(trailerErrorType)))
	default:
		inv.finish(body, nil)
	}
	writeAccepted(w)
}

func (p *process) invocationError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	inv := p.complete(r.PathValue("id"))
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+r.PathValue("id")+" is in progress")
		return
	}
	inv.finish(nil, parseFunctionError(body, r.Header.Get(trailerErrorType)))
	writeAccepted(w)
}

// initError records why the runtime could not initialize; Lambda then ends the sandbox, and
// so does the runner.
func (p *process) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	fe := parseFunctionError(body, r.Header.Get(trailerErrorType))
	p.mu.Lock()
	initialized := p.initialized
	if !initialized {
		p.initErr = fe
	}
	p.mu.Unlock()
	if initialized {
		writeRuntimeError(w, http.StatusForbidden, "InvalidStateTransition", "init/error after the init phase")
		return
	}
	writeAccepted(w)
	go p.kill("init error")
}

// registerExtension accepts an internal extension; aws-lambda-go registers one to receive
// SIGTERM before the sandbox ends (which the runner always sends).
func (p *process) registerExtension(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Lambda-Extension-Identifier", newRequestID())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"functionName": p.fn.spec.Name, "functionVersion": "$LATEST", "handler": "bootstrap",
	})
}

// extensionNext blocks until the sandbox shuts down, then says so.
func (p *process) extensionNext(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.stopping:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"eventType": "SHUTDOWN", "shutdownReason": "spindown",
			"deadlineMs": time.Now().Add(stopGrace).UnixMilli(),
		})
	case <-r.Context().Done():
	}
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func writeRuntimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}
