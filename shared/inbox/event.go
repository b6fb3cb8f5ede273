package inbox

import "time"

// EventType names what happened in a conversation besides messages (V6, P2).
type EventType string

// Event types.
const (
	EventOpened        EventType = "opened"
	EventRouted        EventType = "routed"
	EventAssigned      EventType = "assigned"
	EventClaimed       EventType = "claimed"
	EventReturned      EventType = "returned"
	EventTransferred   EventType = "transferred"
	EventClosed        EventType = "closed"
	EventReopened      EventType = "reopened"
	EventLabelled      EventType = "labelled"
	EventNote          EventType = "note"
	EventRead          EventType = "read"
	EventWindowClosing EventType = "window_closing"
	EventWindowClosed  EventType = "window_closed"
	// EventCollaboratorAdded and EventCollaboratorRemoved name the collaborator in
	// Details["user_id"] (A7); a collaborator who leaves is the actor of their removal.
	EventCollaboratorAdded   EventType = "collaborator_added"
	EventCollaboratorRemoved EventType = "collaborator_removed"
)

// Event is one entry of a conversation's timeline that is not a message: who did what, when.
type Event struct {
	ID             string
	ConversationID string
	Type           EventType
	ActorID        string // user who acted; empty for the system
	At             time.Time
	// Details hold the event's facts: from/to assignee or department, reason, note text, rule.
	Details map[string]string
}

// NewEvent returns an event with a fresh id.
func NewEvent(convID string, t EventType, actor string, at time.Time, details map[string]string) *Event {
	return &Event{ID: NewID("e_"), ConversationID: convID, Type: t, ActorID: actor, At: at, Details: details}
}
