// Package testenv connects integration tests to the emulators `make test` starts (DynamoDB
// Local, the SQS emulator and the S3 emulator), through the standard AWS endpoint variables. With -short the
// tests that need them are skipped; otherwise a missing emulator fails the test, never skips it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/buzon/buzon/shared/store"
)

var (
	once    sync.Once
	cfg     aws.Config
	cfgErr  error
	tableMu sync.Mutex
	tables  = map[string]string{}
)

func awsConfig(t testing.TB) aws.Config {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the emulators (run without -short, through make test)")
	}
	// Tests read the standard endpoint variables here only to fail clearly when the emulators
	// are not running; the SDK itself picks them up in LoadDefaultConfig.
	for _, v := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: integration tests need the emulators; run `make test` (or `go test -short` for unit tests only)", v)
		}
	}
	once.Do(func() {
		cfg, cfgErr = awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"))
	})
	if cfgErr != nil {
		t.Fatalf("aws config: %v", cfgErr)
	}
	return cfg
}

// DynamoDB returns a client of DynamoDB Local. DynamoDB Local sends a CRC32 of 0 on some
// responses, which the SDK reports on every call; the check is off for the emulator only.
func DynamoDB(t testing.TB) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsConfig(t), func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
}

// DynamoDBStreams returns a client of DynamoDB Local's Streams API, which it serves on the
// table's endpoint.
func DynamoDBStreams(t testing.TB) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(awsConfig(t), func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	})
}

// SQS returns a client of the SQS emulator.
func SQS(t testing.TB) *sqs.Client {
	return sqs.NewFromConfig(awsConfig(t))
}

// S3 returns a client of the S3 emulator. Buckets are addressed by path locally
// (http://127.0.0.1:PORT/bucket/key): virtual-host names would need DNS for every bucket.
func S3(t testing.TB) *s3.Client {
	return s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
}

// Bucket creates a bucket of its own for a test and returns its name. The emulator keeps
// objects in memory and stops with the run, so nothing is deleted after.
func Bucket(t testing.TB) string {
	t.Helper()
	name := ID("media-")
	if _, err := S3(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// Table returns the name of a table with Buzón's schema, created once per test binary and
// name; tests share it and keep apart by using their own organization ids (see ID).
func Table(t testing.TB, name string) string {
	t.Helper()
	db := DynamoDB(t)
	tableMu.Lock()
	defer tableMu.Unlock()
	if tbl, ok := tables[name]; ok {
		return tbl
	}
	tbl := name + "-" + ID("")
	if err := store.CreateTable(context.Background(), db, tbl); err != nil {
		t.Fatalf("create table: %v", err)
	}
	tables[name] = tbl
	return tbl
}

// Store returns a store over a shared test table, with a write counter.
func Store(t testing.TB) *store.Store {
	return store.New(DynamoDB(t), Table(t, "test"), store.NewWriteCounter())
}

// ID returns a random id with a prefix: an organization, a line, a user of one test.
func ID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// FIFOQueue creates a high-throughput FIFO queue with a FIFO dead-letter queue that takes a
// message after maxReceive receives, and returns both URLs. visibility is in seconds.
func FIFOQueue(t testing.TB, maxReceive, visibility int) (url, dlq string) {
	t.Helper()
	ctx := context.Background()
	client := SQS(t)
	name := ID("q")
	d, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name + "-dlq.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"},
	})
	if err != nil {
		t.Fatalf("create dlq: %v", err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: d.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("dlq arn: %v", err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(name + ".fifo"),
		Attributes: map[string]string{
			"FifoQueue":           "true",
			"DeduplicationScope":  "messageGroup",
			"FifoThroughputLimit": "perMessageGroupId",
			"VisibilityTimeout":   fmt.Sprint(visibility),
			"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`,
				attrs.Attributes["QueueArn"], maxReceive),
		},
	})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(d.QueueUrl)
}
