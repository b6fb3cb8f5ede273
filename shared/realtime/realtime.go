// Package realtime holds what the WebSocket clients receive and who receives it: the events
// (docs/asyncapi.json), the changes of the table's stream that make them, and the rule that
// picks, per connected user, what they may see — the API's own access model (shared/access).
// It does no I/O: functions/fanout reads and posts, functions/realtime serves the socket.
package realtime

import (
	"time"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
)

// Event types.
const (
	ConversationUpdated = "conversation.updated" // the summary changed (new message, claim, transfer, close, labels, ...)
	ConversationRemoved = "conversation.removed" // the user may no longer see it (moved to another department, given to another seller)
	MessageCreated      = "message.created"
	MessageStatus       = "message.status" // an outbound message's delivery status moved
	NoteCreated         = "note.created"
	Notification        = "notification" // something for one user: assigned or transferred to them, their window closing
	Typing              = "typing"       // another agent writes in the conversation the client watches
	Pong                = "pong"
	Presence            = "presence"
	Subscribed          = "subscribed"
	Error               = "error"
)

// Notification kinds.
const (
	KindAssigned      = "assigned"
	KindTransferred   = "transferred"
	KindWindowClosing = "window_closing"
	KindCollaborator  = "collaborator_added" // a colleague pulled them into a conversation (A7)
)

// Event is one event a client receives. A server frame is a JSON array of events, oldest
// first; id is unique per event and the same when the stream delivers a change again, so a
// client drops an id it has seen.
type Event struct {
	ID             string                `json:"id"`
	Type           string                `json:"type"`
	ConversationID string                `json:"conversation_id,omitempty"`
	Conversation   *apijson.Conversation `json:"conversation,omitempty"`
	Message        *apijson.Entry        `json:"message,omitempty"`
	Note           *apijson.Entry        `json:"note,omitempty"`
	Notification   *NotificationBody     `json:"notification,omitempty"`
	Typing         *TypingBody           `json:"typing,omitempty"`
	Presence       *PresenceBody         `json:"presence,omitempty"`
	Error          string                `json:"error,omitempty"`
}

// NotificationBody says what happened for the user.
type NotificationBody struct {
	Kind    string `json:"kind"`
	ActorID string `json:"actor_id,omitempty"`
	At      string `json:"at"`
}

// TypingBody is who writes.
type TypingBody struct {
	UserID   string `json:"user_id"`
	UserName string `json:"user_name"`
}

// PresenceBody lists who is connected in the caller's departments (admins: the organization's
// connected admins too).
type PresenceBody struct {
	Users []PresentUser `json:"users"`
}

// PresentUser is a connected user.
type PresentUser struct {
	UserID   string `json:"user_id"`
	UserName string `json:"user_name"`
	Watching string `json:"watching,omitempty"`
}

// Change is what one stream record means for the clients, before it is rendered per user.
type Change struct {
	ID             string // the stream record's event id (+ a suffix), stable across redeliveries
	Type           string
	ConversationID string
	Entry          *apijson.Entry      // the message or note
	Before         *inbox.Conversation // conversation.updated: the state before, to tell those who lose it
	To             string              // notification: its one recipient ("" for the assignee)
	Notification   *NotificationBody
}

// Decode turns one stream record (its event id, name and decoded images) into changes.
// Conversation records give conversation.updated; new messages message.created; status moves
// message.status; notes note.created; assignments and window warnings a notification.
func Decode(id, name string, old, new Image) []Change {
	switch {
	case new.Conversation != nil && name != "REMOVE":
		return []Change{{ID: id, Type: ConversationUpdated, ConversationID: new.Conversation.ID, Before: old.Conversation}}
	case new.Message != nil:
		m := new.Message
		e := apijson.Message(m)
		switch {
		case name == "INSERT":
			return []Change{{ID: id, Type: MessageCreated, ConversationID: m.ConversationID, Entry: &e}}
		case old.Message != nil && old.Message.Status != m.Status:
			return []Change{{ID: id, Type: MessageStatus, ConversationID: m.ConversationID, Entry: &e}}
		}
	case new.Event != nil && name == "INSERT":
		ev := new.Event
		switch ev.Type {
		case inbox.EventNote:
			e := apijson.Event(ev)
			return []Change{{ID: id, Type: NoteCreated, ConversationID: ev.ConversationID, Entry: &e}}
		case inbox.EventAssigned, inbox.EventTransferred, inbox.EventClaimed:
			to := ev.Details["assignee_id"]
			if to == "" || to == ev.ActorID {
				return nil // nobody to tell: a claim, or a transfer to a department
			}
			kind := KindAssigned
			if ev.Type == inbox.EventTransferred {
				kind = KindTransferred
			}
			return []Change{{ID: id, Type: Notification, ConversationID: ev.ConversationID, To: to,
				Notification: &NotificationBody{Kind: kind, ActorID: ev.ActorID, At: apijson.TS(ev.At)}}}
		case inbox.EventCollaboratorAdded:
			to := ev.Details["user_id"]
			if to == "" || to == ev.ActorID {
				return nil
			}
			return []Change{{ID: id, Type: Notification, ConversationID: ev.ConversationID, To: to,
				Notification: &NotificationBody{Kind: KindCollaborator, ActorID: ev.ActorID, At: apijson.TS(ev.At)}}}
		case inbox.EventWindowClosing:
			return []Change{{ID: id, Type: Notification, ConversationID: ev.ConversationID,
				Notification: &NotificationBody{Kind: KindWindowClosing, At: apijson.TS(ev.At)}}}
		}
	}
	return nil
}

// Image is a decoded stream image (store.Image without the store).
type Image struct {
	Conversation *inbox.Conversation
	Message      *inbox.Message
	Event        *inbox.Event
}

// Recipients are the users whose connections may get a change of conv: the organization's
// admins, the department's members, the assignee, the collaborators; before, for a
// conversation.updated, adds those who saw the conversation until now (a collaborator who
// left, or whom its closing let go, learns it is gone). Each connection's user is checked
// with For.
func Recipients(c Change, conv *inbox.Conversation) (dept []string, users []string) {
	if c.Type == Notification {
		to := c.To
		if to == "" {
			to = conv.AssigneeID
		}
		return nil, []string{to}
	}
	dept, users = []string{conv.DepartmentID}, append([]string{conv.AssigneeID}, conv.Collaborators...)
	if b := c.Before; b != nil {
		if b.DepartmentID != conv.DepartmentID {
			dept = append(dept, b.DepartmentID)
		}
		if b.AssigneeID != conv.AssigneeID {
			users = append(users, b.AssigneeID)
		}
		for _, u := range b.Collaborators {
			if !conv.HasCollaborator(u) {
				users = append(users, u)
			}
		}
	}
	return dept, users
}

// For renders change c of conversation conv (on line) for user u, who has seen seen of its
// customer messages; ok is false when u may not see it. The check is access.Visible, the
// API's, against the user as stored now: a user who lost a department, was disabled or was
// deleted gets nothing more.
func For(c Change, conv *inbox.Conversation, line *inbox.Line, u *inbox.User, seen int, now time.Time) (Event, bool) {
	ev := Event{ID: c.ID, Type: c.Type, ConversationID: conv.ID}
	if u == nil || access.Enabled(u) != nil {
		return Event{}, false // disabled or deleted since they connected
	}
	if !access.Visible(u, conv, line) {
		if c.Type == ConversationUpdated && c.Before != nil && access.Visible(u, c.Before, line) {
			return Event{ID: c.ID, Type: ConversationRemoved, ConversationID: conv.ID}, true
		}
		return Event{}, false
	}
	sum := apijson.RenderConversation(conv, u.ID, seen, now)
	ev.Conversation = &sum
	switch c.Type {
	case MessageCreated, MessageStatus:
		ev.Message = c.Entry
	case NoteCreated:
		ev.Note = c.Entry
	case Notification:
		to := c.To
		if to == "" {
			to = conv.AssigneeID
		}
		if u.ID != to {
			return Event{}, false
		}
		ev.Notification = c.Notification
	}
	return ev, true
}

// StreamMapping is the fan-out's event source mapping on the table's stream, as the stack
// declares it and the local poller plays it.
var StreamMapping = struct {
	BatchSize int // records per invocation
	// BatchingWindow (MaximumBatchingWindowInSeconds, whole seconds): records are gathered
	// until the batch is full or this long. A socket gets one post per invocation for every
	// 32 KB of its events, and API Gateway bills per post: fuller batches, fewer posts.
	BatchingWindow time.Duration
	MaxRetries     int           // retries of a failing (sub)batch, after bisecting it
	MaxRecordAge   time.Duration // older records are discarded to the on-failure queue
	// Filters are Lambda filter patterns: only conversation and timeline items reach the
	// function; read markers, workloads, connections and the rest are dropped before an
	// invocation, and not billed.
	Filters []string
}{
	BatchSize:      1000,
	BatchingWindow: time.Second,
	MaxRetries:     3,
	MaxRecordAge:   time.Hour, // a realtime event older than that is noise: clients refetch on reconnect
	Filters:        []string{`{"dynamodb": {"Keys": {"SK": {"S": ["CONV", {"prefix": "M#"}]}}}}`},
}
