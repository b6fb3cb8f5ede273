package workflow

import (
	"context"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// SetDisabled disables a user (or enables one again). A disabled user is refused on their
// next request (access.Enabled), is made unavailable so automatic assignment gives them
// nothing, and their open conversations go to user to, or back to their departments' queues
// when to is "" (where automatic assignment takes its turn).
func (s *Service) SetDisabled(ctx context.Context, by Caller, id string, disabled bool, to string) (*inbox.User, error) {
	org := by.User.OrgID
	if disabled && id == by.User.ID {
		return nil, ErrDisableSelf
	}
	if err := s.heir(ctx, org, id, to); err != nil {
		return nil, err
	}
	u, err := s.st.User(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if u.Deleted {
		return nil, &store.NotFoundError{Entity: "user"}
	}
	if u.Disabled != disabled {
		u.Disabled = disabled
		if disabled {
			u.Available = false
		}
		if err := s.st.PutUser(ctx, u); err != nil {
			return nil, err
		}
		by.log().InfoContext(ctx, "user disabled", "target_user_id", id, "disabled", disabled)
		action := "disable"
		if !disabled {
			action = "enable"
		}
		if err := s.record(ctx, by, org, Change{Entity: "user", ID: id, Action: action, After: map[string]any{"disabled": disabled, "conversations_to": to}}); err != nil {
			return nil, err
		}
	}
	if !disabled {
		return u, nil
	}
	// Run again on a second request: what a first one left half done is finished.
	return u, s.handOver(ctx, u, to, RuleUserDisabled)
}
