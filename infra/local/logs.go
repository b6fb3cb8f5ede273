package main

import (
	"bytes"
	"io"
	"sync"
)

// logSink interleaves the output of many processes on one writer a whole line at a time, each
// line prefixed with its process's name. It is safe for concurrent use.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogSink(w io.Writer) *logSink { return &logSink{w: w} }

// maxLine bounds a buffered partial line; a longer one is written in pieces.
const maxLine = 64 << 10

// writer returns a writer whose lines go to the sink behind prefix. Give the same writer as
// a command's Stdout and Stderr: exec.Cmd then writes to it from one goroutine at a time.
func (s *logSink) writer(prefix string) *lineWriter {
	return &lineWriter{sink: s, prefix: []byte(prefix)}
}

func (s *logSink) writeLine(prefix, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(append(append(buf, prefix...), line...), '\n')
	s.w.Write(buf)
}

// lineWriter buffers a process's output until a line is complete.
type lineWriter struct {
	sink   *logSink
	prefix []byte
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.sink.writeLine(w.prefix, bytes.TrimSuffix(w.buf[:i], []byte("\r")))
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) > maxLine {
		w.sink.writeLine(w.prefix, w.buf[:maxLine])
		w.buf = w.buf[maxLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let the backing array go
	}
	return len(p), nil
}

// Flush writes a last line that ended without a newline; call it once the process is gone.
func (w *lineWriter) Flush() {
	if len(w.buf) > 0 {
		w.sink.writeLine(w.prefix, w.buf)
		w.buf = nil
	}
}
