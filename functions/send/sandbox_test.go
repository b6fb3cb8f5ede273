package main

import (
	"context"
	"fmt"
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
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
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
			if err := twilio.VerifySignature("https://buzon.test"+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature"), "tw"); err != nil {
				t.Errorf("twilio signature: %v", err)
				return
			}
			item := twilio.Parse(form, time.Now())
			if item.Kind == events.KindMalformed {
				t.Errorf("twilio parse: %s", item.Malformed.Reason)
			}
			if item.Status != nil {
				item.Status.Ref = r.URL.Query().Get(twilio.RefParam) // as the webhook function does
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
		"twilio": &twilio.Client{BaseURL: srv.URL, AuthToken: "tw", StatusCallback: "https://buzon.test/webhooks/twilio" + twilio.RetryOverrides, HTTP: srv.Client()},
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

// drainSends plays the event source mapping on the outbound queue until done says the test's
// messages are resolved and the queue gave nothing more, or the deadline passes.
func (e *env) drainSends(t *testing.T, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		recs := testenv.Deliver(t, e.sqs, e.queueURL, e.run.Run)
		if len(recs) == 0 && done() {
			return
		}
	}
	done() // once more, for its errors
	t.Fatal("sends not resolved before the deadline")
}

// TestAmbiguousSendIsSentOnce: the provider accepts every send but its answer is lost (held
// past the client's timeout, or the connection dropped). Nothing is sent again: each message
// waits for its status callbacks, which name it by its reference, and ends read, once at the
// provider. Three messages in a row on one conversation, for each provider and mode.
func TestAmbiguousSendIsSentOnce(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{sandbox.FailAcceptTimeout, sandbox.FailAcceptReset} {
		for _, provider := range []string{"meta", "twilio"} {
			t.Run(provider+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				// Statuses slower than the recheck (the record comes back within about a second, the
				// visibility's granularity): it finds the message still sending.
				sb := e.withSandbox(t, 2*time.Second)
				e.h.recheck, e.h.callbackWait = 100*time.Millisecond, time.Minute
				for _, s := range e.h.senders.(staticSenders) {
					switch c := s.(type) {
					case *meta.Client:
						c.HTTP = &http.Client{Timeout: 2 * time.Second} // surely after the request is written, even on a loaded machine
					case *twilio.Client:
						c.HTTP = &http.Client{Timeout: 2 * time.Second} // surely after the request is written, even on a loaded machine
					}
				}
				base := strings.TrimSuffix(e.h.senders.(staticSenders)["meta"].(*meta.Client).BaseURL, "/")
				resp, err := http.Post(base+"/sandbox/fail", "application/json", strings.NewReader(`{"mode":"`+mode+`","count":-1}`))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("switch: %v %v", resp, err)
				}
				resp.Body.Close()
				line := e.metaLine
				if provider == "twilio" {
					line = e.twilLine
				}
				var msgs []*inbox.Message
				for i := range 3 {
					m := e.queued(t, line, "5491100000200", fmt.Sprintf("¿Te llegó? %d", i))
					msgs = append(msgs, m)
					ev := e.event(m)
					if err := e.outbound.Send(context.Background(), []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}}); err != nil {
						t.Fatal(err)
					}
				}
				last := ""
				e.drainSends(t, func() bool {
					var st []string
					for _, m := range msgs {
						got := e.message(t, m)
						st = append(st, fmt.Sprintf("%s %q %v", got.Status, got.ProviderID, got.Error))
					}
					if now := strings.Join(st, "; "); now != last {
						t.Logf("%s: %s", time.Now().Format("15:04:05.000"), now)
						last = now
					}
					return !strings.Contains(last, "queued") && !strings.Contains(last, "sending") && !strings.Contains(last, "sent ") && !strings.Contains(last, "delivered")
				})
				sb.Wait()
				sends := map[string]int{}
				for _, s := range sb.Sent() {
					for _, m := range msgs {
						if strings.Contains(string(s.Request), m.Ref()) {
							sends[m.ID]++
						}
					}
				}
				for _, m := range msgs {
					got := e.message(t, m)
					if sends[m.ID] != 1 || got.Status != inbox.DeliveryRead || got.ProviderID == "" {
						t.Errorf("message %q: %d sends at the provider, %s %q; want 1 send, read with its provider id", m.Text, sends[m.ID], got.Status, got.ProviderID)
					}
				}
			})
		}
	}
}

// TestCrashBetweenSendAndSave: an attempt marked the message sending, the provider accepted it,
// and the function died before saving the answer. The record comes back: the message is not
// sent again; its status callbacks link it and it ends read.
func TestCrashBetweenSendAndSave(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"meta", "twilio"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			sb := e.withSandbox(t, 2*time.Second)
			e.h.recheck = 100 * time.Millisecond
			line, to := e.metaLine, "5491100000210"
			if provider == "twilio" {
				line = e.twilLine
			}
			m := e.queued(t, line, to, "antes del corte")
			// What the dead attempt did: the mark, then the call.
			if err := e.st.MarkSending(ctx, store.KeyOf(m), 1, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.h.senders.(staticSenders)[provider].Send(ctx, line, to, m); err != nil {
				t.Fatal(err)
			}
			ev := e.event(m)
			if err := e.outbound.Send(ctx, []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}}); err != nil {
				t.Fatal(err)
			}
			e.drainSends(t, func() bool { return e.message(t, m).Status == inbox.DeliveryRead })
			sb.Wait()
			if n := len(sb.Sent()); n != 1 {
				t.Errorf("%d sends at the provider, want 1", n)
			}
		})
	}
}

// TestUnknownOutcomeWithoutCallbackFails: the provider's answer is unusable and no status
// callback ever comes. After the wait the message is failed with the reason the agent sees,
// and the provider was called once.
func TestUnknownOutcomeWithoutCallbackFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.h.recheck, e.h.callbackWait = 200*time.Millisecond, 2*time.Second
	m := e.queued(t, e.metaLine, "5491100000220", "¿hola?")
	e.prov.push(reply{200, `{"messaging_product":"whatsapp","messages":[]}`, ""}) // accepted, without the id
	ev := e.event(m)
	if err := e.outbound.Send(context.Background(), []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}}); err != nil {
		t.Fatal(err)
	}
	e.drainSends(t, func() bool { return e.message(t, m).Status == inbox.DeliveryFailed })
	got := e.message(t, m)
	if got.Error == nil || got.Error.Title != "delivery uncertain, not resent" || !strings.Contains(got.Error.Message, "not sent again") {
		t.Errorf("error = %+v, want delivery uncertain, not resent, with why", got.Error)
	}
	if n := e.prov.calls(); n != 1 {
		t.Errorf("provider called %d times, want 1", n)
	}
}
