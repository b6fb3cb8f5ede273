package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// BenchmarkBatch measures the consumer's cost per inbound message as Lambda calls it: batches
// of ten records, each of a different conversation (message group), through the handler
// against DynamoDB Local. shared/ingest's BenchmarkApplyInbound measures one message at a time;
// this one shows what handling a batch's groups side by side buys. The 100 conversations
// exist before the timer starts (steady state). The rtt=5ms case adds 5 ms to every DynamoDB
// call, a round trip to the table in AWS rather than on the same machine: what the Lambda
// waits on there.
func BenchmarkBatch(b *testing.B) {
	for _, rtt := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("rtt=%v", rtt), func(b *testing.B) { benchmarkBatch(b, rtt) })
	}
}

func benchmarkBatch(b *testing.B, rtt time.Duration) {
	ctx := context.Background()
	counter := store.NewWriteCounter()
	db, calls := testenv.CountedDynamoDB(b, rtt)
	st := store.New(db, testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	url, dlq := testenv.FIFOQueue(b, 5, 30)
	sq := testenv.SQS(b)
	proc := ingest.New(st, time.Now, nil)
	h := (&handler{proc: proc}).runner(queue.New(sq, url), queue.New(sq, dlq), counter)

	const customers, batchSize = 100, 10
	t0 := time.Now().Add(-time.Hour)
	inbound := func(id string, i int, at time.Time) *events.Inbound {
		return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
			Message: &events.Message{ID: id, Line: events.Line{Address: line.Address}, From: fmt.Sprintf("549110%07d", i%customers),
				ProfileName: "Cliente", Timestamp: at.Truncate(time.Second), Type: "text", Text: "Hola, ¿tienen el repuesto para el modelo 2019?"}}
	}
	for i := range customers {
		if _, err := proc.Apply(ctx, inbound(fmt.Sprintf("wamid.first%d", i), i, t0.Add(-time.Minute))); err != nil {
			b.Fatal(err)
		}
	}
	// Ten consecutive messages go to ten different customers: one batch, ten groups.
	recs := make([]lambdaevents.SQSMessage, b.N)
	for i := range recs {
		recs[i] = record(b, fmt.Sprint("r", i), inbound(fmt.Sprintf("wamid.bench%d", i), i, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	counter.Reset()
	calls.Reset()
	b.ResetTimer()
	for start := 0; start < len(recs); start += batchSize {
		resp, err := h.Run(ctx, lambdaevents.SQSEvent{Records: recs[start:min(start+batchSize, len(recs))]})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("handle: %v %v", resp, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
	b.ReportMetric(float64(calls.Total())/float64(b.N), "requests/msg")
}
