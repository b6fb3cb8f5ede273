package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
)

var update = flag.Bool("update", false, "rewrite the golden request bodies in testdata/send")

// recorded is one request a fake Graph API received.
type recorded struct {
	Method, Path, Auth, ContentType string
	Body                            []byte
}

// graph is a fake Graph API that records requests and answers with status and body.
type graph struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
	delay  time.Duration
}

func (g *graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.reqs = append(g.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b})
	status, body, delay := g.status, g.body, g.delay
	g.mu.Unlock()
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

func newGraph(t *testing.T, status int, body string) (*graph, *Client) {
	t.Helper()
	g := &graph{status: status, body: body}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, &Client{BaseURL: srv.URL + "/", Version: "v23.0", Token: "tok-123", HTTP: srv.Client()}
}

var sendLine = &inbox.Line{ID: "l1", Provider: "meta", Address: "106540352242922"}

const accepted = `{"messaging_product":"whatsapp","contacts":[{"input":"5491155550000","wa_id":"5491155550000"}],"messages":[{"id":"wamid.HBgLNTQ5MTE1NTU1MDAwMBUCABEYEjQ1Q0ZBMEM3RDI4QkFGMzE4AA==","message_status":"accepted"}]}`

func TestSendRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    inbox.Message
	}{
		{"text", inbox.Message{Type: "text", Text: "Hola, ¿en qué te ayudo?"}},
		{"text_link_reply", inbox.Message{Type: "text", Text: "Mirá https://example.com/p/1", ReplyTo: "wamid.HBgLNTQ5MTE1NTU1MDAwMBUCABIYFDNBMDQ3"}},
		{"image_caption", inbox.Message{Type: "image", Text: "tu factura", Media: &inbox.Media{URL: "https://cdn.example.com/f.png"}}},
		{"document_filename", inbox.Message{Type: "document", Text: "contrato", Media: &inbox.Media{URL: "https://cdn.example.com/c.pdf", Filename: "contrato.pdf"}}},
		{"audio", inbox.Message{Type: "audio", Text: "ignored", Media: &inbox.Media{URL: "https://cdn.example.com/a.ogg"}}},
		{"template_positional", inbox.Message{Type: "template", Template: &inbox.TemplateRef{Name: "order_update", Language: "es_AR",
			Variables: map[string]string{"2": "#4521", "1": "Ana"}}}},
		{"template_named", inbox.Message{Type: "template", Template: &inbox.TemplateRef{Name: "welcome", Language: "es",
			Variables: map[string]string{"customer_name": "Ana", "agent_name": "Bea"}}}},
		{"template_plain", inbox.Message{Type: "template", Template: &inbox.TemplateRef{Name: "hello_world", Language: "en_US"}}},
		// A stored message carries its Ref, echoed in its status webhooks.
		{"text_ref", inbox.Message{ID: "m_0187a1", ConversationID: "c_k3fq2w", At: time.UnixMilli(1763632800123), Type: "text", Text: "¿Te llegó?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, c := newGraph(t, http.StatusOK, accepted)
			id, err := c.Send(context.Background(), sendLine, "5491155550000", &tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if want := "wamid.HBgLNTQ5MTE1NTU1MDAwMBUCABEYEjQ1Q0ZBMEM3RDI4QkFGMzE4AA=="; id != want {
				t.Errorf("id = %q, want %q", id, want)
			}
			if len(g.reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(g.reqs))
			}
			r := g.reqs[0]
			want := recorded{Method: "POST", Path: "/v23.0/106540352242922/messages", Auth: "Bearer tok-123", ContentType: "application/json"}
			if diff := cmp.Diff(want, recorded{r.Method, r.Path, r.Auth, r.ContentType, nil}); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			golden(t, filepath.Join("testdata", "send", tc.name+".json"), r.Body)
		})
	}
}

// golden compares a JSON request body, indented, with its golden file (rewritten with -update).
func golden(t *testing.T, file string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	buf.WriteByte('\n')
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
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
		{"throughput", 400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"fbtrace_id":"A1"}}`,
			130429, true, "The line is sending faster than WhatsApp allows: try again in a moment"},
		{"pair rate limit", 400, `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","type":"OAuthException","code":131056,"fbtrace_id":"A2"}}`,
			131056, true, "Too many messages to this customer in a short time: wait and try again"},
		{"unknown 500", 500, `{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000}}`, 131000, true, "WhatsApp had an internal error: try again later"},
		{"re-engagement", 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}`,
			131047, false, "More than 24 hours since the customer last wrote: send an approved template"},
		{"invalid parameter", 400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_subcode":2494010}}`, 100, false, "WhatsApp rejected the message as invalid"},
		{"template params", 400, `{"error":{"message":"(#132000) Number of parameters does not match the expected number of params","code":132000}}`, 132000, false, "The template's variables do not match its parameters"},
		{"token expired", 401, `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}}`, 190, false, "The line's access token expired or is invalid: an admin must reconnect the line"},
		{"permission", 403, `{"error":{"message":"(#200) Permissions error","code":200}}`, 200, false, "The line lacks a permission to send: an admin must check its access"},
		{"unlisted transient", 400, `{"error":{"message":"(#999999) new thing","code":999999,"is_transient":true}}`, 999999, true, "WhatsApp could not take the message for now: try again later"},
		{"unlisted 400", 400, `{"error":{"message":"(#999998) new thing","code":999998}}`, 999998, false, "WhatsApp refused the message"},
		{"gateway html", 502, `<html>Bad Gateway</html>`, 0, true, "WhatsApp could not take the message for now: try again later"},
		{"accepted without id", 200, `{"messages":[]}`, 0, false, "WhatsApp refused the message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c := newGraph(t, tc.status, tc.body)
			_, err := c.Send(context.Background(), sendLine, "5491155550000", &inbox.Message{Type: "text", Text: "hola"})
			var se *provider.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want a *provider.SendError", err)
			}
			got := struct {
				Code   int
				Retry  bool
				Reason string
			}{se.Code, se.Retryable, se.Reason}
			want := struct {
				Code   int
				Retry  bool
				Reason string
			}{tc.wantCode, tc.wantRetry, tc.wantReason}
			if diff := cmp.Diff(want, got); diff != "" {
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
	_, c := newGraph(t, http.StatusOK, accepted)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"messaging_product":"whatsapp","messages":[]}`)
	}))
	t.Cleanup(srv.Close)
	c.BaseURL, c.HTTP = srv.URL, srv.Client()
	_, err := c.Send(context.Background(), sendLine, "5491155550000", &inbox.Message{Type: "text", Text: "hola"})
	var se *provider.SendError
	if !errors.As(err, &se) || se.Retryable || !se.Uncertain || se.Reason == "" {
		t.Errorf("Send error = %#v, want uncertain, not retryable, with a reason", err)
	}
}

func TestSendRefusesUnsendable(t *testing.T) {
	t.Parallel()
	g, c := newGraph(t, http.StatusOK, accepted)
	for _, m := range []inbox.Message{{Type: "location"}, {Type: "image"}, {Type: "template"}} {
		_, err := c.Send(context.Background(), sendLine, "549", &m)
		var se *provider.SendError
		if !errors.As(err, &se) || se.Retryable {
			t.Errorf("Send(%s) = %v, want a permanent SendError", m.Type, err)
		}
	}
	if len(g.reqs) != 0 {
		t.Errorf("%d requests sent, want none", len(g.reqs))
	}
}
