package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
)

// change is one action's transition of a conversation: it moves cv (an inbox method that
// guards its invariant) and returns the event that records it, or store.ErrNoChange to leave
// cv as it is.
type change func(cv *inbox.Conversation) (*inbox.Event, error)

// act runs one action on conversation convID of org as a conditional write: the permission
// check and the transition both see the state that is written, so two agents claiming at once
// cannot both win. The event is recorded after the write, then automatic assignment takes its
// turn (afterAction). It returns the conversation as it is afterwards.
//
// Every action on a conversation goes through here, whoever takes it: what each action must
// also do (an audit record, a realtime event) is added here, once.
func (s *Service) act(ctx context.Context, by Caller, org, convID string, action access.Action, ch change) (*inbox.Conversation, error) {
	var ev *inbox.Event
	var held string // who held it before: they may take a waiting one now (afterAction)
	var before *conversationState
	lines := map[string]*inbox.Line{}
	cv, err := s.st.UpdateConversation(ctx, org, convID, nil, func(cv *inbox.Conversation) error {
		ev = nil
		before = stateOf(cv)
		if by.User != nil {
			line, err := s.Line(ctx, lines, cv)
			if err != nil {
				return err
			}
			if err := access.Check(by.User, action, cv, line); err != nil {
				return err
			}
		}
		held = cv.Holder()
		var err error
		ev, err = ch(cv)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ev != nil {
		ev.ConversationID = cv.ID
		// A system event's id derives from what caused it: a second run records it once.
		if err := s.st.PutEvent(ctx, ev); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, err
		}
		if err := s.record(ctx, by, org, Change{Entity: "conversation", ID: cv.ID, Action: string(ev.Type), Before: before, After: stateOf(cv)}); err != nil {
			return nil, err
		}
	}
	by.log().InfoContext(ctx, "conversation action", "conversation_id", cv.ID, "action", action)
	return s.afterAction(ctx, by, action, held, cv, lines), nil
}

// afterAction gives automatic assignment its turn after an action on a conversation: one back
// in the shared inbox (returned, moved to another department) is routed by the rules again,
// never to whoever gave it back; an agent who let one go takes the longest waiting ones they
// are eligible for if they now have room. It returns the conversation as it is afterwards.
// Failures are logged: the action stands, and the conversation waits in the shared inbox for
// the next chance.
func (s *Service) afterAction(ctx context.Context, by Caller, action access.Action, held string, cv *inbox.Conversation, lines map[string]*inbox.Line) *inbox.Conversation {
	if s.routing == nil {
		return cv
	}
	log := by.log().With("conversation_id", cv.ID)
	if cv.Waiting() && (action == access.Return || action == access.Transfer) {
		trigger := routing.TriggerReturned
		if action == access.Transfer {
			trigger = routing.TriggerTransferred
		}
		line, err := s.Line(ctx, lines, cv)
		var agent string
		if err == nil {
			agent, err = s.routing.Route(ctx, cv, line, held, trigger)
		}
		if err != nil {
			log.ErrorContext(ctx, "automatic assignment skipped", "error", err)
		} else if agent != "" {
			if fresh, err := s.st.Conversation(ctx, cv.OrgID, cv.ID); err == nil {
				cv = fresh
			}
		}
	}
	if held != "" && held != cv.Holder() {
		if _, err := s.routing.Drain(ctx, cv.OrgID, held, cv.ID); err != nil {
			log.ErrorContext(ctx, "automatic assignment skipped", "target_user_id", held, "error", err)
		}
	}
	return cv
}

// event is an event the caller records now, with its own id.
func (s *Service) event(by Caller, t inbox.EventType, details map[string]string) *inbox.Event {
	return inbox.NewEvent("", t, by.id(), s.now(), details)
}

// Claim takes an unassigned conversation for the caller.
func (s *Service) Claim(ctx context.Context, by Caller, convID string) (*inbox.Conversation, error) {
	u := by.User
	return s.act(ctx, by, u.OrgID, convID, access.Claim, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.Claim(u.ID); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventClaimed, map[string]string{"assignee_id": u.ID}), nil
	})
}

// Assign gives a conversation to another user of the organization.
func (s *Service) Assign(ctx context.Context, by Caller, convID, assigneeID string) (*inbox.Conversation, error) {
	target, err := s.assignee(ctx, by.User.OrgID, assigneeID)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, by, by.User.OrgID, convID, access.Assign, func(cv *inbox.Conversation) (*inbox.Event, error) {
		from := cv.AssigneeID
		if err := cv.Assign(target.ID, "assigned by "+by.id()); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventAssigned, map[string]string{"from": from, "assignee_id": target.ID}), nil
	})
}

// Return gives a conversation back to its department's shared inbox.
func (s *Service) Return(ctx context.Context, by Caller, convID string) (*inbox.Conversation, error) {
	return s.act(ctx, by, by.User.OrgID, convID, access.Return, func(cv *inbox.Conversation) (*inbox.Event, error) {
		from := cv.AssigneeID
		if err := cv.Return(); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventReturned, map[string]string{"from": from}), nil
	})
}

// Target is where a transfer moves a conversation: to a user (AssigneeID) or to a
// department's shared inbox (DepartmentID), exactly one of them.
type Target struct {
	AssigneeID   string
	DepartmentID string
	Note         string
}

// Transfer moves a conversation to another agent or department.
func (s *Service) Transfer(ctx context.Context, by Caller, convID string, to Target) (*inbox.Conversation, error) {
	org := by.User.OrgID
	var target *inbox.User
	if to.AssigneeID != "" {
		var err error
		if target, err = s.assignee(ctx, org, to.AssigneeID); err != nil {
			return nil, err
		}
	} else if _, err := s.st.Department(ctx, org, to.DepartmentID); errors.Is(err, store.ErrNotFound) {
		return nil, &UnknownError{Field: "department", Entity: "department", ID: to.DepartmentID}
	} else if err != nil {
		return nil, err
	}
	return s.act(ctx, by, org, convID, access.Transfer, func(cv *inbox.Conversation) (*inbox.Event, error) {
		details := map[string]string{"from_assignee": cv.AssigneeID, "from_department": cv.DepartmentID, "note": to.Note}
		if target != nil {
			if err := cv.Assign(target.ID, "transferred"); err != nil {
				return nil, err
			}
			details["assignee_id"] = target.ID
		} else {
			if err := cv.TransferToDepartment(to.DepartmentID); err != nil {
				return nil, err
			}
			details["department_id"] = to.DepartmentID
		}
		return s.event(by, inbox.EventTransferred, details), nil
	})
}

// Close marks a conversation done, with the caller's reason and note. When closing reasons
// are configured for the conversation's department (or its organization), the reason must be
// one of them (A5), spelled as the list spells it.
func (s *Service) Close(ctx context.Context, by Caller, convID, reason, note string) (*inbox.Conversation, error) {
	org := by.User.OrgID
	return s.act(ctx, by, org, convID, access.Close, func(cv *inbox.Conversation) (*inbox.Event, error) {
		list, _, err := s.st.ClosingReasons(ctx, org, cv.DepartmentID)
		if err != nil {
			return nil, err
		}
		if len(list) > 0 {
			r, ok := inbox.PickClosingReason(list, reason)
			if !ok {
				return nil, &UnlistedReasonError{Reasons: list}
			}
			reason = r
		}
		if err := cv.Close(reason, s.now()); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventClosed, map[string]string{"reason": reason, "note": note}), nil
	})
}

// Reopen opens a done conversation again.
func (s *Service) Reopen(ctx context.Context, by Caller, convID string) (*inbox.Conversation, error) {
	return s.act(ctx, by, by.User.OrgID, convID, access.Reopen, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.Reopen(""); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventReopened, nil), nil
	})
}

// Label adds and removes labels of a conversation (ids the caller checked against the
// organization's labels). Asking for what is already so changes nothing and records nothing.
func (s *Service) Label(ctx context.Context, by Caller, convID string, add, remove []string) (*inbox.Conversation, error) {
	return s.act(ctx, by, by.User.OrgID, convID, access.Note, func(cv *inbox.Conversation) (*inbox.Event, error) {
		added, removed, err := cv.Relabel(add, remove)
		if err != nil {
			return nil, err
		}
		if len(added)+len(removed) == 0 {
			return nil, store.ErrNoChange
		}
		return s.event(by, inbox.EventLabelled, map[string]string{
			"added": strings.Join(added, ","), "removed": strings.Join(removed, ","),
		}), nil
	})
}

// Route gives a "no route" conversation the department its line now routes to (an admin
// gave line lineID one); a conversation that has a department already is left as it is.
func (s *Service) Route(ctx context.Context, by Caller, convID, lineID, dept string) (*inbox.Conversation, error) {
	return s.act(ctx, by, by.User.OrgID, convID, access.Route, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if !cv.Route(dept) {
			return nil, store.ErrNoChange
		}
		return s.event(by, inbox.EventRouted, map[string]string{"department_id": dept, "line_id": lineID}), nil
	})
}

// Note records an agent's internal note on a conversation's timeline; the conversation
// itself does not change.
func (s *Service) Note(ctx context.Context, by Caller, convID, text string) (*inbox.Event, error) {
	cv, line, err := s.Visible(ctx, by.User, convID)
	if err != nil {
		return nil, err
	}
	if err := access.Check(by.User, access.Note, cv, line); err != nil {
		return nil, err
	}
	ev := inbox.NewEvent(cv.ID, inbox.EventNote, by.id(), s.now(), map[string]string{"text": text})
	if err := s.st.PutEvent(ctx, ev); err != nil {
		return nil, err
	}
	return ev, s.record(ctx, by, cv.OrgID, Change{Entity: "conversation", ID: cv.ID, Action: string(inbox.EventNote),
		After: map[string]string{"event_id": ev.ID}})
}

// CloseReasonIdle is the closing reason of a conversation closed for being idle.
const CloseReasonIdle = "idle"

// CloseIdle closes conversation cv of the window job if it is still open and idle since
// before cutoff, as Buzón itself at t, and records why; idle is the line's idle time. It
// reports whether it closed it.
func (s *Service) CloseIdle(ctx context.Context, cv *inbox.Conversation, cutoff, t time.Time, idle time.Duration) (bool, error) {
	closed := false
	_, err := s.act(ctx, System, cv.OrgID, cv.ID, access.Close, func(cv *inbox.Conversation) (*inbox.Event, error) {
		closed = false
		if cv.Status != inbox.StatusOpen || !cv.LastActivityAt.Before(cutoff) {
			return nil, store.ErrNoChange
		}
		d := map[string]string{"reason": CloseReasonIdle, "idle_for": idle.String()}
		if cv.AssigneeID != "" {
			d["assignee_id"] = cv.AssigneeID
		}
		if err := cv.Close(CloseReasonIdle, t); err != nil {
			return nil, err
		}
		closed = true
		// Its id is the cycle's: a second run closes and records it once.
		return &inbox.Event{ID: fmt.Sprintf("e_idle_%d", cv.Cycle), Type: inbox.EventClosed, At: t, Details: d}, nil
	})
	return closed, err
}

// assignee is user id of org, who may hold conversations.
func (s *Service) assignee(ctx context.Context, org, id string) (*inbox.User, error) {
	u, err := s.st.User(ctx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &UnknownError{Field: "assignee", Entity: "user", ID: id}
	}
	if err != nil {
		return nil, err
	}
	if !access.HasInbox(u) {
		return nil, ErrAssigneeHasNoInbox
	}
	return u, nil
}
