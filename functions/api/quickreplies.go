package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/quickreply"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// Quick replies (M5): canned responses of the organization with variables
// ({{customer_name}}, {{user_name}}, {{company_name}}) that an agent renders for a conversation
// and sends as text. Everyone reads them; admins and editors (the no-inbox role) write them.

type quickReplyJSON struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Text      string   `json:"text"`
	Variables []string `json:"variables"`
	CreatedBy string   `json:"created_by,omitempty"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

func toQuickReplyJSON(q *inbox.QuickReply) quickReplyJSON {
	return quickReplyJSON{ID: q.ID, Title: q.Title, Text: q.Text, Variables: nonNil(quickreply.Variables(q.Text)),
		CreatedBy: q.CreatedBy, CreatedAt: ts(q.CreatedAt), UpdatedAt: ts(q.UpdatedAt)}
}

type quickReplyRequest struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// editQuickReply applies a request to q: a title, a text, and only variables Buzón can fill.
func editQuickReply(q *inbox.QuickReply, body quickReplyRequest, now time.Time) error {
	if err := q.Edit(body.Title, body.Text, now); err != nil {
		return unprocessable("bad_quick_reply", "a quick reply needs a title (1 to 100 characters) and a text (1 to 4096 characters)")
	}
	if err := quickreply.Validate(q.Text); err != nil {
		return unprocessable("unknown_variable", "the text uses variables Buzón cannot fill ("+
			strings.TrimPrefix(err.Error(), quickreply.ErrUnknownVariable.Error()+": ")+
			"); use {{customer_name}}, {{user_name}} or {{company_name}}")
	}
	return nil
}

func (a *api) listQuickReplies(ctx context.Context, c *call) (any, error) {
	qs, err := a.st.QuickReplies(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	items := make([]quickReplyJSON, 0, len(qs))
	for _, q := range qs {
		items = append(items, toQuickReplyJSON(q))
	}
	return page[quickReplyJSON]{Items: items}, nil
}

func (a *api) createQuickReply(ctx context.Context, c *call) (any, error) {
	var body quickReplyRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	now := a.now()
	q := &inbox.QuickReply{ID: inbox.NewID("qr_"), OrgID: c.user.OrgID, CreatedBy: c.user.ID, CreatedAt: now}
	if err := editQuickReply(q, body, now); err != nil {
		return nil, err
	}
	err := a.configure(ctx, c, workflow.Change{Entity: "quick_reply", ID: q.ID, Action: "create", After: toQuickReplyJSON(q)}, func() error {
		return a.st.CreateQuickReply(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	return toQuickReplyJSON(q), nil
}

func (a *api) updateQuickReply(ctx context.Context, c *call) (any, error) {
	var body quickReplyRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	now := a.now()
	var before, after quickReplyJSON // filled by the write, recorded after it
	var q *inbox.QuickReply
	err := a.configure(ctx, c, workflow.Change{Entity: "quick_reply", ID: c.params["id"], Action: "update", Before: &before, After: &after}, func() error {
		var err error
		q, err = a.st.UpdateQuickReply(ctx, c.user.OrgID, c.params["id"], func(q *inbox.QuickReply) error {
			before = toQuickReplyJSON(q)
			return editQuickReply(q, body, now)
		})
		if err == nil {
			after = toQuickReplyJSON(q)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return toQuickReplyJSON(q), nil
}

func (a *api) deleteQuickReply(ctx context.Context, c *call) (any, error) {
	before, err := a.st.QuickReply(ctx, c.user.OrgID, c.params["id"])
	if err != nil {
		return nil, err
	}
	return nil, a.configure(ctx, c, workflow.Change{Entity: "quick_reply", ID: before.ID, Action: "delete", Before: toQuickReplyJSON(before)}, func() error {
		return a.st.DeleteQuickReply(ctx, c.user.OrgID, c.params["id"])
	})
}

type renderedJSON struct {
	QuickReplyID string `json:"quick_reply_id"`
	Text         string `json:"text"`
}

// renderQuickReply serves POST /v1/conversations/{id}/quick-replies/{qr}/render: the quick
// reply's text for this conversation's customer and the caller, ready to send or edit. A
// value that is unknown (a customer without a name) disappears with the space before it.
func (a *api) renderQuickReply(ctx context.Context, c *call) (any, error) {
	cv, _, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	q, err := a.st.QuickReply(ctx, c.user.OrgID, c.params["qr"])
	if err != nil {
		return nil, err
	}
	company := ""
	switch org, err := a.st.Organization(ctx, c.user.OrgID); {
	case err == nil:
		company = org.Name
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	text, err := quickreply.Render(q.Text, map[string]string{
		quickreply.CustomerName: cv.Contact.Name,
		quickreply.UserName:     c.user.Name,
		quickreply.CompanyName:  company,
	}, "")
	if err != nil {
		// Validated when written; a variable Buzón has since stopped filling.
		return nil, unprocessable("unknown_variable", "the quick reply uses a variable Buzón cannot fill: edit it")
	}
	return renderedJSON{QuickReplyID: q.ID, Text: text}, nil
}
