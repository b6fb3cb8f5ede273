package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// BenchmarkApplyInbound measures the consumer's cost per inbound message against DynamoDB
// Local: time, write units DynamoDB reports consumed, and the most writes any partition key
// (table or index) took per 1,000 messages on one line. 1,000 customers of one line write
// first (first-contact cost, reported apart), then b.N messages spread over them (steady state).
func BenchmarkApplyInbound(b *testing.B) {
	ctx := context.Background()
	db := testenv.DynamoDB(b)
	counter := store.NewWriteCounter()
	st := store.New(db, testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	p := ingest.New(st, time.Now, nil)
	t0 := time.Now().Add(-time.Hour)
	evs := make([]*events.Inbound, b.N)
	for i := range evs {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		evs[i] = &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
			Message: &events.Message{ID: fmt.Sprintf("wamid.bench%d", i), Line: events.Line{Address: line.Address},
				From: fmt.Sprintf("549110%07d", i%1000), ProfileName: "Cliente", Timestamp: at.Truncate(time.Second), Type: "text",
				Text: "Hola, quería saber si tienen el repuesto para el modelo 2019"}}
	}
	// First contact: one message from each of the 1,000 customers creates the conversation,
	// the contact and its search items. Measured apart from the steady state that follows.
	counter.Reset()
	for i := 0; i < 1000; i++ {
		first := *evs[i%len(evs)].Message
		first.ID = fmt.Sprintf("wamid.first%d", i)
		first.From = fmt.Sprintf("549110%07d", i)
		first.Timestamp = t0.Add(-time.Minute).Truncate(time.Second)
		if _, err := p.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: first.Timestamp, Message: &first}); err != nil {
			b.Fatal(err)
		}
	}
	firstUnits, _ := counter.Units()
	counter.Reset()
	b.ResetTimer()
	for i := range evs {
		if _, err := p.Apply(ctx, evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(firstUnits/1000, "first-contact-WCU/msg")
	units, _ := counter.Units()
	b.ReportMetric(units/float64(b.N), "WCU/msg")
	hottest := 0
	for _, k := range counter.Top(1) {
		hottest = max(hottest, k.N)
	}
	b.ReportMetric(float64(hottest)*1000/float64(b.N), "hottest-key-writes/1000msg")
}
