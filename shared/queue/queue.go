// Package queue sends Buzón's events to SQS FIFO queues in batches, buries poison in and
// redrives from dead-letter queues, and postpones received messages (shared/consume runs the
// consumers).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrNotAccepted reports entries SQS did not take after retries; the caller must fail the
// request that brought them so that the sender retries (nothing lost).
var ErrNotAccepted = errors.New("queue: entries not accepted")

// Item is one message for a FIFO queue.
type Item struct {
	Group string
	Dedup string
	Body  any // encoded as JSON
	// Delay postpones delivery; on FIFO queues SQS allows only a queue-level delay, so this
	// must be zero for them (kept for standard queues).
	Delay int32
}

// Queue is one SQS queue. It is safe for concurrent use.
type Queue struct {
	sqs *sqs.Client
	url string
}

// New returns the queue at url.
func New(client *sqs.Client, url string) *Queue { return &Queue{sqs: client, url: url} }

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// maxBatch is SQS's limit of entries per SendMessageBatch.
const maxBatch = 10

// Send puts every item on the queue, in order, ten per call, retrying the entries SQS refuses
// (throttling, internal errors) a few times. It returns ErrNotAccepted if any entry is still
// refused: then some items may have been sent, which is safe because FIFO deduplication and
// the consumers' conditional writes drop the copies the retry brings.
func (q *Queue) Send(ctx context.Context, items []Item) error {
	for start := 0; start < len(items); start += maxBatch {
		end := min(start+maxBatch, len(items))
		if err := q.sendBatch(ctx, items[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) sendBatch(ctx context.Context, items []Item) error {
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(items))
	for i, it := range items {
		body, err := json.Marshal(it.Body)
		if err != nil {
			return fmt.Errorf("queue: encode item %d: %w", i, err)
		}
		e := types.SendMessageBatchRequestEntry{
			Id:          aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(string(body)),
		}
		if it.Group != "" {
			e.MessageGroupId = aws.String(it.Group)
			e.MessageDeduplicationId = aws.String(it.Dedup)
		}
		if it.Delay > 0 {
			e.DelaySeconds = it.Delay
		}
		entries = append(entries, e)
	}
	var lastErr error
	for attempt := 0; attempt < 4 && len(entries) > 0; attempt++ {
		out, err := q.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if len(out.Failed) == 0 {
			return nil
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
			lastErr = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				// The entry itself is wrong; retrying cannot help.
				return fmt.Errorf("%w: %v", ErrNotAccepted, lastErr)
			}
		}
		// Resend only what failed: copies of accepted entries would be dropped by FIFO
		// deduplication anyway, and consumers apply events in any order.
		var retry []types.SendMessageBatchRequestEntry
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				retry = append(retry, e)
			}
		}
		entries = retry
	}
	return fmt.Errorf("%w: %v", ErrNotAccepted, lastErr)
}

// Bury puts a record that can never be processed on a dead-letter queue as it was received,
// with the reason as a message attribute, so that an operator sees why and can redrive it
// after a fix. dedup is the record's message id, so burying it twice leaves one copy. A
// record without a group goes to a FIFO dead-letter queue in the group "poison".
func (q *Queue) Bury(ctx context.Context, group, dedup, body, reason string) error {
	if group == "" && strings.HasSuffix(q.url, ".fifo") {
		group = "poison"
	}
	in := &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"reason": {DataType: aws.String("String"), StringValue: aws.String(truncate(reason, 1024))},
		},
	}
	if group != "" {
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(dedup)
	}
	if _, err := q.sqs.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("queue: bury: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
