package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// BenchmarkSendPath measures the send function's half of an outbound message against
// DynamoDB Local: one events.Send record handled, from reading the queued message to the
// Cloud API call (an httptest server) and recording its wamid, its pointer and the parked
// statuses. Messages go to 100 conversations of one line. It reports the write units DynamoDB
// reports consumed per message; functions/api's BenchmarkSendPath measures the API's half
// (store and enqueue).
func BenchmarkSendPath(b *testing.B) {
	ctx := context.Background()
	counter := store.NewWriteCounter()
	st := store.New(testenv.DynamoDB(b), testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(&fakeProvider{})
	b.Cleanup(srv.Close)
	url, dlq := testenv.FIFOQueue(b, 5, 30)
	sq := testenv.SQS(b)
	h := &handler{
		st:      st,
		senders: staticSenders{"meta": &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok", HTTP: srv.Client()}},
		limit:   newLimiter(1 << 20), // the cost, not the throttle
		now:     time.Now,
		backoff: backoff,
	}
	run := h.runner(queue.New(sq, url), queue.New(sq, dlq))

	// 100 customers write; the agent's messages are stored queued, as the API leaves them.
	proc := ingest.New(st, time.Now, nil)
	wrote := time.Now().Add(-time.Hour)
	convs := make([]string, 100)
	for i := range convs {
		wa := fmt.Sprintf("549110%07d", i)
		_, err := proc.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: wrote,
			Message: &events.Message{ID: "wamid.in" + wa, Line: events.Line{Address: line.Address}, From: wa, Timestamp: wrote, Type: "text", Text: "¿Tienen el repuesto?"}})
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = inbox.ConversationID(org, line.ID, wa)
	}
	recs := make([]lambdaevents.SQSMessage, b.N)
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range recs {
		m := inbox.NewOutboundMessage(inbox.NewID("m_"), convs[i%len(convs)], "ana", at.Add(time.Duration(i)*time.Millisecond))
		m.Type, m.Text = "text", "Sí, lo tenemos: te lo reservo hasta el viernes."
		if err := st.PutMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
		ev := &events.Send{OrgID: org, ConversationID: m.ConversationID, MessageID: m.ID, MessageAt: m.At}
		body, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = lambdaevents.SQSMessage{MessageId: fmt.Sprint("r", i), Body: string(body),
			Attributes: map[string]string{"MessageGroupId": ev.GroupID(), "ApproximateReceiveCount": "1"}}
	}

	counter.Reset()
	b.ResetTimer()
	for i := range recs {
		resp, err := run.Run(ctx, lambdaevents.SQSEvent{Records: recs[i : i+1]})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("handle: %v %v", resp, err)
		}
	}
	b.StopTimer()
	units, _ := counter.Units()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
	b.ReportMetric(units/float64(b.N), "WCU/msg")
}
