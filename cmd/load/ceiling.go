package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The ceilings: what the emulators themselves sustain on this machine, measured in the same run
// against the same emulator processes the stack uses, at the consumers' concurrency. The
// pipeline's maximum sustainable rate is reported as a share of the lower one.

// ceilings is what the emulators sustain, in inbound messages per second.
type ceilings struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds_each"`
	// SQS: a SendMessageBatch of 10, a ReceiveMessage of up to 10 and a DeleteMessageBatch per
	// round, FIFO with one group per message: messages through per second.
	SQSMsgs float64 `json:"sqs_msgs_per_s"`
	// DynamoDB: the consumer's requests for one steady-state inbound message — the
	// conversation read with the message's existence check (one BatchGetItem, strongly
	// consistent), the conversation's conditional update (PutItem on the version) and the
	// message's insert (PutItem attribute_not_exists) — per second.
	DynamoDBMsgs float64 `json:"dynamodb_msgs_per_s"`
	Lower        float64 `json:"lower_msgs_per_s"`
	LoadAvg      float64 `json:"load_avg"` // the machine's 1-minute load average at the end
}

func measureCeilings(ctx context.Context, s *stack, conc int, d time.Duration) (ceilings, error) {
	c := ceilings{Concurrency: conc, Seconds: d.Seconds()}
	var err error
	if c.SQSMsgs, err = sqsCeiling(ctx, s.sqs, conc, d); err != nil {
		return c, fmt.Errorf("sqs ceiling: %w", err)
	}
	if c.DynamoDBMsgs, err = dynamoCeiling(ctx, s.db, conc, d); err != nil {
		return c, fmt.Errorf("dynamodb ceiling: %w", err)
	}
	c.Lower = min(c.SQSMsgs, c.DynamoDBMsgs)
	c.LoadAvg = loadAvg()
	return c, nil
}

// runFor calls fn from conc goroutines, each starting rounds until d has passed and finishing
// the one under way, and returns how many units fn reported per second. A first pass of d/4
// warms the emulator's JVM and is not counted. The first error stops it.
func runFor(ctx context.Context, conc int, d time.Duration, fn func(ctx context.Context, worker, round int) (int, error)) (float64, error) {
	if _, err := pass(ctx, conc, d/4, fn, 1<<20); err != nil {
		return 0, err
	}
	return pass(ctx, conc, d, fn, 0)
}

func pass(ctx context.Context, conc int, d time.Duration, fn func(ctx context.Context, worker, round int) (int, error), firstRound int) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done     atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	start := time.Now()
	stop := start.Add(d)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := firstRound; time.Now().Before(stop) && ctx.Err() == nil; round++ {
				n, err := fn(ctx, w, round)
				if err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				done.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

func sqsCeiling(ctx context.Context, c *sqs.Client, conc int, d time.Duration) (float64, error) {
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("ceiling-%d.fifo", time.Now().UnixNano())), Attributes: map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "false",
		"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}})
	if err != nil {
		return 0, err
	}
	url := q.QueueUrl
	body := aws.String(strings.Repeat("x", 600)) // about one inbound event
	return runFor(ctx, conc, d, func(ctx context.Context, w, round int) (int, error) {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i := range 10 {
			id := fmt.Sprintf("%d-%d-%d", w, round, i)
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: body,
				MessageGroupId: aws.String("g" + id), MessageDeduplicationId: aws.String(id)})
		}
		sent, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
		if err != nil {
			return 0, err
		}
		if len(sent.Failed) > 0 {
			return 0, fmt.Errorf("send batch: %d failed: %s", len(sent.Failed), aws.ToString(sent.Failed[0].Message))
		}
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 30})
		if err != nil || len(got.Messages) == 0 {
			return 0, err
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range got.Messages {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: del}); err != nil {
			return 0, err
		}
		return len(got.Messages), nil
	})
}

func dynamoCeiling(ctx context.Context, db *dynamodb.Client, conc int, d time.Duration) (float64, error) {
	table := aws.String(fmt.Sprintf("ceiling-%d", time.Now().UnixNano()))
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: table, BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("PK"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("SK"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("SK"), KeyType: ddbtypes.KeyTypeRange}}})
	if err != nil {
		return 0, err
	}
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	pad := strings.Repeat("c", 800) // a conversation item is about 1 KB
	text := strings.Repeat("m", 200)
	// Each worker keeps 100 conversations of its own, as the consumers do per group.
	versions := make([][100]int, conc)
	return runFor(ctx, conc, d, func(ctx context.Context, w, round int) (int, error) {
		conv := fmt.Sprintf("C#w%d#%d", w, round%100)
		msg := fmt.Sprintf("M#%d", round)
		keys := []map[string]ddbtypes.AttributeValue{{"PK": s(conv), "SK": s("CONV")}, {"PK": s(conv), "SK": s(msg)}}
		if _, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{
			*table: {Keys: keys, ConsistentRead: aws.Bool(true)}}}); err != nil {
			return 0, err
		}
		v := &versions[w][round%100]
		item := map[string]ddbtypes.AttributeValue{"PK": s(conv), "SK": s("CONV"), "pad": s(pad),
			"v": &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(*v + 1)}}
		cond := aws.String("attribute_not_exists(PK) OR v = :v")
		vals := map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(*v)}}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item, ConditionExpression: cond, ExpressionAttributeValues: vals}); err != nil {
			return 0, err
		}
		*v++
		m := map[string]ddbtypes.AttributeValue{"PK": s(conv), "SK": s(msg), "text": s(text)}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: m, ConditionExpression: aws.String("attribute_not_exists(PK)")}); err != nil {
			return 0, err
		}
		return 1, nil
	})
}
