package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/realtime"
)

// streamMapping is how a DynamoDB stream event source mapping is configured (the stack's
// settings for the fan-out function).
type streamMapping struct {
	BatchSize int // records per invocation (Lambda's default 100)
	// BatchingWindow is MaximumBatchingWindowInSeconds: records are gathered until the batch
	// is full or this long after the first one (0: each GetRecords' records at once).
	BatchingWindow time.Duration
	MaxRetries     int           // MaximumRetryAttempts of a (sub)batch whose function failed
	MaxRecordAge   time.Duration // MaximumRecordAgeInSeconds; 0: unbounded
	Bisect         bool          // BisectBatchOnFunctionError
	OnFailureURL   string        // SQS queue of discarded batches ("" drops them, logged)
	Filters        []string      // FilterCriteria patterns; a record matching none is dropped
}

// streamPoller plays the event source mapping of a DynamoDB stream (ReportBatchItemFailures
// on): one reader per shard, a parent shard read to its end before its children, each
// GetRecords batch given to the function as a DynamoDB event. A function error retries the
// batch (split in halves first when Bisect is on; splitting costs no retry); a reported item
// failure moves the checkpoint to that record and retries from it; a batch out of retries
// or too old is discarded to the on-failure queue with Lambda's DDBStreamBatchInfo.
type streamPoller struct {
	streams   *dynamodbstreams.Client
	sqs       *sqs.Client
	streamARN string
	function  string
	invoke    invokeFunc
	mapping   streamMapping
	log       *slog.Logger

	every time.Duration // GetRecords interval of an idle shard: Lambda polls 4 times a second
	// redeliver gives every processed batch to the function a second time, as the stream's
	// at-least-once delivery may (STREAM_REDELIVER=1): the fan-out's events must come out with
	// the same ids, so a client drops the copies.
	redeliver bool
	backoff   time.Duration // wait before retrying a failed batch

	mu      sync.Mutex
	started map[string]chan struct{} // shard id → closed when the shard is read to its end
	ready   chan struct{}            // closed once the shards open at start have iterators
}

func newStreamPoller(streams *dynamodbstreams.Client, sqsClient *sqs.Client, streamARN, function string, invoke invokeFunc, m streamMapping, log *slog.Logger) *streamPoller {
	if m.BatchSize <= 0 {
		m.BatchSize = 100
	}
	return &streamPoller{streams: streams, sqs: sqsClient, streamARN: streamARN, function: function, invoke: invoke,
		mapping: m, log: log.With("function", function), every: 250 * time.Millisecond, backoff: 500 * time.Millisecond,
		started: map[string]chan struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the poller reads every shard that was open when it started, from the
// latest record on: writes after that reach the function.
func (p *streamPoller) Ready() <-chan struct{} { return p.ready }

// run reads the stream until ctx is done, looking for new shards every few seconds.
func (p *streamPoller) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	first := true
	for ctx.Err() == nil {
		shards, err := p.shards(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("describe stream", "error", err)
			}
		} else {
			var starting sync.WaitGroup
			for _, s := range shards {
				id := aws.ToString(s.ShardId)
				p.mu.Lock()
				_, known := p.started[id]
				done := make(chan struct{})
				if !known {
					p.started[id] = done
				}
				parent := p.started[aws.ToString(s.ParentShardId)]
				p.mu.Unlock()
				if known {
					continue
				}
				closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
				if first && closed {
					close(done) // read before we started: the mapping starts at LATEST
					continue
				}
				// Shards open at start are read from LATEST; shards that appear later from their
				// beginning (TRIM_HORIZON), after their parent.
				from := streamtypes.ShardIteratorTypeTrimHorizon
				if first {
					from = streamtypes.ShardIteratorTypeLatest
				}
				starting.Add(1)
				wg.Go(func() {
					defer close(done)
					if parent != nil && !first {
						select {
						case <-parent:
						case <-ctx.Done():
							starting.Done()
							return
						}
					}
					p.readShard(ctx, id, from, starting.Done)
				})
			}
			if first {
				starting.Wait()
				close(p.ready)
				first = false
			}
		}
		if !sleep(ctx, 5*time.Second) {
			return
		}
	}
}

func (p *streamPoller) shards(ctx context.Context) ([]streamtypes.Shard, error) {
	var out []streamtypes.Shard
	var start *string
	for {
		d, err := p.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.streamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, err
		}
		out = append(out, d.StreamDescription.Shards...)
		start = d.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return out, nil
		}
	}
}

// readShard delivers a shard's records in order until the shard ends or ctx is done; started
// is called once the shard has an iterator.
func (p *streamPoller) readShard(ctx context.Context, shard string, from streamtypes.ShardIteratorType, started func()) {
	var it *string
	for it == nil {
		out, err := p.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(p.streamARN), ShardId: aws.String(shard), ShardIteratorType: from})
		if err == nil {
			it = out.ShardIterator
			break
		}
		if ctx.Err() != nil {
			started()
			return
		}
		p.log.Warn("shard iterator", "shard", shard, "error", err)
		if !sleep(ctx, time.Second) {
			started()
			return
		}
	}
	started()
	last := "" // sequence number of the last record read
	// Records gathered for the next invocation, and when the first of them was read.
	var batch []lambdaevents.DynamoDBEventRecord
	var since time.Time
	flush := func() {
		if len(batch) > 0 {
			p.deliver(ctx, shard, batch)
		}
		batch = nil
	}
	defer func() {
		if ctx.Err() == nil {
			flush() // the shard is closed: what was gathered goes now
		}
	}()
	for it != nil && ctx.Err() == nil {
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(int32(p.mapping.BatchSize))})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var expired *streamtypes.ExpiredIteratorException
			var trimmed *streamtypes.TrimmedDataAccessException
			if errors.As(err, &expired) || errors.As(err, &trimmed) {
				// A new iterator after the last record read. DynamoDB Local answers a LATEST
				// iterator of a shard that has no record yet with TrimmedDataAccess: nothing
				// was read yet, so the shard is read from its start.
				if next := p.iterator(ctx, shard, last); next != nil {
					it = next
					continue
				}
			} else {
				p.log.Warn("get records", "shard", shard, "error", err)
			}
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		if n := len(out.Records); n > 0 && out.Records[n-1].Dynamodb != nil {
			last = aws.ToString(out.Records[n-1].Dynamodb.SequenceNumber)
		}
		it = out.NextShardIterator
		recs := p.filter(streamRecords(out.Records, p.streamARN))
		if len(batch) == 0 && len(recs) > 0 {
			since = time.Now()
		}
		batch = append(batch, recs...)
		for len(batch) >= p.mapping.BatchSize {
			full := batch[:p.mapping.BatchSize]
			batch = batch[p.mapping.BatchSize:]
			p.deliver(ctx, shard, full)
			since = time.Now()
		}
		if len(batch) > 0 && time.Since(since) >= p.mapping.BatchingWindow {
			flush()
			continue
		}
		wait := p.every
		if len(batch) > 0 {
			// Poll again before the window closes, so a full batch goes at once.
			wait = min(wait, p.mapping.BatchingWindow-time.Since(since))
		}
		if len(out.Records) == 0 || len(batch) > 0 {
			if !sleep(ctx, wait) {
				return
			}
		}
	}
}

// iterator returns an iterator after sequence number last, or at the shard's start when last
// is "", nil after logging a failure.
func (p *streamPoller) iterator(ctx context.Context, shard, last string) *string {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.streamARN), ShardId: aws.String(shard),
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	if last != "" {
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
	}
	out, err := p.streams.GetShardIterator(ctx, in)
	if err != nil {
		p.log.Warn("shard iterator", "shard", shard, "error", err)
		return nil
	}
	return out.ShardIterator
}

// filter keeps the records that match one of the mapping's filters (all when there are none).
func (p *streamPoller) filter(recs []lambdaevents.DynamoDBEventRecord) []lambdaevents.DynamoDBEventRecord {
	if len(p.mapping.Filters) == 0 {
		return recs
	}
	kept := recs[:0]
	for _, r := range recs {
		b, _ := json.Marshal(r)
		var doc map[string]any
		json.Unmarshal(b, &doc)
		for _, f := range p.mapping.Filters {
			if ok, err := matchFilter(f, doc); err != nil {
				p.log.Error("filter pattern", "pattern", f, "error", err)
			} else if ok {
				kept = append(kept, r)
				break
			}
		}
	}
	return kept
}

// deliver gives recs to the function until each is processed or discarded.
func (p *streamPoller) deliver(ctx context.Context, shard string, recs []lambdaevents.DynamoDBEventRecord) {
	retries := 0
	for len(recs) > 0 && ctx.Err() == nil {
		if age := p.mapping.MaxRecordAge; age > 0 {
			n := 0
			for n < len(recs) && time.Since(recs[n].Change.ApproximateCreationDateTime.Time) > age {
				n++
			}
			if n > 0 {
				p.discard(ctx, shard, recs[:n], "RecordAgeExceeded", retries)
				recs = recs[n:]
				continue
			}
		}
		done, err := p.call(ctx, recs)
		if ctx.Err() != nil {
			return
		}
		if done == len(recs) {
			if p.redeliver {
				_, _ = p.call(ctx, recs)
			}
			return
		}
		if done > 0 { // item failures: the checkpoint moves to the first failed record
			recs, retries = recs[done:], 0
			p.log.Info("records reported failed; retrying from the first", "shard", shard, "sequence", recs[0].Change.SequenceNumber)
			continue
		}
		if err != nil && p.mapping.Bisect && len(recs) > 1 {
			p.log.Info("batch failed; bisecting", "shard", shard, "records", len(recs), "error", err)
			half := len(recs) / 2
			p.deliver(ctx, shard, recs[:half])
			p.deliver(ctx, shard, recs[half:])
			return
		}
		retries++
		if retries > p.mapping.MaxRetries {
			p.discard(ctx, shard, recs, "RetryAttemptsExhausted", retries)
			return
		}
		p.log.Warn("batch failed; retrying", "shard", shard, "records", len(recs), "retry", retries, "error", err)
		if !sleep(ctx, p.backoff) {
			return
		}
	}
}

// call invokes the function with recs and returns how many records from the start it
// processed: all of them, or those before the first it reported failed.
func (p *streamPoller) call(ctx context.Context, recs []lambdaevents.DynamoDBEventRecord) (int, error) {
	payload, err := json.Marshal(lambdaevents.DynamoDBEvent{Records: recs})
	if err != nil {
		return 0, err
	}
	resp, err := p.invoke(ctx, payload)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBatchFailed, err)
	}
	var out struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if t := strings.TrimSpace(string(resp)); t != "" && t != "null" {
		if err := json.Unmarshal(resp, &out); err != nil {
			return 0, fmt.Errorf("%w: response is not a batch response: %v", ErrBatchFailed, err)
		}
	}
	first := len(recs)
	for _, f := range out.BatchItemFailures {
		i := -1
		for j, r := range recs {
			if f.ItemIdentifier != nil && r.Change.SequenceNumber == *f.ItemIdentifier {
				i = j
			}
		}
		if i < 0 {
			// Lambda treats an empty or unknown itemIdentifier as a failure of the whole batch.
			return 0, fmt.Errorf("%w: itemIdentifier %v is not in the batch", ErrBatchFailed, f.ItemIdentifier)
		}
		first = min(first, i)
	}
	return first, nil
}

// discard sends a batch's description to the on-failure queue, as Lambda does: the records
// themselves stay in the stream for 24 hours, where an operator reads them by sequence number.
func (p *streamPoller) discard(ctx context.Context, shard string, recs []lambdaevents.DynamoDBEventRecord, condition string, invokes int) {
	first, last := recs[0], recs[len(recs)-1]
	p.log.Error("stream records discarded", "shard", shard, "condition", condition, "records", len(recs),
		"first_sequence", first.Change.SequenceNumber, "last_sequence", last.Change.SequenceNumber)
	if p.mapping.OnFailureURL == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{
		"requestContext": map[string]any{
			"requestId": newRequestID(), "functionArn": functionARN(p.function),
			"condition": condition, "approximateInvokeCount": invokes,
		},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"version":         "1.0",
		"timestamp":       time.Now().UTC().Format(time.RFC3339Nano),
		"DDBStreamBatchInfo": map[string]any{
			"shardId":                         shard,
			"startSequenceNumber":             first.Change.SequenceNumber,
			"endSequenceNumber":               last.Change.SequenceNumber,
			"approximateArrivalOfFirstRecord": first.Change.ApproximateCreationDateTime.Time.UTC().Format(time.RFC3339),
			"approximateArrivalOfLastRecord":  last.Change.ApproximateCreationDateTime.Time.UTC().Format(time.RFC3339),
			"batchSize":                       len(recs),
			"streamArn":                       p.streamARN,
		},
	})
	if _, err := p.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.mapping.OnFailureURL), MessageBody: aws.String(string(body))}); err != nil {
		p.log.Error("on-failure destination", "queue", p.mapping.OnFailureURL, "error", err)
	}
}

// streamRecords converts GetRecords' records into the Lambda event's.
func streamRecords(in []streamtypes.Record, arn string) []lambdaevents.DynamoDBEventRecord {
	out := make([]lambdaevents.DynamoDBEventRecord, 0, len(in))
	for _, r := range in {
		rec := lambdaevents.DynamoDBEventRecord{
			AWSRegion:      region,
			EventID:        aws.ToString(r.EventID),
			EventName:      string(r.EventName),
			EventSource:    "aws:dynamodb",
			EventVersion:   "1.1",
			EventSourceArn: arn,
		}
		if r.UserIdentity != nil {
			rec.UserIdentity = &lambdaevents.DynamoDBUserIdentity{Type: aws.ToString(r.UserIdentity.Type), PrincipalID: aws.ToString(r.UserIdentity.PrincipalId)}
		}
		if d := r.Dynamodb; d != nil {
			rec.Change = lambdaevents.DynamoDBStreamRecord{
				Keys:           lambdaItem(d.Keys),
				NewImage:       lambdaItem(d.NewImage),
				OldImage:       lambdaItem(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber),
				SizeBytes:      aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			}
			if d.ApproximateCreationDateTime != nil {
				rec.Change.ApproximateCreationDateTime = lambdaevents.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
			}
		}
		out = append(out, rec)
	}
	return out
}

func lambdaItem(m map[string]streamtypes.AttributeValue) map[string]lambdaevents.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]lambdaevents.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaAttr(v)
	}
	return out
}

func lambdaAttr(v streamtypes.AttributeValue) lambdaevents.DynamoDBAttributeValue {
	switch a := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return lambdaevents.NewStringAttribute(a.Value)
	case *streamtypes.AttributeValueMemberN:
		return lambdaevents.NewNumberAttribute(a.Value)
	case *streamtypes.AttributeValueMemberB:
		return lambdaevents.NewBinaryAttribute(a.Value)
	case *streamtypes.AttributeValueMemberBOOL:
		return lambdaevents.NewBooleanAttribute(a.Value)
	case *streamtypes.AttributeValueMemberNULL:
		return lambdaevents.NewNullAttribute()
	case *streamtypes.AttributeValueMemberSS:
		return lambdaevents.NewStringSetAttribute(a.Value)
	case *streamtypes.AttributeValueMemberNS:
		return lambdaevents.NewNumberSetAttribute(a.Value)
	case *streamtypes.AttributeValueMemberBS:
		return lambdaevents.NewBinarySetAttribute(a.Value)
	case *streamtypes.AttributeValueMemberL:
		l := make([]lambdaevents.DynamoDBAttributeValue, len(a.Value))
		for i, e := range a.Value {
			l[i] = lambdaAttr(e)
		}
		return lambdaevents.NewListAttribute(l)
	case *streamtypes.AttributeValueMemberM:
		return lambdaevents.NewMapAttribute(lambdaItem(a.Value))
	}
	return lambdaevents.NewNullAttribute()
}

// matchFilter reports whether doc, a record as JSON, matches the Lambda filter pattern (the
// subset the stack uses: nested objects, and arrays of alternatives that are literals or
// {"prefix": s}, {"exists": b}, {"anything-but": [...]}).
func matchFilter(pattern string, doc map[string]any) (bool, error) {
	var p map[string]any
	if err := json.Unmarshal([]byte(pattern), &p); err != nil {
		return false, fmt.Errorf("filter %s: %w", pattern, err)
	}
	return matchObject(p, doc)
}

func matchObject(p map[string]any, doc map[string]any) (bool, error) {
	for k, pv := range p {
		dv, present := doc[k]
		switch want := pv.(type) {
		case map[string]any:
			sub, ok := dv.(map[string]any)
			if !ok {
				return false, nil
			}
			if ok, err := matchObject(want, sub); err != nil || !ok {
				return false, err
			}
		case []any:
			ok, err := matchValue(want, dv, present)
			if err != nil || !ok {
				return false, err
			}
		default:
			return false, fmt.Errorf("filter: %q must be an object or an array", k)
		}
	}
	return true, nil
}

func matchValue(alternatives []any, v any, present bool) (bool, error) {
	for _, alt := range alternatives {
		op, isOp := alt.(map[string]any)
		if !isOp {
			if present && fmt.Sprint(alt) == fmt.Sprint(v) {
				return true, nil
			}
			continue
		}
		for name, arg := range op {
			switch name {
			case "prefix":
				s, ok := v.(string)
				if present && ok && strings.HasPrefix(s, fmt.Sprint(arg)) {
					return true, nil
				}
			case "exists":
				if b, _ := arg.(bool); b == present {
					return true, nil
				}
			case "anything-but":
				list, _ := arg.([]any)
				if !present {
					continue
				}
				hit := false
				for _, x := range list {
					hit = hit || fmt.Sprint(x) == fmt.Sprint(v)
				}
				if !hit {
					return true, nil
				}
			default:
				return false, fmt.Errorf("filter: operator %q is not supported locally", name)
			}
		}
	}
	return false, nil
}

// fanoutMapping is the fan-out's event source mapping as the stack declares it
// (realtime.StreamMapping), bisecting on error, with its on-failure queue.
func fanoutMapping(onFailure string) streamMapping {
	m := realtime.StreamMapping
	return streamMapping{BatchSize: m.BatchSize, BatchingWindow: m.BatchingWindow, MaxRetries: m.MaxRetries, MaxRecordAge: m.MaxRecordAge, Bisect: true,
		OnFailureURL: onFailure, Filters: m.Filters}
}
