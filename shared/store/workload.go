package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
// per 100. A user without a load item is away, with nothing open.
func (s *Store) Workloads(ctx context.Context, org string, users []string) (map[string]inbox.Workload, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(users))
	out := make(map[string]inbox.Workload, len(users))
	for _, u := range users {
		if _, dup := out[u]; !dup {
			out[u] = inbox.Workload{UserID: u}
			keys = append(keys, key(workloadPK(org, u), skWorkload))
		}
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	for _, raw := range items {
		var it workloadItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode workload: %w", err)
		}
		u := workloadUser(org, it.PK)
		out[u] = it.workload(u)
	}
	return out, nil
}

// Workload reads one agent's workload; consistent asks for a strongly consistent read.
func (s *Store) Workload(ctx context.Context, org, user string, consistent bool) (inbox.Workload, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(workloadPK(org, user), skWorkload), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("workload of %s: %w", user, err)
	}
	var it workloadItem
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return inbox.Workload{}, fmt.Errorf("decode workload: %w", err)
		}
	}
	return it.workload(user), nil
}

// availabilityUpdate sets availability and capacity on a load item, leaving its count alone.
func (s *Store) availabilityUpdate(org, user string, available bool, maxOpen int) *types.Update {
	return &types.Update{
		TableName: aws.String(s.table), Key: key(workloadPK(org, user), skWorkload),
		UpdateExpression:         aws.String("SET avail = :a, mx = :m, #t = :type"),
		ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":a": &types.AttributeValueMemberBOOL{Value: available}, ":m": &types.AttributeValueMemberN{Value: fmt.Sprint(maxOpen)},
			":type": &types.AttributeValueMemberS{Value: "load"},
		},
	}
}

// SetAvailability sets whether a user of org takes conversations and how many at most (0: no
// limit), on the user and on their workload, in one transaction. A user that does not exist
// is ErrNotFound. It returns the workload as it is afterwards.
func (s *Store) SetAvailability(ctx context.Context, org, user string, available bool, maxOpen int) (inbox.Workload, error) {
	_, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName: aws.String(s.table), Key: key(orgPK(org), userSK(user)),
				UpdateExpression:         aws.String("SET avail = :a, #m = :m"),
				ConditionExpression:      aws.String("attribute_exists(PK)"),
				ExpressionAttributeNames: map[string]string{"#m": "max"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":a": &types.AttributeValueMemberBOOL{Value: available}, ":m": &types.AttributeValueMemberN{Value: fmt.Sprint(maxOpen)},
				},
			}},
			{Update: s.availabilityUpdate(org, user, available, maxOpen)},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return inbox.Workload{}, notFound("user")
	}
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("set availability of %s: %w", user, err)
	}
	s.count(indexKeys{}, indexKeys{PK: orgPK(org)}, nil)
	s.count(indexKeys{}, indexKeys{PK: workloadPK(org, user)}, nil)
	return s.Workload(ctx, org, user, true)
}
