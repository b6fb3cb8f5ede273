package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

var at0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// loadFixture is one organization with agents of department sales, each with a capacity.
func loadFixture(t *testing.T, agents map[string]int) (*store.Store, string) {
	t.Helper()
	st := testenv.Store(t)
	org := testenv.ID("org")
	for id, max := range agents {
		u := &inbox.User{ID: id, OrgID: org, Email: id + "@" + org + ".test", Role: inbox.RoleAgent, Departments: []string{"sales"}, Available: true, MaxOpen: max}
		if err := st.PutUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return st, org
}

// openConversation stores an open, unassigned conversation of customer wa in sales.
func openConversation(t *testing.T, st *store.Store, org, wa string, at time.Time) *inbox.Conversation {
	t.Helper()
	c, err := st.UpdateConversation(context.Background(), org, inbox.ConversationID(org, "l1", wa),
		func() *inbox.Conversation { return inbox.NewConversation(org, "l1", inbox.ContactRef{WaID: wa}, at) },
		func(c *inbox.Conversation) error {
			c.ApplyInbound(inbox.CustomerMessage{ProviderID: "m-" + wa, At: at}, "sales")
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func update(t *testing.T, st *store.Store, org, id string, fn func(c *inbox.Conversation) error) {
	t.Helper()
	if _, err := st.UpdateConversation(context.Background(), org, id, nil, fn); err != nil {
		t.Fatal(err)
	}
}

func openCounts(t *testing.T, st *store.Store, org string, users ...string) map[string]int {
	t.Helper()
	w, err := st.Workloads(context.Background(), org, users)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, u := range users {
		out[u] = w[u].Open
	}
	return out
}

// TestWorkloadFollowsEveryHolderChange: claims, transfers, returns, closes and reopens move the
// agents' open counts in the same write as the conversation, whichever path changes it.
func TestWorkloadFollowsEveryHolderChange(t *testing.T) {
	t.Parallel()
	st, org := loadFixture(t, map[string]int{"ana": 0, "bea": 0})
	c1 := openConversation(t, st, org, "5491100000001", at0)
	c2 := openConversation(t, st, org, "5491100000002", at0)
	steps := []struct {
		name string
		conv string
		fn   func(c *inbox.Conversation) error
		want map[string]int
	}{
		{"ana claims c1", c1.ID, func(c *inbox.Conversation) error { return c.Claim("ana") }, map[string]int{"ana": 1, "bea": 0}},
		{"ana claims c2", c2.ID, func(c *inbox.Conversation) error { return c.Claim("ana") }, map[string]int{"ana": 2, "bea": 0}},
		{"c2 transferred to bea", c2.ID, func(c *inbox.Conversation) error { return c.Assign("bea", "transferred") }, map[string]int{"ana": 1, "bea": 1}},
		{"a message on c2", c2.ID, func(c *inbox.Conversation) error {
			c.ApplyInbound(inbox.CustomerMessage{ProviderID: "m2b", At: at0.Add(time.Minute)}, "sales")
			return nil
		}, map[string]int{"ana": 1, "bea": 1}},
		{"bea closes c2", c2.ID, func(c *inbox.Conversation) error { return c.Close("sold", at0) }, map[string]int{"ana": 1, "bea": 0}},
		{"ana returns c1", c1.ID, func(c *inbox.Conversation) error { return c.Return() }, map[string]int{"ana": 0, "bea": 0}},
		{"bea reopens c2 as hers", c2.ID, func(c *inbox.Conversation) error { return c.Reopen("bea") }, map[string]int{"ana": 0, "bea": 1}},
		{"c2 to another department", c2.ID, func(c *inbox.Conversation) error { return c.TransferToDepartment("support") }, map[string]int{"ana": 0, "bea": 0}},
	}
	for _, s := range steps {
		update(t, st, org, s.conv, s.fn)
		if diff := cmp.Diff(s.want, openCounts(t, st, org, "ana", "bea")); diff != "" {
			t.Fatalf("after %s: open counts (-want +got):\n%s", s.name, diff)
		}
	}
	last, err := st.LastAgent(context.Background(), org, "5491100000002")
	if err != nil || last != "bea" {
		t.Errorf("last agent of c2's contact = %q, %v; want bea", last, err)
	}
}

// TestAutoAssignChecksTheAgent: an automatic assignment is refused, with nothing written, to an
// agent who is away, at capacity, or busier than the rule read.
func TestAutoAssignChecksTheAgent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, org := loadFixture(t, map[string]int{"ana": 1, "bea": 0, "cy": 0})
	if _, err := st.SetAvailability(ctx, org, "cy", false, 0); err != nil {
		t.Fatal(err)
	}
	c1 := openConversation(t, st, org, "5491100000011", at0)
	c2 := openConversation(t, st, org, "5491100000012", at0)
	assign := func(id string, to store.Assignment) error {
		_, err := st.AutoAssign(ctx, org, id, to, func(c *inbox.Conversation) (*inbox.Event, error) {
			if err := c.Assign(to.Agent, string(inbox.RuleLeastLoaded)); err != nil {
				return nil, err
			}
			return inbox.NewEvent(c.ID, inbox.EventAssigned, "", at0, map[string]string{"rule": "least_loaded", "assignee_id": to.Agent}), nil
		})
		return err
	}
	zero, one := 0, 1
	if err := assign(c1.ID, store.Assignment{Agent: "ana", At: at0}); err != nil {
		t.Fatalf("assign c1 to ana: %v", err)
	}
	tests := []struct {
		name string
		to   store.Assignment
		want inbox.Workload // the workload the refusal reports
	}{
		{"at capacity", store.Assignment{Agent: "ana", At: at0}, inbox.Workload{UserID: "ana", Available: true, MaxOpen: 1, Open: 1, LastAssignedAt: at0}},
		{"away", store.Assignment{Agent: "cy", At: at0}, inbox.Workload{UserID: "cy"}},
		{"no load item", store.Assignment{Agent: "zed", At: at0}, inbox.Workload{UserID: "zed"}},
		{"busier than read", store.Assignment{Agent: "ana", At: at0, OpenAtMost: &zero}, inbox.Workload{UserID: "ana", Available: true, MaxOpen: 1, Open: 1, LastAssignedAt: at0}},
		{"turn taken meanwhile", store.Assignment{Agent: "ana", At: at0, LastAt: &time.Time{}}, inbox.Workload{UserID: "ana", Available: true, MaxOpen: 1, Open: 1, LastAssignedAt: at0}},
	}
	for _, tt := range tests {
		err := assign(c2.ID, tt.to)
		var busy *store.AgentBusyError
		if !errors.As(err, &busy) || !errors.Is(err, store.ErrAgentBusy) {
			t.Fatalf("%s: err = %v, want AgentBusyError", tt.name, err)
		}
		if tt.want.UserID != "zed" {
			if diff := cmp.Diff(tt.want, busy.Workload); diff != "" {
				t.Errorf("%s: reported workload (-want +got):\n%s", tt.name, diff)
			}
		}
	}
	c, err := st.Conversation(ctx, org, c2.ID)
	if err != nil || c.AssigneeID != "" {
		t.Fatalf("c2 after refusals = %+v, %v; want unassigned", c, err)
	}
	if err := assign(c2.ID, store.Assignment{Agent: "bea", At: at0.Add(time.Second), OpenAtMost: &zero, LastAt: &time.Time{}}); err != nil {
		t.Fatalf("assign c2 to bea: %v", err)
	}
	if err := assign(c2.ID, store.Assignment{Agent: "ana", At: at0, OpenAtMost: &one}); !errors.Is(err, inbox.ErrAlreadyAssigned) && err == nil {
		t.Fatalf("reassign c2 = %v", err)
	}
	if diff := cmp.Diff(map[string]int{"ana": 1, "bea": 1, "cy": 0}, openCounts(t, st, org, "ana", "bea", "cy")); diff != "" {
		t.Errorf("open counts (-want +got):\n%s", diff)
	}
	entries, _, err := st.Thread(ctx, c2.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range entries {
		if e.Event != nil {
			events = append(events, string(e.Event.Type)+" "+e.Event.Details["assignee_id"])
		}
	}
	if diff := cmp.Diff([]string{"assigned bea"}, events); diff != "" {
		t.Errorf("c2's events (-want +got):\n%s", diff)
	}
}

// TestAutoAssignNeverTwice: many deciders assign one conversation to different agents at once;
// exactly one wins, with one event and one count.
func TestAutoAssignNeverTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	agents := map[string]int{}
	for i := range 10 {
		agents[fmt.Sprint("a", i)] = 5
	}
	st, org := loadFixture(t, agents)
	c := openConversation(t, st, org, "5491100000021", at0)
	var wg sync.WaitGroup
	wins := make(chan string, 10)
	for agent := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.AutoAssign(ctx, org, c.ID, store.Assignment{Agent: agent, At: at0}, func(c *inbox.Conversation) (*inbox.Event, error) {
				if c.AssigneeID != "" {
					return nil, inbox.ErrAlreadyAssigned
				}
				_ = c.Assign(agent, "random")
				return inbox.NewEvent(c.ID, inbox.EventAssigned, "", at0, map[string]string{"assignee_id": agent}), nil
			})
			if err == nil {
				wins <- agent
			} else if !errors.Is(err, inbox.ErrAlreadyAssigned) {
				t.Errorf("assign to %s: %v", agent, err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	users := make([]string, 0, len(agents))
	total := 0
	for a := range agents {
		users = append(users, a)
	}
	for _, n := range openCounts(t, st, org, users...) {
		total += n
	}
	got, err := st.Conversation(ctx, org, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(won) != 1 || total != 1 || got.AssigneeID != won[0] {
		t.Errorf("winners %v, total open %d, assignee %q; want one winner, 1 open, the winner", won, total, got.AssigneeID)
	}
}

// TestWaitingOldestFirst: the waiting index lists a department's open, unassigned
// conversations by when they started waiting; a customer who writes again keeps their place;
// an assigned one leaves and, returned, queues again.
func TestWaitingOldestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, org := loadFixture(t, map[string]int{"ana": 0})
	var ids []string
	for i := range 12 {
		c := openConversation(t, st, org, fmt.Sprintf("54911000001%02d", i), at0.Add(time.Duration(i)*time.Minute))
		ids = append(ids, c.ID)
	}
	// The oldest writes again: still first. The second is claimed, then returned: last.
	update(t, st, org, ids[0], func(c *inbox.Conversation) error {
		c.ApplyInbound(inbox.CustomerMessage{ProviderID: "again", At: at0.Add(time.Hour)}, "sales")
		return nil
	})
	update(t, st, org, ids[1], func(c *inbox.Conversation) error { return c.Claim("ana") })
	update(t, st, org, ids[1], func(c *inbox.Conversation) error {
		c.ApplyOutbound(inbox.Preview{Text: "hola", Direction: inbox.Outbound, At: at0.Add(2 * time.Hour)})
		return c.Return()
	})
	update(t, st, org, ids[2], func(c *inbox.Conversation) error { return c.Claim("ana") })
	want := append([]string{ids[0]}, ids[3:]...)
	want = append(want, ids[1])
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		convs, next, err := st.Waiting(ctx, org, []string{"sales", "support"}, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convs {
			got = append(got, c.ID)
		}
		if next == "" || page > 5 {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waiting order (-want +got):\n%s", diff)
	}
}

func TestAssignmentRulesFallBackToTheDepartment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	dept := &inbox.AssignmentRules{Rules: []inbox.Rule{{Type: inbox.RuleRoundRobin}}, WhenAway: inbox.AwayKeep}
	line := &inbox.AssignmentRules{Rules: []inbox.Rule{{Type: inbox.RuleContactField, Field: "vendedor"}, {Type: inbox.RuleLeastLoaded}}, WhenAway: inbox.AwayReroute}
	check := func(name string, want *inbox.AssignmentRules, wantScope store.RuleScope) {
		t.Helper()
		got, scope, err := st.AssignmentRules(ctx, org, "l1", "sales")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" || scope != wantScope {
			t.Errorf("%s: rules from %q (-want +got):\n%s", name, scope, diff)
		}
	}
	check("none", nil, "")
	if err := st.PutAssignmentRules(ctx, org, store.ScopeDepartment, "sales", dept); err != nil {
		t.Fatal(err)
	}
	check("department", dept, store.ScopeDepartment)
	if err := st.PutAssignmentRules(ctx, org, store.ScopeLine, "l1", line); err != nil {
		t.Fatal(err)
	}
	check("line", line, store.ScopeLine)
	if err := st.DeleteAssignmentRules(ctx, org, store.ScopeLine, "l1"); err != nil {
		t.Fatal(err)
	}
	check("line removed", dept, store.ScopeDepartment)
	if _, err := st.SetAvailability(ctx, org, "nobody", true, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("availability of an unknown user = %v, want ErrNotFound", err)
	}
}
