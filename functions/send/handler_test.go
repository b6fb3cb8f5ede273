package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
	"github.com/buzon/buzon/shared/twilio"
)

// reply is one scripted provider answer, to the first request whose body contains match.
type reply struct {
	status int
	body   string
	match  string
}

// fakeProvider fakes the Graph API and Twilio's Messages API: it records every send and answers
// from its script, then with success and a fresh id.
type fakeProvider struct {
	mu     sync.Mutex
	script []reply
	paths  []string
	bodies []string
	n      int
}

func (p *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paths = append(p.paths, r.URL.Path)
	p.bodies = append(p.bodies, string(b))
	w.Header().Set("Content-Type", "application/json")
	for i, rp := range p.script {
		if strings.Contains(string(b), rp.match) {
			p.script = append(p.script[:i], p.script[i+1:]...)
			w.WriteHeader(rp.status)
			io.WriteString(w, rp.body)
			return
		}
	}
	p.n++
	if strings.HasSuffix(r.URL.Path, "/Messages.json") {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued"}`, p.n)
		return
	}
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.TEST%d"}]}`, p.n)
}

func (p *fakeProvider) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.paths)
}

func (p *fakeProvider) push(rs ...reply) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = append(p.script, rs...)
}

type env struct {
	st                 *store.Store
	org                string
	metaLine, twilLine *inbox.Line
	prov               *fakeProvider
	h                  *handler
	run                *consume.Runner
	outbound           *queue.Queue
	sqs                *sqs.Client
	queueURL, dlqURL   string
	proc               *ingest.Processor
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{st: testenv.Store(t), org: testenv.ID("org"), prov: &fakeProvider{}}
	e.metaLine = &inbox.Line{ID: "lm", OrgID: e.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	e.twilLine = &inbox.Line{ID: "lt", OrgID: e.org, Provider: "twilio", Address: "+1415" + testenv.ID("")[:7], Account: "AC" + testenv.ID("")[:10],
		DepartmentID: "sales", State: inbox.LineActive}
	for _, l := range []*inbox.Line{e.metaLine, e.twilLine} {
		if err := e.st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(e.prov)
	t.Cleanup(srv.Close)
	opts := testenv.SQS(t).Options()
	opts.Logger = logging.Nop{} // moto's answers trip the SDK's checksum warning
	e.sqs = sqs.New(opts)
	e.queueURL, e.dlqURL = testenv.FIFOQueue(t, consume.MaxReceives, 30) // the stack's redrive limit
	e.h = &handler{
		st: e.st,
		senders: staticSenders{
			"meta":   &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok", HTTP: srv.Client()},
			"twilio": &twilio.Client{BaseURL: srv.URL, AuthToken: "tw", StatusCallback: "https://buzon.test/webhooks/twilio", HTTP: srv.Client()},
		},
		limit:   newLimiter(80),
		now:     time.Now,
		backoff: func(int) time.Duration { return time.Second },
	}
	e.outbound = queue.New(e.sqs, e.queueURL)
	e.run = e.h.runner(e.outbound, queue.New(e.sqs, e.dlqURL))
	e.proc = ingest.New(e.st, time.Now, nil)
	return e
}

// queued makes the customer wa write on line, then stores an agent's queued text message to
// them, as the API does, and returns it.
func (e *env) queued(t *testing.T, line *inbox.Line, wa, text string) *inbox.Message {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := events.ProviderMeta
	if line.Provider == "twilio" {
		p = events.ProviderTwilio
	}
	_, err := e.proc.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: p, ReceivedAt: now.Add(-time.Minute),
		Message: &events.Message{ID: "in-" + wa, Line: events.Line{Address: line.Address}, From: wa, Timestamp: now.Add(-time.Minute), Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatal(err)
	}
	m := inbox.NewOutboundMessage(inbox.NewID("m_"), inbox.ConversationID(e.org, line.ID, wa), "ana", now)
	m.Type, m.Text = "text", text
	if err := e.st.PutMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) event(m *inbox.Message) *events.Send {
	return &events.Send{OrgID: e.org, ConversationID: m.ConversationID, MessageID: m.ID, MessageAt: m.At, RequestID: "req-1"}
}

// record is the SQS record of a Send as Lambda would pass it, on its receiveCount-th delivery.
func (e *env) record(t *testing.T, id string, m *inbox.Message, receiveCount int) lambdaevents.SQSMessage {
	t.Helper()
	ev := e.event(m)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaevents.SQSMessage{MessageId: id, Body: string(b), Attributes: map[string]string{
		"MessageGroupId": ev.GroupID(), "ApproximateReceiveCount": fmt.Sprint(receiveCount)}}
}

func (e *env) message(t *testing.T, m *inbox.Message) *inbox.Message {
	t.Helper()
	got, err := e.st.Message(context.Background(), store.KeyOf(m))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func failures(resp lambdaevents.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// receive waits up to wait for messages of url, as Lambda's poller would get them.
func (e *env) receive(t *testing.T, url string, wait int32) []lambdaevents.SQSMessage {
	t.Helper()
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var recs []lambdaevents.SQSMessage
	for _, m := range out.Messages {
		r := lambdaevents.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{}}
		for k, v := range m.MessageAttributes {
			r.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
		}
		recs = append(recs, r)
	}
	return recs
}

// ack deletes the records the handler did not report, as the event source mapping does.
func (e *env) ack(t *testing.T, recs []lambdaevents.SQSMessage, resp lambdaevents.SQSEventResponse) {
	t.Helper()
	failed := map[string]bool{}
	for _, id := range failures(resp) {
		failed[id] = true
	}
	for _, r := range recs {
		if failed[r.MessageId] {
			continue
		}
		if _, err := e.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queueURL), ReceiptHandle: aws.String(r.ReceiptHandle)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSendRecordsProviderIDAndParkedStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	m := e.queued(t, e.metaLine, "5491100000001", "¡Hola!")
	// The provider's "delivered" webhook raced ahead of the send function: it is parked.
	deliveredAt := time.Now().UTC().Add(time.Second).Truncate(time.Second)
	err := e.st.ParkStatus(ctx, m.ConversationID, &events.Status{MessageID: "wamid.TEST1", Line: events.Line{Address: e.metaLine.Address},
		RecipientID: "5491100000001", Status: "delivered", Timestamp: deliveredAt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	resp, err := e.run.Run(ctx, lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if f := failures(resp); len(f) != 0 {
		t.Fatalf("failures %v, want none", f)
	}
	got := e.message(t, m)
	if got.ProviderID != "wamid.TEST1" || got.Status != inbox.DeliveryDelivered || got.StatusAt[inbox.DeliverySent].IsZero() ||
		!got.StatusAt[inbox.DeliveryDelivered].Equal(deliveredAt) || got.Error != nil {
		t.Errorf("message = %+v, want delivered with wamid.TEST1 and sent/delivered times", got)
	}
	if k, err := e.st.Pointer(ctx, m.ConversationID, "wamid.TEST1"); err != nil || k != store.KeyOf(m) {
		t.Errorf("pointer = %v, %v; want the message's key", k, err)
	}
	want := []string{"/v23.0/" + e.metaLine.Address + "/messages"}
	if diff := cmp.Diff(want, e.prov.paths); diff != "" {
		t.Errorf("provider calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.prov.bodies[0], `"to":"5491100000001"`) {
		t.Errorf("request %s does not address the customer", e.prov.bodies[0])
	}
	// A status webhook after the send finds the pointer and applies directly.
	res, err := e.proc.Apply(ctx, &events.Inbound{Kind: events.KindStatus, Provider: events.ProviderMeta, ReceivedAt: time.Now(),
		Status: &events.Status{MessageID: "wamid.TEST1", Line: events.Line{Address: e.metaLine.Address}, RecipientID: "5491100000001", Status: "read", Timestamp: deliveredAt.Add(time.Second)}})
	if err != nil || res != ingest.Stored || e.message(t, m).Status != inbox.DeliveryRead {
		t.Errorf("read status: %v %v, message %s; want stored and read", res, err, e.message(t, m).Status)
	}
}

func TestSendThroughTwilio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.queued(t, e.twilLine, "5491100000002", "hola")
	resp, err := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle = %v, %v", resp, err)
	}
	got := e.message(t, m)
	if !strings.HasPrefix(got.ProviderID, "SM") || got.Status != inbox.DeliverySent {
		t.Errorf("message = %s %s, want sent with an SM sid", got.Status, got.ProviderID)
	}
	if want := "/2010-04-01/Accounts/" + e.twilLine.Account + "/Messages.json"; e.prov.paths[0] != want {
		t.Errorf("path %s, want %s", e.prov.paths[0], want)
	}
}

func TestSendRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	m := e.queued(t, e.metaLine, "5491100000003", "hola")
	e.prov.push(reply{400, `{"error":{"message":"(#130429) Rate limit hit","code":130429}}`, ""})
	ev := e.event(m)
	if err := e.outbound.Send(ctx, []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}}); err != nil {
		t.Fatal(err)
	}

	recs := e.receive(t, e.queueURL, 2)
	if len(recs) != 1 {
		t.Fatalf("received %d, want 1", len(recs))
	}
	resp, _ := e.run.Run(ctx, lambdaevents.SQSEvent{Records: recs})
	if diff := cmp.Diff([]string{recs[0].MessageId}, failures(resp)); diff != "" {
		t.Fatalf("failures (-want +got):\n%s", diff)
	}
	e.ack(t, recs, resp)
	if got := e.message(t, m); got.Status != inbox.DeliveryQueued {
		t.Errorf("after a throttle: %s, want still queued", got.Status)
	}

	// The retry comes back after the backoff (1 s here), not the 30 s visibility timeout (25 s:
	// room for a busy machine, still short of the visibility timeout).
	start := time.Now()
	var again []lambdaevents.SQSMessage
	for time.Since(start) < 25*time.Second && len(again) == 0 {
		again = e.receive(t, e.queueURL, 1)
	}
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("retry: %+v after %v, want the message on its second receive", again, time.Since(start))
	}
	resp, _ = e.run.Run(ctx, lambdaevents.SQSEvent{Records: again})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second attempt failed: %v", failures(resp))
	}
	e.ack(t, again, resp)
	if got := e.message(t, m); got.Status != inbox.DeliverySent || got.ProviderID != "wamid.TEST1" {
		t.Errorf("after retry: %s %s, want sent wamid.TEST1", got.Status, got.ProviderID)
	}
	if n := e.prov.calls(); n != 2 {
		t.Errorf("%d provider calls, want 2", n)
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		replies      []reply
		receiveCount int
		priorCalls   int // provider attempts before this one (on the message)
		wantRetry    bool
		wantError    *inbox.ProviderError
	}{
		{
			name:         "permanent: closed window",
			replies:      []reply{{400, `{"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"More than 24 hours have passed."}}}`, ""}},
			receiveCount: 1,
			wantError: &inbox.ProviderError{Code: 131047, Title: "Re-engagement message",
				Message: "More than 24 hours since the customer last wrote: send an approved template", Details: "More than 24 hours have passed."},
		},
		{
			name:         "permanent: template missing",
			replies:      []reply{{404, `{"error":{"message":"(#132001) Template name does not exist in the translation","code":132001}}`, ""}},
			receiveCount: 1,
			wantError: &inbox.ProviderError{Code: 132001, Title: "Template name does not exist in the translation",
				Message: "The template does not exist in that language or is not approved", Details: "(#132001) Template name does not exist in the translation"},
		},
		{
			name:         "retryable, attempts left",
			replies:      []reply{{500, `{"error":{"message":"(#131000) Something went wrong","code":131000}}`, ""}},
			receiveCount: 3,
			priorCalls:   2,
			wantRetry:    true,
		},
		{
			// Receives used up by an outage of Buzón's own storage are not provider attempts.
			name:         "retryable, first provider attempt after many receives",
			replies:      []reply{{500, `{"error":{"message":"(#131000) Something went wrong","code":131000}}`, ""}},
			receiveCount: 20,
			wantRetry:    true,
		},
		{
			name:         "retryable, last attempt",
			replies:      []reply{{500, `{"error":{"message":"(#131000) Something went wrong","code":131000}}`, ""}},
			receiveCount: maxAttempts,
			priorCalls:   maxAttempts - 1,
			wantError: &inbox.ProviderError{Code: 131000, Title: "Something went wrong",
				Message: "WhatsApp had an internal error: try again later", Details: "(#131000) Something went wrong"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m := e.queued(t, e.metaLine, "5491100000004", "hola")
			if tc.priorCalls > 0 { // earlier calls the provider refused for now
				k := store.KeyOf(m)
				if err := e.st.MarkSending(context.Background(), k, tc.priorCalls, time.Now()); err != nil {
					t.Fatal(err)
				}
				if err := e.st.Requeue(context.Background(), k); err != nil {
					t.Fatal(err)
				}
			}
			e.prov.push(tc.replies...)
			resp, err := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, tc.receiveCount)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.BatchItemFailures) == 1; got != tc.wantRetry {
				t.Errorf("reported for retry = %v, want %v", got, tc.wantRetry)
			}
			got := e.message(t, m)
			wantStatus := inbox.DeliveryFailed
			if tc.wantRetry {
				wantStatus = inbox.DeliveryQueued
			}
			if got.Status != wantStatus {
				t.Errorf("status %s, want %s", got.Status, wantStatus)
			}
			if diff := cmp.Diff(tc.wantError, got.Error); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendPausedLineFailsWithoutCallingTheProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.queued(t, e.metaLine, "5491100000005", "hola")
	paused := *e.metaLine
	paused.State = inbox.LinePaused
	if err := e.st.PutLine(context.Background(), &paused); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1)}})
	got := e.message(t, m)
	if len(resp.BatchItemFailures) != 0 || got.Status != inbox.DeliveryFailed || got.Error == nil || got.Error.Message != "The line is paused: it cannot send until an admin reactivates it" {
		t.Errorf("resp %v, message %s %+v; want acknowledged and failed with the reason", resp, got.Status, got.Error)
	}
	if n := e.prov.calls(); n != 0 {
		t.Errorf("%d provider calls, want 0", n)
	}
}

func TestSendDuplicateDeliverySendsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	m := e.queued(t, e.metaLine, "5491100000006", "una vez")
	// The same event twice in a batch (a producer retry past FIFO deduplication), then again
	// later (SQS redelivery after a lost acknowledgement).
	batch := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "r1", m, 1), e.record(t, "r2", m, 1)}}
	for _, ev := range []lambdaevents.SQSEvent{batch, {Records: []lambdaevents.SQSMessage{e.record(t, "r3", m, 2)}}} {
		resp, err := e.run.Run(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle = %v, %v", resp, err)
		}
	}
	if n := e.prov.calls(); n != 1 {
		t.Errorf("%d provider calls, want 1", n)
	}
	if got := e.message(t, m); got.Status != inbox.DeliverySent {
		t.Errorf("status %s, want sent", got.Status)
	}
}

func TestSendKeepsConversationOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.queued(t, e.metaLine, "5491100000007", "primero")
	second := e.queued(t, e.metaLine, "5491100000007", "segundo")
	other := e.queued(t, e.metaLine, "5491100000008", "otra conversación")
	e.prov.push(reply{500, `{"error":{"message":"(#131016) Service unavailable","code":131016}}`, "primero"})
	resp, _ := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		e.record(t, "r1", first, 1), e.record(t, "r2", second, 1), e.record(t, "r3", other, 1)}})
	if diff := cmp.Diff([]string{"r1", "r2"}, failures(resp)); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if e.message(t, second).Status != inbox.DeliveryQueued || e.message(t, other).Status != inbox.DeliverySent {
		t.Errorf("second %s (want queued, not sent ahead of the first), other %s (want sent)", e.message(t, second).Status, e.message(t, other).Status)
	}
}

func TestSendThrottlesPerLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.h.limit = newLimiter(1)
	a := e.queued(t, e.metaLine, "5491100000009", "a")
	b := e.queued(t, e.metaLine, "5491100000010", "b")
	tw := e.queued(t, e.twilLine, "5491100000011", "c")
	resp, _ := e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		e.record(t, "ra", a, 1), e.record(t, "rb", b, 1), e.record(t, "rt", tw, 1)}})
	// One token per second on the Meta line: one of a and b waits; the Twilio line has its own.
	if n := len(resp.BatchItemFailures); n != 1 {
		t.Errorf("failures %v, want exactly one of ra, rb", failures(resp))
	}
	if n := e.prov.calls(); n != 2 {
		t.Errorf("%d provider calls, want 2", n)
	}
	// On its last attempt a message skips the local throttle.
	c := e.queued(t, e.metaLine, "5491100000012", "c")
	resp, _ = e.run.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{e.record(t, "rc", c, maxAttempts)}})
	if len(resp.BatchItemFailures) != 0 || e.message(t, c).Status != inbox.DeliverySent {
		t.Errorf("last attempt: %v %s, want sent", failures(resp), e.message(t, c).Status)
	}
}

func TestSendPoisonGoesToDLQ(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	m := e.queued(t, e.metaLine, "5491100000013", "hola")
	// An event naming the message but without its organization: the message is identifiable,
	// so it is marked failed.
	noOrg := e.event(m)
	noOrg.OrgID = ""
	b, _ := json.Marshal(noOrg)
	missing := e.event(&inbox.Message{ConversationID: m.ConversationID, ID: "m_nope", At: m.At})
	mb, _ := json.Marshal(missing)
	recs := []lambdaevents.SQSMessage{
		{MessageId: "p1", Body: `{"org_id":`, Attributes: map[string]string{"MessageGroupId": "g1"}},
		{MessageId: "p2", Body: string(b), Attributes: map[string]string{"MessageGroupId": noOrg.GroupID()}},
		{MessageId: "p3", Body: string(mb), Attributes: map[string]string{"MessageGroupId": missing.GroupID()}},
	}
	resp, err := e.run.Run(ctx, lambdaevents.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle = %v, %v; want every poison acknowledged", resp, err)
	}
	var got []string
	for start := time.Now(); time.Since(start) < 60*time.Second && len(got) < 3; {
		for _, r := range e.receive(t, e.dlqURL, 1) {
			got = append(got, r.Body+" | "+aws.ToString(r.MessageAttributes["reason"].StringValue))
		}
	}
	want := []string{
		`{"org_id": | not a send event: unexpected end of JSON input`,
		string(b) + " | send event without org_id, conversation_id, message_id or message_at",
		string(mb) + " | no such message",
	}
	// Conversations are handled in parallel: dead letters come in any order.
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	if got := e.message(t, m); got.Status != inbox.DeliveryFailed || got.Error == nil {
		t.Errorf("identifiable message: %s %+v, want failed", got.Status, got.Error)
	}
	if n := e.prov.calls(); n != 0 {
		t.Errorf("%d provider calls, want 0", n)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{1: 4 * time.Second, 2: 16 * time.Second, 3: 64 * time.Second, 5: maxBackoff, 9: maxBackoff} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
