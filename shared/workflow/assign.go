package workflow

import (
	"context"

	"github.com/buzon/buzon/shared/inbox"
)

// Automatic assignment's turn after what changes who can take conversations: a user's
// availability or capacity, a department's rules, a line's route. (After an action on a
// conversation it is act's afterAction.)

// SetAvailability sets user u available or away with capacity maxOpen (0: no limit). A user
// who can take conversations afterwards takes the longest waiting ones they are eligible for
// at once. It returns u's workload afterwards and how many conversations it handed them.
func (s *Service) SetAvailability(ctx context.Context, by Caller, u *inbox.User, available bool, maxOpen int) (inbox.Workload, int, error) {
	w, err := s.st.SetAvailability(ctx, u.OrgID, u.ID, available, maxOpen)
	if err != nil {
		return w, 0, err
	}
	assigned := 0
	if s.routing != nil && w.HasRoom() {
		s.routing.Forget(u.OrgID)
		if assigned, err = s.routing.Drain(ctx, u.OrgID, u.ID); err != nil {
			return w, 0, err
		}
		w.Open += assigned
	}
	by.log().InfoContext(ctx, "availability set", "target_user_id", u.ID, "available", available, "max_open", maxOpen, "assigned", assigned)
	return w, assigned, s.record(ctx, by, u.OrgID, Change{Entity: "user", ID: u.ID, Action: "availability",
		Before: map[string]any{"available": u.Available, "max_open": u.MaxOpen}, After: map[string]any{"available": available, "max_open": maxOpen}})
}

// DrainDepartment gives the members of dept of org who have room the waiting conversations
// they are eligible for, after a change of rules or routes. Failures are logged: the change
// stands, and the conversations wait for the next chance.
func (s *Service) DrainDepartment(ctx context.Context, by Caller, org, dept string) {
	if s.routing == nil || dept == "" {
		return
	}
	s.routing.Forget(org)
	users, _, _, err := s.st.OrgItems(ctx, org)
	if err != nil {
		by.log().ErrorContext(ctx, "automatic assignment skipped", "error", err)
		return
	}
	for _, u := range users {
		if u.InDepartment(dept) {
			if _, err := s.routing.Drain(ctx, u.OrgID, u.ID); err != nil {
				by.log().ErrorContext(ctx, "automatic assignment skipped", "target_user_id", u.ID, "error", err)
				return
			}
		}
	}
}
