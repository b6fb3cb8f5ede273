package realtime

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
)

// TestForMatrix: two organizations × admin / agent / seller / other department / no inbox, for
// every event type: who gets what.
func TestForMatrix(t *testing.T) {
	t.Parallel()
	now := time.Now()
	conv := &inbox.Conversation{ID: "c", OrgID: "a", LineID: "l", DepartmentID: "sales", AssigneeID: "seller", Status: inbox.StatusOpen}
	users := map[string]*inbox.User{
		"admin A":             {ID: "admin", OrgID: "a", Role: inbox.RoleAdmin},
		"agent A sales":       {ID: "agent", OrgID: "a", Role: inbox.RoleAgent, Departments: []string{"sales"}},
		"seller A (assignee)": {ID: "seller", OrgID: "a", Role: inbox.RoleSeller, Departments: []string{"sales"}},
		"other seller A":      {ID: "seller2", OrgID: "a", Role: inbox.RoleSeller, Departments: []string{"sales"}},
		"agent A support":     {ID: "support", OrgID: "a", Role: inbox.RoleAgent, Departments: []string{"support"}},
		"noinbox A":           {ID: "editor", OrgID: "a", Role: inbox.RoleNoInbox, Departments: []string{"sales"}},
		"admin B":             {ID: "admin", OrgID: "b", Role: inbox.RoleAdmin},
		"agent B sales":       {ID: "agent", OrgID: "b", Role: inbox.RoleAgent, Departments: []string{"sales"}},
	}
	changes := map[string]Change{
		ConversationUpdated: {ID: "1", Type: ConversationUpdated, ConversationID: "c"},
		MessageCreated:      {ID: "2", Type: MessageCreated, ConversationID: "c"},
		MessageStatus:       {ID: "3", Type: MessageStatus, ConversationID: "c"},
		NoteCreated:         {ID: "4", Type: NoteCreated, ConversationID: "c"},
		Notification:        {ID: "5", Type: Notification, ConversationID: "c", To: "seller", Notification: &NotificationBody{Kind: KindAssigned}},
	}
	see := []string{"admin A", "agent A sales", "seller A (assignee)"}
	want := map[string][]string{
		ConversationUpdated: see, MessageCreated: see, MessageStatus: see, NoteCreated: see,
		Notification: {"seller A (assignee)"},
	}
	for typ, c := range changes {
		var got []string
		for _, who := range []string{"admin A", "agent A sales", "seller A (assignee)", "other seller A", "agent A support", "noinbox A", "admin B", "agent B sales"} {
			if e, ok := For(c, conv, nil, users[who], 0, now); ok {
				if e.ID != c.ID || e.Type != typ || e.Conversation == nil {
					t.Errorf("%s for %s: %+v", typ, who, e)
				}
				got = append(got, who)
			}
		}
		if diff := cmp.Diff(want[typ], got); diff != "" {
			t.Errorf("%s reaches (-want +got):\n%s", typ, diff)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	now := time.Now()
	msg := &inbox.Message{ID: "m", ConversationID: "c", Status: "sent", At: now}
	read := &inbox.Message{ID: "m", ConversationID: "c", Status: "read", At: now}
	ev := func(typ inbox.EventType, actor string, d map[string]string) Image {
		return Image{Event: &inbox.Event{ID: "e", ConversationID: "c", Type: typ, ActorID: actor, At: now, Details: d}}
	}
	tests := []struct {
		name     string
		op       string
		old, new Image
		want     []string // type/kind
	}{
		{"conversation change", "MODIFY", Image{}, Image{Conversation: &inbox.Conversation{ID: "c"}}, []string{ConversationUpdated}},
		{"conversation removed (TTL)", "REMOVE", Image{Conversation: &inbox.Conversation{ID: "c"}}, Image{}, nil},
		{"new message", "INSERT", Image{}, Image{Message: msg}, []string{MessageCreated}},
		{"status moved", "MODIFY", Image{Message: msg}, Image{Message: read}, []string{MessageStatus}},
		{"reaction only", "MODIFY", Image{Message: read}, Image{Message: read}, nil},
		{"note", "INSERT", Image{}, ev(inbox.EventNote, "u", nil), []string{NoteCreated}},
		{"assigned by an admin", "INSERT", Image{}, ev(inbox.EventAssigned, "admin", map[string]string{"assignee_id": "u"}), []string{"notification/assigned"}},
		{"automatic assignment", "INSERT", Image{}, ev(inbox.EventAssigned, "", map[string]string{"assignee_id": "u"}), []string{"notification/assigned"}},
		{"transferred to someone", "INSERT", Image{}, ev(inbox.EventTransferred, "admin", map[string]string{"assignee_id": "u"}), []string{"notification/transferred"}},
		{"transferred to a department", "INSERT", Image{}, ev(inbox.EventTransferred, "admin", map[string]string{"department_id": "d"}), nil},
		{"claimed: nobody to tell", "INSERT", Image{}, ev(inbox.EventClaimed, "u", map[string]string{"assignee_id": "u"}), nil},
		{"window closing", "INSERT", Image{}, ev(inbox.EventWindowClosing, "", nil), []string{"notification/window_closing"}},
		{"collaborator added", "INSERT", Image{}, ev(inbox.EventCollaboratorAdded, "ana", map[string]string{"user_id": "cid"}), []string{"notification/collaborator_added"}},
		{"collaborator left: nobody to tell", "INSERT", Image{}, ev(inbox.EventCollaboratorRemoved, "cid", map[string]string{"user_id": "cid"}), nil},
		{"closed: the conversation record tells", "INSERT", Image{}, ev(inbox.EventClosed, "u", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, c := range Decode("id", tt.op, tt.old, tt.new) {
				s := c.Type
				if c.Notification != nil {
					s += "/" + c.Notification.Kind
				}
				if c.ID != "id" {
					t.Errorf("id %q: a redelivered record must give the same id", c.ID)
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecipientsOfAMove(t *testing.T) {
	t.Parallel()
	before := &inbox.Conversation{ID: "c", DepartmentID: "sales", AssigneeID: "sofia"}
	after := &inbox.Conversation{ID: "c", DepartmentID: "support"}
	depts, users := Recipients(Change{Type: ConversationUpdated, Before: before}, after)
	if diff := cmp.Diff([]string{"support", "sales"}, depts); diff != "" {
		t.Errorf("departments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "sofia"}, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	// Sofía, who held it in sales, is told it is gone, without its new state.
	e, ok := For(Change{ID: "x", Type: ConversationUpdated, Before: before}, after, nil,
		&inbox.User{ID: "sofia", Role: inbox.RoleAgent, Departments: []string{"sales"}}, 0, time.Now())
	if !ok || e.Type != ConversationRemoved || e.Conversation != nil {
		t.Errorf("for the one who lost it: %+v, %v", e, ok)
	}
}

// TestCollaboratorsReceive (A7): a collaborator from another department gets the
// conversation's events and the notification that names them; one who left (or whom closing
// let go) is told the conversation is gone.
func TestCollaboratorsReceive(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cid := &inbox.User{ID: "cid", OrgID: "a", Role: inbox.RoleAgent, Departments: []string{"support"}}
	conv := &inbox.Conversation{ID: "c", OrgID: "a", DepartmentID: "sales", AssigneeID: "ana", Status: inbox.StatusOpen, Collaborators: []string{"cid"}}
	depts, users := Recipients(Change{Type: MessageCreated}, conv)
	if diff := cmp.Diff([]string{"sales"}, depts); diff != "" {
		t.Errorf("departments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ana", "cid"}, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if e, ok := For(Change{ID: "1", Type: MessageCreated}, conv, nil, cid, 0, now); !ok || e.Conversation == nil {
		t.Errorf("message for the collaborator: %+v, %v", e, ok)
	}
	note := Change{ID: "2", Type: Notification, To: "cid", Notification: &NotificationBody{Kind: KindCollaborator, ActorID: "ana"}}
	if _, users := Recipients(note, conv); !cmp.Equal([]string{"cid"}, users) {
		t.Errorf("notification recipients %v, want cid", users)
	}
	if e, ok := For(note, conv, nil, cid, 0, now); !ok || e.Notification.Kind != KindCollaborator {
		t.Errorf("notification for cid: %+v, %v", e, ok)
	}
	after := *conv
	after.Collaborators = nil
	left := Change{ID: "3", Type: ConversationUpdated, Before: conv}
	if _, users := Recipients(left, &after); !cmp.Equal([]string{"ana", "cid"}, users) {
		t.Errorf("after leaving: recipients %v, want ana and cid", users)
	}
	if e, ok := For(left, &after, nil, cid, 0, now); !ok || e.Type != ConversationRemoved {
		t.Errorf("for the one who left: %+v, %v", e, ok)
	}
}

// TestDisabledOrDeletedGetNothing: a user disabled or deleted after connecting gets no more
// events, whatever they could see.
func TestDisabledOrDeletedGetNothing(t *testing.T) {
	t.Parallel()
	conv := &inbox.Conversation{ID: "c", OrgID: "a", DepartmentID: "sales", AssigneeID: "ana", Status: inbox.StatusOpen}
	for _, u := range []*inbox.User{
		{ID: "ana", OrgID: "a", Role: inbox.RoleAdmin, Disabled: true},
		{ID: "ana", OrgID: "a", Role: inbox.RoleAdmin, Disabled: true, Deleted: true},
	} {
		if e, ok := For(Change{ID: "1", Type: MessageCreated}, conv, nil, u, 0, time.Now()); ok {
			t.Errorf("%+v got %+v", u, e)
		}
	}
}
