package workflow

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// ErrCollaboratorDisabled: a disabled user is not pulled into a conversation.
var ErrCollaboratorDisabled = errors.New("workflow: the user is disabled")

// AddCollaborator pulls user id of the organization into an open conversation (A7): the
// assignee or an admin does it (access.Collaborate). The collaborator then sees it in their
// "collaborating" view, writes notes and, where the line allows it, replies; the timeline
// records it and the collaborator is notified (collaborator_added names them).
func (s *Service) AddCollaborator(ctx context.Context, by Caller, convID, id string) (*inbox.Conversation, error) {
	org := by.User.OrgID
	u, err := s.st.User(ctx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &UnknownError{Field: "user_id", Entity: "user", ID: id}
	}
	if err != nil {
		return nil, err
	}
	if !access.HasInbox(u) {
		return nil, ErrAssigneeHasNoInbox
	}
	if u.Disabled {
		return nil, ErrCollaboratorDisabled
	}
	return s.act(ctx, by, org, convID, access.Collaborate, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.AddCollaborator(id); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventCollaboratorAdded, map[string]string{"user_id": id}), nil
	})
}

// RemoveCollaborator ends user id's collaboration on a conversation: the collaborator leaves
// (id is the caller: access.Leave), or the assignee or an admin lets them go
// (access.Collaborate).
func (s *Service) RemoveCollaborator(ctx context.Context, by Caller, convID, id string) (*inbox.Conversation, error) {
	action := access.Collaborate
	if id == by.User.ID {
		action = access.Leave
	}
	return s.act(ctx, by, by.User.OrgID, convID, action, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if err := cv.RemoveCollaborator(id); err != nil {
			return nil, err
		}
		return s.event(by, inbox.EventCollaboratorRemoved, map[string]string{"user_id": id}), nil
	})
}

// Collaborating lists the open conversations u collaborates on, newest activity first: one
// Query of u's collaborations and one BatchGetItem per 100 of them.
func (s *Service) Collaborating(ctx context.Context, u *inbox.User) ([]*inbox.Conversation, error) {
	ids, err := s.st.Collaborations(ctx, u.OrgID, u.ID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	convs, err := s.st.Conversations(ctx, u.OrgID, ids)
	if err != nil {
		return nil, err
	}
	// The list is read eventually consistent: a conversation that just closed may still
	// show it; it is left out.
	convs = slices.DeleteFunc(convs, func(cv *inbox.Conversation) bool {
		return cv.Status != inbox.StatusOpen || !cv.HasCollaborator(u.ID)
	})
	slices.SortFunc(convs, func(a, b *inbox.Conversation) int {
		if c := b.LastActivityAt.Compare(a.LastActivityAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return convs, nil
}
