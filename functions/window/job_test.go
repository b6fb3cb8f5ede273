package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// conversations is how many open conversations TestJobFindsExactlyTheDueOnes seeds: make test
// keeps it small, make bench runs it with 100,000.
var conversations = flag.Int("conversations", 10_000, "open conversations seeded by the scale test")

// t0 is a tick: 10:03, three minutes into a bucket.
var t0 = time.Date(2026, 11, 20, 10, 3, 0, 0, time.UTC)

// ops counts the DynamoDB operations a client makes, by name.
type ops struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *ops) get() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.n))
	for k, v := range o.n {
		out[k] = v
	}
	return out
}

func (o *ops) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n = map[string]int{}
}

// recordingStore is a store over its own table whose client records every operation's name
// (an SDK middleware), so a test can assert that nothing scans the table.
func recordingStore(t *testing.T) (*store.Store, *ops, *store.WriteCounter) {
	t.Helper()
	rec := &ops{n: map[string]int{}}
	base := testenv.DynamoDB(t)
	db := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("recordOperation",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					rec.mu.Lock()
					rec.n[awsmiddleware.GetOperationName(ctx)]++
					rec.mu.Unlock()
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	// Each test gets its own table: the window index and the job's checkpoint span the table.
	writes := store.NewWriteCounter()
	return store.New(db, testenv.Table(t, testenv.ID("window")), writes), rec, writes
}

// openConversation is an open conversation of org whose window closes at expires.
func openConversation(org string, i int, expires time.Time) *inbox.Conversation {
	c := inbox.NewConversation(org, "l1", inbox.ContactRef{WaID: fmt.Sprintf("54911%08d", i), Name: "Cliente"}, expires.Add(-30*time.Hour))
	c.Status, c.Cycle, c.DepartmentID = inbox.StatusOpen, 1, "sales"
	c.LastInboundAt, c.LastActivityAt = expires.Add(-inbox.ServiceWindow), expires.Add(-inbox.ServiceWindow)
	c.WindowOpenedAt, c.WindowExpiresAt = c.LastInboundAt, expires
	c.InboundCount, c.UnreadCount = 1, 1
	if i%3 == 0 {
		c.AssigneeID = "ana"
	}
	return c
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// TestJobFindsExactlyTheDueOnes seeds open conversations whose windows close over three days
// around t0 (and, beside them, done conversations and conversations with no window, which
// must not be touched), then runs the job as the schedule would: it must find exactly the
// windows due, read no more than their buckets (never a Scan), change nothing when the tick
// fires again, and catch up after ticks that did not run.
func TestJobFindsExactlyTheDueOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, rec, writes := recordingStore(t)
	org := testenv.ID("org")
	n := *conversations
	rng := rand.New(rand.NewPCG(1, 2))
	var convs []*inbox.Conversation
	for i := range n {
		expires := t0.Add(time.Duration(rng.Int64N(int64(72*time.Hour))) - 36*time.Hour).Truncate(time.Millisecond)
		convs = append(convs, openConversation(org, i, expires))
	}
	// Not due whatever their window: done, or never written to by the customer.
	for i := range n / 20 {
		c := openConversation(org, n+i, t0.Add(time.Duration(i%120)*time.Minute-time.Hour))
		c.Status = inbox.StatusDone
		convs = append(convs, c)
		c = openConversation(org, 2*n+i, t0)
		c.WindowExpiresAt, c.WindowOpenedAt, c.LastInboundAt = time.Time{}, time.Time{}, time.Time{}
		convs = append(convs, c)
	}
	start := time.Now()
	if err := st.ImportConversations(ctx, convs); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d open conversations (+%d done or windowless) in %s", n, len(convs)-n, time.Since(start).Round(time.Millisecond))

	const lead = time.Hour
	j := newJob(st, lead, time.Now)
	// expected: the windows a tick at t must warn about and mark closed, given the first
	// bucket of each not handled yet.
	expected := func(t, warnFrom, closedFrom time.Time) (warn, closed []string) {
		warnTo := (t.Add(lead)).Truncate(store.WindowBucket) // the last whole bucket within the lead
		closedTo := t.Truncate(store.WindowBucket)           // the last whole bucket passed
		for _, c := range convs {
			if c.Status != inbox.StatusOpen || c.WindowExpiresAt.IsZero() {
				continue
			}
			e := c.WindowExpiresAt
			if e.After(t) && !e.Before(warnFrom) && e.Before(warnTo) {
				warn = append(warn, c.ID)
			}
			if !e.Before(closedFrom) && e.Before(closedTo) {
				closed = append(closed, c.ID)
			}
		}
		return sorted(warn), sorted(closed)
	}
	check := func(name string, rep *report, warn, closed []string) {
		t.Helper()
		if diff := cmp.Diff(warn, sorted(rep.warnDue)); diff != "" {
			t.Errorf("%s: warned (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(closed, sorted(rep.closedDue)); diff != "" {
			t.Errorf("%s: closed (-want +got):\n%s", name, diff)
		}
		got := rec.get()
		if got["Scan"] > 0 {
			t.Errorf("%s: %d Scan calls, want none", name, got["Scan"])
		}
		t.Logf("%s: %d warned, %d closed, %d buckets read; DynamoDB calls %v", name, len(rep.warnDue), len(rep.closedDue), rep.Buckets, got)
	}

	// The first tick: warnings for the windows closing within the hour, "closed" for those that
	// closed in the last hour.
	rec.reset()
	start = time.Now()
	rep, err := j.run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first tick took %s", time.Since(start).Round(time.Millisecond))
	warn, closed := expected(t0, t0.Truncate(store.WindowBucket), t0.Truncate(store.WindowBucket).Add(-firstLookback))
	check("first tick", rep, warn, closed)
	if rep.Warned != len(warn) || rep.Closed != len(closed) {
		t.Errorf("first tick wrote %d warnings and %d closes, want %d and %d", rep.Warned, rep.Closed, len(warn), len(closed))
	}
	if q := rec.get()["Query"]; q > 8*rep.Buckets+1 {
		t.Errorf("%d Query calls for %d buckets: want 8 per bucket (one per shard) and one for auto-close", q, rep.Buckets)
	}

	// The same tick again (EventBridge delivers at least once): nothing to do, nothing written.
	rec.reset()
	writes.Reset()
	again, err := j.run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := writes.Units(); calls != 0 || again.Buckets != 0 || len(again.warnDue)+len(again.closedDue) != 0 {
		t.Errorf("the tick fired twice: the second read %d buckets, found %d due and made %d writes; want nothing",
			again.Buckets, len(again.warnDue)+len(again.closedDue), calls)
	}
	t.Logf("second run of the tick: DynamoDB calls %v", rec.get())

	// The ticks of the next three hours did not run: the next one catches up on every window
	// that closed meanwhile and warns about the next hour's, none twice.
	rec.reset()
	t1 := t0.Add(3 * time.Hour)
	rep, err = j.run(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	warn, closed = expected(t1, t0.Add(lead).Truncate(store.WindowBucket), t0.Truncate(store.WindowBucket))
	check("after three hours without ticks", rep, warn, closed)

	// Spot-check the timelines: each window closed once, warned about at most once, for its
	// assignee.
	byID := map[string]*inbox.Conversation{}
	for _, c := range convs {
		byID[c.ID] = c
	}
	for _, id := range rep.closedDue[:min(20, len(rep.closedDue))] {
		entries, _, err := st.Thread(ctx, id, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		count := map[inbox.EventType]int{}
		for _, e := range entries {
			count[e.Event.Type]++
			if e.Event.Details["assignee_id"] != byID[id].AssigneeID {
				t.Errorf("%s: event for %q, want the assignee %q", id, e.Event.Details["assignee_id"], byID[id].AssigneeID)
			}
		}
		if count[inbox.EventWindowClosed] != 1 || count[inbox.EventWindowClosing] > 1 || len(entries) > 2 {
			t.Errorf("timeline of %s: events %v, want one window_closed and at most one window_closing", id, count)
		}
	}
}

// TestTickFiredTwiceAtOnceWritesOnce: two runs of the same tick that overlap (no checkpoint
// yet) record each event once.
func TestTickFiredTwiceAtOnceWritesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _, _ := recordingStore(t)
	org := testenv.ID("org")
	var convs []*inbox.Conversation
	for i := range 40 {
		convs = append(convs, openConversation(org, i, t0.Add(time.Duration(i*3-60)*time.Minute)))
	}
	if err := st.ImportConversations(ctx, convs); err != nil {
		t.Fatal(err)
	}
	j := newJob(st, time.Hour, time.Now)
	var wg sync.WaitGroup
	reps := make([]*report, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = j.run(ctx, t0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	due := len(reps[0].warnDue) + len(reps[0].closedDue)
	written := reps[0].Warned + reps[0].Closed + reps[1].Warned + reps[1].Closed
	if due == 0 || written != due {
		t.Errorf("two overlapping runs wrote %d events for %d due windows, want each once", written, due)
	}
	for _, c := range convs {
		entries, _, err := st.Thread(ctx, c.ID, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 1 {
			t.Errorf("%s has %d events, want at most one", c.ID, len(entries))
		}
	}
}

// TestWindowExtendedIsWarnedAgain: a customer who writes after the warning moves the window
// on; its new close is warned about and marked in its own time, and the old one is not
// marked closed.
func TestWindowExtendedIsWarnedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _, _ := recordingStore(t)
	org := testenv.ID("org")
	c := openConversation(org, 1, t0.Add(30*time.Minute))
	if err := st.ImportConversations(ctx, []*inbox.Conversation{c}); err != nil {
		t.Fatal(err)
	}
	j := newJob(st, time.Hour, time.Now)
	if rep, err := j.run(ctx, t0); err != nil || rep.Warned != 1 {
		t.Fatalf("first tick: %+v, %v; want one warning", rep, err)
	}
	// The customer writes at 10:20: the window now closes at 10:20 the next day.
	_, err := st.UpdateConversation(ctx, org, c.ID, nil, func(cv *inbox.Conversation) error {
		cv.ApplyInbound(inbox.CustomerMessage{ProviderID: "wamid.2", At: t0.Add(17 * time.Minute)}, "sales")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for tick := t0.Add(time.Minute); tick.Before(t0.Add(25 * time.Hour)); tick = tick.Add(20 * time.Minute) {
		if _, err := j.run(ctx, tick); err != nil {
			t.Fatal(err)
		}
	}
	entries, _, err := st.Thread(ctx, c.ID, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s", e.Event.Type, e.Event.Details["window_expires_at"]))
	}
	want := []string{
		"window_closing 2026-11-20T10:33:00Z",
		"window_closing 2026-11-21T10:20:00Z",
		"window_closed 2026-11-21T10:20:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// TestIdleConversationsAutoClose: a line with auto-close after 48 h closes its conversations
// idle for longer, once; other lines' and recent conversations stay open.
func TestIdleConversationsAutoClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, rec, writes := recordingStore(t)
	org := testenv.ID("org")
	if err := st.PutDepartment(ctx, &inbox.Department{ID: "sales", OrgID: org, Name: "Ventas"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAutoClose(ctx, store.AutoClose{OrgID: org, LineID: "l1", Idle: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	idle := openConversation(org, 1, t0.Add(-40*time.Hour)) // last activity 64 h ago
	recent := openConversation(org, 2, t0.Add(-5*time.Hour))
	other := openConversation(org, 3, t0.Add(-40*time.Hour))
	other.LineID, other.ID = "l2", inbox.ConversationID(org, "l2", other.Contact.WaID)
	unrouted := openConversation(org, 4, t0.Add(-60*time.Hour))
	unrouted.DepartmentID = ""
	if err := st.ImportConversations(ctx, []*inbox.Conversation{idle, recent, other, unrouted}); err != nil {
		t.Fatal(err)
	}
	j := newJob(st, time.Hour, time.Now)
	rep, err := j.run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted([]string{idle.ID, unrouted.ID}), sorted(rep.autoClosed)); diff != "" {
		t.Errorf("auto-closed (-want +got):\n%s", diff)
	}
	for _, c := range []*inbox.Conversation{idle, recent, other} {
		got, err := st.Conversation(ctx, org, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := inbox.StatusOpen
		if c == idle {
			want = inbox.StatusDone
		}
		if got.Status != want || (want == inbox.StatusDone && got.CloseReason != CloseReasonIdle) {
			t.Errorf("%s: %s (%q), want %s", c.ID, got.Status, got.CloseReason, want)
		}
	}
	entries, _, err := st.Thread(ctx, idle.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Event == nil || entries[0].Event.Type != inbox.EventClosed || entries[0].Event.Details["reason"] != CloseReasonIdle {
		t.Errorf("timeline of the idle conversation: %+v, want one closed event (idle)", entries)
	}
	if rec.get()["Scan"] > 0 {
		t.Errorf("auto-close scanned the table")
	}
	// Ten minutes later: nothing left to close, nothing written but the checkpoint.
	writes.Reset()
	rep, err = j.run(ctx, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := writes.Units(); rep.AutoClosed != 0 || calls > 1+rep.Warned+rep.Closed {
		t.Errorf("second run closed %d and made %d writes", rep.AutoClosed, calls)
	}
}
