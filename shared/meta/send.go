package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
)

// Client sends messages through the Cloud API: POST {BaseURL}/{Version}/{phone_number_id}/messages
// with a bearer token. It is safe for concurrent use.
type Client struct {
	BaseURL string // https://graph.facebook.com, or the local sandbox
	Version string // v23.0
	Token   string // system-user or business token
	HTTP    *http.Client
}

// Send delivers m from line (its Address is the phone_number_id) to the customer to (a wa_id)
// and returns the message's wamid. Acceptance is not delivery: the outcome arrives later as a
// status webhook.
//
// Every failure is a *provider.SendError; Retryable tells whether sending again later may succeed
// (rate limits, Meta's own errors, timeouts) or never will (invalid request, closed window,
// template problems, credentials). A request that timed out after it was written may still
// have been accepted by Meta, and the Cloud API has no idempotency key: that failure is
// Uncertain, and the request carries the message's Ref as biz_opaque_callback_data so that its
// status webhooks name it.
func (c *Client) Send(ctx context.Context, line *inbox.Line, to string, m *inbox.Message) (string, error) {
	body, err := Request(to, m)
	if err != nil {
		return "", sendError(provider.SendError{Title: "invalid message", Message: err.Error(), Err: err,
			Reason: "This message cannot be sent through WhatsApp: " + strings.TrimPrefix(err.Error(), "meta: ")})
	}
	u := strings.TrimRight(c.BaseURL, "/") + "/" + url.PathEscape(c.Version) + "/" + url.PathEscape(line.Address) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", sendError(provider.SendError{Title: "invalid request", Message: err.Error(), Err: err})
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	status, raw, perr := provider.Do(c.HTTP, req, "the Cloud API", provider.MaxResponse)
	if perr != nil {
		return "", sendError(*perr)
	}
	if status/100 != 2 {
		return "", parseError(status, raw)
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		// Accepted but unreadable: sending again could deliver twice; its status callbacks,
		// which carry our reference, will name the message.
		return "", sendError(provider.SendError{HTTPStatus: status, Title: "unexpected response", Message: "the Cloud API answered without a message id", Uncertain: true})
	}
	return ok.Messages[0].ID, nil
}

// Request returns the JSON body of a send request for m to the customer to.
func Request(to string, m *inbox.Message) ([]byte, error) {
	body := map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                to,
		"type":              m.Type,
	}
	if m.ReplyTo != "" {
		body["context"] = map[string]string{"message_id": m.ReplyTo}
	}
	if m.ConversationID != "" && m.ID != "" {
		// Echoed in every status webhook of the message: it names the message even when the
		// answer to this request (with the wamid) is lost.
		body["biz_opaque_callback_data"] = m.Ref()
	}
	switch m.Type {
	case "text":
		body["text"] = map[string]any{"body": m.Text, "preview_url": hasLink(m.Text)}
	case "image", "video", "document", "audio", "sticker":
		if m.Media == nil || m.Media.URL == "" && m.Media.ID == "" {
			return nil, fmt.Errorf("meta: %s message without media", m.Type)
		}
		media := map[string]string{}
		if m.Media.ID != "" {
			media["id"] = m.Media.ID
		} else {
			media["link"] = m.Media.URL
		}
		if m.Text != "" && m.Type != "audio" && m.Type != "sticker" {
			media["caption"] = m.Text
		}
		if m.Type == "document" && m.Media.Filename != "" {
			media["filename"] = m.Media.Filename
		}
		body[m.Type] = media
	case "template":
		if m.Template == nil {
			return nil, errors.New("meta: template message without template")
		}
		body["template"] = template(m.Template)
	default:
		return nil, fmt.Errorf("meta: cannot send a %q message", m.Type)
	}
	return json.Marshal(body)
}

func hasLink(s string) bool {
	return strings.Contains(s, "https://") || strings.Contains(s, "http://")
}

// template builds the template object: body parameters in order, each named when the template
// uses named parameters.
func template(t *inbox.TemplateRef) map[string]any {
	tpl := map[string]any{
		"name":     t.Name,
		"language": map[string]string{"code": t.Language, "policy": "deterministic"},
	}
	keys := t.Keys()
	if len(keys) == 0 {
		return tpl
	}
	named := !t.Positional()
	params := make([]map[string]string, len(keys))
	for i, k := range keys {
		p := map[string]string{"type": "text", "text": t.Variables[k]}
		if named {
			p["parameter_name"] = k
		}
		params[i] = p
	}
	tpl["components"] = []map[string]any{{"type": "body", "parameters": params}}
	return tpl
}

// sendError completes the error of a failed send: the provider, and the reason an agent
// sees unless the failure gave its own.
func sendError(e provider.SendError) *provider.SendError {
	e.Provider = "meta"
	if e.Reason == "" {
		e.Reason = reason(&e)
	}
	return &e
}

// retryCodes are errors that a later attempt can get past; permanentCodes never will,
// whatever the HTTP status says [docs/protocol.md#sending].
var (
	retryCodes = map[int]bool{
		1: true, 2: true, // API unknown / service temporarily unavailable
		4:      true, // app-level call rate limit
		80007:  true, // WABA rate limit
		130429: true, // throughput limit
		131000: true, // unknown error
		131016: true, // service unavailable
		131056: true, // pair rate limit
		131057: true, // account in maintenance
	}
	permanentCodes = map[int]bool{
		3: true, 10: true, 100: true, 190: true, 368: true,
		131005: true, 131008: true, 131009: true, 131021: true, 131026: true, 131030: true,
		131031: true, 131042: true, 131045: true, 131047: true, 131048: true, 131049: true,
		131050: true, 131051: true, 131052: true, 131053: true,
		132000: true, 132001: true, 132005: true, 132007: true, 132012: true, 132015: true, 132016: true,
	}
)

// Retryable reports whether a Graph error may go away by itself: by code first, then by the
// HTTP status (429 and 5xx) and Meta's is_transient flag for codes not listed.
func Retryable(code, httpStatus int, transient bool) bool {
	switch {
	case retryCodes[code]:
		return true
	case permanentCodes[code] || code >= 200 && code <= 299:
		return false
	}
	return transient || httpStatus == http.StatusTooManyRequests || httpStatus >= 500
}

func parseError(status int, raw []byte) *provider.SendError {
	var ge struct {
		Error struct {
			Message   string `json:"message"`
			Type      string `json:"type"`
			Code      int    `json:"code"`
			UserTitle string `json:"error_user_title"`
			UserMsg   string `json:"error_user_msg"`
			Transient bool   `json:"is_transient"`
			Data      struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &ge); err != nil || ge.Error.Code == 0 && ge.Error.Message == "" {
		return sendError(provider.SendError{HTTPStatus: status, Title: http.StatusText(status), Message: "the Cloud API answered without a Graph error",
			Retryable: Retryable(-1, status, false)})
	}
	g := ge.Error
	title := g.UserTitle
	if title == "" {
		title = stripCode(g.Message)
	}
	msg := firstNonEmpty(g.Data.Details, g.UserMsg, g.Message)
	return sendError(provider.SendError{Code: g.Code, Title: title, Message: msg, HTTPStatus: status,
		Retryable: Retryable(g.Code, status, g.Transient)})
}

// stripCode drops the "(#131056) " prefix Graph puts on its messages.
func stripCode(s string) string {
	if strings.HasPrefix(s, "(#") {
		if i := strings.Index(s, ") "); i > 0 {
			return s[i+2:]
		}
	}
	return s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// reasons explain, for the agent who wrote the message, why it was not sent.
var reasons = map[int]string{
	10:     "The line lacks a permission to send: an admin must check its access",
	100:    "WhatsApp rejected the message as invalid",
	190:    "The line's access token expired or is invalid: an admin must reconnect the line",
	368:    "The WhatsApp account is temporarily blocked for policy violations",
	4:      "Too many requests to WhatsApp right now: try again in a few minutes",
	80007:  "The WhatsApp account reached its rate limit: try again later",
	130429: "The line is sending faster than WhatsApp allows: try again in a moment",
	131000: "WhatsApp had an internal error: try again later",
	131005: "WhatsApp denied access to this line: an admin must check its permissions",
	131008: "WhatsApp rejected the message: a required field is missing",
	131009: "WhatsApp rejected the message: a value is not valid",
	131016: "WhatsApp is temporarily unavailable: try again later",
	131021: "The recipient is the line's own number",
	131026: "The message could not be delivered: the number may not be on WhatsApp or may use an old version",
	131030: "The recipient is not in the test number's allowed list",
	131031: "The WhatsApp account is locked",
	131042: "The WhatsApp account has a payment problem: an admin must check billing",
	131047: "More than 24 hours since the customer last wrote: send an approved template",
	131048: "WhatsApp is limiting this line for spam: slow down",
	131049: "WhatsApp did not deliver this marketing message to protect the customer's experience",
	131050: "The customer opted out of marketing messages",
	131051: "WhatsApp does not support this message type",
	131052: "WhatsApp could not download the media: check the link",
	131053: "WhatsApp could not use the media: check its type and size",
	131056: "Too many messages to this customer in a short time: wait and try again",
	131057: "The WhatsApp account is under maintenance: try again later",
	132000: "The template's variables do not match its parameters",
	132001: "The template does not exist in that language or is not approved",
	132005: "The template's text is too long once filled in",
	132007: "The template's content breaks WhatsApp policy",
	132012: "A template variable has the wrong format",
	132015: "The template is paused for low quality: use another template",
	132016: "The template is disabled: use another template",
}

// reason explains a failure to the agent, in terms they can act on.
func reason(e *provider.SendError) string {
	if r, ok := reasons[e.Code]; ok {
		return r
	}
	switch {
	case e.Code >= 200 && e.Code <= 299:
		return reasons[10]
	case e.HTTPStatus == http.StatusUnauthorized:
		return "The line's credentials were refused: an admin must reconnect the line"
	case e.HTTPStatus == 0 && e.Err != nil:
		return "WhatsApp did not answer: the message may not have been sent"
	case e.Retryable:
		return "WhatsApp could not take the message for now: try again later"
	}
	return "WhatsApp refused the message"
}
