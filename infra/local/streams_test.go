package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// streamConsumer is a function behind the stream poller: it records the SKs of every batch it
// receives and fails as told.
type streamConsumer struct {
	mu      sync.Mutex
	batches [][]string
	// fail decides the answer to a batch: a function error, or the SK of a record to report
	// as failed ("" for none).
	fail func(sks []string) (reportSK string, err error)
}

func (c *streamConsumer) invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev lambdaevents.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	var sks []string
	for _, r := range ev.Records {
		sks = append(sks, r.Change.Keys["SK"].String())
	}
	c.mu.Lock()
	c.batches = append(c.batches, sks)
	c.mu.Unlock()
	report, err := c.fail(sks)
	if err != nil {
		return nil, &FunctionError{Type: "errorString", Message: err.Error()}
	}
	if report == "" {
		return []byte(`{"batchItemFailures":[]}`), nil
	}
	for _, r := range ev.Records {
		if r.Change.Keys["SK"].String() == report {
			return json.Marshal(map[string]any{"batchItemFailures": []map[string]string{{"itemIdentifier": r.Change.SequenceNumber}}})
		}
	}
	return nil, nil
}

func (c *streamConsumer) seen() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]string(nil), c.batches...)
}

// startStreamPoller runs a poller of a fresh table's stream with mapping m.
func startStreamPoller(t *testing.T, c *streamConsumer, m streamMapping) (db *dynamodb.Client, table string) {
	t.Helper()
	db = testenv.DynamoDB(t)
	table = testenv.ID("streams")
	ctx := context.Background()
	if err := store.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	arn, err := store.EnableStream(ctx, db, table)
	if err != nil || arn == "" {
		t.Fatalf("stream of %s: %q, %v", table, arn, err)
	}
	p := newStreamPoller(testenv.DynamoDBStreams(t), testenv.SQS(t), arn, "fanout", c.invoke, m, slog.New(slog.NewTextHandler(&testLog{t: t}, nil)))
	p.every, p.backoff = 50*time.Millisecond, 50*time.Millisecond
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.run(pctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	select {
	case <-p.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("stream poller not ready")
	}
	return db, table
}

// putItems writes items with SKs sks in one partition, in one transaction, so that they
// reach the stream together and come in one batch.
func putItems(t *testing.T, db *dynamodb.Client, table string, sks ...string) {
	t.Helper()
	var items []ddbtypes.TransactWriteItem
	for _, sk := range sks {
		items = append(items, ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
			"PK": &ddbtypes.AttributeValueMemberS{Value: "P"}, "SK": &ddbtypes.AttributeValueMemberS{Value: sk},
		}}})
	}
	if _, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		t.Fatal(err)
	}
}

func flat(batches [][]string) []string {
	var out []string
	for _, b := range batches {
		out = append(out, b...)
	}
	return out
}

func TestStreamPollerDeliversInOrderAndFilters(t *testing.T) {
	t.Parallel()
	c := &streamConsumer{fail: func([]string) (string, error) { return "", nil }}
	db, table := startStreamPoller(t, c, streamMapping{BatchSize: 100, MaxRetries: 2, Bisect: true,
		Filters: []string{`{"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "M#"}]}}}}`}})
	putItems(t, db, table, "M#1", "LOAD", "M#2", "M#3")
	want := []string{"M#1", "M#2", "M#3"}
	waitFor(t, "three records", func() bool { return len(flat(c.seen())) >= 3 })
	if diff := cmp.Diff(want, flat(c.seen())); diff != "" {
		t.Errorf("records delivered (-want +got):\n%s", diff)
	}
}

func TestStreamPollerBisectsAndDiscardsPoison(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, err := testenv.SQS(t).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.ID("streamfail"))})
	if err != nil {
		t.Fatal(err)
	}
	c := &streamConsumer{fail: func(sks []string) (string, error) {
		for _, sk := range sks {
			if sk == "poison" {
				return "", errors.New("poison")
			}
		}
		return "", nil
	}}
	db, table := startStreamPoller(t, c, streamMapping{BatchSize: 100, MaxRetries: 2, Bisect: true, OnFailureURL: aws.ToString(q.QueueUrl)})
	putItems(t, db, table, "a", "b", "poison", "d")
	// a b poison d fails; a b passes; poison d fails; poison fails 1 + 2 times; d passes.
	waitFor(t, "d delivered alone", func() bool { b := c.seen(); return len(b) > 0 && fmt.Sprint(b[len(b)-1]) == "[d]" })

	// Every good record is processed; the poison one alone was retried MaxRetries times, then
	// its description went to the on-failure queue.
	processed := map[string]int{}
	poisonAlone := 0
	for _, b := range c.seen() {
		for _, sk := range b {
			processed[sk]++
		}
		if len(b) == 1 && b[0] == "poison" {
			poisonAlone++
		}
	}
	if processed["a"] == 0 || processed["b"] == 0 || processed["d"] == 0 {
		t.Errorf("good records not all processed: %v", c.seen())
	}
	if poisonAlone != 3 {
		t.Errorf("poison alone invoked %d times, want 1 + 2 retries; batches %v", poisonAlone, c.seen())
	}
	var msg struct {
		RequestContext struct{ Condition string } `json:"requestContext"`
		Info           struct {
			BatchSize int    `json:"batchSize"`
			Start     string `json:"startSequenceNumber"`
		} `json:"DDBStreamBatchInfo"`
	}
	waitFor(t, "the on-failure record", func() bool {
		out, err := testenv.SQS(t).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
		if err != nil || len(out.Messages) == 0 {
			return false
		}
		return json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &msg) == nil
	})
	if msg.RequestContext.Condition != "RetryAttemptsExhausted" || msg.Info.BatchSize != 1 || msg.Info.Start == "" {
		t.Errorf("on-failure record: %+v", msg)
	}
}

func TestStreamPollerRetriesFromTheReportedRecord(t *testing.T) {
	t.Parallel()
	var once sync.Once
	c := &streamConsumer{fail: func(sks []string) (string, error) {
		report := ""
		for _, sk := range sks {
			if sk == "c" {
				once.Do(func() { report = "c" })
			}
		}
		return report, nil
	}}
	db, table := startStreamPoller(t, c, streamMapping{BatchSize: 100, MaxRetries: 2})
	putItems(t, db, table, "a", "b", "c", "d")
	waitFor(t, "two batches", func() bool { return len(c.seen()) >= 2 })
	if diff := cmp.Diff([][]string{{"a", "b", "c", "d"}, {"c", "d"}}, c.seen()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

// TestStreamBatchingWindow: with a batching window, records written one at a time are
// gathered into one invocation until the window closes, and a batch that fills goes at once
// (MaximumBatchingWindowInSeconds with BatchSize).
func TestStreamBatchingWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		window time.Duration
		size   int
		want   []int // records per invocation
	}{
		{"the window gathers them", 3 * time.Second, 100, []int{12}},
		{"a full batch goes at once", time.Minute, 5, []int{5, 5}}, // the last 2 wait for the window
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &streamConsumer{fail: func([]string) (string, error) { return "", nil }}
			db, table := startStreamPoller(t, c, streamMapping{BatchSize: tt.size, BatchingWindow: tt.window})
			var want []string
			start := time.Now()
			for i := range 12 {
				sk := fmt.Sprintf("M#%02d", i)
				putItems(t, db, table, sk) // one record at a time: each GetRecords sees a few
				want = append(want, sk)
			}
			written := time.Since(start)
			if written >= tt.window/2 {
				t.Skipf("writing took %v: too slow a machine for a %v window", written, tt.window)
			}
			deadline := time.Now().Add(60 * time.Second)
			var sizes []int
			for {
				sizes = sizes[:0]
				n := 0
				for _, b := range c.seen() {
					sizes = append(sizes, len(b))
					n += len(b)
				}
				if n >= 12 || tt.window == time.Minute && n >= 10 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if diff := cmp.Diff(tt.want, sizes); diff != "" {
				t.Errorf("records per invocation (-want +got):\n%s", diff)
			}
			if tt.window != time.Minute {
				if diff := cmp.Diff(want, flat(c.seen())); diff != "" {
					t.Errorf("records (-want +got):\n%s", diff)
				}
			}
		})
	}
}
