package store

import (
	"context"
	"errors"
	"fmt"
)

// reasonsItem is a configured list of closing reasons (A5): the organization's (Dept "") or a
// department's, in the organization's partition.
type reasonsItem struct {
	PK      string   `dynamodbav:"PK"`
	SK      string   `dynamodbav:"SK"`
	Type    string   `dynamodbav:"type"`
	Dept    string   `dynamodbav:"dept,omitempty"`
	Reasons []string `dynamodbav:"reasons"`
}

// ClosingReasons is the list that applies to a conversation of dept: the department's own,
// else the organization's; nil when none is configured. own says the list is dept's.
func (s *Store) ClosingReasons(ctx context.Context, org, dept string) (list []string, own bool, err error) {
	keys := []string{""}
	if dept != "" {
		keys = append(keys, dept)
	}
	items, err := getItems[reasonsItem](ctx, s, keys, func(d string) (string, string) { return orgPK(org), reasonsSK(d) }, true)
	if err != nil {
		return nil, false, fmt.Errorf("closing reasons: %w", err)
	}
	for _, it := range items {
		if dept != "" && it.Dept == dept {
			return it.Reasons, true, nil
		}
		if it.Dept == "" {
			list = it.Reasons
		}
	}
	return list, false, nil
}

// PutClosingReasons configures the organization's list (dept "") or a department's; an empty
// list removes it (a department then uses the organization's).
func (s *Store) PutClosingReasons(ctx context.Context, org, dept string, reasons []string) error {
	if len(reasons) == 0 {
		err := s.delete(ctx, orgPK(org), reasonsSK(dept), "")
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return s.put(ctx, reasonsItem{PK: orgPK(org), SK: reasonsSK(dept), Type: "reasons", Dept: dept, Reasons: reasons}, "", nil)
}
