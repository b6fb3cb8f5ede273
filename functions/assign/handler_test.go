package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

func record(t testing.TB, id string, ev *events.Inbound) lambdaevents.SQSMessage {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaevents.SQSMessage{MessageId: id, Body: string(b), Attributes: map[string]string{"MessageGroupId": ev.GroupID()}}
}

func TestBatchFailuresKeepGroupOrderAndBuryPoison(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	msg := func(id, from string, at time.Time) *events.Inbound {
		return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
			Message: &events.Message{ID: id, Line: events.Line{Address: line.Address}, From: from, Timestamp: at, Type: "text", Text: id}}
	}
	// Opening the conversation of "111" fails (a transient fault in the assignment step).
	failing := errors.New("assignment store unavailable")
	proc := ingest.New(st, time.Now, func(_ context.Context, c *inbox.Conversation, _ *inbox.Line) error {
		if c.Contact.WaID == "111" {
			return failing
		}
		return nil
	})
	client := testenv.SQS(t)
	url, dlq := testenv.FIFOQueue(t, 5, 30)
	h := (&handler{proc: proc}).runner(queue.New(client, url), queue.New(client, dlq), nil)

	poison := lambdaevents.SQSMessage{MessageId: "r3", Body: `{"kind":"message","message":`, Attributes: map[string]string{"MessageGroupId": "g-poison"}}
	ev := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		record(t, "r1", msg("wamid.x1", "111", t0)),
		record(t, "r2", msg("wamid.x2", "111", t0.Add(time.Second))),
		poison,
		record(t, "r4", msg("wamid.y1", "222", t0)),
	}}
	resp, err := h.Run(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if diff := cmp.Diff([]string{"r1", "r2"}, failed); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	// r2 must not have been applied: it waits behind r1.
	x2 := inbox.InboundMessage(inbox.ConversationID(org, "l1", "111"), msg("wamid.x2", "111", t0.Add(time.Second)).Message, t0.Add(time.Second), t0)
	if ok, err := st.MessageExists(ctx, store.KeyOf(x2)); err != nil || ok {
		t.Errorf("r2 stored = %v (%v), want not stored while r1 failed", ok, err)
	}
	y1 := inbox.InboundMessage(inbox.ConversationID(org, "l1", "222"), msg("wamid.y1", "222", t0).Message, t0, t0)
	if ok, err := st.MessageExists(ctx, store.KeyOf(y1)); err != nil || !ok {
		t.Errorf("r4 stored = %v (%v), want stored: other conversations go on", ok, err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != poison.Body {
		t.Fatalf("dead-letter queue holds %d messages, want the poison record", len(out.Messages))
	}
	if r := out.Messages[0].MessageAttributes["reason"]; r.StringValue == nil || *r.StringValue == "" {
		t.Errorf("dead letter has no reason attribute")
	}
}
