package routing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// BenchmarkApplyInboundAssigned is BenchmarkApplyInbound (shared/ingest) on a line whose
// conversations are assigned by the least-loaded rule over 10 agents: 1,000 customers open a
// conversation each, assigned as it opens (reported apart: write units per opening, with the
// assignment), then b.N messages spread over them (steady state: messages on assigned
// conversations). The hottest key counts every partition, agents' workloads and the waiting
// index included.
func BenchmarkApplyInboundAssigned(b *testing.B) {
	ctx := context.Background()
	db := testenv.DynamoDB(b)
	counter := store.NewWriteCounter()
	st := store.New(db, testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		u := &inbox.User{ID: fmt.Sprint("agent", i), OrgID: org, Email: fmt.Sprintf("agent%d@%s.test", i, org), Role: inbox.RoleAgent,
			Departments: []string{"sales"}, Available: true}
		if err := st.PutUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.PutAssignmentRules(ctx, org, store.ScopeLine, line.ID, &inbox.AssignmentRules{Rules: []inbox.Rule{{Type: inbox.RuleLeastLoaded}}, WhenAway: inbox.AwayReroute}); err != nil {
		b.Fatal(err)
	}
	r := routing.New(st, time.Now)
	p := ingest.New(st, time.Now, r.Opened)
	p.OnAssignedMessage(r.CustomerWrote)
	t0 := time.Now().Add(-time.Hour)
	msg := func(id, from string, at time.Time) *events.Inbound {
		return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
			Message: &events.Message{ID: id, Line: events.Line{Address: line.Address}, From: from, ProfileName: "Cliente",
				Timestamp: at.Truncate(time.Second), Type: "text", Text: "Hola, quería saber si tienen el repuesto para el modelo 2019"}}
	}
	counter.Reset()
	for i := range 1000 {
		if _, err := p.Apply(ctx, msg(fmt.Sprintf("wamid.first%d", i), fmt.Sprintf("549110%07d", i), t0.Add(-time.Second))); err != nil {
			b.Fatal(err)
		}
	}
	openingUnits, _ := counter.Units()
	openingHottest := 0
	for _, k := range counter.Top(1) {
		openingHottest = max(openingHottest, k.N)
	}
	counter.Reset()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Apply(ctx, msg(fmt.Sprintf("wamid.bench%d", i), fmt.Sprintf("549110%07d", i%1000), t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(openingUnits/1000, "opening-WCU/conv")
	b.ReportMetric(float64(openingHottest), "opening-hottest-key-writes/1000conv")
	units, _ := counter.Units()
	b.ReportMetric(units/float64(b.N), "WCU/msg")
	hottest := 0
	for _, k := range counter.Top(1) {
		hottest = max(hottest, k.N)
	}
	b.ReportMetric(float64(hottest)*1000/float64(b.N), "hottest-key-writes/1000msg")
}
