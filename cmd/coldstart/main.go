// Command coldstart measures each function's cold start: the size of its deployable bootstrap
// (linux/arm64, built as the Makefile builds it) and, on this machine, the time from starting
// the process to its first call for work on the Lambda Runtime API (init) and to the answer to
// a first event that needs no AWS call. It serves a minimal Runtime API itself, so the binary
// runs exactly as in Lambda.
//
//	go run ./cmd/coldstart [-runs 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/deploy"
)

// firstEvent is an event f answers without touching AWS, by what invokes it: an empty batch
// for a queue or stream consumer, a request to its first route that is refused before any
// AWS call (no signature, no token) for an HTTP function; "" for the others (schedules and
// the WebSocket routes read the table first), whose init alone is measured.
func firstEvent(f deploy.Function) string {
	switch {
	case f.Consumes != "" || f.Stream:
		return `{"Records":[]}`
	case len(f.Routes) > 0:
		r := f.Routes[0]
		method := r.Method
		if method == "ANY" {
			method = "GET"
		}
		path := r.Path
		if i := strings.Index(path, "/{"); i >= 0 {
			path = path[:i] + "/nothing"
		}
		return fmt.Sprintf(`{"version":"2.0","rawPath":%q,"rawQueryString":"hub.mode=subscribe&hub.verify_token=t&hub.challenge=42","requestContext":{"http":{"method":%q,"path":%q},"requestId":"cold"}}`, path, method, path)
	}
	return ""
}

// env gives every setting f reads a placeholder (URLs that answer nothing), so it starts.
func env(f deploy.Function) []string {
	out := []string{"META_VERIFY_TOKEN=t"}
	for _, s := range f.Env() {
		if s.Name == deploy.SecretsSetting {
			continue // no Secrets Manager: the secrets come from the environment
		}
		v := "cold"
		if strings.HasSuffix(s.Name, "_URL") {
			v = "http://127.0.0.1:1/cold"
		}
		out = append(out, s.Name+"="+v)
	}
	for _, k := range f.Secrets {
		out = append(out, k+"=cold")
	}
	return out
}

func main() {
	runs := flag.Int("runs", 5, "cold starts per function")
	flag.Parse()
	if err := run(*runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(runs int, out io.Writer) error {
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(out, "%-10s %12s %12s %12s  (%d runs, %s/%s, median)\n", "function", "arm64 size", "init", "first event", runs, runtime.GOOS, runtime.GOARCH)
	for _, f := range deploy.Buzon.Functions {
		name := f.Name
		arm := filepath.Join(dir, name+"-arm64")
		if err := build(name, arm, "arm64"); err != nil {
			return err
		}
		st, err := os.Stat(arm)
		if err != nil {
			return err
		}
		host := filepath.Join(dir, name)
		if err := build(name, host, runtime.GOARCH); err != nil {
			return err
		}
		var inits, firsts []time.Duration
		for i := 0; i < runs; i++ {
			in, first, err := coldStart(host, firstEvent(f), env(f))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			inits, firsts = append(inits, in), append(firsts, first)
		}
		first := "-"
		if firstEvent(f) != "" {
			first = median(firsts).String()
		}
		fmt.Fprintf(out, "%-10s %10.1f MB %12s %12s\n", name, float64(st.Size())/(1<<20), median(inits), first)
	}
	return nil
}

func build(name, outPath, arch string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", outPath, "./functions/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s for %s: %w", name, arch, err)
	}
	return nil
}

// coldStart runs the binary once against a one-shot Runtime API and returns the time to its
// first /next call and to its response to event.
// With no event it stops after the first /next call.
func coldStart(binary, event string, env []string) (initDone, firstEvent time.Duration, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	nextAt, doneAt := make(chan time.Time, 1), make(chan time.Time, 1)
	served := false
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served {
			<-r.Context().Done() // one event per cold start
			return
		}
		served = true
		nextAt <- time.Now()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "cold-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:cold")
		_, _ = io.WriteString(w, event)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/cold-1/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		doneAt <- time.Now()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		err = fmt.Errorf("init error: %s", b)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=cold", "AWS_SECRET_ACCESS_KEY=cold", "AWS_LAMBDA_FUNCTION_NAME=cold",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
	}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case t := <-nextAt:
		initDone = t.Sub(start)
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("no /next call (stderr: %s)", stderr.String())
	}
	if event == "" {
		return initDone, 0, err
	}
	select {
	case t := <-doneAt:
		firstEvent = t.Sub(start)
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("no response (stderr: %s)", stderr.String())
	}
	return initDone, firstEvent, err
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2].Round(100 * time.Microsecond)
}
