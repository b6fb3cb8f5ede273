package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MaxVisibility is SQS's longest visibility timeout.
const MaxVisibility = 12 * time.Hour

// Postpone makes a received message invisible for d from now, so that a consumer that reports
// it as failed gets it back after d rather than after the queue's visibility timeout: a backoff
// without sleeping. On a FIFO queue the message's group waits with it. d is rounded up to whole
// seconds and capped at MaxVisibility.
func (q *Queue) Postpone(ctx context.Context, receiptHandle string, d time.Duration) error {
	d = min(max(d, 0), MaxVisibility)
	secs := int32((d + time.Second - 1) / time.Second)
	_, err := q.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.url),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: secs,
	})
	if err != nil {
		return fmt.Errorf("queue: postpone: %w", err)
	}
	return nil
}
