package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
)

// templateFields are the template fields a list asks for [docs/protocol.md#templates].
const templateFields = "id,name,language,status,category,components,parameter_format,rejected_reason"

// templatePageSize is the page size asked for; maxTemplatePages bounds a listing (Meta caps a
// WABA at 6,000 templates) against a cursor that never ends.
const (
	templatePageSize = 100
	maxTemplatePages = 100
)

// wireTemplate is one data[] item of GET /{waba-id}/message_templates.
type wireTemplate struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Status          string          `json:"status"`
	Category        string          `json:"category"`
	ParameterFormat string          `json:"parameter_format"`
	RejectedReason  string          `json:"rejected_reason"`
	Components      json.RawMessage `json:"components"`
}

// Templates lists every template of the WhatsApp Business Account waba, following the
// list's cursors until the last page. The next page is asked for with paging.cursors.after on
// the client's own URL, never by following paging.next: that URL is the provider's to choose
// and the bearer token goes wherever it points.
//
// A failure is a *provider.SendError, as for Send: Retryable tells whether listing again later
// may succeed.
func (c *Client) Templates(ctx context.Context, waba string) ([]*inbox.Template, error) {
	var out []*inbox.Template
	after := ""
	for range maxTemplatePages {
		page, err := c.templatePage(ctx, waba, after)
		if err != nil {
			return nil, fmt.Errorf("meta: list templates of %s: %w", waba, err)
		}
		for _, w := range page.Data {
			if w.Name == "" || w.Language == "" {
				continue // nothing Buzón could send it by
			}
			reason := w.RejectedReason
			if strings.EqualFold(reason, "NONE") {
				reason = ""
			}
			format := strings.ToUpper(w.ParameterFormat)
			if format == "" {
				format = "POSITIONAL" // the Cloud API's default
			}
			out = append(out, &inbox.Template{Account: waba, ID: w.ID, Name: w.Name, Language: w.Language,
				Category: strings.ToUpper(w.Category), Status: strings.ToUpper(w.Status), Reason: reason,
				ParameterFormat: format, Components: w.Components})
		}
		next := page.Paging.Cursors.After
		if page.Paging.Next == "" || next == "" {
			return out, nil
		}
		if next == after {
			return nil, fmt.Errorf("meta: list templates of %s: the cursor did not move", waba)
		}
		after = next
	}
	return nil, fmt.Errorf("meta: list templates of %s: more than %d pages", waba, maxTemplatePages)
}

type templatePage struct {
	Data   []wireTemplate `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

func (c *Client) templatePage(ctx context.Context, waba, after string) (*templatePage, error) {
	q := url.Values{"fields": {templateFields}, "limit": {fmt.Sprint(templatePageSize)}}
	if after != "" {
		q.Set("after", after)
	}
	u := strings.TrimRight(c.BaseURL, "/") + "/" + url.PathEscape(c.Version) + "/" + url.PathEscape(waba) + "/message_templates?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, sendError(provider.SendError{Title: "invalid request", Message: err.Error(), Err: err})
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	// A page of 100 templates with their components is well under the cap, but not 1 MB.
	status, raw, perr := provider.Do(c.HTTP, req, "the Cloud API", 16*provider.MaxResponse)
	if perr != nil {
		perr.Retryable = true // a sync runs again anyway
		return nil, sendError(*perr)
	}
	if status/100 != 2 {
		return nil, parseError(status, raw)
	}
	var page templatePage
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, sendError(provider.SendError{HTTPStatus: status, Title: "unexpected response",
			Message: "the template list is not the Graph API's JSON", Retryable: true, Err: err})
	}
	return &page, nil
}
