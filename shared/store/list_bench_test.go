package store_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// benchConversations is the size of the inbox the view benchmark reads.
const benchConversations = 100_000

// BenchmarkInboxView measures the default view (unassigned in my department + mine, first page
// of 25) on an organization with 100,000 open conversations in DynamoDB Local, against a single
// raw Query of 25 items on the same table in the same run: the ratio is the cost of sharding
// and merging (goal: p99 ≤ 3× the raw Query's). It reports p50 and p99 of both, their ratios,
// and the Queries a view sends.
func BenchmarkInboxView(b *testing.B) {
	ctx := context.Background()
	db, calls := testenv.CountedDynamoDB(b, 0)
	st := store.New(db, testenv.Table(b, "viewbench"), nil)
	org := "org-viewbench"
	seedConversations(b, st, org)

	view := store.ListQuery{Org: org, Status: inbox.StatusOpen, Limit: 25, Sources: []store.Source{{Department: "sales"}, {Assignee: "agent-7"}}}
	// One partition, one Query: the floor any view is compared with.
	raw := store.ListQuery{Org: org, Status: inbox.StatusOpen, Limit: 25, Sources: []store.Source{{Assignee: "agent-7"}}}
	var viewTimes, rawTimes []time.Duration
	viewCalls := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		calls.Reset()
		start := time.Now()
		items, _, err := st.ListConversations(ctx, view)
		if err != nil || len(items) != 25 {
			b.Fatalf("view: %d items, %v", len(items), err)
		}
		viewTimes = append(viewTimes, time.Since(start))
		viewCalls += calls.Total()
		start = time.Now()
		items, _, err = st.ListConversations(ctx, raw)
		if err != nil || len(items) != 25 {
			b.Fatalf("raw query: %d items, %v", len(items), err)
		}
		rawTimes = append(rawTimes, time.Since(start))
	}
	b.StopTimer()
	p := func(d []time.Duration, q float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(p(viewTimes, 0.5), "view-p50-ms")
	b.ReportMetric(p(viewTimes, 0.99), "view-p99-ms")
	b.ReportMetric(p(rawTimes, 0.5), "raw-p50-ms")
	b.ReportMetric(p(rawTimes, 0.99), "raw-p99-ms")
	b.ReportMetric(p(viewTimes, 0.5)/p(rawTimes, 0.5), "p50-ratio")
	b.ReportMetric(p(viewTimes, 0.99)/p(rawTimes, 0.99), "p99-ratio")
	b.ReportMetric(float64(viewCalls)/float64(b.N), "queries/view")
}

// seedConversations writes benchConversations open conversations of one department: 90 %
// assigned over 50 agents, 10 % waiting unassigned. It runs once per table.
func seedConversations(b *testing.B, st *store.Store, org string) {
	ctx := context.Background()
	if _, err := st.User(ctx, org, "agent-7"); err == nil {
		return
	}
	t0 := time.Now().Add(-30 * 24 * time.Hour)
	batch := make([]*inbox.Conversation, 0, 1000)
	for i := 0; i < benchConversations; i++ {
		c := inbox.NewConversation(org, "l1", inbox.ContactRef{WaID: fmt.Sprintf("549%09d", i), Name: "Cliente"}, t0)
		_ = c.Open("sales")
		if i%10 != 0 {
			c.AssigneeID = fmt.Sprintf("agent-%d", i%50)
		}
		c.LastActivityAt = t0.Add(time.Duration(i) * time.Second)
		c.WindowExpiresAt = c.LastActivityAt.Add(inbox.ServiceWindow)
		batch = append(batch, c)
		if len(batch) == cap(batch) || i == benchConversations-1 {
			if err := st.ImportConversations(ctx, batch); err != nil {
				b.Fatalf("seed: %v", err)
			}
			batch = batch[:0]
		}
	}
	if err := st.PutUser(ctx, &inbox.User{ID: "agent-7", OrgID: org, Email: "agent-7@viewbench.test", Role: inbox.RoleAgent, Departments: []string{"sales"}}); err != nil {
		b.Fatal(err)
	}
}
