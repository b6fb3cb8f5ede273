package main

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

type errorJSON struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
}

// entryJSON is one timeline entry: a message (kind "message") or an event (kind "event").
type entryJSON struct {
	Kind              string            `json:"kind"`
	ID                string            `json:"id"`
	CreatedAt         string            `json:"created_at"`
	ProviderMessageID string            `json:"provider_message_id,omitempty"`
	Direction         string            `json:"direction,omitempty"`
	Type              string            `json:"type"`
	Text              string            `json:"text,omitempty"`
	Status            string            `json:"status,omitempty"`
	StatusTimes       map[string]string `json:"status_times,omitempty"`
	Error             *errorJSON        `json:"error,omitempty"`
	AgentID           string            `json:"agent_id,omitempty"`
	Automatic         bool              `json:"automatic,omitempty"`
	ReplyTo           string            `json:"reply_to,omitempty"`
	Reactions         map[string]string `json:"reactions,omitempty"`
	Media             *mediaJSON        `json:"media,omitempty"`
	Location          *locationJSON     `json:"location,omitempty"`
	ActorID           string            `json:"actor_id,omitempty"`
	Details           map[string]string `json:"details,omitempty"`
}

// mediaJSON is a message's attachment as the API shows it.
type mediaJSON struct {
	ID       string `json:"id,omitempty"`
	URL      string `json:"url,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

// locationJSON is a shared location as the API shows it.
type locationJSON struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

func messageJSON(m *inbox.Message) entryJSON {
	e := entryJSON{
		Kind: "message", ID: m.ID, CreatedAt: ts(m.At), ProviderMessageID: m.ProviderID, Direction: string(m.Direction),
		Type: m.Type, Text: m.Text, Status: string(m.Status), AgentID: m.AgentID, Automatic: m.Automatic,
		ReplyTo: m.ReplyTo, Reactions: m.Reactions,
	}
	if md := m.Media; md != nil {
		e.Media = &mediaJSON{ID: md.ID, URL: md.URL, MimeType: md.MimeType, SHA256: md.SHA256, Filename: md.Filename, Voice: md.Voice, Animated: md.Animated}
	}
	if l := m.Location; l != nil {
		e.Location = &locationJSON{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	}
	if len(m.StatusAt) > 0 {
		e.StatusTimes = map[string]string{}
		for k, v := range m.StatusAt {
			e.StatusTimes[string(k)] = ts(v)
		}
	}
	if m.Error != nil {
		e.Error = &errorJSON{Code: m.Error.Code, Title: m.Error.Title, Message: m.Error.Message}
	}
	return e
}

func (a *api) listMessages(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	cursor, err := decodeCursor(q["cursor"])
	if err != nil {
		return nil, err
	}
	if cursor != "" && !strings.HasPrefix(cursor, "M#") {
		return nil, badRequest("cursor is not one this API returned")
	}
	cv, _, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	entries, next, err := a.st.Thread(ctx, cv.ID, limit, cursor)
	if err != nil {
		return nil, err
	}
	items := make([]entryJSON, 0, len(entries))
	for _, e := range entries {
		if e.Message != nil {
			items = append(items, messageJSON(e.Message))
			continue
		}
		items = append(items, entryJSON{Kind: "event", ID: e.Event.ID, CreatedAt: ts(e.Event.At), Type: string(e.Event.Type),
			ActorID: e.Event.ActorID, Details: e.Event.Details})
	}
	return page[entryJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}

// act runs one action as a conditional write on the conversation: the permission check and the
// transition both see the state that is written, so two agents claiming at once cannot both
// win. The event is recorded after the write.
func (a *api) act(ctx context.Context, c *call, action access.Action, change func(cv *inbox.Conversation) (*inbox.Event, error)) (any, error) {
	var ev *inbox.Event
	var held string // who held it before: they may take a waiting one now (afterAction)
	var lineCache = map[string]*inbox.Line{}
	cv, err := a.st.UpdateConversation(ctx, c.user.OrgID, c.params["id"], nil, func(cv *inbox.Conversation) error {
		line, err := a.line(ctx, lineCache, cv)
		if err != nil {
			return err
		}
		if err := access.Check(c.user, action, cv, line); err != nil {
			return err
		}
		held = cv.Holder()
		ev, err = change(cv)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ev != nil {
		ev.ConversationID = cv.ID
		if err := a.st.PutEvent(ctx, ev); err != nil {
			return nil, err
		}
	}
	c.log.InfoContext(ctx, "conversation action", "action", action)
	cv = a.afterAction(ctx, c, action, held, cv, lineCache[cv.LineID])
	return a.conversationFor(ctx, cv, c.user)
}

func (a *api) event(c *call, t inbox.EventType, details map[string]string) *inbox.Event {
	return inbox.NewEvent("", t, c.user.ID, a.now(), details)
}

func (a *api) claim(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	return a.act(ctx, c, access.Claim, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.Claim(c.user.ID); err != nil {
			return nil, err
		}
		return a.event(c, inbox.EventClaimed, map[string]string{"assignee_id": c.user.ID}), nil
	})
}

// targetUser checks that id names a user of the caller's organization who has an inbox.
func (a *api) targetUser(ctx context.Context, c *call, id string) (*inbox.User, error) {
	if id == "" {
		return nil, unprocessable("missing_assignee", "assignee_id is required")
	}
	u, err := a.st.User(ctx, c.user.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unprocessable("unknown_assignee", "no user "+id+" in this organization")
	}
	if err != nil {
		return nil, err
	}
	if !access.HasInbox(u) {
		return nil, unprocessable("assignee_has_no_inbox", "that user's role has no inbox")
	}
	return u, nil
}

func (a *api) assign(ctx context.Context, c *call) (any, error) {
	var body struct {
		AssigneeID string `json:"assignee_id"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	target, err := a.targetUser(ctx, c, body.AssigneeID)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, c, access.Assign, func(cv *inbox.Conversation) (*inbox.Event, error) {
		from := cv.AssigneeID
		if err := cv.Assign(target.ID, "assigned by "+c.user.ID); err != nil {
			return nil, err
		}
		return a.event(c, inbox.EventAssigned, map[string]string{"from": from, "assignee_id": target.ID}), nil
	})
}

func (a *api) returnToInbox(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	return a.act(ctx, c, access.Return, func(cv *inbox.Conversation) (*inbox.Event, error) {
		from := cv.AssigneeID
		if err := cv.Return(); err != nil {
			return nil, err
		}
		return a.event(c, inbox.EventReturned, map[string]string{"from": from}), nil
	})
}

func (a *api) transfer(ctx context.Context, c *call) (any, error) {
	var body struct {
		AssigneeID   string `json:"assignee_id"`
		DepartmentID string `json:"department_id"`
		Note         string `json:"note"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if (body.AssigneeID == "") == (body.DepartmentID == "") {
		return nil, unprocessable("bad_target", "give exactly one of assignee_id or department_id")
	}
	var target *inbox.User
	if body.AssigneeID != "" {
		var err error
		if target, err = a.targetUser(ctx, c, body.AssigneeID); err != nil {
			return nil, err
		}
	} else {
		_, depts, _, err := a.st.OrgItems(ctx, c.user.OrgID)
		if err != nil {
			return nil, err
		}
		found := false
		for _, d := range depts {
			found = found || d.ID == body.DepartmentID
		}
		if !found {
			return nil, unprocessable("unknown_department", "no department "+body.DepartmentID+" in this organization")
		}
	}
	return a.act(ctx, c, access.Transfer, func(cv *inbox.Conversation) (*inbox.Event, error) {
		details := map[string]string{"from_assignee": cv.AssigneeID, "from_department": cv.DepartmentID, "note": body.Note}
		if target != nil {
			if err := cv.Assign(target.ID, "transferred"); err != nil {
				return nil, err
			}
			details["assignee_id"] = target.ID
		} else {
			if err := cv.TransferToDepartment(body.DepartmentID); err != nil {
				return nil, err
			}
			details["department_id"] = body.DepartmentID
		}
		return a.event(c, inbox.EventTransferred, details), nil
	})
}

func (a *api) close(ctx context.Context, c *call) (any, error) {
	var body struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	body.Reason = strings.TrimSpace(body.Reason)
	if blank(body.Reason) || utf8.RuneCountInString(body.Reason) > 100 {
		return nil, unprocessable("bad_reason", "reason is required (1 to 100 characters)")
	}
	if utf8.RuneCountInString(body.Note) > 2000 {
		return nil, unprocessable("bad_note", "note is at most 2000 characters")
	}
	return a.act(ctx, c, access.Close, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.Close(body.Reason, a.now()); err != nil {
			return nil, err
		}
		return a.event(c, inbox.EventClosed, map[string]string{"reason": body.Reason, "note": body.Note}), nil
	})
}

func (a *api) reopen(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	return a.act(ctx, c, access.Reopen, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.Reopen(""); err != nil {
			return nil, err
		}
		return a.event(c, inbox.EventReopened, nil), nil
	})
}

// markRead moves the caller's read marker to every customer message the conversation has
// (V4): it changes what the caller sees as unread, nobody else's, and leaves the conversation
// item alone (no version bump, no index writes).
func (a *api) markRead(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	cv, line, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := access.Check(c.user, access.Read, cv, line); err != nil {
		return nil, err
	}
	if cv.InboundCount > 0 {
		if err := a.st.MarkRead(ctx, cv.ID, c.user.ID, cv.InboundCount, a.now()); err != nil {
			return nil, err
		}
	}
	return a.renderConversation(cv, c.user, cv.InboundCount), nil
}

func (a *api) addNote(ctx context.Context, c *call) (any, error) {
	var body struct {
		Text string `json:"text"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if blank(body.Text) || utf8.RuneCountInString(body.Text) > 4096 {
		return nil, unprocessable("bad_text", "text is required (1 to 4096 characters)")
	}
	cv, line, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := access.Check(c.user, access.Note, cv, line); err != nil {
		return nil, err
	}
	ev := a.event(c, inbox.EventNote, map[string]string{"text": body.Text})
	ev.ConversationID = cv.ID
	if err := a.st.PutEvent(ctx, ev); err != nil {
		return nil, err
	}
	return entryJSON{Kind: "event", ID: ev.ID, CreatedAt: ts(ev.At), Type: string(ev.Type), ActorID: ev.ActorID, Details: ev.Details}, nil
}
