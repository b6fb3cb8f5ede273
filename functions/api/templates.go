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
	"github.com/buzon/buzon/shared/templates"
	"github.com/buzon/buzon/shared/workflow"
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
	if err != nil {
		return nil, err
	}
	return pageOf(tpls, next, toTemplateJSON), nil
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
	var res templates.Result
	err = a.configure(ctx, c, workflow.Change{Entity: "templates", ID: c.user.OrgID, Action: "sync"}, func() error {
		var err error
		res, err = a.templates.SyncOrg(ctx, c.user.OrgID)
		return err
	})
	if err != nil {
		var se *provider.SendError
		if errors.As(err, &se) {
			c.log.WarnContext(ctx, "template sync refused by the provider", "error", err)
			return nil, withDetails(&apiError{http.StatusBadGateway, "provider_error",
				"WhatsApp did not list the templates: " + se.Reason}, map[string]any{"result": toSyncJSON(res)})
		}
		return nil, err
	}
	c.log.InfoContext(ctx, "templates synced now", "wabas", res.WABAs, "changed", res.Changed, "removed", res.Removed)
	return toSyncJSON(res), nil
}

// syncJSON is what a sync now did.
type syncJSON struct {
	WABAs     int `json:"wabas"`     // accounts read
	Templates int `json:"templates"` // templates the provider listed
	Changed   int `json:"changed"`   // templates written: new or different from the stored copy
	Removed   int `json:"removed"`   // stored templates the provider no longer lists, now DELETED
	Failed    int `json:"failed"`    // accounts that could not be read (the error says why)
}

func toSyncJSON(r templates.Result) syncJSON {
	return syncJSON{WABAs: r.WABAs, Templates: r.Templates, Changed: r.Changed, Removed: r.Removed, Failed: r.Failed}
}
