package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// SetDisabled disables a user (or enables one again). A disabled user is refused on their
// next request (access.Enabled), is made unavailable so automatic assignment gives them
// nothing, and their open conversations go back to their departments' queues, where
// automatic assignment takes its turn.
func (s *Service) SetDisabled(ctx context.Context, by Caller, id string, disabled bool) (*inbox.User, error) {
	org := by.User.OrgID
	if disabled && id == by.User.ID {
		return nil, ErrDisableSelf
	}
	u, err := s.st.User(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if u.Disabled == disabled {
		return u, nil
	}
	u.Disabled = disabled
	if disabled {
		u.Available = false
	}
	if err := s.st.PutUser(ctx, u); err != nil {
		return nil, err
	}
	by.log().InfoContext(ctx, "user disabled", "target_user_id", id, "disabled", disabled)
	if !disabled {
		return u, nil
	}
	return u, s.returnAll(ctx, by, u)
}

// returnAll gives every open conversation u holds back to its department's queue, as Buzón
// (the event names no actor; the admin who disabled u is in the log).
func (s *Service) returnAll(ctx context.Context, by Caller, u *inbox.User) error {
	q := store.ListQuery{Org: u.OrgID, Status: inbox.StatusOpen, Sources: []store.Source{{Assignee: u.ID}}, Limit: 100}
	for {
		convs, next, err := s.st.ListConversations(ctx, q)
		if err != nil {
			return fmt.Errorf("conversations of %s: %w", u.ID, err)
		}
		for _, cv := range convs {
			_, err := s.act(ctx, System, u.OrgID, cv.ID, access.Return, func(cv *inbox.Conversation) (*inbox.Event, error) {
				if cv.AssigneeID != u.ID {
					return nil, store.ErrNoChange
				}
				if err := cv.Return(); err != nil {
					return nil, err
				}
				return s.event(System, inbox.EventReturned, map[string]string{"from": u.ID, "rule": "user_disabled"}), nil
			})
			if err != nil && !errors.Is(err, store.ErrNoChange) {
				return fmt.Errorf("return %s: %w", cv.ID, err)
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}
