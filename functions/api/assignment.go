package main

import (
	"context"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// Automatic assignment (R1, A10): agents' availability and capacity, the rule lists of lines and
// departments, and the turn automatic assignment takes after an agent's action.

type availabilityJSON struct {
	UserID    string `json:"user_id"`
	Available bool   `json:"available"`
	MaxOpen   int    `json:"max_open"`   // 0: no limit
	OpenCount int    `json:"open_count"` // open conversations assigned to them
	// Assigned is how many waiting conversations the change handed them at once (PUT only).
	Assigned *int `json:"assigned,omitempty"`
}

// maxOpenLimit caps the capacity an admin may set: a bound, not a target.
const maxOpenLimit = 1000

// availabilityTarget is the user of the path, whom the caller may see: themselves, or anyone
// of the organization for an admin.
func (a *api) availabilityTarget(ctx context.Context, c *call) (*inbox.User, error) {
	id := c.params["id"]
	if err := access.Availability(c.user, id); err != nil {
		return nil, err
	}
	return a.st.User(ctx, c.user.OrgID, id)
}

func (a *api) getAvailability(ctx context.Context, c *call) (any, error) {
	u, err := a.availabilityTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	w, err := a.st.Workload(ctx, u.OrgID, u.ID, true)
	if err != nil {
		return nil, err
	}
	return availabilityJSON{UserID: u.ID, Available: u.Available, MaxOpen: u.MaxOpen, OpenCount: w.Open}, nil
}

// setAvailability sets a user available or away and (admins) their capacity. A user who can
// take conversations afterwards takes the longest waiting ones they are eligible for at once.
func (a *api) setAvailability(ctx context.Context, c *call) (any, error) {
	var body struct {
		Available *bool `json:"available"`
		MaxOpen   *int  `json:"max_open"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.Available == nil && body.MaxOpen == nil {
		return nil, unprocessable("bad_availability", "give available, max_open or both")
	}
	if body.MaxOpen != nil && (*body.MaxOpen < 0 || *body.MaxOpen > maxOpenLimit) {
		return nil, unprocessable("bad_availability", "max_open is 0 (no limit) to 1000")
	}
	u, err := a.availabilityTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	if body.MaxOpen != nil && *body.MaxOpen != u.MaxOpen {
		if err := access.SetCapacity(c.user); err != nil {
			return nil, err
		}
	}
	if !access.HasInbox(u) {
		return nil, unprocessable("user_has_no_inbox", "that user's role has no inbox")
	}
	available, maxOpen := u.Available, u.MaxOpen
	if body.Available != nil {
		available = *body.Available
	}
	if body.MaxOpen != nil {
		maxOpen = *body.MaxOpen
	}
	w, assigned, err := a.flow().SetAvailability(ctx, c.caller(), u, available, maxOpen)
	if err != nil {
		return nil, err
	}
	return availabilityJSON{UserID: u.ID, Available: available, MaxOpen: maxOpen, OpenCount: w.Open, Assigned: &assigned}, nil
}

type ruleJSON struct {
	Type  string `json:"type"`
	Field string `json:"field,omitempty"`
}

type rulesJSON struct {
	Rules            []ruleJSON `json:"rules"`
	WhenAssigneeAway string     `json:"when_assignee_away"`
	// Source says where a line's rules come from: "line", "department" (it has none of its
	// own) or "none" (GET of a line only).
	Source string `json:"source,omitempty"`
}

func toRulesJSON(r *inbox.AssignmentRules, source string) rulesJSON {
	out := rulesJSON{Rules: []ruleJSON{}, WhenAssigneeAway: string(inbox.AwayKeep), Source: source}
	if r == nil {
		return out
	}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, ruleJSON{Type: string(rule.Type), Field: rule.Field})
	}
	if r.WhenAway != "" {
		out.WhenAssigneeAway = string(r.WhenAway)
	}
	return out
}

// rulesScope reads the line or department of the path (access.ManageOrganization guards the
// routes) and returns it with the department whose members its rules assign to.
func (a *api) rulesScope(ctx context.Context, c *call, scope store.RuleScope) (line *inbox.Line, dept string, err error) {
	id := c.params["id"]
	if scope == store.ScopeDepartment {
		if _, err := a.st.Department(ctx, c.user.OrgID, id); err != nil {
			return nil, "", err
		}
		return nil, id, nil
	}
	l, err := a.st.Line(ctx, c.user.OrgID, id)
	if err != nil {
		return nil, "", err
	}
	return l, l.DepartmentID, nil
}

func (a *api) getRules(scope store.RuleScope) handlerFunc {
	return func(ctx context.Context, c *call) (any, error) {
		line, dept, err := a.rulesScope(ctx, c, scope)
		if err != nil {
			return nil, err
		}
		lineID := ""
		if line != nil {
			lineID = line.ID
		}
		r, from, err := a.st.AssignmentRules(ctx, c.user.OrgID, lineID, dept)
		if err != nil {
			return nil, err
		}
		if scope == store.ScopeDepartment {
			if from != store.ScopeDepartment {
				r = nil
			}
			return toRulesJSON(r, ""), nil
		}
		source := map[store.RuleScope]string{store.ScopeLine: "line", store.ScopeDepartment: "department", "": "none"}[from]
		return toRulesJSON(r, source), nil
	}
}

// putRules replaces the rule list of a line or department. Agents of the department who have
// room take at once the waiting conversations the new rules give them.
func (a *api) putRules(scope store.RuleScope) handlerFunc {
	return func(ctx context.Context, c *call) (any, error) {
		var body rulesJSON
		if err := decode(c.req, &body); err != nil {
			return nil, err
		}
		if body.Source != "" {
			return nil, badRequest("source is read-only")
		}
		if body.Rules == nil {
			return nil, unprocessable("bad_rules", "rules is required (an empty list: nothing is assigned automatically)")
		}
		r := &inbox.AssignmentRules{WhenAway: inbox.AwayPolicy(body.WhenAssigneeAway)}
		for _, rule := range body.Rules {
			r.Rules = append(r.Rules, inbox.Rule{Type: inbox.RuleType(rule.Type), Field: rule.Field})
		}
		if err := r.Validate(); err != nil {
			return nil, unprocessable("bad_rules", err.Error())
		}
		_, dept, err := a.rulesScope(ctx, c, scope)
		if err != nil {
			return nil, err
		}
		err = a.configure(ctx, c, workflow.Change{Entity: "rules", ID: string(scope) + ":" + c.params["id"], Action: "update", After: toRulesJSON(r, "")}, func() error {
			return a.st.PutAssignmentRules(ctx, c.user.OrgID, scope, c.params["id"], r)
		})
		if err != nil {
			return nil, err
		}
		a.flow().DrainDepartment(ctx, c.caller(), c.user.OrgID, dept)
		out := toRulesJSON(r, "")
		if scope == store.ScopeLine {
			out.Source = "line"
		}
		return out, nil
	}
}

func (a *api) deleteRules(scope store.RuleScope) handlerFunc {
	return func(ctx context.Context, c *call) (any, error) {
		_, dept, err := a.rulesScope(ctx, c, scope)
		if err != nil {
			return nil, err
		}
		err = a.configure(ctx, c, workflow.Change{Entity: "rules", ID: string(scope) + ":" + c.params["id"], Action: "delete"}, func() error {
			return a.st.DeleteAssignmentRules(ctx, c.user.OrgID, scope, c.params["id"])
		})
		if err != nil {
			return nil, err
		}
		a.flow().DrainDepartment(ctx, c.caller(), c.user.OrgID, dept)
		return nil, nil
	}
}
