package inbox

import (
	"errors"
	"slices"
)

// Errors of collaborators (A7).
var (
	ErrTooManyCollaborators = errors.New("inbox: too many collaborators on the conversation")
	ErrCollaboratorHolds    = errors.New("inbox: the assignee is not a collaborator of their own conversation")
	ErrNotCollaborator      = errors.New("inbox: the user is not a collaborator of the conversation")
)

// MaxCollaborators bounds the collaborators of one conversation: they ride on the conversation
// item, which every list view and realtime event reads, and each adds its id to it.
const MaxCollaborators = 5

// HasCollaborator reports whether user collaborates on the conversation.
func (c *Conversation) HasCollaborator(user string) bool {
	return user != "" && slices.Contains(c.Collaborators, user)
}

// AddCollaborator pulls user into the open conversation (A7): they see it, write notes and,
// where the line allows it, replies. The assignee is not their own collaborator.
func (c *Conversation) AddCollaborator(user string) error {
	switch {
	case c.Status != StatusOpen:
		return ErrClosed
	case c.AssigneeID == user:
		return ErrCollaboratorHolds
	case c.HasCollaborator(user):
		return ErrSameTarget
	case len(c.Collaborators) >= MaxCollaborators:
		return ErrTooManyCollaborators
	}
	c.Collaborators = append(c.Collaborators, user)
	return nil
}

// RemoveCollaborator lets user go (they leave, or the assignee or an admin removes them).
func (c *Conversation) RemoveCollaborator(user string) error {
	i := slices.Index(c.Collaborators, user)
	if i < 0 || user == "" {
		return ErrNotCollaborator
	}
	c.Collaborators = slices.Delete(slices.Clone(c.Collaborators), i, i+1)
	if len(c.Collaborators) == 0 {
		c.Collaborators = nil
	}
	return nil
}
