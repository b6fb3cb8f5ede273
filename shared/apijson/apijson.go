// Package apijson holds the JSON shapes the agent API answers with for a conversation summary
// and a timeline entry, so the realtime events carry exactly what the list view and the thread
// return and a client needs no refetch.
package apijson

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/inbox"
)

// Contact is a conversation's customer.
type Contact struct {
	WaID string `json:"wa_id"`
	Name string `json:"name"`
}

// Preview is the last message of a conversation.
type Preview struct {
	Text      string `json:"text"`
	Direction string `json:"direction"`
	Type      string `json:"type"`
	At        string `json:"at"`
}

// Conversation is a conversation summary as one user sees it in a list.
type Conversation struct {
	ID              string   `json:"id"`
	LineID          string   `json:"line_id"`
	Contact         Contact  `json:"contact"`
	Status          string   `json:"status"`
	DepartmentID    *string  `json:"department_id"`
	AssigneeID      *string  `json:"assignee_id"`
	Badge           string   `json:"badge"`            // unassigned, mine, others
	UnreadCount     int      `json:"unread_count"`     // the viewer's: customer messages they have not read
	UnansweredCount int      `json:"unanswered_count"` // everyone's: customer messages since the last reply
	LastActivityAt  string   `json:"last_activity_at"`
	WindowExpiresAt *string  `json:"window_expires_at"`
	WindowOpen      bool     `json:"window_open"`
	LastMessage     *Preview `json:"last_message"`
	Cycle           int      `json:"cycle"`
	Labels          []string `json:"labels"`
	Collaborators   []string `json:"collaborators"` // user ids pulled into the open conversation (A7)
	CloseReason     string   `json:"close_reason,omitempty"`
	Route           string   `json:"route,omitempty"`
}

// RenderConversation renders cv for viewer, who has seen the first seen customer messages of
// it (their read marker), at now.
func RenderConversation(cv *inbox.Conversation, viewer string, seen int, now time.Time) Conversation {
	badge := "unassigned"
	switch cv.AssigneeID {
	case "":
	case viewer:
		badge = "mine"
	default:
		badge = "others"
	}
	out := Conversation{
		ID: cv.ID, LineID: cv.LineID, Contact: Contact{WaID: cv.Contact.WaID, Name: cv.Contact.Name},
		Status: string(cv.Status), DepartmentID: optString(cv.DepartmentID), AssigneeID: optString(cv.AssigneeID),
		Badge: badge, UnreadCount: max(0, cv.InboundCount-seen), UnansweredCount: cv.UnreadCount, LastActivityAt: TS(cv.LastActivityAt),
		WindowExpiresAt: optTime(cv.WindowExpiresAt), WindowOpen: cv.WindowOpen(now), Cycle: cv.Cycle,
		Labels: NonNil(cv.Labels), Collaborators: NonNil(cv.Collaborators), CloseReason: cv.CloseReason, Route: cv.RouteRule,
	}
	if !cv.Preview.At.IsZero() {
		out.LastMessage = &Preview{Text: cv.Preview.Text, Direction: string(cv.Preview.Direction), Type: cv.Preview.Type, At: TS(cv.Preview.At)}
	}
	return out
}

// Error is a provider's reason for a failed message.
type Error struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
}

// Entry is one timeline entry: a message (kind "message") or an event (kind "event").
type Entry struct {
	Kind              string            `json:"kind"`
	ID                string            `json:"id"`
	CreatedAt         string            `json:"created_at"`
	ProviderMessageID string            `json:"provider_message_id,omitempty"`
	Direction         string            `json:"direction,omitempty"`
	Type              string            `json:"type"`
	Text              string            `json:"text,omitempty"`
	Status            string            `json:"status,omitempty"`
	StatusTimes       map[string]string `json:"status_times,omitempty"`
	Error             *Error            `json:"error,omitempty"`
	AgentID           string            `json:"agent_id,omitempty"`
	Automatic         bool              `json:"automatic,omitempty"`
	ReplyTo           string            `json:"reply_to,omitempty"`
	Reactions         map[string]string `json:"reactions,omitempty"`
	Media             *Media            `json:"media,omitempty"`
	MoreMedia         []*Media          `json:"more_media,omitempty"` // a Twilio message's attachments after the first
	Location          *Location         `json:"location,omitempty"`
	Reply             *Reply            `json:"reply,omitempty"`
	Contacts          []Card            `json:"contacts,omitempty"`
	Order             *Order            `json:"order,omitempty"`
	Reaction          *Reaction         `json:"reaction,omitempty"`
	ActorID           string            `json:"actor_id,omitempty"`
	Details           map[string]string `json:"details,omitempty"`
}

// Media is a message's attachment as the API shows it: url is a short-lived (≤ 5 min) URL
// of Buzón's copy once it is ready, which the API adds (events carry none: a client asks
// GET …/media/{id}, which redirects to a fresh one).
type Media struct {
	ID       string `json:"id"`
	URL      string `json:"url,omitempty"`
	Link     string `json:"link,omitempty"` // an agent's send by link: the link
	MimeType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Filename string `json:"filename,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
	Status   string `json:"status,omitempty"` // pending, ready, unavailable, failed (customers' attachments)
	Reason   string `json:"reason,omitempty"`
}

// Location is a shared location as the API shows it.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Message renders a message of the timeline.
func Message(m *inbox.Message) Entry {
	e := Entry{
		Kind: "message", ID: m.ID, CreatedAt: TS(m.At), ProviderMessageID: m.ProviderID, Direction: string(m.Direction),
		Type: m.Type, Text: m.Text, Status: string(m.Status), AgentID: m.AgentID, Automatic: m.Automatic,
		ReplyTo: m.ReplyTo, Reactions: m.Reactions,
	}
	for i, md := range Attachments(m) {
		if i == 0 && m.Media != nil {
			e.Media = mediaOf(m, 0, md)
		} else {
			e.MoreMedia = append(e.MoreMedia, mediaOf(m, i, md))
		}
	}
	if l := m.Location; l != nil {
		e.Location = &Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	}
	if len(m.StatusAt) > 0 {
		e.StatusTimes = map[string]string{}
		for k, v := range m.StatusAt {
			e.StatusTimes[string(k)] = TS(v)
		}
	}
	if m.Error != nil {
		e.Error = &Error{Code: m.Error.Code, Title: m.Error.Title, Message: m.Error.Message}
	}
	withContent(m, &e)
	return e
}

// Attachments is every attachment of m, in order.
func Attachments(m *inbox.Message) []inbox.Media {
	var all []inbox.Media
	if m.Media != nil {
		all = append(all, *m.Media)
	}
	return append(all, m.MoreMedia...)
}

// MediaID is the id the API gives an attachment: where it is on the thread (the message's
// time) and which of the message's attachments it is. With the message id it is the
// attachment's address, so the API's redirect reads one item.
func MediaID(m *inbox.Message, index int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(m.At.UnixMilli(), 10) + "." + strconv.Itoa(index)))
}

// mediaOf is an attachment as the API shows it, without its URL.
func mediaOf(m *inbox.Message, index int, md inbox.Media) *Media {
	j := &Media{ID: MediaID(m, index), MimeType: md.MimeType, Size: md.Size, SHA256: md.SHA256, Filename: md.Filename,
		Voice: md.Voice, Animated: md.Animated, Status: string(md.Status), Reason: md.Reason}
	if index == 0 && m.Type != "audio" && m.Type != "sticker" {
		j.Caption = m.Text
	}
	if md.Status == "" && md.URL != "" && !strings.Contains(md.URL, "api.twilio.com") {
		j.Link = md.URL // an agent's send by link
	}
	return j
}

// Event renders an event of the timeline (assigned, transferred, note, ...).
func Event(e *inbox.Event) Entry {
	return Entry{Kind: "event", ID: e.ID, CreatedAt: TS(e.At), Type: string(e.Type), ActorID: e.ActorID, Details: e.Details}
}

// TS is the API's time format.
func TS(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := TS(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NonNil is s, or an empty list for nil, so JSON shows [] rather than null.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
