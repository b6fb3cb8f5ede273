package main

import (
	"context"
	"strconv"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
)

// Collaborators (A7): the assignee or an admin pulls colleagues into an open conversation;
// they see it in their "collaborating" view, write notes and, where the line allows it,
// replies, and leave when done (DELETE of their own id).

func (a *api) addCollaborator(ctx context.Context, c *call) (any, error) {
	var body struct {
		UserID string `json:"user_id"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.UserID == "" {
		return nil, unprocessable("missing_user_id", "user_id is required")
	}
	cv, err := a.flow().AddCollaborator(ctx, c.caller(), c.params["id"], body.UserID)
	return a.acted(ctx, c, cv, err)
}

func (a *api) removeCollaborator(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	cv, err := a.flow().RemoveCollaborator(ctx, c.caller(), c.params["id"], c.params["user_id"])
	if err != nil {
		return nil, err
	}
	// Who left may no longer see it: they get it without their unread count.
	if !access.Visible(c.user, cv, nil) {
		return a.conversationJSON(cv, c.user), nil
	}
	return a.acted(ctx, c, cv, nil)
}

// listCollaborating is the "collaborating" view: the open conversations the caller
// collaborates on, newest activity first. It is read whole (one Query of the caller's
// collaborations, one BatchGetItem per 100) and paged here; the cursor is a position.
func (a *api) listCollaborating(ctx context.Context, c *call, q map[string]string, limit int, cursor string, status inbox.ConversationStatus, unreadOnly bool) (any, error) {
	if status == inbox.StatusDone {
		return nil, badRequest("the collaborating view lists open conversations (closing ends a collaboration)")
	}
	for _, k := range []string{"department_id", "assignee_id"} {
		if q[k] != "" {
			return nil, badRequest(k + " does not apply to the collaborating view")
		}
	}
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, badRequest("cursor is not one this API returned")
		}
		from = n
	}
	convs, err := a.flow().Collaborating(ctx, c.user)
	if err != nil {
		return nil, err
	}
	var shown []*inbox.Conversation
	for _, cv := range convs {
		if (q["line_id"] == "" || cv.LineID == q["line_id"]) && (q["label_id"] == "" || hasLabel(cv, q["label_id"])) {
			shown = append(shown, cv)
		}
	}
	seen, err := a.markers(ctx, c.user, shown)
	if err != nil {
		return nil, err
	}
	items, next := []conversationJSON{}, ""
	for i, cv := range shown {
		if i < from || (unreadOnly && cv.InboundCount <= seen[cv.ID]) {
			continue
		}
		if len(items) == limit {
			next = strconv.Itoa(i)
			break
		}
		items = append(items, a.renderConversation(cv, c.user, seen[cv.ID]))
	}
	return page[conversationJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}
