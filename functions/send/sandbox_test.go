package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/infra/local/sandbox"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/twilio"
)

// webhooks stands in for the webhook function and the assign consumer: it verifies each
// delivery's signature, parses it and applies it with the same ingest processor.
func (e *env) webhooks(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var items []events.Inbound
		switch r.URL.Path {
		case "/webhooks/meta":
			if err := meta.VerifySignature(body, r.Header.Get("X-Hub-Signature-256"), []byte("app-secret")); err != nil {
				t.Errorf("meta signature: %v", err)
				return
			}
			var err error
			if items, err = meta.Parse(body, time.Now()); err != nil {
				t.Errorf("meta parse: %v", err)
			}
		case "/webhooks/twilio":
			form, _ := url.ParseQuery(string(body))
			if err := twilio.VerifySignature("https://buzon.test/webhooks/twilio", form, r.Header.Get("X-Twilio-Signature"), "tw"); err != nil {
				t.Errorf("twilio signature: %v", err)
				return
			}
			item := twilio.Parse(form, time.Now())
			if item.Kind == events.KindMalformed {
				t.Errorf("twilio parse: %s", item.Malformed.Reason)
			}
			items = []events.Inbound{item}
		}
		for i := range items {
			if _, err := e.proc.Apply(r.Context(), &items[i]); err != nil {
				t.Errorf("apply: %v", err)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// withSandbox points the handler's providers at a provider sandbox that posts its webhooks
// back through e.webhooks.
func (e *env) withSandbox(t *testing.T, delay time.Duration) *sandbox.Sandbox {
	t.Helper()
	hooks := e.webhooks(t)
	sb := sandbox.New(sandbox.Options{
		WebhookURL: hooks.URL, PublicBaseURL: "https://buzon.test", MetaAppSecret: "app-secret", MetaAccessToken: "tok",
		TwilioAuthToken: "tw", StatusDelay: delay, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	e.h.senders = staticSenders{
		"meta":   &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok", HTTP: srv.Client()},
		"twilio": &twilio.Client{BaseURL: srv.URL, AuthToken: "tw", StatusCallback: "https://buzon.test/webhooks/twilio", HTTP: srv.Client()},
	}
	return sb
}

func TestSendThroughTheSandboxEndsRead(t *testing.T) {
	t.Parallel()
	// Statuses a few milliseconds behind the send usually find the provider id recorded; the
	// parked path is covered by TestSendRecordsProviderIDAndParkedStatuses. (With ~1 ms a
	// status can be parked just after the send path read the parked ones: shared/ingest must
	// read the pointer again after parking to close that race.)
	for _, delay := range []time.Duration{30 * time.Millisecond, 100 * time.Millisecond} {
		for _, provider := range []string{"meta", "twilio"} {
			t.Run(provider+"/"+delay.String(), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				sb := e.withSandbox(t, delay)
				line := e.metaLine
				if provider == "twilio" {
					line = e.twilLine
				}
				m := e.queued(t, line, "5491100000100", "¿Te llegó?")
				resp, err := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1)}})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("handle = %v, %v", resp, err)
				}
				sb.Wait()
				got := e.message(t, m)
				if got.Status != inbox.DeliveryRead || got.ProviderID == "" {
					t.Errorf("message %s %q, want read with a provider id (statuses %v)", got.Status, got.ProviderID, got.StatusAt)
				}
			})
		}
	}
}

func TestSandboxWindowFailureShowsOnTheMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.withSandbox(t, 30*time.Millisecond)
	resp, err := http.Post(strings.TrimSuffix(e.h.senders.(staticSenders)["meta"].(*meta.Client).BaseURL, "/")+"/sandbox/fail", "application/json", strings.NewReader(`{"mode":"window"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("switch: %v %v", resp, err)
	}
	resp.Body.Close()
	m := e.queued(t, e.metaLine, "5491100000101", "hola")
	if _, err := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1)}}); err != nil {
		t.Fatal(err)
	}
	sb.Wait()
	got := e.message(t, m)
	if got.Status != inbox.DeliveryFailed || got.Error == nil || got.Error.Code != 131047 {
		t.Errorf("message %s %+v, want failed with 131047", got.Status, got.Error)
	}
}
