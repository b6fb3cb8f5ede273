package workflow

import (
	"errors"
	"time"

	"github.com/buzon/buzon/shared/inbox"
)

// Refusals of the workflows, besides access's denials and inbox's transition errors.
var (
	ErrLineNotActive        = errors.New("workflow: the line is not active")
	ErrIdempotencyKeyReused = errors.New("workflow: the idempotency key was used for another request")
	ErrAssigneeHasNoInbox   = errors.New("workflow: the assignee's role has no inbox")
	ErrUnknownReplyTo       = errors.New("workflow: reply_to names no message of the conversation")
	ErrReplyToNotSent       = errors.New("workflow: the message replied to has not been sent yet")
	// ErrTextTooLong and ErrTemplateBySID are what a Twilio line's provider would refuse.
	ErrTextTooLong   = errors.New("workflow: text too long for the line's provider")
	ErrTemplateBySID = errors.New("workflow: the line's provider sends templates by Content SID")
	// ErrNoTemplates: the line has no WhatsApp Business Account, so no synced templates.
	ErrNoTemplates = errors.New("workflow: the line has no synced templates")
	// ErrNoContactFilter: an admin's or agent's contact listing names what it looks for.
	// ErrDisableSelf: an admin does not lock themselves out.
	ErrDisableSelf     = errors.New("workflow: you cannot disable yourself")
	ErrNoContactFilter = errors.New("workflow: a contact listing needs q, email, field or owner_id")
)

// UnknownError is an id given by the caller that names nothing of the organization.
type UnknownError struct {
	Field  string // what the caller gave: "assignee", "department", "line"
	Entity string // what it should name: "user", "department", "line"
	ID     string
}

func (e *UnknownError) Error() string { return "workflow: unknown " + e.Field + " " + e.ID }

// UnknownTemplateError is a template the line's WhatsApp Business Account does not have (as
// far as the last sync knows).
type UnknownTemplateError struct{ Name, Language string }

func (e *UnknownTemplateError) Error() string {
	return "workflow: unknown template " + e.Name + " (" + e.Language + ")"
}

// WindowClosedError refuses a free-form message outside the customer service window; Expired
// is when it closed, zero if the customer never wrote.
type WindowClosedError struct{ Expired time.Time }

func (e *WindowClosedError) Error() string { return "workflow: the customer service window is closed" }

// OpenConversationError refuses to start a conversation with a customer who has an open one
// on the line: the agent writes there.
type OpenConversationError struct{ ConversationID string }

func (e *OpenConversationError) Error() string {
	return "workflow: conversation " + e.ConversationID + " is open"
}

// TemplateError is a template that cannot be sent (Err is one of inbox's template errors).
type TemplateError struct {
	Template *inbox.Template
	Err      error
}

func (e *TemplateError) Error() string {
	return "workflow: template " + e.Template.Name + ": " + e.Err.Error()
}
func (e *TemplateError) Unwrap() error { return e.Err }

// NotQueuedError is a message stored but not put on the outbound queue. Retry says it stays
// queued for the caller to try again with the same message (an Idempotency-Key, a
// redelivery); otherwise it was marked failed and a new message must be sent.
type NotQueuedError struct {
	Retry bool
	Err   error
}

func (e *NotQueuedError) Error() string { return "workflow: message not queued: " + e.Err.Error() }
func (e *NotQueuedError) Unwrap() error { return e.Err }

// UnlistedReasonError is a closing reason that is not in the list configured for the
// conversation's department or organization (A5).
type UnlistedReasonError struct {
	Reasons []string // the reasons that may be given
}

func (e *UnlistedReasonError) Error() string {
	return "workflow: the closing reason is not one of the configured reasons"
}
