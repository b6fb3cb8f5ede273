package queue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Dead is one message in a dead-letter queue.
type Dead struct {
	ID       string
	Group    string
	Body     string
	Reason   string // the consumer's reason, when it buried the message itself
	Receives int    // deliveries before it landed here (redrive after maxReceiveCount)
	SentAt   time.Time
}

// Peek lists up to max messages of a dead-letter queue without taking them: each is received
// and made visible again at once. (A FIFO queue hands out one group's messages only after the
// earlier ones are released, so a peek sees at least the head of every group.)
func (q *Queue) Peek(ctx context.Context, max int) ([]Dead, error) {
	var out []Dead
	seen := map[string]bool{}
	for len(out) < max {
		msgs, err := q.receive(ctx, 30)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, m := range msgs {
			// Visible again at once: peeking takes nothing away.
			_, err := q.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			})
			if err != nil {
				return nil, fmt.Errorf("queue: release peeked message: %w", err)
			}
			d := dead(m)
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			fresh++
			out = append(out, d)
		}
		if fresh == 0 {
			break
		}
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// Redrive moves every message of this dead-letter queue back to target, keeping its message
// group, and returns how many it moved. A message is deleted here only after target accepted
// it; if the move is cut short, the copy that stays is redriven again later, which is safe
// because every consumer applies an event once however often it arrives.
func (q *Queue) Redrive(ctx context.Context, target *Queue) (int, error) {
	moved := 0
	for {
		msgs, err := q.receive(ctx, 60)
		if err != nil {
			return moved, err
		}
		if len(msgs) == 0 {
			return moved, nil
		}
		for _, m := range msgs {
			d := dead(m)
			in := &sqs.SendMessageInput{QueueUrl: aws.String(target.url), MessageBody: aws.String(d.Body)}
			if d.Group != "" {
				// A fresh deduplication id: the original may still be remembered by the queue
				// for five minutes and the redrive would be dropped.
				in.MessageGroupId = aws.String(d.Group)
				in.MessageDeduplicationId = aws.String(fifoSafe("redrive:" + d.ID + ":" + strconv.FormatInt(time.Now().UnixNano(), 10)))
			}
			if _, err := target.sqs.SendMessage(ctx, in); err != nil {
				return moved, fmt.Errorf("queue: redrive %s: %w", d.ID, err)
			}
			if _, err := q.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return moved, fmt.Errorf("queue: delete redriven %s: %w", d.ID, err)
			}
			moved++
		}
	}
}

func (q *Queue) receive(ctx context.Context, visibility int32) ([]types.Message, error) {
	out, err := q.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         10,
		VisibilityTimeout:           visibility,
		WaitTimeSeconds:             1,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("queue: receive from %s: %w", q.url, err)
	}
	return out.Messages, nil
}

func dead(m types.Message) Dead {
	d := Dead{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Group: m.Attributes["MessageGroupId"]}
	if r, ok := m.MessageAttributes["reason"]; ok {
		d.Reason = aws.ToString(r.StringValue)
	}
	d.Receives, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	return d
}

// fifoSafe keeps a deduplication id within SQS's 128 characters.
func fifoSafe(s string) string {
	if len(s) > 128 {
		return s[len(s)-128:]
	}
	return s
}
