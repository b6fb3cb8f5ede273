package main

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
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
	MoreMedia         []*mediaJSON      `json:"more_media,omitempty"` // a Twilio message's attachments after the first
	Location          *locationJSON     `json:"location,omitempty"`
	Reply             *replyJSON        `json:"reply,omitempty"`
	Contacts          []cardJSON        `json:"contacts,omitempty"`
	Order             *orderJSON        `json:"order,omitempty"`
	Reaction          *reactionJSON     `json:"reaction,omitempty"`
	ActorID           string            `json:"actor_id,omitempty"`
	Details           map[string]string `json:"details,omitempty"`
}

// mediaJSON is a message's attachment as the API shows it: url is a short-lived (≤ 5 min) URL
// of Buzón's copy once it is ready; GET …/media/{id} redirects to a fresh one.
type mediaJSON struct {
	ID       string `json:"id"`
	URL      string `json:"url,omitempty"`
	Link     string `json:"link,omitempty"` // an agent's send by link: the link
	MimeType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Filename string `json:"filename,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
	Status   string `json:"status,omitempty"` // pending, ready, unavailable, failed (customers' attachments)
	Reason   string `json:"reason,omitempty"`
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
	for i, md := range attachments(m) {
		if i == 0 && m.Media != nil {
			e.Media = mediaOf(m, 0, md)
		} else {
			e.MoreMedia = append(e.MoreMedia, mediaOf(m, i, md))
		}
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
	withContent(m, &e)
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
	if cursor != "" && !store.IsThreadCursor(cursor) {
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
			j := messageJSON(e.Message)
			if err := a.withMediaURLs(ctx, e.Message, &j); err != nil {
				return nil, err
			}
			items = append(items, j)
			continue
		}
		items = append(items, entryJSON{Kind: "event", ID: e.Event.ID, CreatedAt: ts(e.Event.At), Type: string(e.Event.Type),
			ActorID: e.Event.ActorID, Details: e.Event.Details})
	}
	return page[entryJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}

// Actions on a conversation (workflow's Claim, Assign, Return, Transfer, Close, Reopen):
// each answers with the conversation as it is afterwards, for the caller.

// acted renders the conversation an action left, or its error.
func (a *api) acted(ctx context.Context, c *call, cv *inbox.Conversation, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return a.conversationFor(ctx, cv, c.user)
}

func (a *api) claim(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	cv, err := a.flow().Claim(ctx, c.caller(), c.params["id"])
	return a.acted(ctx, c, cv, err)
}

func (a *api) assign(ctx context.Context, c *call) (any, error) {
	var body struct {
		AssigneeID string `json:"assignee_id"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.AssigneeID == "" {
		return nil, unprocessable("missing_assignee", "assignee_id is required")
	}
	cv, err := a.flow().Assign(ctx, c.caller(), c.params["id"], body.AssigneeID)
	return a.acted(ctx, c, cv, err)
}

func (a *api) returnToInbox(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	cv, err := a.flow().Return(ctx, c.caller(), c.params["id"])
	return a.acted(ctx, c, cv, err)
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
	cv, err := a.flow().Transfer(ctx, c.caller(), c.params["id"],
		workflow.Target{AssigneeID: body.AssigneeID, DepartmentID: body.DepartmentID, Note: body.Note})
	return a.acted(ctx, c, cv, err)
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
	cv, err := a.flow().Close(ctx, c.caller(), c.params["id"], body.Reason, body.Note)
	return a.acted(ctx, c, cv, err)
}

func (a *api) reopen(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	cv, err := a.flow().Reopen(ctx, c.caller(), c.params["id"])
	return a.acted(ctx, c, cv, err)
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
	ev, err := a.flow().Note(ctx, c.caller(), c.params["id"], body.Text)
	if err != nil {
		return nil, err
	}
	return entryJSON{Kind: "event", ID: ev.ID, CreatedAt: ts(ev.At), Type: string(ev.Type), ActorID: ev.ActorID, Details: ev.Details}, nil
}
