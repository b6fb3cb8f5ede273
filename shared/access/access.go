// Package access decides who may see and do what (U1–U4): admins everything of their
// organization; agents their departments' conversations on lines they are authorized for, and
// what is assigned to them; sellers only what is assigned to them; no-inbox users (editors)
// nothing of the inbox. Organization isolation is checked first, always.
//
// It is the only place that compares roles: the API's route table names a Rule for each
// route, the workflows check an Action on the conversation they change, and a test keeps role
// comparisons out of the API's handlers.
package access

import (
	"errors"

	"github.com/buzon/buzon/shared/inbox"
)

// Denial is a refusal: the user may know the thing exists but not do this. Reason is what the
// user is told. Every Denial is an ErrForbidden.
type Denial struct {
	Reason string
}

func (d *Denial) Error() string { return "access: " + d.Reason }

// Is makes every Denial an ErrForbidden.
func (d *Denial) Is(target error) bool { return target == ErrForbidden }

// Refusals, each with the reason the user reads.
var (
	// ErrForbidden is the refusal of an action on a conversation the user sees.
	ErrForbidden = &Denial{"your role does not allow this on this conversation"}

	ErrNoInbox            = &Denial{"your role has no inbox"}
	ErrAdminsOnly         = &Denial{"only admins manage the organization"}
	ErrEditorsOnly        = &Denial{"only admins and editors manage quick replies"}
	ErrLabelCreatorsOnly  = &Denial{"only admins and agents create labels"}
	ErrOthersAvailability = &Denial{"only admins see or set another user's availability"}
	ErrCapacity           = &Denial{"only admins set capacity (max_open)"}
	ErrNotMember          = &Denial{"you are not a member of that department"}
	ErrOthersAssigned     = &Denial{"sellers see only their own conversations"}
	ErrLineUnauthorized   = &Denial{"you are not authorized for this line"}
	ErrLineDepartment     = &Denial{"this line routes to a department you are not a member of"}
	// ErrNotYourContact: sellers start conversations only with contacts they own.
	ErrNotYourContact = &Denial{"sellers start conversations only with contacts they own"}
	ErrOthersContacts = &Denial{"sellers see only their own contacts"}
	ErrContactOwner   = &Denial{"only admins change a contact's owner"}
	ErrDisabled       = &Denial{"your user is disabled; ask an admin"}
	ErrRemoved        = &Denial{"your user was removed from the organization"}
	// ErrCollaboratorsOnly: a collaborator who would not see the conversation otherwise.
	ErrCollaboratorsOnly = &Denial{"as a collaborator you read, write notes, leave and, where the line allows it, reply"}
	ErrNotCollaborating  = &Denial{"you are not a collaborator of this conversation"}
)

// ErrContactInvisible: a contact the user may not know (a seller and another's contact): the
// API answers 404, as for a contact that does not exist.
var ErrContactInvisible = errors.New("access: contact not visible")

// ErrInvisible means the user may not even know the conversation exists (another organization,
// another department): the API answers 404, not 403.
var ErrInvisible = errors.New("access: not visible")

// Rule is a role rule about the caller alone, checked before anything is read: the API's route
// table names one per route. Rules about a conversation are Actions (Check).
type Rule func(u *inbox.User) error

// Enabled: a disabled or deleted user is refused on every request, whatever their token says (the API
// checks it before any route's rule).
func Enabled(u *inbox.User) error {
	switch {
	case u.Deleted:
		return ErrRemoved
	case u.Disabled:
		return ErrDisabled
	}
	return nil
}

// Anyone of the organization (every caller is one: the API resolves the caller in its
// organization first). Routes on a conversation use it and check their Action on the
// conversation itself.
func Anyone(*inbox.User) error { return nil }

// Inbox: users with an inbox (everyone but editors) list conversations, lines, start
// conversations.
func Inbox(u *inbox.User) error {
	if !HasInbox(u) {
		return ErrNoInbox
	}
	return nil
}

// ManageOrganization: departments, users, lines, their automation and assignment rules,
// template sync: admins.
func ManageOrganization(u *inbox.User) error {
	if u.Role != inbox.RoleAdmin {
		return ErrAdminsOnly
	}
	return nil
}

// ManageQuickReplies: admins and editors write the organization's quick replies.
func ManageQuickReplies(u *inbox.User) error {
	if u.Role != inbox.RoleAdmin && u.Role != inbox.RoleNoInbox {
		return ErrEditorsOnly
	}
	return nil
}

// CreateLabels: admins and agents create labels inline.
func CreateLabels(u *inbox.User) error {
	if u.Role != inbox.RoleAdmin && u.Role != inbox.RoleAgent {
		return ErrLabelCreatorsOnly
	}
	return nil
}

// HasInbox reports whether u works conversations at all: may be assigned one, take from
// the queues, start one.
func HasInbox(u *inbox.User) bool { return u != nil && u.Role != inbox.RoleNoInbox }

// Availability: users see and set their own availability; admins anyone's.
func Availability(u *inbox.User, target string) error {
	if target != u.ID && u.Role != inbox.RoleAdmin {
		return ErrOthersAvailability
	}
	return nil
}

// SetCapacity: admins set how many open conversations a user holds at most.
func SetCapacity(u *inbox.User) error {
	if u.Role != inbox.RoleAdmin {
		return ErrCapacity
	}
	return nil
}

// Queues are the departments whose shared queues u reads in the conversation list ("" is the
// "no route" queue), narrowed to dept if not "": admins read every department of the
// organization (orgDepartments, read only for them) and the "no route" queue; agents their
// own; sellers none (they work only what is assigned to them).
func Queues(u *inbox.User, dept string, orgDepartments func() ([]string, error)) ([]string, error) {
	if !HasInbox(u) {
		return nil, ErrNoInbox
	}
	depts := u.Departments
	if u.Role == inbox.RoleAdmin {
		all, err := orgDepartments()
		if err != nil {
			return nil, err
		}
		depts = append([]string{""}, all...)
	}
	if dept != "" {
		if u.Role != inbox.RoleAdmin && !u.InDepartment(dept) {
			return nil, ErrNotMember
		}
		depts = []string{dept}
	}
	if u.Role == inbox.RoleSeller {
		depts = nil
	}
	return depts, nil
}

// ListAssignee: a list filtered by assignee shows a seller only their own conversations.
func ListAssignee(u *inbox.User, assignee string) error {
	if u.Role == inbox.RoleSeller && assignee != u.ID {
		return ErrOthersAssigned
	}
	return nil
}

// StartOn: who may start a conversation on line: admins on any; others on lines they are
// authorized for, and agents only on lines routed to one of their departments.
func StartOn(u *inbox.User, line *inbox.Line) error {
	switch {
	case u.Role == inbox.RoleAdmin:
	case !line.Authorizes(u.ID):
		return ErrLineUnauthorized
	case u.Role == inbox.RoleAgent && (line.DepartmentID == "" || !u.InDepartment(line.DepartmentID)):
		return ErrLineDepartment
	}
	return nil
}

// NewContactOwner is the owner of a contact u creates by starting a conversation: a seller's
// contacts are theirs; anyone else's belong to nobody.
func NewContactOwner(u *inbox.User) string {
	if u.Role == inbox.RoleSeller {
		return u.ID
	}
	return ""
}

// StartWith: sellers start conversations only with contacts they own.
func StartWith(u *inbox.User, ct *inbox.Contact) error {
	if u.Role == inbox.RoleSeller && ct.OwnerID != u.ID {
		return ErrNotYourContact
	}
	return nil
}

// SeeContact: sellers see only the contacts they own; everyone else with an inbox sees all of
// the organization's.
func SeeContact(u *inbox.User, ct *inbox.Contact) error {
	if u.OrgID != ct.OrgID || (u.Role == inbox.RoleSeller && ct.OwnerID != u.ID) {
		return ErrContactInvisible
	}
	return nil
}

// ContactsOwner is the owner a user's contact listing is narrowed to: asked (maybe none),
// except for sellers, who list only their own.
func ContactsOwner(u *inbox.User, asked string) (string, error) {
	if u.Role == inbox.RoleSeller {
		if asked != "" && asked != u.ID {
			return "", ErrOthersContacts
		}
		return u.ID, nil
	}
	return asked, nil
}

// EditContact: whoever sees a contact edits its name, email and fields; only admins change
// its owner.
func EditContact(u *inbox.User, ct *inbox.Contact, changesOwner bool) error {
	if err := SeeContact(u, ct); err != nil {
		return err
	}
	if changesOwner && u.Role != inbox.RoleAdmin {
		return ErrContactOwner
	}
	return nil
}

// Action is something a user does to a conversation.
type Action string

// Actions.
const (
	Read     Action = "read" // read the thread, mark read
	Note     Action = "note"
	Claim    Action = "claim"
	Assign   Action = "assign" // to another agent
	Return   Action = "return"
	Transfer Action = "transfer"
	Close    Action = "close"
	Reopen   Action = "reopen"
	Send     Action = "send"
	Route    Action = "route" // give a "no route" conversation its line's new department
	// Collaborate adds or removes another user as a collaborator (A7); Leave is a
	// collaborator removing themselves.
	Collaborate Action = "collaborate"
	Leave       Action = "leave"
)

// Visible reports whether u may see c (on line): by role and department, or as one of its
// collaborators (A7).
func Visible(u *inbox.User, c *inbox.Conversation, line *inbox.Line) bool {
	return sees(u, c, line) || collaborates(u, c)
}

// collaborates reports whether u was pulled into c as a collaborator.
func collaborates(u *inbox.User, c *inbox.Conversation) bool {
	return u != nil && c != nil && u.OrgID == c.OrgID && c.HasCollaborator(u.ID)
}

// sees reports whether u may see c (on line) by role and department alone.
func sees(u *inbox.User, c *inbox.Conversation, line *inbox.Line) bool {
	if u == nil || c == nil || u.OrgID != c.OrgID {
		return false
	}
	switch u.Role {
	case inbox.RoleAdmin:
		return true
	case inbox.RoleAgent:
		if c.AssigneeID == u.ID {
			return true
		}
		return c.DepartmentID != "" && u.InDepartment(c.DepartmentID) && (line == nil || line.Authorizes(u.ID))
	case inbox.RoleSeller:
		return c.AssigneeID == u.ID
	}
	return false
}

// collaboratorReplies reports whether u, a collaborator of c, may write to its customer: the
// line's setting (A7).
func collaboratorReplies(u *inbox.User, c *inbox.Conversation, line *inbox.Line) bool {
	return collaborates(u, c) && line != nil && line.CollaboratorsReply
}

// Check returns nil if u may do a to c, ErrInvisible if u may not see c, ErrForbidden if u sees
// c but may not do this.
func Check(u *inbox.User, a Action, c *inbox.Conversation, line *inbox.Line) error {
	if !Visible(u, c, line) {
		return ErrInvisible
	}
	if !sees(u, c, line) {
		// A collaborator who would not see it otherwise reads, notes, replies where the
		// line allows it, and leaves; nothing else.
		switch {
		case a == Read || a == Note || a == Leave:
			return nil
		case a == Send && collaboratorReplies(u, c, line):
			return nil
		}
		return ErrCollaboratorsOnly
	}
	admin := u.Role == inbox.RoleAdmin
	mine := c.AssigneeID == u.ID
	unassigned := c.AssigneeID == ""
	switch a {
	case Read, Note:
		return nil
	case Collaborate:
		// The assignee or an admin pulls colleagues in and lets them go.
		if admin || mine {
			return nil
		}
	case Leave:
		if collaborates(u, c) {
			return nil
		}
		return ErrNotCollaborating
	case Claim:
		// Sellers work only what they are given; admins and agents take from the queue.
		if u.Role == inbox.RoleSeller && !mine {
			return ErrForbidden
		}
		return nil
	case Assign, Route:
		if admin {
			return nil
		}
	case Return:
		if admin || mine {
			return nil
		}
	case Transfer:
		// Only an admin moves what someone else holds.
		if admin || mine || (unassigned && u.Role == inbox.RoleAgent) {
			return nil
		}
	case Close:
		if admin || mine || (unassigned && u.Role == inbox.RoleAgent) {
			return nil
		}
	case Reopen:
		if admin || u.Role == inbox.RoleAgent || mine {
			return nil
		}
	case Send:
		if admin || mine || (unassigned && u.Role == inbox.RoleAgent) || collaboratorReplies(u, c, line) {
			return nil
		}
	}
	return ErrForbidden
}
