package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxVisibility is SQS's longest visibility timeout.
const MaxVisibility = 12 * time.Hour

// Postponement makes one received message invisible for After from now.
type Postponement struct {
	ReceiptHandle string
	After         time.Duration
}

// Postpone changes the visibility of received messages, ten per call, so that a consumer that
// reports them as failed gets each back after its After rather than after the queue's
// visibility timeout: a backoff without sleeping. On a FIFO queue the message's group waits
// with it. After is rounded up to whole seconds and capped at MaxVisibility. It returns the
// first failure; the messages it could not postpone come back after the visibility timeout.
func (q *Queue) Postpone(ctx context.Context, ps []Postponement) error {
	var errs []error
	for start := 0; start < len(ps); start += maxBatch {
		chunk := ps[start:min(start+maxBatch, len(ps))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, p := range chunk {
			d := min(max(p.After, 0), MaxVisibility)
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				ReceiptHandle:     aws.String(p.ReceiptHandle),
				VisibilityTimeout: int32((d + time.Second - 1) / time.Second),
			}
		}
		out, err := q.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("queue: postpone: %w", errors.Join(errs...))
	}
	return nil
}
