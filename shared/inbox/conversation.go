// Package inbox is Buzón's domain: organizations, lines, contacts, conversations, messages and
// the thread events, with the transitions that guard their invariants. It does no I/O; the
// store persists these types and the functions call their methods.
package inbox

import (
	"errors"
	"time"
	"unicode/utf8"
)

// Errors returned by conversation transitions.
var (
	ErrAlreadyAssigned = errors.New("inbox: conversation is already assigned")
	ErrNotAssigned     = errors.New("inbox: conversation is not assigned")
	ErrClosed          = errors.New("inbox: conversation is done")
	ErrOpen            = errors.New("inbox: conversation is open")
	ErrSameTarget      = errors.New("inbox: conversation is already there")
)

// ConversationStatus is open or done.
type ConversationStatus string

// Conversation statuses.
const (
	StatusOpen ConversationStatus = "open"
	StatusDone ConversationStatus = "done"
)

// ServiceWindow is how long a customer message keeps free-form replies possible.
const ServiceWindow = 24 * time.Hour

// ReferralWindow is the free entry window of a conversation started from a click-to-WhatsApp
// ad or post.
const ReferralWindow = 72 * time.Hour

// previewRunes and previewBytes cap the last-message preview kept on the conversation, and
// nameBytes its copy of the contact's name, so the conversation item (and its index copies)
// stays under 1 KB: one write unit per write (store's TestConversationItemUnder1KB). 80 runes
// of Latin text fit the bytes; text of emoji or other scripts is cut sooner.
const (
	previewRunes = 80
	previewBytes = 100
	nameBytes    = 64
)

// Conversation is one customer's thread on one line: a single item per (line, customer) that
// goes through cycles of open and done.
type Conversation struct {
	ID           string
	OrgID        string
	LineID       string
	Contact      ContactRef
	Status       ConversationStatus
	DepartmentID string // empty: the line has no route ("no route" state)
	AssigneeID   string
	Cycle        int
	Labels       []string
	// Collaborators are agents the assignee or an admin pulled into the open conversation
	// (A7); a collaboration ends when they leave or the conversation closes.
	Collaborators []string

	CreatedAt       time.Time
	LastActivityAt  time.Time
	LastInboundAt   time.Time
	WindowExpiresAt time.Time
	// WindowOpenedAt is when the current customer service window opened: the customer message
	// that found the window closed. Auto-replies are sent at most once per window (R3).
	WindowOpenedAt time.Time
	// UnreadCount is the conversation's customer messages not answered yet: reset by a reply
	// or by closing. It is the same for everyone; what one agent has not read is
	// InboundCount minus the count on that agent's read marker (V4).
	UnreadCount int
	// InboundCount counts every customer message the conversation received; it never
	// decreases, so a read marker that holds the count an agent saw stays valid.
	InboundCount int
	Preview      Preview

	ClosedAt    time.Time
	CloseReason string
	RouteRule   string // the rule or step that put it where it is (V7)

	// LastAppliedID is the provider id of the last inbound message applied, so that a consumer
	// that died between updating the conversation and storing the message does not count the
	// message twice when it is redelivered.
	LastAppliedID string
	Version       int
}

// ContactRef is the part of a contact a conversation list needs.
type ContactRef struct {
	WaID string
	Name string
	// ProfileName and Named are the contact's (see Contact): a customer message updates
	// ProfileName, and Name too unless an agent named the contact.
	ProfileName string
	Named       bool
}

// Preview is the last message of a conversation, as a list shows it.
type Preview struct {
	Text      string
	Direction Direction
	Type      string
	At        time.Time
}

// ConversationID is the deterministic id of the conversation of customer waID on a line, so
// every consumer derives the same id without a lookup.
func ConversationID(orgID, lineID, waID string) string {
	return "c_" + hashID(orgID+"\x00"+lineID+"\x00"+waID)
}

// NewConversation returns the conversation of a customer on a line, not open yet: its first
// message (ApplyInbound) or an agent's first template (Open) opens cycle 1.
func NewConversation(orgID, lineID string, contact ContactRef, now time.Time) *Conversation {
	return &Conversation{
		ID:        ConversationID(orgID, lineID, contact.WaID),
		OrgID:     orgID,
		LineID:    lineID,
		Contact:   ContactRef{WaID: contact.WaID, Name: ClipName(contact.Name), ProfileName: ClipName(contact.ProfileName), Named: contact.Named},
		CreatedAt: now,
	}
}

// Open starts a new cycle of a conversation that is not open, in department dept.
func (c *Conversation) Open(dept string) error {
	if c.Status == StatusOpen {
		return ErrOpen
	}
	c.Status = StatusOpen
	c.Cycle++
	c.AssigneeID = ""
	c.DepartmentID = dept
	c.ClosedAt = time.Time{}
	c.CloseReason = ""
	c.RouteRule = ""
	return nil
}

// CustomerMessage is what a conversation needs to know of a new customer message.
type CustomerMessage struct {
	ProviderID  string
	At          time.Time // provider time, or receipt time when the provider sends none
	Preview     Preview
	ProfileName string
	Referral    bool // started from a click-to-WhatsApp ad: 72 h entry window
}

// ApplyInbound records a customer message on the conversation (counted in UnreadCount and
// InboundCount). It reports whether the message opened a new cycle (a new conversation, or a
// done one that reopens and must be routed again). A message older than the latest one
// (providers deliver out of order) counts as unread but moves neither the last activity nor
// the window backwards. routeTo is the line's current department.
func (c *Conversation) ApplyInbound(m CustomerMessage, routeTo string) (reopened bool) {
	if c.LastAppliedID == m.ProviderID && m.ProviderID != "" {
		return false
	}
	c.LastAppliedID = m.ProviderID
	if c.Status != StatusOpen {
		_ = c.Open(routeTo)
		reopened = true
	}
	if m.ProfileName != "" {
		c.Contact.ProfileName = ClipName(m.ProfileName)
		if !c.Contact.Named {
			c.Contact.Name = c.Contact.ProfileName
		}
	}
	c.UnreadCount++
	c.InboundCount++
	if m.At.After(c.LastInboundAt) {
		c.LastInboundAt = m.At
		window := ServiceWindow
		if m.Referral {
			window = ReferralWindow
		}
		if !c.WindowExpiresAt.After(m.At) {
			c.WindowOpenedAt = m.At
		}
		if exp := m.At.Add(window); exp.After(c.WindowExpiresAt) {
			c.WindowExpiresAt = exp
		}
	}
	if !m.At.Before(c.LastActivityAt) {
		c.LastActivityAt = m.At
		c.Preview = m.Preview.trimmed()
	}
	return reopened
}

// ApplyOutbound records a message an agent (or automation) sent.
func (c *Conversation) ApplyOutbound(p Preview) {
	if !p.At.Before(c.LastActivityAt) {
		c.LastActivityAt = p.At
		c.Preview = p.trimmed()
	}
	c.UnreadCount = 0
}

// WindowOpen reports whether free-form messages may be sent at t.
func (c *Conversation) WindowOpen(t time.Time) bool {
	return t.Before(c.WindowExpiresAt)
}

// Claim assigns the conversation to agent, who takes it from the shared inbox.
func (c *Conversation) Claim(agent string) error {
	switch {
	case c.Status == StatusDone:
		return ErrClosed
	case c.AssigneeID == agent:
		return ErrSameTarget
	case c.AssigneeID != "":
		return ErrAlreadyAssigned
	}
	c.AssigneeID = agent
	c.RouteRule = "claimed"
	return nil
}

// Assign gives the conversation to agent whoever holds it (an admin's action).
func (c *Conversation) Assign(agent, rule string) error {
	if c.Status == StatusDone {
		return ErrClosed
	}
	if c.AssigneeID == agent {
		return ErrSameTarget
	}
	c.AssigneeID = agent
	c.RouteRule = rule
	return nil
}

// Return puts the conversation back in its department's shared inbox.
func (c *Conversation) Return() error {
	if c.Status == StatusDone {
		return ErrClosed
	}
	if c.AssigneeID == "" {
		return ErrNotAssigned
	}
	c.AssigneeID = ""
	c.RouteRule = "returned"
	return nil
}

// TransferToDepartment moves the conversation to another department, unassigned.
func (c *Conversation) TransferToDepartment(dept string) error {
	if c.Status == StatusDone {
		return ErrClosed
	}
	if c.DepartmentID == dept && c.AssigneeID == "" {
		return ErrSameTarget
	}
	c.DepartmentID = dept
	c.AssigneeID = ""
	c.RouteRule = "transferred"
	return nil
}

// Close marks the conversation done with a closing reason.
func (c *Conversation) Close(reason string, at time.Time) error {
	if c.Status == StatusDone {
		return ErrClosed
	}
	c.Status = StatusDone
	c.CloseReason = reason
	c.ClosedAt = at
	c.UnreadCount = 0
	c.Collaborators = nil // the collaborating views list open conversations only
	return nil
}

// Reopen opens a done conversation again; it keeps its department and is unassigned unless
// reopenedBy takes it.
func (c *Conversation) Reopen(reopenedBy string) error {
	if c.Status == StatusOpen {
		return ErrOpen
	}
	c.Status = StatusOpen
	c.Cycle++
	c.AssigneeID = reopenedBy
	c.ClosedAt = time.Time{}
	c.CloseReason = ""
	c.RouteRule = "reopened"
	return nil
}

// MoveToDepartment files the conversation, open or done, under dept with whoever holds it:
// its department was deleted.
func (c *Conversation) MoveToDepartment(dept, rule string) {
	c.DepartmentID = dept
	c.RouteRule = rule
}

// Route gives a "no route" conversation the department its line now routes to.
func (c *Conversation) Route(dept string) bool {
	if c.DepartmentID != "" || dept == "" {
		return false
	}
	c.DepartmentID = dept
	c.RouteRule = "line route"
	return true
}

func (p Preview) trimmed() Preview {
	if utf8.RuneCountInString(p.Text) > previewRunes || len(p.Text) > previewBytes {
		p.Text = clip(p.Text, previewRunes-1, previewBytes-len("…")) + "…"
	}
	return p
}

// ClipName is the contact's name as a conversation keeps it (at most nameBytes); the contact
// keeps the whole name.
func ClipName(name string) string { return clip(name, nameBytes, nameBytes) }

// clip cuts s to at most runes runes and bytes bytes, on a rune boundary.
func clip(s string, runes, bytes int) string {
	end, n := 0, 0
	for end < len(s) && n < runes {
		_, size := utf8.DecodeRuneInString(s[end:])
		if end+size > bytes {
			break
		}
		end += size
		n++
	}
	return s[:end]
}
