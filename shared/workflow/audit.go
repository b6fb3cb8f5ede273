package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// Change is an admin's or configuration action on one entity of the caller's organization,
// for the audit: Before and After are the entity as the API shows it (nil where nothing was
// before, or is after).
type Change struct {
	Entity, ID, Action string
	Before, After      any
	// Key and At, when set, name the record: an action a client may repeat (a send with an
	// Idempotency-Key) is recorded once, as its first attempt.
	Key string
	At  time.Time
}

// Configure runs write, an admin's or configuration change, and records it in the audit
// (P2): every such action goes through here or through a workflow that records itself.
func (s *Service) Configure(ctx context.Context, by Caller, ch Change, write func() error) error {
	if err := write(); err != nil {
		return err
	}
	return s.record(ctx, by, by.User.OrgID, ch)
}

// record keeps one audit record of by's action: the one place every audited action (admin
// and configuration changes, every conversation action) is written. It is written after the
// action; a failure is returned (and logged by whoever handles it), the action stands.
func (s *Service) record(ctx context.Context, by Caller, org string, ch Change) error {
	r := &inbox.AuditRecord{ID: inbox.NewID("a_"), OrgID: org, At: s.now(), ActorID: by.id(), Entity: ch.Entity,
		EntityID: ch.ID, Action: ch.Action, RequestID: by.RequestID}
	if ch.Key != "" && !ch.At.IsZero() {
		r.ID, r.At = "a_"+ch.Key, ch.At
	}
	var err error
	if r.Before, err = snapshot(ch.Before); err != nil {
		return err
	}
	if r.After, err = snapshot(ch.After); err != nil {
		return err
	}
	if err := s.st.PutAudit(ctx, r); err != nil {
		return fmt.Errorf("audit %s %s %s: %w", ch.Entity, ch.ID, ch.Action, err)
	}
	return nil
}

// snapshot is v as JSON, nil for nothing.
func snapshot(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit snapshot: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// conversationState is what the audit keeps of a conversation before and after an action:
// who holds it and where, not its messages.
type conversationState struct {
	Status        string   `json:"status"`
	DepartmentID  string   `json:"department_id,omitempty"`
	AssigneeID    string   `json:"assignee_id,omitempty"`
	Cycle         int      `json:"cycle"`
	Labels        []string `json:"labels,omitempty"`
	Collaborators []string `json:"collaborators,omitempty"`
	CloseReason   string   `json:"close_reason,omitempty"`
}

func stateOf(cv *inbox.Conversation) *conversationState {
	return &conversationState{Status: string(cv.Status), DepartmentID: cv.DepartmentID, AssigneeID: cv.AssigneeID, Cycle: cv.Cycle,
		Labels: cv.Labels, Collaborators: cv.Collaborators, CloseReason: cv.CloseReason}
}

// Audit reads a page of the organization's audit records (admins only: the route's guard).
func (s *Service) Audit(ctx context.Context, by Caller, q store.AuditQuery) ([]*inbox.AuditRecord, string, error) {
	q.Org = by.User.OrgID
	return s.st.Audit(ctx, q)
}
