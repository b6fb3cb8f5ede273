package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrBatchFailed reports a batch the event source mapping counts as failed as a whole: the
// function failed, or its batchItemFailures could not be used. Nothing is deleted.
var ErrBatchFailed = errors.New("local: batch failed")

// Receive settings of Lambda's SQS poller: ten messages (the stack's batch size), long
// polling.
const (
	pollBatchSize = 10
	pollWait      = 20 // seconds
)

// poller plays the SQS event source mapping (ReportBatchItemFailures on) of one FIFO queue:
// it receives up to ten messages, invokes the consumer with them as an SQS event, and deletes
// those the consumer did not report as failed. Failed ones reappear after the queue's
// visibility timeout, and SQS moves them to the dead-letter queue after maxReceiveCount.
// Several pollers may serve a queue; SQS keeps a message group to one of them at a time.
type poller struct {
	sqs      *sqs.Client
	queueURL string
	queueARN string
	function string
	invoke   invokeFunc
	log      *slog.Logger
	// fleet, when set, scales the queue's pollers: this one may start another after a
	// receive that found messages, and leave after one that found none.
	fleet *fleet
}

// run polls until ctx is done (or, in a fleet, until it is told to leave).
func (p *poller) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.queueURL),
			MaxNumberOfMessages:         pollBatchSize,
			WaitTimeSeconds:             pollWait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("receive", "queue", p.queueURL, "error", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		if len(out.Messages) == 0 {
			if p.fleet.leave() {
				return
			}
			continue
		}
		p.fleet.grow(ctx)
		p.handle(ctx, out.Messages)
	}
}

// fleet scales the pollers of one FIFO queue as Lambda's event source mapping does
// (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): it keeps a few pollers,
// adds more while messages are available (at most 300 a minute), and, on a FIFO queue, runs
// at most as many concurrent batches as there are active message groups, up to the
// function's concurrency. SQS tells which groups are available: a receive returns only
// messages of groups with nothing in flight, so a receive that found messages while the other
// pollers hold theirs is a backlog of distinct groups (start another poller, up to max), and
// one that found none means every waiting group is held (a poller above min leaves).
type fleet struct {
	min, max int
	every    time.Duration // at least this long between two new pollers
	start    func(p *poller)
	template poller

	mu   sync.Mutex
	n    int
	peak int
	last time.Time
}

// newFleet returns the pollers of template's queue, lo to hi of them; start runs one
// (in a goroutine the caller waits for).
func newFleet(template poller, lo, hi int, start func(p *poller)) *fleet {
	return &fleet{min: lo, max: max(lo, hi), every: time.Minute / 300, start: start, template: template}
}

// run starts the fleet's first min pollers.
func (f *fleet) run(ctx context.Context) {
	for range f.min {
		f.add(ctx, true)
	}
}

// grow starts one more poller, if the fleet is under its cap and the last one started a
// while ago.
func (f *fleet) grow(ctx context.Context) {
	if f == nil {
		return
	}
	f.add(ctx, false)
}

func (f *fleet) add(ctx context.Context, initial bool) {
	f.mu.Lock()
	now := time.Now()
	if ctx.Err() != nil || f.n >= f.max || (!initial && now.Sub(f.last) < f.every) {
		f.mu.Unlock()
		return
	}
	f.n++
	f.peak = max(f.peak, f.n)
	f.last = now
	f.mu.Unlock()
	p := f.template
	p.fleet = f
	f.start(&p)
}

// leave reports whether a poller whose receive found nothing should stop: it does while the
// fleet is above its minimum.
func (f *fleet) leave() bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n <= f.min {
		return false
	}
	f.n--
	return true
}

// size is the pollers running now and the most that ran at once.
func (f *fleet) size() (n, peak int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.peak
}

// handle invokes the consumer with one batch and acknowledges what it processed.
func (p *poller) handle(ctx context.Context, msgs []types.Message) {
	ev := sqsEvent(msgs, p.queueARN)
	payload, err := json.Marshal(ev)
	if err != nil {
		p.log.Error("encode SQS event", "error", err)
		return
	}
	resp, invokeErr := p.invoke(ctx, payload)
	if ctx.Err() != nil {
		return // shutting down: the batch comes back after the visibility timeout
	}
	res := settleBatch(ev, resp, invokeErr)
	if res.Err != nil {
		p.log.Warn("batch failed; it will be redelivered", "function", p.function, "records", len(ev.Records), "error", res.Err)
	} else if len(res.Failed) > 0 {
		p.log.Info("records reported failed; they will be redelivered", "function", p.function, "failed", res.Failed)
	}
	if len(res.OutOfOrder) > 0 {
		p.log.Warn("FIFO order broken: records acknowledged after a failed record of their group",
			"function", p.function, "records", res.OutOfOrder)
	}
	p.delete(ctx, res.Delete)
}

func (p *poller) delete(ctx context.Context, recs []lambdaevents.SQSMessage) {
	if len(recs) == 0 {
		return
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(recs))
	for i, r := range recs {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)}
	}
	out, err := p.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries})
	if err != nil {
		p.log.Warn("delete processed messages", "queue", p.queueURL, "error", err)
		return
	}
	for _, f := range out.Failed {
		p.log.Warn("delete processed message", "queue", p.queueURL, "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
	}
}

// sqsEvent builds the event Lambda's SQS poller sends for msgs received from the queue arn.
func sqsEvent(msgs []types.Message, arn string) lambdaevents.SQSEvent {
	ev := lambdaevents.SQSEvent{Records: make([]lambdaevents.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := lambdaevents.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             make(map[string]string, len(m.Attributes)),
			MessageAttributes:      make(map[string]lambdaevents.SQSMessageAttribute, len(m.MessageAttributes)),
			EventSourceARN:         arn,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		}
		for k, v := range m.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range m.MessageAttributes {
			a := lambdaevents.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
			// Lambda always sends both lists, empty when unused.
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			rec.MessageAttributes[k] = a
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// batchResult is what the event source mapping does with a batch once the function returned.
type batchResult struct {
	Delete []lambdaevents.SQSMessage // acknowledged: deleted from the queue
	Failed []string                  // message ids left to come back after the visibility timeout
	Err    error                     // why the whole batch failed, if it did
	// OutOfOrder lists records acknowledged after a failed record of their message group.
	// Lambda deletes them all the same; on a FIFO queue that breaks the group's order, so
	// the runner warns.
	OutOfOrder []string
}

// settleBatch applies Lambda's rules for a partial batch response: a function error fails the
// whole batch; an empty or null response, or empty batchItemFailures, acknowledges every
// record; a response that is not JSON, or names an empty or unknown itemIdentifier, fails the
// whole batch; otherwise every record not listed is deleted.
func settleBatch(ev lambdaevents.SQSEvent, resp []byte, invokeErr error) batchResult {
	all := func(err error) batchResult {
		r := batchResult{Err: err}
		for _, rec := range ev.Records {
			r.Failed = append(r.Failed, rec.MessageId)
		}
		return r
	}
	if invokeErr != nil {
		return all(fmt.Errorf("%w: %w", ErrBatchFailed, invokeErr))
	}
	var out struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if trimmed := bytes.TrimSpace(resp); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		if err := json.Unmarshal(trimmed, &out); err != nil {
			return all(fmt.Errorf("%w: response is not a batch response: %v", ErrBatchFailed, err))
		}
	}
	inBatch := make(map[string]bool, len(ev.Records))
	for _, rec := range ev.Records {
		inBatch[rec.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range out.BatchItemFailures {
		switch {
		case f.ItemIdentifier == nil || *f.ItemIdentifier == "":
			return all(fmt.Errorf("%w: empty itemIdentifier", ErrBatchFailed))
		case !inBatch[*f.ItemIdentifier]:
			return all(fmt.Errorf("%w: itemIdentifier %q is not in the batch", ErrBatchFailed, *f.ItemIdentifier))
		}
		failed[*f.ItemIdentifier] = true
	}
	var r batchResult
	groupFailed := map[string]bool{}
	for _, rec := range ev.Records {
		group := rec.Attributes["MessageGroupId"]
		if failed[rec.MessageId] {
			r.Failed = append(r.Failed, rec.MessageId)
			if group != "" {
				groupFailed[group] = true
			}
			continue
		}
		if groupFailed[group] {
			r.OutOfOrder = append(r.OutOfOrder, rec.MessageId)
		}
		r.Delete = append(r.Delete, rec)
	}
	return r
}
