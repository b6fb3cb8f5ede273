package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// Refusals of the lifecycle of users, lines and departments.
var (
	ErrDeleteSelf = errors.New("workflow: you cannot delete yourself")
	// ErrLineDeleted: a deleted line keeps its history, read-only: it sends nothing and
	// changes no more.
	ErrLineDeleted = errors.New("workflow: the line was deleted")
	// ErrDepartmentInUse: a department with conversations is deleted only by moving them.
	ErrDepartmentInUse = errors.New("workflow: the department has conversations")
	ErrMoveToSelf      = errors.New("workflow: conversations cannot move to the department being deleted")
	ErrHandOverToSelf  = errors.New("workflow: conversations cannot go to the user who leaves")
)

// Rules the lifecycle's events name: why Buzón moved a conversation.
const (
	RuleUserDisabled      = "user_disabled"
	RuleUserDeleted       = "user_deleted"
	RuleLineDeleted       = "line_deleted"
	RuleDepartmentDeleted = "department_deleted"
)

// eachConversation calls fn for every conversation of the view q, page by page.
func (s *Service) eachConversation(ctx context.Context, q store.ListQuery, fn func(cv *inbox.Conversation) error) error {
	q.Limit = 100
	for {
		convs, next, err := s.st.ListConversations(ctx, q)
		if err != nil {
			return err
		}
		for _, cv := range convs {
			if err := fn(cv); err != nil {
				return fmt.Errorf("conversation %s: %w", cv.ID, err)
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// handOver gives every open conversation u holds to to (a user of the organization with an
// inbox), or back to its department's queue when to is "", as Buzón for the reason rule (the
// admin who caused it is in the log); automatic assignment takes its turn on those in the
// queue.
func (s *Service) handOver(ctx context.Context, u *inbox.User, to, rule string) error {
	q := store.ListQuery{Org: u.OrgID, Status: inbox.StatusOpen, Sources: []store.Source{{Assignee: u.ID}}}
	return s.eachConversation(ctx, q, func(cv *inbox.Conversation) error {
		action := access.Return
		if to != "" {
			action = access.Assign
		}
		_, err := s.act(ctx, System, u.OrgID, cv.ID, action, func(cv *inbox.Conversation) (*inbox.Event, error) {
			if cv.AssigneeID != u.ID || cv.Status != inbox.StatusOpen {
				return nil, store.ErrNoChange
			}
			if to == "" {
				if err := cv.Return(); err != nil {
					return nil, err
				}
				return s.event(System, inbox.EventReturned, map[string]string{"from": u.ID, "rule": rule}), nil
			}
			if err := cv.Assign(to, rule); err != nil {
				return nil, err
			}
			return s.event(System, inbox.EventAssigned, map[string]string{"from": u.ID, "assignee_id": to, "rule": rule}), nil
		})
		return err
	})
}

// heir checks the user a leaving user's conversations go to: of the organization, with an
// inbox, enabled, not the one who leaves.
func (s *Service) heir(ctx context.Context, org, leaving, to string) error {
	if to == "" {
		return nil
	}
	if to == leaving {
		return ErrHandOverToSelf
	}
	u, err := s.assignee(ctx, org, to)
	if err != nil {
		var unknown *UnknownError
		if errors.As(err, &unknown) {
			unknown.Field = "conversations_to"
		}
		return err
	}
	if u.Disabled {
		return ErrCollaboratorDisabled
	}
	return nil
}

// DeleteUser removes user id of the caller's organization: refused on their next request
// whatever their token says (access.Enabled), left out of every list, no longer found by
// their email; kept so the timeline, reports and audit still name them. Their open
// conversations go to user to, or back to their departments' queues when to is "", and
// their collaborations end.
func (s *Service) DeleteUser(ctx context.Context, by Caller, id, to string) (*inbox.User, error) {
	org := by.User.OrgID
	if id == by.User.ID {
		return nil, ErrDeleteSelf
	}
	if err := s.heir(ctx, org, id, to); err != nil {
		return nil, err
	}
	u, err := s.st.User(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if !u.Deleted {
		u.Deleted, u.Disabled, u.Available = true, true, false
		if err := s.st.PutUser(ctx, u); err != nil {
			return nil, err
		}
		by.log().InfoContext(ctx, "user deleted", "target_user_id", id)
		if err := s.record(ctx, by, org, Change{Entity: "user", ID: id, Action: "delete",
			Before: map[string]any{"name": u.Name, "email": u.Email, "role": u.Role, "departments": u.Departments}, After: map[string]any{"conversations_to": to}}); err != nil {
			return nil, err
		}
	}
	// Run again on a second request: what a first one left half done is finished.
	if err := s.handOver(ctx, u, to, RuleUserDeleted); err != nil {
		return nil, err
	}
	return u, s.endCollaborations(ctx, u, RuleUserDeleted)
}

// endCollaborations removes u from every conversation they collaborate on, as Buzón.
func (s *Service) endCollaborations(ctx context.Context, u *inbox.User, rule string) error {
	ids, err := s.st.Collaborations(ctx, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		_, err := s.act(ctx, System, u.OrgID, id, access.Collaborate, func(cv *inbox.Conversation) (*inbox.Event, error) {
			if err := cv.RemoveCollaborator(u.ID); errors.Is(err, inbox.ErrNotCollaborator) {
				return nil, store.ErrNoChange
			}
			return s.event(System, inbox.EventCollaboratorRemoved, map[string]string{"user_id": u.ID, "rule": rule}), nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("end collaboration on %s: %w", id, err)
		}
	}
	return nil
}

// DeleteLine deletes line id of the caller's organization: its history stays readable, its
// open conversations close (reason line_deleted), it sends nothing more (ErrLineDeleted)
// and its number is free: what the provider still delivers for it is kept as unrouted.
func (s *Service) DeleteLine(ctx context.Context, by Caller, id string) (*inbox.Line, error) {
	org := by.User.OrgID
	l, err := s.st.Line(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if l.State != inbox.LineDeleted {
		if err := s.st.DeleteLine(ctx, l); err != nil {
			return nil, err
		}
		before := l.State
		l.State = inbox.LineDeleted
		by.log().InfoContext(ctx, "line deleted", "line_id", id)
		if err := s.record(ctx, by, org, Change{Entity: "line", ID: id, Action: "delete", Before: map[string]any{"state": before}, After: map[string]any{"state": l.State}}); err != nil {
			return nil, err
		}
	}
	_, depts, _, err := s.st.OrgItems(ctx, org)
	if err != nil {
		return nil, err
	}
	var sources []store.Source
	for _, d := range append([]*inbox.Department{{}}, depts...) {
		sources = append(sources, store.Source{Department: d.ID}, store.Source{Department: d.ID, Assigned: true})
	}
	q := store.ListQuery{Org: org, Status: inbox.StatusOpen, Sources: sources, LineID: id}
	return l, s.eachConversation(ctx, q, func(cv *inbox.Conversation) error {
		_, err := s.act(ctx, System, org, cv.ID, access.Close, func(cv *inbox.Conversation) (*inbox.Event, error) {
			if cv.Status != inbox.StatusOpen {
				return nil, store.ErrNoChange
			}
			d := map[string]string{"reason": RuleLineDeleted, "rule": RuleLineDeleted}
			if cv.AssigneeID != "" {
				d["assignee_id"] = cv.AssigneeID
			}
			if err := cv.Close(RuleLineDeleted, s.now()); err != nil {
				return nil, err
			}
			return &inbox.Event{ID: fmt.Sprintf("e_linedel_%d", cv.Cycle), Type: inbox.EventClosed, At: s.now(), Details: d}, nil
		})
		return err
	})
}

// DeleteDepartment deletes department id of the caller's organization. One with
// conversations (open or done) is deleted only by moving them to department moveTo
// (ErrDepartmentInUse otherwise), filed under it with whoever holds them. Lines routed to it route to moveTo (or have no route), members lose it, and
// its assignment rules and closing reasons go. A second request finishes what a first one
// left half done.
func (s *Service) DeleteDepartment(ctx context.Context, by Caller, id, moveTo string) error {
	org := by.User.OrgID
	dept, err := s.st.Department(ctx, org, id)
	if err != nil {
		return err
	}
	if moveTo == id {
		return ErrMoveToSelf
	}
	if moveTo != "" {
		if _, err := s.st.Department(ctx, org, moveTo); errors.Is(err, store.ErrNotFound) {
			return &UnknownError{Field: "move_to", Entity: "department", ID: moveTo}
		} else if err != nil {
			return err
		}
	}
	sources := []store.Source{{Department: id}, {Department: id, Assigned: true}}
	for _, status := range []inbox.ConversationStatus{inbox.StatusOpen, inbox.StatusDone} {
		q := store.ListQuery{Org: org, Status: status, Sources: sources}
		if moveTo == "" {
			q.Limit = 1
			convs, _, err := s.st.ListConversations(ctx, q)
			if err != nil {
				return err
			}
			if len(convs) > 0 {
				return ErrDepartmentInUse
			}
			continue
		}
		err := s.eachConversation(ctx, q, func(cv *inbox.Conversation) error {
			_, err := s.act(ctx, System, org, cv.ID, access.Transfer, func(cv *inbox.Conversation) (*inbox.Event, error) {
				if cv.DepartmentID != id {
					return nil, store.ErrNoChange
				}
				d := map[string]string{"from_assignee": cv.AssigneeID, "from_department": id, "department_id": moveTo, "rule": RuleDepartmentDeleted}
				cv.MoveToDepartment(moveTo, RuleDepartmentDeleted)
				return s.event(System, inbox.EventTransferred, d), nil
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	users, _, lines, err := s.st.OrgItems(ctx, org)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.DepartmentID == id {
			l.DepartmentID = moveTo
			if err := s.st.PutLine(ctx, l); err != nil {
				return err
			}
		}
	}
	for _, u := range users {
		if u.InDepartment(id) {
			u.Departments = slices.DeleteFunc(slices.Clone(u.Departments), func(d string) bool { return d == id })
			if err := s.st.PutUser(ctx, u); err != nil {
				return err
			}
		}
	}
	if err := s.st.DeleteDepartment(ctx, org, id); err != nil {
		return err
	}
	by.log().InfoContext(ctx, "department deleted", "department_id", id, "moved_to", moveTo)
	if err := s.record(ctx, by, org, Change{Entity: "department", ID: id, Action: "delete", Before: map[string]string{"name": dept.Name}, After: map[string]any{"move_to": moveTo}}); err != nil {
		return err
	}
	s.DrainDepartment(ctx, by, org, moveTo)
	return nil
}

// EditLabel replaces a label of the caller's organization with l (same id).
func (s *Service) EditLabel(ctx context.Context, by Caller, l *inbox.Label) error {
	before, err := s.st.Label(ctx, by.User.OrgID, l.ID)
	if err != nil {
		return err
	}
	if err := s.st.PutLabel(ctx, l); err != nil {
		return err
	}
	by.log().InfoContext(ctx, "label edited", "label_id", l.ID)
	return s.record(ctx, by, by.User.OrgID, Change{Entity: "label", ID: l.ID, Action: "update", Before: labelState(before), After: labelState(l)})
}

// labelState is what the audit keeps of a label.
func labelState(l *inbox.Label) map[string]string {
	return map[string]string{"name": l.Name, "description": l.Description, "color": l.Color}
}

// DeleteLabel deletes label id of the caller's organization.
func (s *Service) DeleteLabel(ctx context.Context, by Caller, id string) error {
	before, err := s.st.Label(ctx, by.User.OrgID, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteLabel(ctx, by.User.OrgID, id); err != nil {
		return err
	}
	by.log().InfoContext(ctx, "label deleted", "label_id", id)
	return s.record(ctx, by, by.User.OrgID, Change{Entity: "label", ID: id, Action: "delete", Before: labelState(before)})
}
