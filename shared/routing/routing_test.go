package routing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// TestMain keeps the router's logs out of test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// agent is a user of a fixture: a sales agent unless told otherwise.
type agent struct {
	id      string
	max     int
	away    bool
	depts   []string
	role    inbox.Role
	openNow int // conversations already assigned to them (claimed) before the test
}

// fixture is one organization with a Meta line "l1" routed to sales, its agents, and the
// consumer's processor wired to a router, as functions/assign wires them.
type fixture struct {
	st     *store.Store
	org    string
	line   *inbox.Line
	router *routing.Router
	proc   *ingest.Processor
	n      int
}

func newFixture(t *testing.T, agents []agent, authorized ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: testenv.Store(t), org: testenv.ID("org")}
	f.line = &inbox.Line{ID: "l1", OrgID: f.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", Authorized: authorized, State: inbox.LineActive}
	if err := f.st.PutLine(ctx, f.line); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		u := &inbox.User{ID: a.id, OrgID: f.org, Email: a.id + "@" + f.org + ".test", Name: a.id, Role: a.role,
			Departments: a.depts, Available: !a.away, MaxOpen: a.max}
		if u.Role == "" {
			u.Role = inbox.RoleAgent
		}
		if u.Departments == nil {
			u.Departments = []string{"sales"}
		}
		if err := f.st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	f.router = routing.New(f.st, time.Now)
	f.router.CacheTTL = 0
	f.proc = ingest.New(f.st, time.Now, f.router.Opened)
	f.proc.OnAssignedMessage(f.router.CustomerWrote)
	for _, a := range agents {
		for range a.openNow {
			c := f.write(t, f.newCustomer(), "")
			if _, err := f.st.UpdateConversation(ctx, f.org, c.ID, nil, func(c *inbox.Conversation) error { return c.Claim(a.id) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func (f *fixture) rules(t *testing.T, scope store.RuleScope, id string, away inbox.AwayPolicy, rules ...inbox.Rule) {
	t.Helper()
	r := &inbox.AssignmentRules{Rules: rules, WhenAway: away}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutAssignmentRules(context.Background(), f.org, scope, id, r); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) newCustomer() string {
	f.n++
	return fmt.Sprintf("54911%08d", f.n)
}

// write applies a message of customer wa (id: a fresh one) and returns the conversation.
func (f *fixture) write(t *testing.T, wa, id string) *inbox.Conversation {
	t.Helper()
	if id == "" {
		id = testenv.ID("wamid.")
	}
	at := time.Now().Truncate(time.Millisecond)
	_, err := f.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: id, Line: events.Line{Address: f.line.Address}, From: wa, ProfileName: "Cliente", Timestamp: at, Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return f.conversation(t, wa)
}

func (f *fixture) conversation(t *testing.T, wa string) *inbox.Conversation {
	t.Helper()
	c, err := f.st.Conversation(context.Background(), f.org, inbox.ConversationID(f.org, f.line.ID, wa))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) contact(t *testing.T, wa, owner string, fields map[string]string) {
	t.Helper()
	if err := f.st.CreateContact(context.Background(), &inbox.Contact{OrgID: f.org, WaID: wa, Name: "Cliente", OwnerID: owner, Fields: fields, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) open(t *testing.T, users ...string) map[string]int {
	t.Helper()
	w, err := f.st.Workloads(context.Background(), f.org, users)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, u := range users {
		out[u] = w[u].Open
	}
	return out
}

// assignedEvents are the thread's assigned events as "rule assignee".
func (f *fixture) assignedEvents(t *testing.T, c *inbox.Conversation) []string {
	t.Helper()
	entries, _, err := f.st.Thread(context.Background(), c.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Event != nil && e.Event.Type == inbox.EventAssigned {
			out = append(out, e.Event.Details["rule"]+" "+e.Event.Details["assignee_id"])
		}
	}
	return out
}

var (
	owner     = inbox.Rule{Type: inbox.RuleContactOwner}
	field     = inbox.Rule{Type: inbox.RuleContactField, Field: "vendedor"}
	lastAgent = inbox.Rule{Type: inbox.RuleLastAgent}
	least     = inbox.Rule{Type: inbox.RuleLeastLoaded}
	robin     = inbox.Rule{Type: inbox.RuleRoundRobin}
	random    = inbox.Rule{Type: inbox.RuleRandom}
)

// TestEachRuleChoosesTheRightAgent: each rule, its fallbacks, and the eligibility filters
// (department, line authorization, availability, capacity), one organization per case.
func TestEachRuleChoosesTheRightAgent(t *testing.T) {
	t.Parallel()
	team := func(extra ...agent) []agent {
		return append([]agent{{id: "ana", openNow: 2}, {id: "bea"}, {id: "cy", openNow: 1}}, extra...)
	}
	tests := []struct {
		name       string
		agents     []agent
		authorized []string
		rules      []inbox.Rule
		owner      string
		fields     map[string]string
		want       string // assignee; "" stays in the shared inbox
		wantRule   inbox.RuleType
	}{
		{name: "contact owner", agents: team(), rules: []inbox.Rule{owner, least}, owner: "cy", want: "cy", wantRule: inbox.RuleContactOwner},
		{name: "owner away: next rule", agents: team(agent{id: "dan", away: true}), rules: []inbox.Rule{owner, least}, owner: "dan", want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "owner at capacity: next rule", agents: team(agent{id: "dan", max: 1, openNow: 1}), rules: []inbox.Rule{owner, least}, owner: "dan", want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "owner of another department: next rule", agents: team(agent{id: "dan", depts: []string{"support"}}), rules: []inbox.Rule{owner, least}, owner: "dan", want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "owner not authorized on the line: next rule", agents: team(agent{id: "dan"}), authorized: []string{"ana", "bea", "cy"}, rules: []inbox.Rule{owner, least}, owner: "dan", want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "no owner, no other rule: shared inbox", agents: team(), rules: []inbox.Rule{owner}, want: ""},
		{name: "seller owner", agents: team(agent{id: "sam", role: inbox.RoleSeller}), rules: []inbox.Rule{owner}, owner: "sam", want: "sam", wantRule: inbox.RuleContactOwner},
		{name: "custom field by email", agents: team(), rules: []inbox.Rule{field, least}, fields: map[string]string{"vendedor": "CY@{org}.test"}, want: "cy", wantRule: inbox.RuleContactField},
		{name: "custom field by id", agents: team(), rules: []inbox.Rule{field, least}, fields: map[string]string{"vendedor": "ana"}, want: "ana", wantRule: inbox.RuleContactField},
		{name: "custom field names nobody: next rule", agents: team(), rules: []inbox.Rule{field, least}, fields: map[string]string{"vendedor": "nadie"}, want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "another field is not read", agents: team(), rules: []inbox.Rule{field}, fields: map[string]string{"zona": "ana"}, want: ""},
		{name: "least loaded", agents: team(), rules: []inbox.Rule{least}, want: "bea", wantRule: inbox.RuleLeastLoaded},
		{name: "least loaded skips the full", agents: []agent{{id: "ana", openNow: 2}, {id: "bea", max: 1, openNow: 1}, {id: "cy", openNow: 1}}, rules: []inbox.Rule{least}, want: "cy", wantRule: inbox.RuleLeastLoaded},
		{name: "least loaded skips the away", agents: []agent{{id: "ana", openNow: 2}, {id: "bea", away: true}, {id: "cy", openNow: 1}}, rules: []inbox.Rule{least}, want: "cy", wantRule: inbox.RuleLeastLoaded},
		{name: "least loaded skips other departments", agents: []agent{{id: "ana", openNow: 2}, {id: "bea", depts: []string{"support"}}}, rules: []inbox.Rule{least}, want: "ana", wantRule: inbox.RuleLeastLoaded},
		{name: "least loaded skips the unauthorized", agents: team(), authorized: []string{"ana", "cy"}, rules: []inbox.Rule{least}, want: "cy", wantRule: inbox.RuleLeastLoaded},
		{name: "no-inbox users are never chosen", agents: []agent{{id: "ana", away: true}, {id: "ed", role: inbox.RoleNoInbox}}, rules: []inbox.Rule{least, random}, want: ""},
		{name: "everyone full: shared inbox", agents: []agent{{id: "ana", max: 2, openNow: 2}, {id: "bea", away: true}}, rules: []inbox.Rule{owner, least, robin, random}, owner: "ana", want: ""},
		{name: "random picks an eligible agent", agents: []agent{{id: "ana", away: true}, {id: "bea", max: 1, openNow: 1}, {id: "cy"}}, rules: []inbox.Rule{random}, want: "cy", wantRule: inbox.RuleRandom},
		{name: "round robin starts with the first", agents: team(), rules: []inbox.Rule{robin}, want: "ana", wantRule: inbox.RuleRoundRobin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.agents, tt.authorized...)
			f.rules(t, store.ScopeLine, "l1", inbox.AwayKeep, tt.rules...)
			wa := f.newCustomer()
			if tt.owner != "" || tt.fields != nil {
				for k, v := range tt.fields {
					tt.fields[k] = strings.ReplaceAll(v, "{org}", f.org)
				}
				f.contact(t, wa, tt.owner, tt.fields)
			}
			c := f.write(t, wa, "")
			if c.AssigneeID != tt.want {
				t.Fatalf("assignee = %q, want %q", c.AssigneeID, tt.want)
			}
			if tt.want == "" {
				if c.RouteRule != "line route" || !c.Waiting() {
					t.Errorf("unassigned conversation: route %q, waiting %v; want line route, waiting", c.RouteRule, c.Waiting())
				}
				return
			}
			if c.RouteRule != string(tt.wantRule) {
				t.Errorf("route = %q, want %q", c.RouteRule, tt.wantRule)
			}
			if diff := cmp.Diff([]string{string(tt.wantRule) + " " + tt.want}, f.assignedEvents(t, c)); diff != "" {
				t.Errorf("assigned events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLastAgentAcrossLines: the agent who last held a conversation of the contact, on any line,
// gets the contact's new one.
func TestLastAgentAcrossLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, []agent{{id: "ana"}, {id: "bea"}, {id: "cy"}})
	f.rules(t, store.ScopeLine, "l1", inbox.AwayKeep, lastAgent, robin)
	wa := f.newCustomer()
	// The contact talked with cy on another line, which closed.
	other := inbox.ConversationID(f.org, "l2", wa)
	_, err := f.st.UpdateConversation(ctx, f.org, other, func() *inbox.Conversation {
		return inbox.NewConversation(f.org, "l2", inbox.ContactRef{WaID: wa}, t0)
	}, func(c *inbox.Conversation) error {
		c.ApplyInbound(inbox.CustomerMessage{ProviderID: "x", At: t0}, "sales")
		return c.Claim("cy")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UpdateConversation(ctx, f.org, other, nil, func(c *inbox.Conversation) error { return c.Close("done", t0) }); err != nil {
		t.Fatal(err)
	}
	c := f.write(t, wa, "")
	if c.AssigneeID != "cy" || c.RouteRule != string(inbox.RuleLastAgent) {
		t.Fatalf("assignee %q by %q, want cy by last_agent", c.AssigneeID, c.RouteRule)
	}
	// The next new customer has no last agent: round robin.
	if c := f.write(t, f.newCustomer(), ""); c.RouteRule != string(inbox.RuleRoundRobin) {
		t.Errorf("new customer routed by %q, want round_robin", c.RouteRule)
	}
}

// TestRoundRobinTakesTurns: one after another, the agents take turns; an agent away is
// skipped and, back, takes the next turn.
func TestRoundRobinTakesTurns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, []agent{{id: "ana"}, {id: "bea"}, {id: "cy"}})
	f.rules(t, store.ScopeDepartment, "sales", inbox.AwayKeep, robin) // the department's list: the line has none
	var got []string
	for i := range 7 {
		if i == 4 {
			if _, err := f.st.SetAvailability(ctx, f.org, "bea", false, 0); err != nil {
				t.Fatal(err)
			}
		}
		if i == 6 {
			if _, err := f.st.SetAvailability(ctx, f.org, "bea", true, 0); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, f.write(t, f.newCustomer(), "").AssigneeID)
	}
	want := []string{"ana", "bea", "cy", "ana", "cy", "ana", "bea"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("turns (-want +got):\n%s", diff)
	}
}

// TestConcurrentOpeningsLeastLoaded: 200 conversations open over 5 agents by least loaded,
// openingsAtOnce at a time: every conversation is assigned exactly once, nobody goes over
// capacity, the counts match the conversations, and the load is spread evenly.
func TestConcurrentOpeningsLeastLoaded(t *testing.T) {
	// As many as 20 consumers' batches (a Lambda instance handles 10 conversations at once)
	// race for the agents, and a failed apply is applied again as SQS would redeliver it. 200
	// at once, applied once, failed on a loaded 2-core machine (load average 65: stress runs 4
	// and 9 of issue 17) where DynamoDB Local timed out on its item locks, which DynamoDB
	// itself would not.
	const openingsAtOnce = 20
	t.Parallel()
	tests := []struct {
		name          string
		max           int
		wantAssigned  int
		maxSpread     int
		wantEachExact int
	}{
		// The imbalance of a burst stays within the guarded attempts it took (routing.pick);
		// measured 3 to 6.
		{name: "room for all", max: 45, wantAssigned: 200, maxSpread: 10},
		{name: "room for 150", max: 30, wantAssigned: 150, wantEachExact: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			agents := []agent{{id: "a1", max: tt.max}, {id: "a2", max: tt.max}, {id: "a3", max: tt.max}, {id: "a4", max: tt.max}, {id: "a5", max: tt.max}}
			f := newFixture(t, agents)
			f.rules(t, store.ScopeLine, "l1", inbox.AwayKeep, least)
			f.router.CacheTTL = time.Minute
			was := make([]string, 200)
			for i := range was {
				was[i] = f.newCustomer()
			}
			start := time.Now()
			var wg sync.WaitGroup
			slots := make(chan struct{}, openingsAtOnce)
			for _, wa := range was {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slots <- struct{}{}
					defer func() { <-slots }()
					at := time.Now()
					ev := &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
						Message: &events.Message{ID: "wamid." + wa, Line: events.Line{Address: f.line.Address}, From: wa, Timestamp: at, Type: "text", Text: "hola"}}
					// A failed apply comes back, as SQS redelivers the record (DynamoDB Local
					// times out on its item locks under load): applying again must finish
					// the opening, never assign it twice.
					var err error
					for try := range 5 {
						if _, err = f.proc.Apply(ctx, ev); err == nil {
							break
						}
						time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
					}
					if err != nil {
						t.Errorf("apply %s, 5 times: %v", wa, err)
					}
				}()
			}
			wg.Wait()
			t.Logf("200 openings, %d at once, in %v", openingsAtOnce, time.Since(start))
			per := map[string]int{}
			assigned := 0
			for _, wa := range was {
				c := f.conversation(t, wa)
				events := f.assignedEvents(t, c)
				switch {
				case c.AssigneeID == "" && len(events) == 0:
				case c.AssigneeID != "" && len(events) == 1 && events[0] == "least_loaded "+c.AssigneeID:
					per[c.AssigneeID]++
					assigned++
				default:
					t.Errorf("conversation of %s: assignee %q, assigned events %v", wa, c.AssigneeID, events)
				}
			}
			ids := []string{"a1", "a2", "a3", "a4", "a5"}
			open := f.open(t, ids...)
			lo, hi := 200, 0
			for _, id := range ids {
				if open[id] != per[id] {
					t.Errorf("%s: open count %d, conversations %d", id, open[id], per[id])
				}
				if tt.max > 0 && per[id] > tt.max {
					t.Errorf("%s holds %d, over capacity %d", id, per[id], tt.max)
				}
				if tt.wantEachExact > 0 && per[id] != tt.wantEachExact {
					t.Errorf("%s holds %d, want %d", id, per[id], tt.wantEachExact)
				}
				lo, hi = min(lo, per[id]), max(hi, per[id])
			}
			t.Logf("per agent: %v (spread %d)", per, hi-lo)
			if assigned != tt.wantAssigned {
				t.Errorf("assigned %d, want %d", assigned, tt.wantAssigned)
			}
			if tt.maxSpread > 0 && hi-lo > tt.maxSpread {
				t.Errorf("spread %d (%v), want at most %d", hi-lo, per, tt.maxSpread)
			}
			waiting, _, err := f.st.Waiting(ctx, f.org, []string{"sales"}, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(waiting) != 200-tt.wantAssigned {
				t.Errorf("%d waiting, want %d", len(waiting), 200-tt.wantAssigned)
			}
		})
	}
}

// TestAgentBecomingFreeTakesTheOldestWaiting: with everyone away, conversations wait; an agent
// who becomes available takes the longest waiting ones at once, up to capacity; closing one
// gives them the next.
func TestAgentBecomingFreeTakesTheOldestWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, []agent{{id: "ana", away: true, max: 2}, {id: "bea", away: true, depts: []string{"support"}}})
	f.rules(t, store.ScopeLine, "l1", inbox.AwayKeep, least)
	var convs []*inbox.Conversation
	for range 4 {
		convs = append(convs, f.write(t, f.newCustomer(), ""))
		time.Sleep(2 * time.Millisecond)
	}
	for _, c := range convs {
		if c.AssigneeID != "" {
			t.Fatalf("assigned while everyone is away: %+v", c)
		}
	}
	// bea is in another department: nothing for her.
	if _, err := f.st.SetAvailability(ctx, f.org, "bea", true, 0); err != nil {
		t.Fatal(err)
	}
	if n, err := f.router.Drain(ctx, f.org, "bea"); err != nil || n != 0 {
		t.Fatalf("bea drained %d, %v; want 0", n, err)
	}
	if _, err := f.st.SetAvailability(ctx, f.org, "ana", true, 2); err != nil {
		t.Fatal(err)
	}
	if n, err := f.router.Drain(ctx, f.org, "ana"); err != nil || n != 2 {
		t.Fatalf("ana drained %d, %v; want 2", n, err)
	}
	holders := func() []string {
		var out []string
		for _, c := range convs {
			out = append(out, f.conversation(t, c.Contact.WaID).AssigneeID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"ana", "ana", "", ""}, holders()); diff != "" {
		t.Fatalf("after ana became available (-want +got):\n%s", diff)
	}
	if _, err := f.st.UpdateConversation(ctx, f.org, convs[0].ID, nil, func(c *inbox.Conversation) error { return c.Close("ok", t0) }); err != nil {
		t.Fatal(err)
	}
	if n, err := f.router.Drain(ctx, f.org, "ana"); err != nil || n != 1 {
		t.Fatalf("ana drained %d, %v after closing one; want 1", n, err)
	}
	if diff := cmp.Diff([]string{"ana", "ana", "ana", ""}, holders()); diff != "" {
		t.Errorf("after ana closed one (-want +got):\n%s", diff)
	}
	c := f.conversation(t, convs[2].Contact.WaID)
	entries, _, err := f.st.Thread(ctx, c.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var trigger string
	for _, e := range entries {
		if e.Event != nil && e.Event.Type == inbox.EventAssigned {
			trigger = e.Event.Details["trigger"]
		}
	}
	if trigger != routing.TriggerAgentFree {
		t.Errorf("assigned event trigger = %q, want %q", trigger, routing.TriggerAgentFree)
	}
}

// TestAwayAssignee: when the customer of an away agent writes again, a line that keeps leaves
// the conversation with them; a line that re-routes runs the rules again, and with nobody
// free returns it to the shared inbox.
func TestAwayAssignee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		policy    inbox.AwayPolicy
		beaAway   bool
		want      string
		wantRoute string
	}{
		{"keep", inbox.AwayKeep, false, "ana", string(inbox.RuleLeastLoaded)},
		{"reroute", inbox.AwayReroute, false, "bea", string(inbox.RuleLeastLoaded)},
		{"reroute, nobody free", inbox.AwayReroute, true, "", routing.TriggerAssigneeAway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, []agent{{id: "ana"}, {id: "bea", away: true}})
			f.rules(t, store.ScopeLine, "l1", tt.policy, least)
			wa := f.newCustomer()
			if c := f.write(t, wa, ""); c.AssigneeID != "ana" {
				t.Fatalf("first assignee %q, want ana", c.AssigneeID)
			}
			if _, err := f.st.SetAvailability(ctx, f.org, "ana", false, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.SetAvailability(ctx, f.org, "bea", !tt.beaAway, 0); err != nil {
				t.Fatal(err)
			}
			c := f.write(t, wa, "")
			if c.AssigneeID != tt.want || c.RouteRule != tt.wantRoute {
				t.Fatalf("after the customer wrote again: %q by %q, want %q by %q", c.AssigneeID, c.RouteRule, tt.want, tt.wantRoute)
			}
			want := map[string]int{"ana": 0, "bea": 0}
			if tt.want != "" {
				want[tt.want] = 1
			}
			if diff := cmp.Diff(want, f.open(t, "ana", "bea")); diff != "" {
				t.Errorf("open counts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReturnedConversationGoesToSomeoneElse: Route leaves out the agent who returned it.
func TestReturnedConversationGoesToSomeoneElse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, []agent{{id: "ana"}, {id: "bea", openNow: 3}})
	f.rules(t, store.ScopeLine, "l1", inbox.AwayKeep, least)
	c := f.write(t, f.newCustomer(), "")
	if c.AssigneeID != "ana" {
		t.Fatalf("assignee %q, want ana", c.AssigneeID)
	}
	c, err := f.st.UpdateConversation(ctx, f.org, c.ID, nil, func(c *inbox.Conversation) error { return c.Return() })
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.router.Route(ctx, c, f.line, "ana", routing.TriggerReturned)
	if err != nil || got != "bea" {
		t.Fatalf("routed to %q, %v; want bea", got, err)
	}
	if c := f.conversation(t, c.Contact.WaID); c.AssigneeID != "bea" || !slices.Equal(f.assignedEvents(t, c), []string{"least_loaded ana", "least_loaded bea"}) {
		t.Errorf("conversation %q, events %v", c.AssigneeID, f.assignedEvents(t, c))
	}
}
