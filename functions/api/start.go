package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/phone"
	"github.com/buzon/buzon/shared/store"
)

// maxContactName caps the contact name given when starting a conversation.
const maxContactName = 256

// startRequest is the body of POST /v1/conversations.
type startRequest struct {
	LineID   string           `json:"line_id"`
	To       string           `json:"to"`
	Name     string           `json:"name,omitempty"`
	Template *templateRequest `json:"template"`
}

type startJSON struct {
	Conversation conversationJSON `json:"conversation"`
	Message      entryJSON        `json:"message"`
}

// startConversation opens a conversation with a customer by sending a template (M4): a new
// one, or a new cycle of a done one, in the line's department and assigned to the caller.
// Admins start with anyone; agents on the lines of their departments they are authorized
// for; sellers only with contacts they own, and a contact a seller starts with becomes theirs.
// A customer who already has an open conversation on the line gets 409 with its id: the
// agent writes there. The message goes out exactly as POST /v1/conversations/{id}/messages
// sends it, Idempotency-Key included.
func (a *api) startConversation(ctx context.Context, c *call) (any, error) {
	var body startRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	u := c.user
	if body.LineID == "" {
		return nil, unprocessable("missing_line", "line_id is required")
	}
	wa, err := phone.Normalize(body.To)
	if err != nil {
		return nil, unprocessable("bad_number", "to must be a phone number in international form, with its country code (such as +52 55 1234 5678)")
	}
	// A retry that types the number another way is the same request.
	body.To = "+" + wa
	body.Name = strings.TrimSpace(body.Name)
	if utf8.RuneCountInString(body.Name) > maxContactName || !utf8.ValidString(body.Name) {
		return nil, unprocessable("bad_name", "name is at most 256 characters")
	}
	if body.Template == nil {
		return nil, unprocessable("bad_template", "template is required: a conversation starts with an approved template")
	}
	draft, preview, err := (&sendRequest{Type: "template", Template: body.Template}).draft()
	if err != nil {
		return nil, err
	}
	key, err := idempotencyKey(c.req)
	if err != nil {
		return nil, err
	}

	line, err := a.st.Line(ctx, u.OrgID, body.LineID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unprocessable("unknown_line", "no line "+body.LineID+" in this organization")
	}
	if err != nil {
		return nil, err
	}
	if err := access.StartOn(u, line); err != nil {
		return nil, err
	}
	if line.State != inbox.LineActive {
		return nil, errLineNotActive
	}
	if err := providerLimits(line, draft); err != nil {
		return nil, err
	}
	contact, err := a.contact(ctx, c, wa, body.Name)
	if err != nil {
		return nil, err
	}

	now := a.now()
	convID := inbox.ConversationID(u.OrgID, line.ID, wa)
	name := body.Name
	if name == "" {
		name = contact.Name
	}
	o := &outgoing{
		convID: convID, key: key, fingerprint: fingerprint(convID, &body), draft: draft, preview: preview,
		create: func() *inbox.Conversation {
			return inbox.NewConversation(u.OrgID, line.ID, inbox.ContactRef{WaID: wa, Name: name}, now)
		},
		change: func(cv *inbox.Conversation, _ string, at time.Time, reserved bool) ([]*inbox.Event, error) {
			if cv.Status == inbox.StatusOpen {
				if reserved && cv.AssigneeID == u.ID && cv.LastActivityAt.Equal(at) {
					// Another attempt of this request opened it (its message's time is the
					// last activity) and has not stored the message, or stopped before.
					return []*inbox.Event{openedEvent(cv, line, u.ID, at)}, store.ErrNoChange
				}
				return nil, withDetails(&apiError{http.StatusConflict, "conversation_open",
					"this customer already has an open conversation on this line: write there"}, map[string]any{"conversation_id": cv.ID})
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
	o.prepare = func() error { return a.prepareTemplate(ctx, line, o) }
	m, cv, err := a.queueMessage(ctx, c, o)
	if err != nil {
		return nil, err
	}
	if cv == nil {
		// A replay answered from the stored message.
		if cv, err = a.st.Conversation(ctx, u.OrgID, convID); err != nil {
			return nil, err
		}
	}
	c.log.InfoContext(ctx, "conversation started", "conversation_id", convID, "message_id", m.ID, "cycle", cv.Cycle)
	// A done conversation that starts again has customer messages the caller may have read.
	out, err := a.conversationFor(ctx, cv, u)
	if err != nil {
		return nil, err
	}
	return startJSON{Conversation: out, Message: messageJSON(m)}, nil
}

// contact is the customer wa the caller starts a conversation with, created if unknown (a
// seller's becomes theirs). Sellers may start only with contacts they own.
func (a *api) contact(ctx context.Context, c *call, wa, name string) (*inbox.Contact, error) {
	u := c.user
	ct, err := a.st.Contact(ctx, u.OrgID, wa)
	if errors.Is(err, store.ErrNotFound) {
		ct = &inbox.Contact{OrgID: u.OrgID, WaID: wa, Name: name, CreatedAt: a.now(), OwnerID: access.NewContactOwner(u)}
		// An existing contact is left as it is; an owned one is read again below, in case
		// another request created it first.
		if err = a.st.CreateContact(ctx, ct); err == nil && ct.OwnerID != "" {
			ct, err = a.st.Contact(ctx, u.OrgID, wa)
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
