package inbox

import (
	"time"

	"github.com/buzon/buzon/shared/hours"
)

// Role is what a user may do (U1).
type Role string

// Roles.
const (
	RoleAdmin   Role = "admin"   // everything in the organization
	RoleAgent   Role = "agent"   // conversations of their departments
	RoleSeller  Role = "seller"  // only conversations assigned to them
	RoleNoInbox Role = "noinbox" // no conversations (editor)
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	switch r {
	case RoleAdmin, RoleAgent, RoleSeller, RoleNoInbox:
		return true
	}
	return false
}

// Organization is a tenant; nothing crosses from one to another.
type Organization struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person of an organization.
type User struct {
	ID          string
	OrgID       string
	Email       string
	Name        string
	Role        Role
	Departments []string
	Available   bool
	MaxOpen     int // 0: no capacity limit
	// Disabled users are refused on their next request, whatever their token says, and take
	// no conversations.
	Disabled bool
	// Deleted users are disabled for good: kept so the timeline, reports and audit still
	// name them, left out of every list, and no longer found by their email.
	Deleted bool
}

// InDepartment reports whether the user is a member of dept.
func (u *User) InDepartment(dept string) bool {
	for _, d := range u.Departments {
		if d == dept {
			return true
		}
	}
	return false
}

// Department groups users; its conversations are visible only to its members (and admins).
type Department struct {
	ID    string
	OrgID string
	Name  string
}

// LineState is a line's connection state (L4).
type LineState string

// Line states.
const (
	LineActive LineState = "active"
	LinePaused LineState = "paused"
	LineError  LineState = "error"
	// LineDeleted: the line's history is kept, read-only; it sends nothing and its number
	// is free for another line.
	LineDeleted LineState = "deleted"
)

// Line is one WhatsApp business number of an organization.
type Line struct {
	ID       string
	OrgID    string
	Provider string // meta or twilio
	// Address is the provider's routing key: Meta phone_number_id, or the Twilio number (+E164).
	Address      string
	Display      string // display phone number
	Account      string // Meta WABA id or Twilio account SID
	DepartmentID string // route; empty: "no route"
	Authorized   []string
	State        LineState
	CreatedAt    time.Time
	// Hours are the line's business hours (R2); nil: always open.
	Hours *hours.Spec
	// AutoReplies answer customer messages by themselves (R3), in order.
	AutoReplies []AutoReply
	// CollaboratorsReply lets a conversation's collaborators (A7) write to the customer;
	// otherwise they write notes only.
	CollaboratorsReply bool
}

// Authorizes reports whether user may work this line's conversations: lines with no
// authorized list are open to every member of the department.
func (l *Line) Authorizes(userID string) bool {
	if len(l.Authorized) == 0 {
		return true
	}
	for _, u := range l.Authorized {
		if u == userID {
			return true
		}
	}
	return false
}

// Contact is a customer known by their WhatsApp id.
type Contact struct {
	OrgID string
	WaID  string
	// Name is the name shown: an agent's (Named) or else the customer's WhatsApp profile name.
	Name string
	// ProfileName is the customer's WhatsApp profile name, as their latest message said it.
	ProfileName string
	// Named says an agent set Name: the profile name no longer replaces it.
	Named   bool
	Email   string
	OwnerID string
	Fields  map[string]string
	// LineIDs are the lines the contact has a conversation on (conversation ids derive from
	// org, line and WaID), so a search finds every conversation of a contact.
	LineIDs   []string
	CreatedAt time.Time
	Version   int // bumped by every write: an edit is a conditional write on it
}
