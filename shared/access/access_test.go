package access

import (
	"errors"
	"fmt"
	"testing"

	"github.com/buzon/buzon/shared/inbox"
)

// TestCheck is the permission table: every role × action × ownership, with the expected
// answer: "ok", "403" (sees it, may not do it) or "404" (may not see it).
func TestCheck(t *testing.T) {
	t.Parallel()
	users := map[inbox.Role]*inbox.User{
		inbox.RoleAdmin:   {ID: "me", OrgID: "o1", Role: inbox.RoleAdmin},
		inbox.RoleAgent:   {ID: "me", OrgID: "o1", Role: inbox.RoleAgent, Departments: []string{"sales"}},
		inbox.RoleSeller:  {ID: "me", OrgID: "o1", Role: inbox.RoleSeller, Departments: []string{"sales"}},
		inbox.RoleNoInbox: {ID: "me", OrgID: "o1", Role: inbox.RoleNoInbox, Departments: []string{"sales"}},
	}
	owners := map[string]*inbox.Conversation{
		"mine":             {OrgID: "o1", DepartmentID: "sales", AssigneeID: "me"},
		"unassigned":       {OrgID: "o1", DepartmentID: "sales"},
		"someone else's":   {OrgID: "o1", DepartmentID: "sales", AssigneeID: "other"},
		"other department": {OrgID: "o1", DepartmentID: "support"},
		"no route":         {OrgID: "o1"},
		"other org":        {OrgID: "o2", DepartmentID: "sales", AssigneeID: "me"},
	}
	actions := []Action{Read, Note, Claim, Assign, Return, Transfer, Close, Reopen, Send, Route}
	// want[role][owner] is the answer for each action, in the order of actions.
	want := map[inbox.Role]map[string][]string{
		inbox.RoleAdmin: {
			"mine":             {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
			"unassigned":       {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
			"someone else's":   {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
			"other department": {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
			"no route":         {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
			"other org":        {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		},
		inbox.RoleAgent: {
			"mine":             {"ok", "ok", "ok", "403", "ok", "ok", "ok", "ok", "ok", "403"},
			"unassigned":       {"ok", "ok", "ok", "403", "403", "ok", "ok", "ok", "ok", "403"},
			"someone else's":   {"ok", "ok", "ok", "403", "403", "403", "403", "ok", "403", "403"},
			"other department": {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"no route":         {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"other org":        {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		},
		inbox.RoleSeller: {
			"mine":             {"ok", "ok", "ok", "403", "ok", "ok", "ok", "ok", "ok", "403"},
			"unassigned":       {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"someone else's":   {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"other department": {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"no route":         {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
			"other org":        {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		},
	}
	want[inbox.RoleNoInbox] = map[string][]string{}
	for o := range owners {
		want[inbox.RoleNoInbox][o] = []string{"404", "404", "404", "404", "404", "404", "404", "404", "404", "404"}
	}
	for role, byOwner := range want {
		for owner, answers := range byOwner {
			for i, a := range actions {
				t.Run(fmt.Sprintf("%s/%s/%s", role, owner, a), func(t *testing.T) {
					t.Parallel()
					err := Check(users[role], a, owners[owner], nil)
					got := "ok"
					switch {
					case errors.Is(err, ErrInvisible):
						got = "404"
					case errors.Is(err, ErrForbidden):
						got = "403"
					case err != nil:
						got = err.Error()
					}
					if got != answers[i] {
						t.Errorf("Check(%s, %s, %s) = %s, want %s", role, a, owner, got, answers[i])
					}
				})
			}
		}
	}
}

func TestLineAuthorization(t *testing.T) {
	t.Parallel()
	agent := &inbox.User{ID: "me", OrgID: "o1", Role: inbox.RoleAgent, Departments: []string{"sales"}}
	c := &inbox.Conversation{OrgID: "o1", DepartmentID: "sales"}
	tests := []struct {
		name string
		line *inbox.Line
		want bool
	}{
		{"no list: every member", &inbox.Line{}, true},
		{"listed", &inbox.Line{Authorized: []string{"x", "me"}}, true},
		{"not listed", &inbox.Line{Authorized: []string{"x"}}, false},
	}
	for _, tc := range tests {
		if got := Visible(agent, c, tc.line); got != tc.want {
			t.Errorf("%s: Visible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRules is the table of the role rules about the caller alone: each rule × role, "ok" or
// the refusal.
func TestRules(t *testing.T) {
	t.Parallel()
	roles := []inbox.Role{inbox.RoleAdmin, inbox.RoleAgent, inbox.RoleSeller, inbox.RoleNoInbox}
	rules := []struct {
		name string
		rule Rule
		want []error // per role, in the order of roles
	}{
		{"Anyone", Anyone, []error{nil, nil, nil, nil}},
		{"Inbox", Inbox, []error{nil, nil, nil, ErrNoInbox}},
		{"ManageOrganization", ManageOrganization, []error{nil, ErrAdminsOnly, ErrAdminsOnly, ErrAdminsOnly}},
		{"ManageQuickReplies", ManageQuickReplies, []error{nil, ErrEditorsOnly, ErrEditorsOnly, nil}},
		{"CreateLabels", CreateLabels, []error{nil, nil, ErrLabelCreatorsOnly, ErrLabelCreatorsOnly}},
		{"SetCapacity", SetCapacity, []error{nil, ErrCapacity, ErrCapacity, ErrCapacity}},
		{"someone else's availability", func(u *inbox.User) error { return Availability(u, "other") },
			[]error{nil, ErrOthersAvailability, ErrOthersAvailability, ErrOthersAvailability}},
		{"own availability", func(u *inbox.User) error { return Availability(u, u.ID) }, []error{nil, nil, nil, nil}},
		{"list another's conversations", func(u *inbox.User) error { return ListAssignee(u, "other") },
			[]error{nil, nil, ErrOthersAssigned, nil}},
		{"start on the sales line", func(u *inbox.User) error { return StartOn(u, &inbox.Line{DepartmentID: "sales"}) },
			[]error{nil, nil, nil, nil}},
		{"start on the support line", func(u *inbox.User) error { return StartOn(u, &inbox.Line{DepartmentID: "support"}) },
			[]error{nil, ErrLineDepartment, nil, nil}},
		{"start on a line for others", func(u *inbox.User) error { return StartOn(u, &inbox.Line{Authorized: []string{"x"}}) },
			[]error{nil, ErrLineUnauthorized, ErrLineUnauthorized, ErrLineUnauthorized}},
		{"start with someone else's contact", func(u *inbox.User) error { return StartWith(u, &inbox.Contact{OwnerID: "x"}) },
			[]error{nil, nil, ErrNotYourContact, nil}},
	}
	for _, r := range rules {
		for i, role := range roles {
			t.Run(r.name+"/"+string(role), func(t *testing.T) {
				t.Parallel()
				u := &inbox.User{ID: "me", OrgID: "o1", Role: role, Departments: []string{"sales"}}
				err := r.rule(u)
				if err != r.want[i] {
					t.Errorf("%s(%s) = %v, want %v", r.name, role, err, r.want[i])
				}
				if err != nil && !errors.Is(err, ErrForbidden) {
					t.Errorf("%s(%s) = %v, not an ErrForbidden", r.name, role, err)
				}
			})
		}
	}
}

// TestQueues: which departments' queues each role reads, with and without a department filter.
func TestQueues(t *testing.T) {
	t.Parallel()
	org := func() ([]string, error) { return []string{"sales", "support"}, nil }
	tests := []struct {
		role inbox.Role
		dept string
		want []string
		err  error
	}{
		{inbox.RoleAdmin, "", []string{"", "sales", "support"}, nil},
		{inbox.RoleAdmin, "support", []string{"support"}, nil},
		{inbox.RoleAgent, "", []string{"sales"}, nil},
		{inbox.RoleAgent, "support", nil, ErrNotMember},
		{inbox.RoleSeller, "", nil, nil},
		{inbox.RoleNoInbox, "", nil, ErrNoInbox},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+"/"+tt.dept, func(t *testing.T) {
			t.Parallel()
			u := &inbox.User{ID: "me", OrgID: "o1", Role: tt.role, Departments: []string{"sales"}}
			got, err := Queues(u, tt.dept, org)
			if err != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Queues(%s, %q) = %q, %v; want %q, %v", tt.role, tt.dept, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestContactRules(t *testing.T) {
	t.Parallel()
	admin := &inbox.User{ID: "a", OrgID: "o", Role: inbox.RoleAdmin}
	agent := &inbox.User{ID: "g", OrgID: "o", Role: inbox.RoleAgent}
	seller := &inbox.User{ID: "s", OrgID: "o", Role: inbox.RoleSeller}
	mine := &inbox.Contact{OrgID: "o", OwnerID: "s"}
	theirs := &inbox.Contact{OrgID: "o", OwnerID: "x"}
	other := &inbox.Contact{OrgID: "p"}
	tests := []struct {
		name         string
		u            *inbox.User
		ct           *inbox.Contact
		changesOwner bool
		want         error
	}{
		{"admin edits and changes owner", admin, theirs, true, nil},
		{"agent edits another's contact", agent, theirs, false, nil},
		{"agent may not change the owner", agent, theirs, true, ErrContactOwner},
		{"seller edits their own", seller, mine, false, nil},
		{"seller may not give it away", seller, mine, true, ErrContactOwner},
		{"seller does not see another's", seller, theirs, false, ErrContactInvisible},
		{"another organization is invisible", admin, other, false, ErrContactInvisible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := EditContact(tt.u, tt.ct, tt.changesOwner); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("EditContact = %v, want %v", err, tt.want)
			}
		})
	}
	if owner, err := ContactsOwner(seller, ""); owner != "s" || err != nil {
		t.Errorf("seller's listing owner = %q, %v; want s", owner, err)
	}
	if _, err := ContactsOwner(seller, "x"); !errors.Is(err, ErrOthersContacts) {
		t.Errorf("seller listing another's = %v, want ErrOthersContacts", err)
	}
	if owner, err := ContactsOwner(agent, ""); owner != "" || err != nil {
		t.Errorf("agent's listing owner = %q, %v; want none", owner, err)
	}
}

// TestCollaborators is the permission table of collaborators (A7): who adds and removes them,
// and what a collaborator does on a conversation they would not see otherwise (another
// department's, or a seller on someone else's) or see anyway (their own department's).
func TestCollaborators(t *testing.T) {
	t.Parallel()
	agent := &inbox.User{ID: "me", OrgID: "o1", Role: inbox.RoleAgent, Departments: []string{"sales"}}
	seller := &inbox.User{ID: "me", OrgID: "o1", Role: inbox.RoleSeller}
	admin := &inbox.User{ID: "me", OrgID: "o1", Role: inbox.RoleAdmin}
	collab := func(dept, assignee string, with ...string) *inbox.Conversation {
		return &inbox.Conversation{OrgID: "o1", DepartmentID: dept, AssigneeID: assignee, Collaborators: with}
	}
	notes, replies := &inbox.Line{}, &inbox.Line{CollaboratorsReply: true}
	tests := []struct {
		name   string
		u      *inbox.User
		c      *inbox.Conversation
		line   *inbox.Line
		action Action
		want   string
	}{
		{"assignee adds", agent, collab("sales", "me"), notes, Collaborate, "ok"},
		{"admin adds", admin, collab("support", "other"), notes, Collaborate, "ok"},
		{"department member does not add", agent, collab("sales", "other"), notes, Collaborate, "403"},
		{"nobody's: no one to add for", agent, collab("sales", ""), notes, Collaborate, "403"},
		{"collaborator does not add", agent, collab("support", "other", "me"), notes, Collaborate, "403"},
		{"outsider sees nothing", agent, collab("support", "other", "x"), notes, Read, "404"},
		{"collaborator reads", agent, collab("support", "other", "me"), notes, Read, "ok"},
		{"collaborator notes", agent, collab("support", "other", "me"), notes, Note, "ok"},
		{"collaborator leaves", agent, collab("support", "other", "me"), notes, Leave, "ok"},
		{"collaborator does not reply on a notes line", agent, collab("support", "other", "me"), notes, Send, "403"},
		{"collaborator replies where the line allows", agent, collab("support", "other", "me"), replies, Send, "ok"},
		{"collaborator does not claim", agent, collab("support", "", "me"), replies, Claim, "403"},
		{"collaborator does not close", agent, collab("support", "other", "me"), replies, Close, "403"},
		{"collaborator does not transfer", agent, collab("support", "other", "me"), replies, Transfer, "403"},
		{"seller collaborator reads", seller, collab("sales", "other", "me"), notes, Read, "ok"},
		{"seller collaborator replies where allowed", seller, collab("sales", "other", "me"), replies, Send, "ok"},
		{"member collaborator replies where allowed", agent, collab("sales", "other", "me"), replies, Send, "ok"},
		{"member collaborator: no reply on a notes line", agent, collab("sales", "other", "me"), notes, Send, "403"},
		{"member who is not a collaborator does not leave", agent, collab("sales", "other"), notes, Leave, "403"},
		{"other organization", &inbox.User{ID: "me", OrgID: "o2", Role: inbox.RoleAgent}, collab("sales", "other", "me"), notes, Read, "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.u, tc.action, tc.c, tc.line)
			got := "ok"
			switch {
			case errors.Is(err, ErrInvisible):
				got = "404"
			case errors.Is(err, ErrForbidden):
				got = "403"
			case err != nil:
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Check(%s) = %s (%v), want %s", tc.action, got, err, tc.want)
			}
		})
	}
}
