package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// WindowBucket is the width of a window-expiry bucket (GSI4): the window job reads the
// conversations whose window closes in one bucket with one Query per shard.
const WindowBucket = windowBucket

// WindowBucketOf is the start of the bucket t falls in.
func WindowBucketOf(t time.Time) time.Time { return t.UTC().Truncate(windowBucket) }

// WindowBucketConversations reads the open conversations whose window closes in the bucket
// that starts at start, in every organization: one Query per shard of the keys-only index,
// in parallel, then the conversations themselves, strongly consistent, 100 per BatchGetItem.
// An index entry that lags its conversation (closed meanwhile, or its window moved on) is
// left out: the conversation is checked, not the index.
func (s *Store) WindowBucketConversations(ctx context.Context, start time.Time) ([]*inbox.Conversation, error) {
	start = WindowBucketOf(start)
	ids := make([][]string, queueShards)
	errs := make([]error, queueShards)
	var wg sync.WaitGroup
	for sh := range queueShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[sh], errs[sh] = s.windowShard(ctx, windowPK(start, sh))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var keys []map[string]types.AttributeValue
	for _, l := range ids {
		for _, id := range l {
			keys = append(keys, key(convPK(id), skConversation))
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	items, err := s.batchGetParallel(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("window bucket %s: %w", start.Format(time.RFC3339), err)
	}
	end := start.Add(windowBucket)
	out := make([]*inbox.Conversation, 0, len(items))
	for _, raw := range items {
		var it conversationItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode conversation: %w", err)
		}
		c := it.conversation()
		if c.Status == inbox.StatusOpen && !c.WindowExpiresAt.Before(start) && c.WindowExpiresAt.Before(end) {
			out = append(out, c)
		}
	}
	return out, nil
}

// windowShard lists the conversation ids of one GSI4 partition.
func (s *Store) windowShard(ctx context.Context, pk string) ([]string, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexWindow),
		KeyConditionExpression:    aws.String("GSI4PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ProjectionExpression:      aws.String("GSI4SK"),
	})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", pk, err)
		}
		for _, it := range page.Items {
			if v, ok := it["GSI4SK"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		}
	}
	return ids, nil
}

// batchGetParallel is batchGet (strongly consistent) with up to 8 calls in flight.
func (s *Store) batchGetParallel(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	chunks := (len(keys) + 99) / 100
	results := make([][]map[string]types.AttributeValue, chunks)
	errs := make([]error, chunks)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.batchGet(ctx, keys[i*100:min((i+1)*100, len(keys))], true)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []map[string]types.AttributeValue
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// WindowCheckpoint is how far the window job got: the first bucket whose windows it has not
// warned about yet, the first it has not marked closed yet, and when it last looked for idle
// conversations. Zero times: never.
type WindowCheckpoint struct {
	WarnNext   time.Time
	ClosedNext time.Time
	IdleAt     time.Time
}

type checkpointItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Warn   int64  `dynamodbav:"wn"`
	Closed int64  `dynamodbav:"cn"`
	Idle   int64  `dynamodbav:"idle"`
}

const windowJob = "window"

// LoadWindowCheckpoint reads the window job's checkpoint; the zero checkpoint if it never ran.
func (s *Store) LoadWindowCheckpoint(ctx context.Context) (WindowCheckpoint, error) {
	raw, err := s.get(ctx, jobPK(windowJob), skJob)
	if errors.Is(err, ErrNotFound) {
		return WindowCheckpoint{}, nil
	}
	if err != nil {
		return WindowCheckpoint{}, err
	}
	var it checkpointItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return WindowCheckpoint{}, fmt.Errorf("decode window checkpoint: %w", err)
	}
	return WindowCheckpoint{WarnNext: fromMS(it.Warn), ClosedNext: fromMS(it.Closed), IdleAt: fromMS(it.Idle)}, nil
}

// SaveWindowCheckpoint moves the checkpoint to cp. It only moves forward: if another run
// (the schedule firing twice) already got further, nothing is written and ErrConflict says
// so.
func (s *Store) SaveWindowCheckpoint(ctx context.Context, cp WindowCheckpoint) error {
	item, err := attributevalue.MarshalMap(checkpointItem{PK: jobPK(windowJob), SK: skJob, Type: "job",
		Warn: ms(cp.WarnNext), Closed: ms(cp.ClosedNext), Idle: ms(cp.IdleAt)})
	if err != nil {
		return fmt.Errorf("encode window checkpoint: %w", err)
	}
	n := func(t time.Time) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(ms(t), 10)}
	}
	err = s.put(ctx, item, "attribute_not_exists(PK) OR (wn <= :w AND cn <= :c AND idle <= :i)",
		indexKeys{PK: jobPK(windowJob)}, map[string]types.AttributeValue{":w": n(cp.WarnNext), ":c": n(cp.ClosedNext), ":i": n(cp.IdleAt)})
	if errors.Is(err, ErrExists) {
		return ErrConflict
	}
	return err
}

// IdleConversations returns up to limit open conversations of a line whose last activity is
// before before, from the department queues (GSI1) of depts and of the "no route" queue:
// one Query per queue shard, each a key range of the oldest activity, so only idle
// conversations of those departments are read.
func (s *Store) IdleConversations(ctx context.Context, org, line string, depts []string, before time.Time, limit int) ([]*inbox.Conversation, error) {
	var pks []string
	for _, d := range append([]string{""}, depts...) {
		for _, assigned := range []bool{false, true} {
			for sh := range queueShards {
				pks = append(pks, queuePK(org, d, string(inbox.StatusOpen), assigned, sh))
			}
		}
	}
	results := make([][]conversationItem, len(pks))
	errs := make([]error, len(pks))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, pk := range pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.idleShard(ctx, pk, line, activitySK(before, ""), limit)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []*inbox.Conversation
	for _, r := range results {
		for i := range r {
			if len(out) == limit {
				return out, nil
			}
			out = append(out, r[i].conversation())
		}
	}
	return out, nil
}

func (s *Store) idleShard(ctx context.Context, pk, line, before string, limit int) ([]conversationItem, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(IndexQueue),
		KeyConditionExpression: aws.String("GSI1PK = :pk AND GSI1SK < :b"),
		FilterExpression:       aws.String("line = :l"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
			":b":  &types.AttributeValueMemberS{Value: before},
			":l":  &types.AttributeValueMemberS{Value: line},
		},
	}
	var out []conversationItem
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query idle %s: %w", pk, err)
		}
		for _, raw := range page.Items {
			var it conversationItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode conversation: %w", err)
			}
			out = append(out, it)
		}
		if len(out) >= limit || page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
