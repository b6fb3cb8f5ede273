package twilio

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
)

var update = flag.Bool("update", false, "rewrite the golden request bodies in testdata/send")

// recorded is one request a fake Twilio API received.
type recorded struct {
	Method, Path, User, Password, ContentType string
	Body                                      string
}

// api is a fake Twilio REST API that records requests and answers with status and body.
type api struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
	delay  time.Duration
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	user, pass, _ := r.BasicAuth()
	a.mu.Lock()
	a.reqs = append(a.reqs, recorded{r.Method, r.URL.Path, user, pass, r.Header.Get("Content-Type"), string(b)})
	status, body, delay := a.status, a.body, a.delay
	a.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func newAPI(t *testing.T, status int, body string) (*api, *Client) {
	t.Helper()
	a := &api{status: status, body: body}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, &Client{BaseURL: srv.URL, AuthToken: "token-abc", StatusCallback: "https://buzon.example.com/webhooks/twilio", HTTP: srv.Client()}
}

var sendLine = &inbox.Line{ID: "l2", Provider: "twilio", Address: "+14155238886", Account: "AC00000000000000000000000000000001"}

const created = `{"sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","error_code":null,"error_message":null,"num_media":"0"}`

func TestSendRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    inbox.Message
	}{
		{"text", inbox.Message{Type: "text", Text: "Hola, ¿en qué te ayudo?", ReplyTo: "SMreplyignored"}},
		{"image_caption", inbox.Message{Type: "image", Text: "tu factura", Media: &inbox.Media{URL: "https://cdn.example.com/f.png"}}},
		{"audio", inbox.Message{Type: "audio", Text: "ignored", Media: &inbox.Media{URL: "https://cdn.example.com/a.ogg"}}},
		{"template", inbox.Message{Type: "template", Template: &inbox.TemplateRef{Name: "HXb5b62575e6e4ff6129ad7c8efe1f983e", Language: "es",
			Variables: map[string]string{"2": "#4521", "1": "Ana"}}}},
		// A stored message gets its own StatusCallback: the Ref in the query, before the
		// connection overrides.
		{"text_ref", inbox.Message{ID: "m_0187a1", ConversationID: "c_k3fq2w", At: time.UnixMilli(1763632800123), Type: "text", Text: "¿Te llegó?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, c := newAPI(t, http.StatusCreated, created)
			c.StatusCallback += RetryOverrides
			sid, err := c.Send(context.Background(), sendLine, "5491155550000", &tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if want := "SM1f0e8ae6ade43cb3c0ce4525424e404f"; sid != want {
				t.Errorf("sid = %q, want %q", sid, want)
			}
			if len(a.reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(a.reqs))
			}
			r := a.reqs[0]
			want := recorded{Method: "POST", Path: "/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json",
				User: sendLine.Account, Password: "token-abc", ContentType: "application/x-www-form-urlencoded"}
			if diff := cmp.Diff(want, recorded{r.Method, r.Path, r.User, r.Password, r.ContentType, ""}); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			golden(t, filepath.Join("testdata", "send", tc.name+".txt"), r.Body)
		})
	}
}

// golden compares a form body, one decoded parameter a line, with its golden file (rewritten
// with -update).
func golden(t *testing.T, file, body string) {
	t.Helper()
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("body is not a form: %v", err)
	}
	var b strings.Builder
	for _, kv := range strings.Split(form.Encode(), "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		b.WriteString(k + "=" + v + "\n")
	}
	if *update {
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", file, diff)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		wantCode   int
		wantRetry  bool
		wantReason string
	}{
		{"outside window", 400, `{"code":63016,"message":"Failed to send freeform message because you are outside the allowed window.","more_info":"https://www.twilio.com/docs/errors/63016","status":400}`,
			63016, false, "More than 24 hours since the customer last wrote: send an approved template"},
		{"invalid to", 400, `{"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`,
			21211, false, "The customer's number is not valid"},
		{"auth", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`,
			20003, false, "Twilio refused the line's credentials: an admin must check the account SID and auth token"},
		{"too many requests", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, 20429, true, "Too many requests to Twilio right now: try again in a few minutes"},
		{"server error", 500, `{"code":20500,"message":"Internal Server Error","status":500}`, 20500, true, "Twilio could not take the message for now: try again later"},
		{"gateway html", 503, `<html>unavailable</html>`, 0, true, "Twilio could not take the message for now: try again later"},
		{"unlisted 400", 400, `{"code":21999,"message":"new thing","status":400}`, 21999, false, "Twilio refused the message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c := newAPI(t, tc.status, tc.body)
			_, err := c.Send(context.Background(), sendLine, "5491155550000", &inbox.Message{Type: "text", Text: "hola"})
			var se *provider.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want a *provider.SendError", err)
			}
			type outcome struct {
				Code   int
				Retry  bool
				Reason string
			}
			if diff := cmp.Diff(outcome{tc.wantCode, tc.wantRetry, tc.wantReason}, outcome{se.Code, se.Retryable, se.Reason}); diff != "" {
				t.Errorf("%v (-want +got):\n%s", se, diff)
			}
		})
	}
}

// TestSendAmbiguity: an acceptance without a message id is uncertain: the provider may have
// the message, so it must not be sent again blindly. (The transport's outcomes, a timeout or a
// reset after the request was written, are provider.Do's, tested there.)
func TestSendAmbiguity(t *testing.T) {
	t.Parallel()
	_, c := newAPI(t, http.StatusCreated, created)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"status":"queued"}`)
	}))
	t.Cleanup(srv.Close)
	c.BaseURL, c.HTTP = srv.URL, srv.Client()
	_, err := c.Send(context.Background(), sendLine, "549", &inbox.Message{Type: "text", Text: "hola"})
	var se *provider.SendError
	if !errors.As(err, &se) || se.Retryable || !se.Uncertain || se.Reason == "" {
		t.Errorf("Send error = %#v, want uncertain, not retryable, with a reason", err)
	}
}

func TestSendRefusesUnsendable(t *testing.T) {
	t.Parallel()
	a, c := newAPI(t, http.StatusCreated, created)
	tests := []struct {
		name string
		line *inbox.Line
		m    inbox.Message
	}{
		{"template without content sid", sendLine, inbox.Message{Type: "template", Template: &inbox.TemplateRef{Name: "order_update", Language: "es"}}},
		{"location", sendLine, inbox.Message{Type: "location"}},
		{"media without url", sendLine, inbox.Message{Type: "image"}},
		{"line without account", &inbox.Line{Address: "+14155238886"}, inbox.Message{Type: "text", Text: "x"}},
	}
	for _, tc := range tests {
		_, err := c.Send(context.Background(), tc.line, "549", &tc.m)
		var se *provider.SendError
		if !errors.As(err, &se) || se.Retryable || se.Reason == "" {
			t.Errorf("%s: Send = %v, want a permanent SendError with a reason", tc.name, err)
		}
	}
	if len(a.reqs) != 0 {
		t.Errorf("%d requests sent, want none", len(a.reqs))
	}
}

// TestReadmeGivesTheRetryOverrides keeps README's Twilio line setup and the StatusCallback of
// sends on the same connection overrides.
func TestReadmeGivesTheRetryOverrides(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/webhooks/twilio" + RetryOverrides; !strings.Contains(string(b), want) {
		t.Errorf("README does not give the webhook URL %q", want)
	}
}
