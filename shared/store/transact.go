package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// txn is a TransactWriteItems being built: its writes, and their keys for the write counter.
type txn struct {
	table   string
	items   []types.TransactWriteItem
	counted []countedWrite
}

func (s *Store) txn() *txn { return &txn{table: s.table} }

// put adds a put of it (an item struct or a marshalled item) that had the index keys old;
// cond may be empty.
func (t *txn) put(it any, old indexKeys, cond string, vals map[string]types.AttributeValue) error {
	item, err := marshal(it)
	if err != nil {
		return err
	}
	p := &types.Put{TableName: aws.String(t.table), Item: item}
	if cond != "" {
		p.ConditionExpression, p.ExpressionAttributeValues = aws.String(cond), vals
	}
	t.items = append(t.items, types.TransactWriteItem{Put: p})
	t.counted = append(t.counted, countedWrite{old: old, now: keysOf(item)})
	return nil
}

// update adds an update of an item without index keys and returns it, for the caller to add
// what only it needs.
func (t *txn) update(pk, sk, expr, cond string, names map[string]string, vals map[string]types.AttributeValue) *types.Update {
	u := &types.Update{TableName: aws.String(t.table), Key: key(pk, sk), UpdateExpression: aws.String(expr)}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	if len(vals) > 0 {
		u.ExpressionAttributeValues = vals
	}
	t.items = append(t.items, types.TransactWriteItem{Update: u})
	t.counted = append(t.counted, countedWrite{now: indexKeys{PK: pk}})
	return u
}

// del adds a delete of an item without index keys.
func (t *txn) del(pk, sk string) {
	t.items = append(t.items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(t.table), Key: key(pk, sk)}})
	t.counted = append(t.counted, countedWrite{now: indexKeys{PK: pk}})
}

// commit runs the transaction, up to attempts times while it conflicts with another one in
// flight on the same items (an assignment of the same agent), and counts its writes. A
// cancelled transaction's error is returned as it is, for its reasons (cancelReason).
func (s *Store) commit(ctx context.Context, t *txn, attempts int) error {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: t.items, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	for attempt := 1; ; attempt++ {
		out, err := s.db.TransactWriteItems(ctx, in)
		if err == nil {
			var units float64
			for _, cc := range out.ConsumedCapacity {
				units += aws.ToFloat64(cc.CapacityUnits)
			}
			s.countAll(t.counted, units)
			return nil
		}
		if !isTransactionConflict(err) || attempt >= attempts {
			return err
		}
		if err := jitter(ctx, attempt); err != nil {
			return err
		}
	}
}

// cancelReason is the code DynamoDB gave for the i-th write of a cancelled transaction ("" if
// err is not a cancellation), and the item as that write found it when it asked for it.
func cancelReason(err error, i int) (string, map[string]types.AttributeValue) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || i < 0 || i >= len(tce.CancellationReasons) {
		return "", nil
	}
	r := tce.CancellationReasons[i]
	return aws.ToString(r.Code), r.Item
}

// isTransactionConflict reports a write that met a transaction in progress on one of its
// items (or a transaction cancelled by another's): trying again is all it takes.
func isTransactionConflict(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// jitter waits before another attempt of a contended write: growing, randomized, so writers
// that collided do not collide again in step.
func jitter(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 5))*int64(8*time.Millisecond)) + int64(time.Millisecond))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
