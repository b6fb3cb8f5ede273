package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// Start is a conversation to open with a customer.
type Start struct {
	LineID string
	WaID   string // the customer's number, normalized
	Name   string // the contact's name if it has none yet; "" for none
	// Template is the template message that opens it (checked by the caller's decoder).
	Template *inbox.Message
}

// Start opens a conversation with a customer by sending a template (M4): a new one, or a new
// cycle of a done one, in the line's department and assigned to the caller. Who may start
// on which line and with which contact is access's rule (StartOn, StartWith); a customer who
// already has an open conversation on the line is an OpenConversationError naming it. The
// message goes out exactly as Send sends it, Request included. It returns the message and
// the conversation as they are.
func (s *Service) Start(ctx context.Context, by Caller, in Start, req Request) (*inbox.Message, *inbox.Conversation, error) {
	u := by.User
	line, err := s.st.Line(ctx, u.OrgID, in.LineID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &UnknownError{Field: "line", Entity: "line", ID: in.LineID}
	}
	if err != nil {
		return nil, nil, err
	}
	if err := access.StartOn(u, line); err != nil {
		return nil, nil, err
	}
	if err := canSend(line); err != nil {
		return nil, nil, err
	}
	if err := CheckProvider(line, in.Template); err != nil {
		return nil, nil, err
	}
	contact, err := s.contact(ctx, u, in.WaID, in.Name)
	if err != nil {
		return nil, nil, err
	}

	now := s.now()
	convID := inbox.ConversationID(u.OrgID, line.ID, in.WaID)
	name := in.Name
	if name == "" {
		name = contact.Name
	}
	o := &outgoing{
		convID: convID, req: req, draft: in.Template,
		create: func() *inbox.Conversation {
			return inbox.NewConversation(u.OrgID, line.ID, inbox.ContactRef{WaID: in.WaID, Name: name, Named: contact.Named}, now)
		},
		change: func(cv *inbox.Conversation, _ string, at time.Time, reserved bool) ([]*inbox.Event, error) {
			if cv.Status == inbox.StatusOpen {
				if reserved && cv.AssigneeID == u.ID && cv.LastActivityAt.Equal(at) {
					// Another attempt of this request opened it (its message's time is the
					// last activity) and has not stored the message, or stopped before.
					return []*inbox.Event{openedEvent(cv, line, u.ID, at)}, store.ErrNoChange
				}
				return nil, &OpenConversationError{ConversationID: cv.ID}
			}
			if err := cv.Open(line.DepartmentID); err != nil {
				return nil, err
			}
			cv.AssigneeID, cv.RouteRule = u.ID, "started"
			if cv.Contact.Name == "" {
				cv.Contact.Name = name
			}
			return []*inbox.Event{openedEvent(cv, line, u.ID, at)}, nil
		},
	}
	o.prepare = func() error { return s.renderTemplate(ctx, line, in.Template) }
	m, cv, err := s.queue(ctx, by, u.OrgID, o)
	if err != nil {
		return nil, nil, err
	}
	if cv == nil {
		// A replay answered from the stored message.
		if cv, err = s.st.Conversation(ctx, u.OrgID, convID); err != nil {
			return nil, nil, err
		}
	}
	by.log().InfoContext(ctx, "conversation started", "conversation_id", convID, "message_id", m.ID, "cycle", cv.Cycle)
	return m, cv, s.record(ctx, by, u.OrgID, Change{Entity: "conversation", ID: cv.ID, Action: "conversation_started",
		After: map[string]string{"message_id": m.ID, "line_id": cv.LineID}, Key: m.ID, At: m.At})
}

// contact is the customer wa that u starts a conversation with, created if unknown (owned as
// access.NewContactOwner says), and one u may start with.
func (s *Service) contact(ctx context.Context, u *inbox.User, wa, name string) (*inbox.Contact, error) {
	ct, err := s.st.Contact(ctx, u.OrgID, wa)
	if errors.Is(err, store.ErrNotFound) {
		// A name the agent typed is theirs: the customer's profile name does not replace it.
		ct = &inbox.Contact{OrgID: u.OrgID, WaID: wa, Name: name, Named: name != "", CreatedAt: s.now(), OwnerID: access.NewContactOwner(u)}
		// An existing contact is left as it is; an owned one is read again below, in case
		// another request created it first.
		if err = s.st.CreateContact(ctx, ct); err == nil && ct.OwnerID != "" {
			ct, err = s.st.Contact(ctx, u.OrgID, wa)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := access.StartWith(u, ct); err != nil {
		return nil, err
	}
	return ct, nil
}

// openedEvent records who started the cycle, where (V7). Its id is the cycle's, as the
// webhook's, so one cycle has one opened event however many attempts write it; it sorts just
// before the template.
func openedEvent(cv *inbox.Conversation, line *inbox.Line, actor string, at time.Time) *inbox.Event {
	return &inbox.Event{
		ID: fmt.Sprintf("e_open_%d", cv.Cycle), ConversationID: cv.ID, Type: inbox.EventOpened, ActorID: actor,
		At: at.Add(-time.Millisecond),
		Details: map[string]string{"line_id": line.ID, "department_id": cv.DepartmentID, "rule": cv.RouteRule,
			"cycle": fmt.Sprint(cv.Cycle), "assignee_id": cv.AssigneeID},
	}
}
