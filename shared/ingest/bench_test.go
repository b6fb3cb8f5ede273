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
// Local: time, requests (round trips) to the table, write units DynamoDB reports consumed,
// and the most writes any partition key (table or index) took per 1,000 messages on one line.
// 1,000 customers of one line write first (first-contact cost, reported apart), then b.N
// messages spread over them (steady state). Twilio sends no timestamp, so its messages also
// pin their place on the timeline (a pointer item).
func BenchmarkApplyInbound(b *testing.B) {
	for _, provider := range []events.Provider{events.ProviderMeta, events.ProviderTwilio} {
		b.Run("provider="+string(provider), func(b *testing.B) { benchmarkApplyInbound(b, provider) })
	}
}

func benchmarkApplyInbound(b *testing.B, provider events.Provider) {
	ctx := context.Background()
	db, calls := testenv.CountedDynamoDB(b, 0)
	counter := store.NewWriteCounter()
	st := store.New(db, testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: string(provider), Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	p := ingest.New(st, time.Now, nil)
	t0 := time.Now().Add(-time.Hour)
	evs := make([]*events.Inbound, b.N)
	for i := range evs {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		evs[i] = &events.Inbound{Kind: events.KindMessage, Provider: provider, ReceivedAt: at,
			Message: &events.Message{ID: fmt.Sprintf("wamid.bench%d", i), Line: events.Line{Address: line.Address},
				From: fmt.Sprintf("549110%07d", i%1000), ProfileName: "Cliente", Timestamp: at.Truncate(time.Second), Type: "text",
				Text: "Hola, quería saber si tienen el repuesto para el modelo 2019"}}
		if provider == events.ProviderTwilio {
			evs[i].Message.Timestamp = time.Time{}
		}
	}
	// First contact: one message from each of the 1,000 customers creates the conversation,
	// the contact and its search items. Measured apart from the steady state that follows.
	counter.Reset()
	for i := 0; i < 1000; i++ {
		first := *evs[i%len(evs)].Message
		first.ID = fmt.Sprintf("wamid.first%d", i)
		first.From = fmt.Sprintf("549110%07d", i)
		first.Timestamp = t0.Add(-time.Minute).Truncate(time.Second)
		received := first.Timestamp
		if provider == events.ProviderTwilio {
			first.Timestamp = time.Time{}
		}
		if _, err := p.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: provider, ReceivedAt: received, Message: &first}); err != nil {
			b.Fatal(err)
		}
	}
	firstUnits, _ := counter.Units()
	firstCalls := calls.Total()
	b.Logf("first contact, requests per message: %s", calls.PerUnit(1000))
	counter.Reset()
	calls.Reset()
	b.ResetTimer()
	for i := range evs {
		if _, err := p.Apply(ctx, evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.Logf("steady state, requests per message: %s", calls.PerUnit(b.N))
	b.ReportMetric(float64(calls.Total())/float64(b.N), "requests/msg")
	b.ReportMetric(float64(firstCalls)/1000, "first-contact-requests/msg")
	b.ReportMetric(firstUnits/1000, "first-contact-WCU/msg")
	units, _ := counter.Units()
	b.ReportMetric(units/float64(b.N), "WCU/msg")
	hottest := 0
	for _, k := range counter.Top(1) {
		hottest = max(hottest, k.N)
	}
	b.ReportMetric(float64(hottest)*1000/float64(b.N), "hottest-key-writes/1000msg")
}
