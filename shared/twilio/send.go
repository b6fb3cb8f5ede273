package twilio

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

// Client sends WhatsApp messages through Twilio's Messages API:
// POST {BaseURL}/2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP Basic auth. The
// account is the line's (Line.Account); AuthToken is that account's token. It is safe for
// concurrent use.
type Client struct {
	BaseURL   string // https://api.twilio.com, or the local sandbox
	AuthToken string
	// StatusCallback is where Twilio posts delivery statuses: PUBLIC_BASE_URL/webhooks/twilio.
	StatusCallback string
	HTTP           *http.Client
}

// Send delivers m from line (its Address is the sender, "+E164") to the customer to (a wa_id,
// digits) and returns the Message SID. Twilio's Messages API has no reply context for
// WhatsApp, so ReplyTo is not sent. Templates are sent by Content SID, which Buzón does not
// sync (Twilio's Content API keeps them): the template's name must be that SID (HX…).
//
// Every failure is a *provider.SendError; Retryable tells whether sending again later may succeed (429,
// 5xx, no answer) or never will (any other 4xx: invalid number, closed window 63016, ...). A
// request that got no answer may still have been accepted, so a retry can deliver twice.
func (c *Client) Send(ctx context.Context, line *inbox.Line, to string, m *inbox.Message) (string, error) {
	if line.Account == "" {
		return "", sendError(provider.SendError{Title: "line not configured", Message: "the line has no Twilio account SID",
			Reason: "The line has no Twilio account: an admin must configure it"})
	}
	form, err := Form(line.Address, to, c.StatusCallback, m)
	if err != nil {
		return "", sendError(provider.SendError{Title: "invalid message", Message: err.Error(), Err: err, Reason: "This message cannot be sent through Twilio: " + strings.TrimPrefix(err.Error(), "twilio: ")})
	}
	u := strings.TrimRight(c.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(line.Account) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", sendError(provider.SendError{Title: "invalid request", Message: err.Error(), Err: err})
	}
	req.SetBasicAuth(line.Account, c.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, raw, perr := provider.Do(c.HTTP, req, "Twilio", provider.MaxResponse)
	if perr != nil {
		return "", sendError(*perr)
	}
	if status/100 != 2 {
		return "", parseError(status, raw)
	}
	var ok struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.SID == "" {
		// Accepted but unreadable: sending again could deliver twice; its status callbacks,
		// which carry our reference, will name the message.
		return "", sendError(provider.SendError{HTTPStatus: status, Title: "unexpected response", Message: "Twilio answered without a message SID", Uncertain: true})
	}
	return ok.SID, nil
}

// Form returns the form of a send request for m from the sender from ("+E164") to the
// customer to.
func Form(from, to, statusCallback string, m *inbox.Message) (url.Values, error) {
	f := url.Values{}
	f.Set("From", channelPrefix+plus(from))
	f.Set("To", channelPrefix+plus(to))
	if statusCallback != "" {
		f.Set("StatusCallback", callbackURL(statusCallback, m))
	}
	switch m.Type {
	case "text":
		f.Set("Body", m.Text)
	case "image", "video", "document", "audio", "sticker":
		if m.Media == nil || m.Media.URL == "" {
			return nil, fmt.Errorf("twilio: %s message without a media URL", m.Type)
		}
		f.Add("MediaUrl", m.Media.URL)
		if m.Text != "" && m.Type != "audio" && m.Type != "sticker" {
			f.Set("Body", m.Text)
		}
	case "template":
		if m.Template == nil {
			return nil, fmt.Errorf("twilio: template message without template")
		}
		if !strings.HasPrefix(m.Template.Name, "HX") {
			return nil, fmt.Errorf("twilio: template %q is not a Content SID (HX…): Twilio sends templates by their Content SID", m.Template.Name)
		}
		f.Set("ContentSid", m.Template.Name)
		if len(m.Template.Variables) > 0 {
			vars, err := json.Marshal(m.Template.Variables)
			if err != nil {
				return nil, fmt.Errorf("twilio: encode template variables: %w", err)
			}
			f.Set("ContentVariables", string(vars))
		}
	default:
		return nil, fmt.Errorf("twilio: cannot send a %q message", m.Type)
	}
	return f, nil
}

// callbackURL is the message's own StatusCallback: the configured URL with the message's Ref
// in its query, before any connection-override fragment (#rc=…). Twilio signs the URL it
// calls, query included, so the reference reaches the webhook authenticated with every status,
// even when the answer to the send (with the SID) was lost.
func callbackURL(base string, m *inbox.Message) string {
	if m.ConversationID == "" || m.ID == "" {
		return base
	}
	u, fragment, hasFragment := strings.Cut(base, "#")
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	u += sep + RefParam + "=" + url.QueryEscape(m.Ref())
	if hasFragment {
		u += "#" + fragment
	}
	return u
}

// RetryOverrides are the connection overrides Buzón appends to its Twilio webhook URLs (the
// incoming-message webhook set on the sender, the StatusCallback of each send): up to 5 retries
// on a 5xx, a connect failure or a read timeout, where Twilio retries none by default. Twilio
// strips the fragment before the request and signs the URL without it.
const RetryOverrides = "#rc=5&rp=5xx,ct,rt"

// RefParam is the query parameter of a StatusCallback URL that carries the message's Ref.
const RefParam = "ref"

func plus(number string) string { return "+" + strings.TrimPrefix(number, "+") }

// sendError completes the error of a failed send: the provider, and the reason an agent
// sees unless the failure gave its own.
func sendError(e provider.SendError) *provider.SendError {
	e.Provider = "twilio"
	if e.Reason == "" {
		e.Reason = reason(&e)
	}
	return &e
}

// retryCodes are Twilio errors a later attempt can get past.
var retryCodes = map[int]bool{
	20429: true, // too many requests
	20500: true, // internal server error
	20503: true, // service unavailable
	63018: true, // rate limit exceeded for the WhatsApp channel
}

// Retryable reports whether a Twilio error may go away by itself: listed codes, 429 and 5xx.
func Retryable(code, httpStatus int) bool {
	return retryCodes[code] || httpStatus == http.StatusTooManyRequests || httpStatus >= 500
}

func parseError(status int, raw []byte) *provider.SendError {
	var te struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if err := json.Unmarshal(raw, &te); err != nil || te.Code == 0 && te.Message == "" {
		return sendError(provider.SendError{HTTPStatus: status, Title: http.StatusText(status), Message: "Twilio answered without an error object",
			Retryable: Retryable(0, status)})
	}
	return sendError(provider.SendError{Code: te.Code, Title: te.Message, Message: te.MoreInfo, HTTPStatus: status, Retryable: Retryable(te.Code, status)})
}

// reasons explain, for the agent who wrote the message, why it was not sent.
var reasons = map[int]string{
	20003: "Twilio refused the line's credentials: an admin must check the account SID and auth token",
	20429: "Too many requests to Twilio right now: try again in a few minutes",
	21211: "The customer's number is not valid",
	21408: "The Twilio account may not send to this region",
	21606: "The line's number cannot send through Twilio",
	21610: "The customer unsubscribed from this number",
	21617: "The message is longer than Twilio's 1,600 characters",
	63003: "The customer's number could not be reached on WhatsApp",
	63007: "The line's number is not a WhatsApp sender on Twilio",
	63014: "The customer blocked this number on WhatsApp",
	63016: "More than 24 hours since the customer last wrote: send an approved template",
	63018: "The line is sending faster than WhatsApp allows: try again in a moment",
	63024: "The customer's number is not a valid WhatsApp recipient",
	63027: "The template does not exist in that language",
	63028: "The template's variables do not match its parameters",
}

// reason explains a failure to the agent, in terms they can act on.
func reason(e *provider.SendError) string {
	if r, ok := reasons[e.Code]; ok {
		return r
	}
	switch {
	case e.HTTPStatus == http.StatusUnauthorized:
		return reasons[20003]
	case e.HTTPStatus == 0 && e.Err != nil:
		return "Twilio did not answer: the message may not have been sent"
	case e.Retryable:
		return "Twilio could not take the message for now: try again later"
	}
	return "Twilio refused the message"
}
