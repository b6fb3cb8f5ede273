package main

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// entryJSON is one timeline entry (shared/apijson, which the realtime events use too).
type entryJSON = apijson.Entry

// mediaJSON is an attachment of an entry.
type mediaJSON = apijson.Media

func messageJSON(m *inbox.Message) entryJSON { return apijson.Message(m) }

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
		items = append(items, apijson.Event(e.Event))
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
