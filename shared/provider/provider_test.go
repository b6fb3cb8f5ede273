package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDoTellsUnsentFromUncertain: a request that never left may be retried; one that was
// written and got no usable answer may have reached the provider, so it is uncertain and not
// retryable (a blind resend could deliver the message twice). The providers' clients send
// through Do; their tests check only what they add (an acceptance without an id).
func TestDoTellsUnsentFromUncertain(t *testing.T) {
	t.Parallel()
	server := func(t *testing.T, h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// received is closed by the first case's server once it has read the request: the caller
	// gives up then (a timeout that surely came after the request was written; a short client
	// timeout may expire before the connection is made on a loaded machine).
	received := make(chan struct{})
	tests := []struct {
		name                  string
		url                   func(t *testing.T) string
		giveUp                <-chan struct{} // cancels the call when closed
		wantRetry, wantUncert bool
	}{
		{name: "timeout after the request was written", wantUncert: true, giveUp: received, url: func(t *testing.T) string {
			return server(t, func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				close(received)
				select {
				case <-time.After(time.Minute):
				case <-r.Context().Done():
				}
			})
		}},
		{name: "connection reset after the request", wantUncert: true, url: func(t *testing.T) string {
			return server(t, func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close() // the request was read: reset without an answer
				}
			})
		}},
		{name: "an acceptance cut short", wantUncert: true, url: func(t *testing.T) string {
			return server(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `{"id":`)
			})
		}},
		{name: "connection refused: never sent", wantRetry: true, url: func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.giveUp != nil {
				go func() { <-tc.giveUp; cancel() }()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.url(t), strings.NewReader(`{"text":"hola"}`))
			if err != nil {
				t.Fatal(err)
			}
			_, _, se := Do(nil, req, "the provider", MaxResponse)
			if se == nil {
				t.Fatal("Do succeeded, want a SendError")
			}
			if se.Retryable != tc.wantRetry || se.Uncertain != tc.wantUncert || se.Error() == "" {
				t.Errorf("Do error = %#v, want retryable %v, uncertain %v", se, tc.wantRetry, tc.wantUncert)
			}
		})
	}
}
