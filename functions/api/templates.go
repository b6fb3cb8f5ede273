package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
	"github.com/buzon/buzon/shared/store"
)

// Templates (M3): the organization's copy of its WhatsApp message templates, which the
// templates function syncs from the Cloud API; an admin can sync now.

// syncEvery is how often an organization may sync now: the provider's rate limit belongs to
// the app, which every organization shares.
const syncEvery = time.Minute

type templateJSON struct {
	ID              string          `json:"id"`
	WABAID          string          `json:"waba_id"`
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Category        string          `json:"category"`
	Status          string          `json:"status"`
	Reason          string          `json:"reason,omitempty"`
	ParameterFormat string          `json:"parameter_format"`
	Body            string          `json:"body"`
	Variables       []string        `json:"variables"`
	Components      json.RawMessage `json:"components"`
	Sendable        bool            `json:"sendable"`
	Synced          bool            `json:"synced"`
	StatusUpdatedAt string          `json:"status_updated_at"`
}

func toTemplateJSON(t *inbox.Template) templateJSON {
	comp := t.Components
	if len(comp) == 0 {
		comp = json.RawMessage("[]")
	}
	return templateJSON{ID: t.ID, WABAID: t.Account, Name: t.Name, Language: t.Language, Category: t.Category,
		Status: t.Status, Reason: t.Reason, ParameterFormat: t.ParameterFormat, Body: t.Body(),
		Variables: nonNil(t.Variables()), Components: comp, Sendable: t.Sendable(), Synced: t.Synced(),
		StatusUpdatedAt: ts(t.StatusAt)}
}

// listTemplates serves GET /v1/templates: every template of the organization, or of one
// line's WABA (line_id), of one status or any. A Twilio line has none: its templates are
// Content SIDs (HX…) kept in Twilio.
func (a *api) listTemplates(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	for k := range q {
		switch k {
		case "line_id", "status", "limit", "cursor":
		default:
			return nil, badRequest("unknown query parameter " + strconv.Quote(k))
		}
	}
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	cursor, err := decodeCursor(q["cursor"])
	if err != nil {
		return nil, err
	}
	status := strings.ToUpper(q["status"])
	if status != "" && !slices.Contains(inbox.TemplateStatuses, status) {
		return nil, badRequest("status must be one of " + strings.ToLower(strings.Join(inbox.TemplateStatuses, ", ")))
	}
	tq := store.TemplateQuery{Org: c.user.OrgID, Status: status, Limit: limit, Cursor: cursor}
	if id := q["line_id"]; id != "" {
		line, err := a.st.Line(ctx, c.user.OrgID, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, unprocessable("unknown_line", "no line "+id+" in this organization")
		}
		if err != nil {
			return nil, err
		}
		if line.Provider != "meta" || line.Account == "" {
			return page[templateJSON]{Items: []templateJSON{}}, nil
		}
		tq.Account = line.Account
	}
	tpls, next, err := a.st.Templates(ctx, tq)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, badRequest("cursor is not one this API returned")
	}
	if err != nil {
		return nil, err
	}
	items := make([]templateJSON, 0, len(tpls))
	for _, t := range tpls {
		items = append(items, toTemplateJSON(t))
	}
	return page[templateJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}

// syncTemplates serves POST /v1/templates/sync: an admin syncs the organization's templates
// now, in this request, and sees what changed, or why the provider refused. It runs in the
// API function rather than through the templates function: the admin waits for the answer
// either way, a sync of one organization is a few pages of the Graph API, and there is no
// queue or invoke path to wire and watch. The price is that the API reads the provider secret.
func (a *api) syncTemplates(ctx context.Context, c *call) (any, error) {
	if a.templates == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "templates_unavailable", "no Meta credentials are configured: templates cannot be synced"}
	}
	now := a.now()
	ok, free, err := a.st.ClaimTemplateSync(ctx, c.user.OrgID, now, syncEvery)
	if err != nil {
		return nil, err
	}
	if !ok {
		wait := int(free.Sub(now).Seconds() + 0.999)
		return nil, withDetails(&apiError{http.StatusTooManyRequests, "sync_too_soon",
			"templates were synced less than a minute ago; try again in " + strconv.Itoa(wait) + " s"},
			map[string]any{"retry_after_seconds": wait})
	}
	res, err := a.templates.SyncOrg(ctx, c.user.OrgID)
	if err != nil {
		var se *provider.SendError
		if errors.As(err, &se) {
			c.log.WarnContext(ctx, "template sync refused by the provider", "error", err)
			return nil, withDetails(&apiError{http.StatusBadGateway, "provider_error",
				"WhatsApp did not list the templates: " + se.Reason}, map[string]any{"result": res})
		}
		return nil, err
	}
	c.log.InfoContext(ctx, "templates synced now", "wabas", res.WABAs, "changed", res.Changed, "removed", res.Removed)
	return res, nil
}

// prepareTemplate renders o's template message (renderTemplate), which the conversation list
// then previews. It runs once the request is known not to be a replay: a template paused
// since the first attempt does not turn a retry into a 422.
func (a *api) prepareTemplate(ctx context.Context, line *inbox.Line, o *outgoing) error {
	if o.draft.Template == nil {
		return nil
	}
	if err := a.renderTemplate(ctx, line, o.draft); err != nil {
		return err
	}
	o.preview = o.draft.Text
	return nil
}

// renderTemplate checks a template message against the template the line's WABA has and puts
// the text the customer will read (the body, variables filled) in the draft. Twilio lines
// send by Content SID, which Buzón does not sync: their drafts are left as they are.
func (a *api) renderTemplate(ctx context.Context, line *inbox.Line, draft *inbox.Message) error {
	ref := draft.Template
	if ref == nil || line == nil || line.Provider != "meta" {
		return nil
	}
	if line.Account == "" {
		return unprocessable("unknown_template", "this line has no WhatsApp Business Account id (waba_id), so it has no synced templates")
	}
	t, err := a.st.Template(ctx, line.OrgID, line.Account, ref.Name, ref.Language)
	if errors.Is(err, store.ErrNotFound) {
		return unprocessable("unknown_template", "no template "+strconv.Quote(ref.Name)+" in language "+strconv.Quote(ref.Language)+
			" on this line's WhatsApp Business Account; templates sync every few hours, and an admin can sync now")
	}
	if err != nil {
		return err
	}
	if err := t.Check(ref); err != nil {
		return templateError(t, err)
	}
	draft.Text = t.Render(ref)
	return nil
}

// templateError is the 422 of a template that cannot be sent; the error object carries the
// template's status.
func templateError(t *inbox.Template, err error) error {
	fail := func(code, msg string) error {
		return withDetails(&apiError{http.StatusUnprocessableEntity, code, msg}, map[string]any{"template_status": t.Status})
	}
	name := strconv.Quote(t.Name) + " (" + t.Language + ")"
	switch {
	case errors.Is(err, inbox.ErrTemplateNotApproved):
		msg := "template " + name + " is " + t.Status + ": only APPROVED templates can be sent"
		if t.Reason != "" {
			msg += " (reason: " + t.Reason + ")"
		}
		return fail("template_not_approved", msg)
	case errors.Is(err, inbox.ErrTemplateNotSynced):
		return fail("template_not_synced", "template "+name+" is "+t.Status+" but its content has not been synced yet; an admin can sync now")
	case errors.Is(err, inbox.ErrTemplateUnsupported):
		return fail("template_unsupported", "template "+name+" cannot be sent from Buzón yet: "+
			strings.TrimPrefix(err.Error(), inbox.ErrTemplateUnsupported.Error()+": "))
	}
	return fail("template_variables", strings.TrimPrefix(err.Error(), inbox.ErrTemplateVariables.Error()+": "))
}
