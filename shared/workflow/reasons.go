package workflow

import (
	"context"

	"github.com/buzon/buzon/shared/inbox"
)

// ClosingReasons is the list of closing reasons that applies to a department's conversations
// (the department's own, else the organization's; none: any reason), and whether it is the
// department's own.
func (s *Service) ClosingReasons(ctx context.Context, org, dept string) ([]string, bool, error) {
	return s.st.ClosingReasons(ctx, org, dept)
}

// SetClosingReasons configures the organization's list (dept "") or a department's (which
// must exist); an empty list removes it.
func (s *Service) SetClosingReasons(ctx context.Context, by Caller, dept string, reasons []string) ([]string, error) {
	list, err := inbox.NormalizeClosingReasons(reasons)
	if err != nil {
		return nil, err
	}
	org := by.User.OrgID
	if dept != "" {
		if _, err := s.st.Department(ctx, org, dept); err != nil {
			return nil, err
		}
	}
	before, own, err := s.st.ClosingReasons(ctx, org, dept)
	if err != nil {
		return nil, err
	}
	if !own {
		before = nil // the department had none of its own
	}
	if err := s.st.PutClosingReasons(ctx, org, dept, list); err != nil {
		return nil, err
	}
	by.log().InfoContext(ctx, "closing reasons set", "department_id", dept, "count", len(list))
	return list, s.record(ctx, by, org, Change{Entity: "closing_reasons", ID: dept, Action: "update", Before: before, After: list})
}
