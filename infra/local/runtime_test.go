package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/deploy"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// buildEcho builds testdata/echo as a bootstrap, the way the Makefile builds the functions.
func buildEcho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo", "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./testdata/echo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v\n%s", err, out)
	}
	return bin
}

// testLog sends the runner's and the processes' logs to t.Log.
type testLog struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startEcho runs a pool of echo processes as function spec, stopped when the test ends.
func startEcho(t *testing.T, bin string, spec functionSpec, extraEnv ...string) *Function {
	t.Helper()
	out := &testLog{t: t}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, d := range functionSpecs(deploy.Buzon) {
		if d.Name == spec.Name {
			spec.Settings = d.Settings
		}
	}
	s := settings{LogLevel: "debug"}
	values := localValues(s, stackResources{Queues: map[string]fifoQueue{"inbound": {URL: "http://in"}, "outbound": {URL: "http://out"}}})
	env := append(functionEnv(s, spec, values), extraEnv...)
	f := newFunction(spec, bin, env, newLogSink(out), log)
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx)
	t.Cleanup(func() {
		cancel()
		f.Wait()
	})
	return f
}

func TestRuntimeAndGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds and runs a function")
	}
	t.Parallel()
	bin := buildEcho(t)
	// A timeout no invocation reaches on a busy machine; the timeout subtest has its own.
	f := startEcho(t, bin, functionSpec{Name: "api", MemoryMB: 512, Timeout: 30 * time.Second, Pool: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.Settled(ctx); err != nil {
		t.Fatalf("echo did not initialize: %v", err)
	}

	tk := newTokens([]byte("test-key"), time.Now)
	users := map[string]*inbox.User{"ana@acme.test": {ID: "u_ana", OrgID: "acme", Email: "ana@acme.test"}}
	gw := &gateway{
		functions: map[string]invokeFunc{"api": f.Invoke, "webhook": f.Invoke},
		tokens:    tk,
		userByEmail: func(_ context.Context, email string) (*inbox.User, error) {
			if u, ok := users[email]; ok {
				return u, nil
			}
			return nil, store.ErrNotFound
		},
		log: slog.New(slog.NewTextHandler(&testLog{t: t}, nil)),
		now: time.Now,
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	do := func(t *testing.T, method, path, token string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	// A token from the local sign-in route.
	resp, b := do(t, "POST", "/local/token", "", []byte(`{"email":"ana@acme.test"}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /local/token: %d %s", resp.StatusCode, b)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(b, &tok); err != nil || tok.Token == "" {
		t.Fatalf("POST /local/token: %s", b)
	}

	t.Run("token for an unknown user", func(t *testing.T) {
		resp, b := do(t, "POST", "/local/token", "", []byte(`{"email":"nobody@acme.test"}`))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d %s, want 404", resp.StatusCode, b)
		}
	})

	t.Run("api through the runtime API", func(t *testing.T) {
		resp, b := do(t, "GET", "/v1/conversations?state=open", tok.Token, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Echo") != "yes" {
			t.Fatalf("status %d, X-Echo %q: %s", resp.StatusCode, resp.Header.Get("X-Echo"), b)
		}
		var echo struct {
			Event struct {
				RouteKey       string            `json:"routeKey"`
				RawQueryString string            `json:"rawQueryString"`
				PathParameters map[string]string `json:"pathParameters"`
				RequestContext struct {
					Authorizer struct {
						JWT struct {
							Claims map[string]string `json:"claims"`
						} `json:"jwt"`
					} `json:"authorizer"`
				} `json:"requestContext"`
			} `json:"event"`
			RequestID   string            `json:"request_id"`
			FunctionARN string            `json:"function_arn"`
			Deadline    time.Time         `json:"deadline"`
			Env         map[string]string `json:"env"`
		}
		if err := json.Unmarshal(b, &echo); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		ev := echo.Event
		if ev.RouteKey != "ANY /v1/{proxy+}" || ev.RawQueryString != "state=open" || ev.PathParameters["proxy"] != "conversations" {
			t.Errorf("event = %+v", ev)
		}
		claims := ev.RequestContext.Authorizer.JWT.Claims
		if claims["sub"] != "u_ana" || claims["email"] != "ana@acme.test" || claims["custom:org_id"] != "acme" {
			t.Errorf("claims = %v", claims)
		}
		if echo.RequestID == "" || echo.FunctionARN != functionARN("api") {
			t.Errorf("request id %q, function ARN %q", echo.RequestID, echo.FunctionARN)
		}
		if d := time.Until(echo.Deadline); d <= 0 || d > 30*time.Second {
			t.Errorf("deadline in %s, want within the 30s timeout", d)
		}
		want := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "api", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "TABLE_NAME": "buzon", "HOME": ""}
		if diff := cmp.Diff(want, echo.Env); diff != "" {
			t.Errorf("function env (-want +got):\n%s", diff)
		}
	})

	t.Run("no token", func(t *testing.T) {
		resp, b := do(t, "GET", "/v1/conversations", "", nil)
		if resp.StatusCode != http.StatusUnauthorized || string(b) != "{\"message\":\"Unauthorized\"}\n" {
			t.Errorf("got %d %s, want 401 Unauthorized", resp.StatusCode, b)
		}
	})

	t.Run("webhook with a binary body", func(t *testing.T) {
		resp, b := do(t, "POST", "/webhooks/twilio", "", []byte{0xff, 0x01})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var echo struct {
			Event struct {
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			} `json:"event"`
		}
		json.Unmarshal(b, &echo)
		if echo.Event.Body != "/wE=" || !echo.Event.IsBase64Encoded {
			t.Errorf("event body %q base64 %v, want \"/wE=\" true", echo.Event.Body, echo.Event.IsBase64Encoded)
		}
	})

	t.Run("base64 response with cookies", func(t *testing.T) {
		resp, b := do(t, "GET", "/v1/binary", tok.Token, nil)
		if resp.StatusCode != 201 || !bytes.Equal(b, []byte{0xff, 0x00, 0xfe}) {
			t.Errorf("got %d %x, want 201 ff00fe", resp.StatusCode, b)
		}
		if diff := cmp.Diff([]string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie")); diff != "" {
			t.Errorf("Set-Cookie (-want +got):\n%s", diff)
		}
	})

	t.Run("response without statusCode", func(t *testing.T) {
		resp, b := do(t, "GET", "/v1/plain", tok.Token, nil)
		if resp.StatusCode != 200 || string(b) != `{"hello":"world"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	})

	t.Run("function errors are 500", func(t *testing.T) {
		for _, path := range []string{"/v1/error", "/v1/panic"} {
			resp, b := do(t, "GET", path, tok.Token, nil)
			if resp.StatusCode != 500 || !strings.Contains(string(b), "Internal Server Error") {
				t.Errorf("%s: got %d %s, want 500", path, resp.StatusCode, b)
			}
		}
	})

	t.Run("unknown route", func(t *testing.T) {
		// Every GET has a route (the console's /{proxy+}): a POST outside the API has none.
		resp, b := do(t, "POST", "/nowhere", "", nil)
		if resp.StatusCode != 404 || !strings.Contains(string(b), "Not Found") {
			t.Errorf("got %d %s, want 404", resp.StatusCode, b)
		}
	})

	t.Run("crash mid-invocation", func(t *testing.T) {
		resp, b := do(t, "GET", "/v1/crash", tok.Token, nil)
		if resp.StatusCode != 500 {
			t.Errorf("got %d %s, want 500", resp.StatusCode, b)
		}
		_, err := f.Invoke(context.Background(), []byte(`{"routeKey":"x","rawPath":"/v1/crash"}`))
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "exit status 3") {
			t.Errorf("Invoke(crash) error = %v, want Runtime.ExitError with exit status 3", err)
		}
		// The crashed processes are replaced: both are serving again.
		pids := map[int]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				resp, b := do(t, "GET", "/v1/again", tok.Token, nil)
				if resp.StatusCode != 200 {
					t.Errorf("after the crash: %d %s", resp.StatusCode, b)
					return
				}
				var echo struct{ PID int }
				json.Unmarshal(b, &echo)
				mu.Lock()
				pids[echo.PID] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(pids) == 0 {
			t.Error("no process answered after the crash")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		short := startEcho(t, bin, functionSpec{Name: "api", MemoryMB: 512, Timeout: 2 * time.Second, Pool: 1})
		start := time.Now()
		_, err := short.Invoke(context.Background(), []byte(`{"routeKey":"x","rawPath":"/v1/sleep"}`))
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.Type != "Sandbox.Timedout" {
			t.Fatalf("Invoke(sleep) error = %v, want Sandbox.Timedout", err)
		}
		// Not before the 2 s timeout, and long before the hour the function sleeps (the margin
		// is for a busy machine).
		if d := time.Since(start); d < 2*time.Second || d > 30*time.Second {
			t.Errorf("timed out after %s, want about 2s", d)
		}
		// The overrunning process was killed and replaced.
		if _, err := short.Invoke(context.Background(), []byte(`{"routeKey":"x","rawPath":"/v1/ok"}`)); err != nil {
			t.Errorf("Invoke after a timeout: %v", err)
		}
	})
}

func TestRuntimeInitFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds and runs a function")
	}
	t.Parallel()
	bin := buildEcho(t)
	f := startEcho(t, bin, functionSpec{Name: "window", MemoryMB: 256, Timeout: 2 * time.Second, Pool: 1}, "ECHO_INIT_EXIT=7")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := f.Invoke(ctx, []byte(`{}`))
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "exit status 7") {
		t.Errorf("Invoke error = %v, want Runtime.ExitError exit status 7", err)
	}
}
