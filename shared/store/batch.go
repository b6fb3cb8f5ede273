package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// batchGet reads items by key, 100 per BatchGetItem call (DynamoDB's limit), retrying what
// DynamoDB leaves unprocessed. Missing items are simply absent from the result, in no order.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			out = append(out, res.Responses[s.table]...)
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// batchWrite puts and deletes items, 25 per BatchWriteItem call, retrying what DynamoDB leaves
// unprocessed. Each write is unconditional, so it suits idempotent items only. keys are the
// items' partition keys per index, for the write counter.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest, keys []countedWrite) error {
	var units float64
	for start := 0; start < len(reqs); start += 25 {
		req := map[string][]types.WriteRequest{s.table: reqs[start:min(start+25, len(reqs))]}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			res, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			for _, cc := range res.ConsumedCapacity {
				units += aws.ToFloat64(cc.CapacityUnits)
			}
			req = res.UnprocessedItems
		}
	}
	s.countAll(keys, units)
	return nil
}

// countAll counts the writes of one call (a batch or a transaction) that consumed units in all.
func (s *Store) countAll(writes []countedWrite, units float64) {
	for i, k := range writes {
		var cc *types.ConsumedCapacity
		if i == 0 {
			cc = &types.ConsumedCapacity{CapacityUnits: aws.Float64(units)}
		}
		s.count(k.old, k.now, cc)
	}
}

// countedWrite is one write of a batch, for the write counter (which counts each as a call): a
// put has now; a delete has its table key in now.PK and its index keys in old.
type countedWrite struct{ old, now indexKeys }

func backoff(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(min(attempt, 6)*25) * time.Millisecond):
		return nil
	}
}
