package main

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/phone"
	"github.com/buzon/buzon/shared/workflow"
)

// maxContactName caps the contact name given when starting a conversation.
const maxContactName = 256

// startRequest is the body of POST /v1/conversations.
type startRequest struct {
	LineID   string           `json:"line_id"`
	To       string           `json:"to"`
	Name     string           `json:"name,omitempty"`
	Template *templateRequest `json:"template"`
}

type startJSON struct {
	Conversation conversationJSON `json:"conversation"`
	Message      entryJSON        `json:"message"`
}

// startConversation opens a conversation with a customer by sending a template
// (workflow.Start). A customer who already has an open conversation on the line gets 409
// with its id: the agent writes there. The message goes out exactly as POST
// /v1/conversations/{id}/messages sends it, Idempotency-Key included.
func (a *api) startConversation(ctx context.Context, c *call) (any, error) {
	var body startRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.LineID == "" {
		return nil, unprocessable("missing_line", "line_id is required")
	}
	wa, err := phone.Normalize(body.To)
	if err != nil {
		return nil, unprocessable("bad_number", "to must be a phone number in international form, with its country code (such as +52 55 1234 5678)")
	}
	// A retry that types the number another way is the same request.
	body.To = "+" + wa
	body.Name = strings.TrimSpace(body.Name)
	if utf8.RuneCountInString(body.Name) > maxContactName || !utf8.ValidString(body.Name) {
		return nil, unprocessable("bad_name", "name is at most 256 characters")
	}
	if body.Template == nil {
		return nil, unprocessable("bad_template", "template is required: a conversation starts with an approved template")
	}
	draft, err := (&sendRequest{Type: "template", Template: body.Template}).draft()
	if err != nil {
		return nil, err
	}
	key, err := idempotencyKey(c.req)
	if err != nil {
		return nil, err
	}
	m, cv, err := a.flow().Start(ctx, c.caller(), workflow.Start{LineID: body.LineID, WaID: wa, Name: body.Name, Template: draft},
		workflow.Request{Key: key, Fingerprint: fingerprint(inbox.ConversationID(c.user.OrgID, body.LineID, wa), &body)})
	if err != nil {
		return nil, err
	}
	// A done conversation that starts again has customer messages the caller may have read.
	out, err := a.conversationFor(ctx, cv, c.user)
	if err != nil {
		return nil, err
	}
	return startJSON{Conversation: out, Message: messageJSON(m)}, nil
}
