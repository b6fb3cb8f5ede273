package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	shards, err := parallel(queueShards, queueShards, func(sh int) ([]windowEntry, error) {
		in := s.partition(IndexWindow, windowPK(start, sh), "")
		in.ProjectionExpression = aws.String("GSI4SK")
		return queryAll[windowEntry](ctx, s, in)
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range concat(shards) {
		ids = append(ids, e.Conv)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// Strongly consistent, up to 8 calls of 100 in flight.
	chunks, err := parallel((len(ids)+99)/100, 8, func(i int) ([]conversationItem, error) {
		return getItems[conversationItem](ctx, s, ids[i*100:min((i+1)*100, len(ids))], conversationKey, true)
	})
	if err != nil {
		return nil, fmt.Errorf("window bucket %s: %w", start.Format(time.RFC3339), err)
	}
	items := concat(chunks)
	end := start.Add(windowBucket)
	out := make([]*inbox.Conversation, 0, len(items))
	for _, it := range items {
		c := it.conversation()
		if c.Status == inbox.StatusOpen && !c.WindowExpiresAt.Before(start) && c.WindowExpiresAt.Before(end) {
			out = append(out, c)
		}
	}
	return out, nil
}

// windowEntry is a conversation's entry in the keys-only window index.
type windowEntry struct {
	Conv string `dynamodbav:"GSI4SK"`
}

// WindowCheckpoint is how far the window job got: the first bucket whose windows it has not
// warned about yet, the first it has not marked closed yet, and when it last looked for idle
// conversations. Zero times: never.
type WindowCheckpoint struct {
	WarnNext   time.Time
	ClosedNext time.Time
	IdleAt     time.Time
	SendsNext  time.Time // the next bucket of the pending-send index to sweep
}

type checkpointItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Warn   int64  `dynamodbav:"wn"`
	Closed int64  `dynamodbav:"cn"`
	Idle   int64  `dynamodbav:"idle"`
	Sends  int64  `dynamodbav:"sn,omitempty"`
}

const windowJob = "window"

// LoadWindowCheckpoint reads the window job's checkpoint; the zero checkpoint if it never ran.
func (s *Store) LoadWindowCheckpoint(ctx context.Context) (WindowCheckpoint, error) {
	it, err := getItem[checkpointItem](ctx, s, jobPK(windowJob), skJob)
	if errors.Is(err, ErrNotFound) {
		return WindowCheckpoint{}, nil
	}
	if err != nil {
		return WindowCheckpoint{}, err
	}
	cp := WindowCheckpoint{WarnNext: fromMS(it.Warn), ClosedNext: fromMS(it.Closed), IdleAt: fromMS(it.Idle)}
	if it.Sends != 0 {
		cp.SendsNext = fromMS(it.Sends)
	}
	return cp, nil
}

// SaveWindowCheckpoint moves the checkpoint to cp. It only moves forward: if another run
// (the schedule firing twice) already got further, nothing is written and ErrConflict says
// so.
func (s *Store) SaveWindowCheckpoint(ctx context.Context, cp WindowCheckpoint) error {
	err := s.put(ctx, checkpointItem{PK: jobPK(windowJob), SK: skJob, Type: "job", Warn: ms(cp.WarnNext), Closed: ms(cp.ClosedNext), Idle: ms(cp.IdleAt), Sends: msOrZero(cp.SendsNext)},
		"attribute_not_exists(PK) OR (wn <= :w AND cn <= :c AND idle <= :i AND (attribute_not_exists(sn) OR sn <= :s))",
		map[string]types.AttributeValue{":w": num(ms(cp.WarnNext)), ":c": num(ms(cp.ClosedNext)), ":i": num(ms(cp.IdleAt)), ":s": num(msOrZero(cp.SendsNext))})
	if errors.Is(err, ErrExists) {
		return ErrConflict
	}
	return err
}

// msOrZero is ms(t), and 0 for the zero time (a checkpoint never set).
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
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
	results, err := parallel(len(pks), 16, func(i int) ([]conversationItem, error) {
		in := s.partition(IndexQueue, pks[i], "")
		sortKeyRange(in, IndexQueue, "<", activitySK(before, ""))
		in.FilterExpression = aws.String("line = :l")
		in.ExpressionAttributeValues[":l"] = str(line)
		items, _, err := query[conversationItem](ctx, s, in, func(n int) bool { return n >= limit })
		return items, err
	})
	if err != nil {
		return nil, err
	}
	var out []*inbox.Conversation
	for _, it := range concat(results) {
		if len(out) == limit {
			break
		}
		out = append(out, it.conversation())
	}
	return out, nil
}
