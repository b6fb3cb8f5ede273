package inbox

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAssignmentRulesValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      AssignmentRules
		wantErr bool
		want    AssignmentRules
	}{
		{name: "empty: nothing automatic, keep", in: AssignmentRules{}, want: AssignmentRules{WhenAway: AwayKeep}},
		{name: "every rule", in: AssignmentRules{Rules: []Rule{{Type: RuleContactOwner}, {Type: RuleContactField, Field: " vendedor "}, {Type: RuleLastAgent},
			{Type: RuleLeastLoaded}, {Type: RuleRoundRobin}, {Type: RuleRandom}}, WhenAway: AwayReroute},
			want: AssignmentRules{Rules: []Rule{{Type: RuleContactOwner}, {Type: RuleContactField, Field: "vendedor"}, {Type: RuleLastAgent},
				{Type: RuleLeastLoaded}, {Type: RuleRoundRobin}, {Type: RuleRandom}}, WhenAway: AwayReroute}},
		{name: "two fields", in: AssignmentRules{Rules: []Rule{{Type: RuleContactField, Field: "a"}, {Type: RuleContactField, Field: "b"}}},
			want: AssignmentRules{Rules: []Rule{{Type: RuleContactField, Field: "a"}, {Type: RuleContactField, Field: "b"}}, WhenAway: AwayKeep}},
		{name: "unknown type", in: AssignmentRules{Rules: []Rule{{Type: "fastest"}}}, wantErr: true},
		{name: "field missing", in: AssignmentRules{Rules: []Rule{{Type: RuleContactField, Field: "  "}}}, wantErr: true},
		{name: "field where none goes", in: AssignmentRules{Rules: []Rule{{Type: RuleRandom, Field: "x"}}}, wantErr: true},
		{name: "twice", in: AssignmentRules{Rules: []Rule{{Type: RuleLeastLoaded}, {Type: RuleLeastLoaded}}}, wantErr: true},
		{name: "bad policy", in: AssignmentRules{WhenAway: "sometimes"}, wantErr: true},
		{name: "too many", in: AssignmentRules{Rules: make([]Rule, MaxRules+1)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.in
			err := got.Validate()
			if tt.wantErr {
				if !errors.Is(err, ErrBadRules) {
					t.Errorf("err = %v, want ErrBadRules", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validated (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWorkloadHasRoom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w    Workload
		want bool
	}{
		{Workload{Available: true}, true},
		{Workload{Available: true, Open: 50}, true}, // no limit
		{Workload{Available: true, MaxOpen: 3, Open: 2}, true},
		{Workload{Available: true, MaxOpen: 3, Open: 3}, false},
		{Workload{Available: true, MaxOpen: 3, Open: 4}, false}, // capacity lowered below the load
		{Workload{MaxOpen: 3}, false},                           // away
	}
	for _, tt := range tests {
		if got := tt.w.HasRoom(); got != tt.want {
			t.Errorf("%+v.HasRoom() = %v, want %v", tt.w, got, tt.want)
		}
	}
}

func TestHolderAndWaiting(t *testing.T) {
	t.Parallel()
	c := &Conversation{Status: StatusOpen, DepartmentID: "sales"}
	if c.Holder() != "" || !c.Waiting() {
		t.Fatalf("open unassigned: holder %q waiting %v", c.Holder(), c.Waiting())
	}
	_ = c.Claim("ana")
	if c.Holder() != "ana" || c.Waiting() {
		t.Fatalf("claimed: holder %q waiting %v", c.Holder(), c.Waiting())
	}
	if err := c.Unassign("assignee_away"); err != nil || c.Holder() != "" || c.RouteRule != "assignee_away" {
		t.Fatalf("unassigned: %v, holder %q, route %q", err, c.Holder(), c.RouteRule)
	}
	_ = c.Claim("ana")
	_ = c.Close("ok", c.ClosedAt)
	if c.Holder() != "" || c.Waiting() {
		t.Fatalf("done: holder %q waiting %v (a done conversation counts in nobody's load)", c.Holder(), c.Waiting())
	}
	if (&Conversation{Status: StatusOpen}).Waiting() {
		t.Error("a conversation of no department waits for admins, not in a shared inbox")
	}
}
