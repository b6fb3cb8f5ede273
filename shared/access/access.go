// Package access decides who may see and do what with a conversation (U1–U4): admins
// everything of their organization; agents their departments' conversations on lines they are
// authorized for, and what is assigned to them; sellers only what is assigned to them; no-inbox
// users nothing. Organization isolation is checked first, always.
package access

import (
	"errors"

	"github.com/buzon/buzon/shared/inbox"
)

// ErrForbidden is a refusal: the user may see the conversation but not do this.
var ErrForbidden = errors.New("access: forbidden")

// ErrInvisible means the user may not even know the conversation exists (another organization,
// another department): the API answers 404, not 403.
var ErrInvisible = errors.New("access: not visible")

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
)

// Visible reports whether u may see c (on line).
func Visible(u *inbox.User, c *inbox.Conversation, line *inbox.Line) bool {
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

// Check returns nil if u may do a to c, ErrInvisible if u may not see c, ErrForbidden if u sees
// c but may not do this.
func Check(u *inbox.User, a Action, c *inbox.Conversation, line *inbox.Line) error {
	if !Visible(u, c, line) {
		return ErrInvisible
	}
	admin := u.Role == inbox.RoleAdmin
	mine := c.AssigneeID == u.ID
	unassigned := c.AssigneeID == ""
	switch a {
	case Read, Note:
		return nil
	case Claim:
		// Sellers work only what they are given; admins and agents take from the queue.
		if u.Role == inbox.RoleSeller && !mine {
			return ErrForbidden
		}
		return nil
	case Assign:
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
		if admin || mine || (unassigned && u.Role == inbox.RoleAgent) {
			return nil
		}
	}
	return ErrForbidden
}
