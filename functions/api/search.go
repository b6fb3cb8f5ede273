package main

import (
	"context"
	"sort"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
)

// searchConversations answers GET /v1/conversations?q=: the conversations of the contacts
// whose name (a prefix of any word, accents and case ignored) or number (a prefix of its
// digits) matches, that the caller may see, newest activity first (V5). The contact search
// index (GSI3) gives the contacts; each contact's lines give its conversation ids; both are
// read by key, never scanned. A search is one page, at most limit conversations of the first
// limit matching contacts: a broad query is narrowed by typing more, not by paging. status,
// line, department, assignee, label and unread filter the results.
func (a *api) searchConversations(ctx context.Context, c *call, q map[string]string, limit int, status inbox.ConversationStatus, unreadOnly bool) (any, error) {
	if q["view"] != "" || q["cursor"] != "" {
		return nil, badRequest("q searches every conversation you can see: it takes no view or cursor")
	}
	query, ok := inbox.ParseContactQuery(q["q"])
	if !ok || utf8.RuneCountInString(q["q"]) > 100 {
		return nil, badRequest("q needs a letter or a digit, and at most 100 characters")
	}
	contacts, err := a.st.SearchContacts(ctx, c.user.OrgID, query, limit)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ct := range contacts {
		for _, l := range ct.LineIDs {
			if q["line_id"] == "" || q["line_id"] == l {
				ids = append(ids, inbox.ConversationID(c.user.OrgID, l, ct.WaID))
			}
		}
	}
	convs, err := a.st.Conversations(ctx, c.user.OrgID, ids)
	if err != nil {
		return nil, err
	}
	lines := map[string]*inbox.Line{}
	var shown []*inbox.Conversation
	for _, cv := range convs {
		line, err := a.flow().Line(ctx, lines, cv)
		if err != nil {
			return nil, err
		}
		switch {
		case !access.Visible(c.user, cv, line),
			status != "" && cv.Status != status,
			q["department_id"] != "" && cv.DepartmentID != q["department_id"],
			q["assignee_id"] != "" && cv.AssigneeID != q["assignee_id"],
			q["label_id"] != "" && !hasLabel(cv, q["label_id"]):
			continue
		}
		shown = append(shown, cv)
	}
	seen, err := a.markers(ctx, c.user, shown)
	if err != nil {
		return nil, err
	}
	sort.Slice(shown, func(i, j int) bool {
		if !shown[i].LastActivityAt.Equal(shown[j].LastActivityAt) {
			return shown[i].LastActivityAt.After(shown[j].LastActivityAt)
		}
		return shown[i].ID > shown[j].ID
	})
	items := []conversationJSON{}
	for _, cv := range shown {
		if len(items) == limit {
			break
		}
		if unreadOnly && cv.InboundCount <= seen[cv.ID] {
			continue
		}
		items = append(items, a.renderConversation(cv, c.user, seen[cv.ID]))
	}
	return page[conversationJSON]{Items: items}, nil
}

func hasLabel(cv *inbox.Conversation, id string) bool {
	for _, l := range cv.Labels {
		if l == id {
			return true
		}
	}
	return false
}
