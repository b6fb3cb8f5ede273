package inbox

import "time"

// AuditRecord is one action of a person, or of Buzón itself, on the organization's
// configuration or on a conversation (P2), kept for good: who, when, on what, and, where it
// applies, the entity before and after (JSON, as the agent API shows it).
type AuditRecord struct {
	ID        string
	OrgID     string
	At        time.Time
	ActorID   string // "" is Buzón (automatic assignment's turn, the window job, a lifecycle hand-over)
	Entity    string // conversation, user, line, department, label, quick_reply, rules, closing_reasons, contact, templates
	EntityID  string
	Action    string // what was done: the timeline event's type for a conversation, else create, update, delete, ...
	Before    []byte // JSON; nil where nothing was before (a creation) or it does not apply
	After     []byte // JSON; nil after a deletion
	RequestID string // the API request that did it, to find its logs
}
