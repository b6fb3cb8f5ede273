package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// Workloads: each agent has a workload item (workloadPK) that holds how many open conversations they
// hold, whether they take conversations and how many at most. The count moves in the same
// transaction as the conversation whose holder changes (UpdateConversation), so it is exact;
// availability and capacity are copied there from the user item (PutUser, SetAvailability) so
// that one conditional update checks all three at the instant of an automatic assignment.

type workloadItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Type     string `dynamodbav:"type"`
	Open     int    `dynamodbav:"open"`
	Avail    bool   `dynamodbav:"avail"`
	Max      int    `dynamodbav:"mx"`
	LastAuto int64  `dynamodbav:"lat,omitempty"` // the agent's last automatic assignment
}

func (it *workloadItem) workload(user string) inbox.Workload {
	return inbox.Workload{UserID: user, Available: it.Avail, MaxOpen: it.Max, Open: it.Open, LastAssignedAt: fromMS(it.LastAuto)}
}

// Workloads reads the workloads of users of org (strongly consistent), one BatchGetItem call
// per 100. A user without a workload item is away, with nothing open.
func (s *Store) Workloads(ctx context.Context, org string, users []string) (map[string]inbox.Workload, error) {
	out := make(map[string]inbox.Workload, len(users))
	for _, u := range users {
		out[u] = inbox.Workload{UserID: u}
	}
	items, err := getItems[workloadItem](ctx, s, users, func(u string) (string, string) { return workloadPK(org, u), skWorkload }, true)
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	for _, it := range items {
		u := workloadUser(org, it.PK)
		out[u] = it.workload(u)
	}
	return out, nil
}

// Workload reads one agent's workload; consistent asks for a strongly consistent read.
func (s *Store) Workload(ctx context.Context, org, user string, consistent bool) (inbox.Workload, error) {
	raw, err := s.read(ctx, workloadPK(org, user), skWorkload, consistent)
	if errors.Is(err, ErrNotFound) {
		return inbox.Workload{UserID: user}, nil
	}
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("workload of %s: %w", user, err)
	}
	it, err := decode[workloadItem](raw)
	if err != nil {
		return inbox.Workload{}, err
	}
	return it.workload(user), nil
}

// setAvailability sets availability and capacity on a workload item, leaving its count alone.
func (t *txn) setAvailability(org, user string, available bool, maxOpen int) {
	t.update(workloadPK(org, user), skWorkload, "SET avail = :a, mx = :m, #t = :type", "", map[string]string{"#t": "type"},
		map[string]types.AttributeValue{":a": boolean(available), ":m": num(maxOpen), ":type": str("load")})
}

// SetAvailability sets whether a user of org takes conversations and how many at most (0: no
// limit), on the user and on their workload, in one transaction. A user that does not exist
// is ErrNotFound. It returns the workload as it is afterwards.
func (s *Store) SetAvailability(ctx context.Context, org, user string, available bool, maxOpen int) (inbox.Workload, error) {
	t := s.txn()
	t.update(orgPK(org), userSK(user), "SET avail = :a, #m = :m", "attribute_exists(PK)", map[string]string{"#m": "max"},
		map[string]types.AttributeValue{":a": boolean(available), ":m": num(maxOpen)})
	t.setAvailability(org, user, available, maxOpen)
	err := s.commit(ctx, t, 5)
	if code, _ := cancelReason(err, 0); code == "ConditionalCheckFailed" {
		return inbox.Workload{}, notFound("user")
	}
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("set availability of %s: %w", user, err)
	}
	return s.Workload(ctx, org, user, true)
}
