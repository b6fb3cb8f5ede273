package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/seed"
	"github.com/buzon/buzon/shared/store"
)

// visibilityTimeout of the local queues. The deployed queues hide a message for their declared
// visibility (shared/deploy: 180 s, six times the consumer's timeout); locally a batch lost to
// a crash comes back sooner. A failed record comes back after its backoff either way
// (shared/consume). The receive count before the dead-letter queue is the declared one.
const visibilityTimeout = 30 * time.Second

// awsClients are clients of the emulators, built from the settings rather than the
// environment so the runner works whatever AWS_* the shell has.
type awsClients struct {
	dynamo  *dynamodb.Client
	streams *dynamodbstreams.Client
	sqs     *sqs.Client
	s3      *s3.Client
}

func newAWSClients(dynamoURL, sqsURL, s3URL string) awsClients {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	return awsClients{
		dynamo: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(dynamoURL)
			// DynamoDB Local sends a CRC32 of 0 on some responses; the SDK would warn on each.
			o.DisableValidateResponseChecksum = true
		}),
		// DynamoDB Local serves the Streams API on the table's endpoint.
		streams: dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(dynamoURL) }),
		sqs:     sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(sqsURL) }),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(s3URL)
			o.UsePathStyle = true
		}),
	}
}

// fifoQueue is a queue the stack created, with its dead-letter queue.
type fifoQueue struct {
	URL, ARN       string
	DLQURL, DLQARN string
}

// queueSpec is how the stack's FIFO queues are configured (infra/stack.go newQueue).
type queueSpec struct {
	Name              string // without .fifo; the DLQ is Name-dlq.fifo
	VisibilityTimeout time.Duration
	MaxReceiveCount   int
}

// createFIFOQueue creates a high-throughput FIFO queue with its FIFO dead-letter queue. A queue
// that exists gets the attributes again, so a reused emulator matches the stack.
func createFIFOQueue(ctx context.Context, c *sqs.Client, spec queueSpec) (fifoQueue, error) {
	var q fifoQueue
	var err error
	q.DLQURL, q.DLQARN, err = ensureQueue(ctx, c, spec.Name+"-dlq.fifo", fifoAttributes())
	if err != nil {
		return fifoQueue{}, err
	}
	redrive, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": q.DLQARN,
		"maxReceiveCount":     strconv.Itoa(spec.MaxReceiveCount),
	})
	if err != nil {
		return fifoQueue{}, err
	}
	attrs := fifoAttributes()
	attrs[string(types.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(spec.VisibilityTimeout.Seconds()))
	attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(redrive)
	q.URL, q.ARN, err = ensureQueue(ctx, c, spec.Name+".fifo", attrs)
	if err != nil {
		return fifoQueue{}, err
	}
	return q, nil
}

// fifoAttributes are the stack's FIFO settings: deduplication by MessageDeduplicationId only,
// in high-throughput mode.
func fifoAttributes() map[string]string {
	return map[string]string{
		string(types.QueueAttributeNameFifoQueue):                 "true",
		string(types.QueueAttributeNameContentBasedDeduplication): "false",
		string(types.QueueAttributeNameDeduplicationScope):        "messageGroup",
		string(types.QueueAttributeNameFifoThroughputLimit):       "perMessageGroupId",
	}
}

func ensureQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	var exists *types.QueueNameExists
	switch {
	case errors.As(err, &exists):
		got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			return "", "", fmt.Errorf("queue %s: %w", name, err)
		}
		url = aws.ToString(got.QueueUrl)
		mutable := make(map[string]string, len(attrs))
		for k, v := range attrs {
			if k != string(types.QueueAttributeNameFifoQueue) {
				mutable[k] = v
			}
		}
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: mutable}); err != nil {
			return "", "", fmt.Errorf("queue %s: set attributes: %w", name, err)
		}
	case err != nil:
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	default:
		url = aws.ToString(out.QueueUrl)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("queue %s: %w", name, err)
	}
	return url, got.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// stackResources are what the functions are configured with.
type stackResources struct {
	Queues         map[string]fifoQueue // by declared name
	Store          *store.Store
	StreamARN      string // the table's stream, when a function reads it
	StreamFailures string // URL of the queue of stream batches the consumer gave up on
}

// provision creates the table and the queues the way the stack does, and loads the seed file
// into the table.
func provision(ctx context.Context, c awsClients, seedFile string, now time.Time) (stackResources, error) {
	var r stackResources
	if err := store.CreateTable(ctx, c.dynamo, tableName); err != nil {
		return r, err
	}
	r.Queues = map[string]fifoQueue{}
	for _, q := range deploy.Buzon.Queues {
		if !q.FIFO {
			return r, fmt.Errorf("queue %s: the local stack makes FIFO queues only", q.Name)
		}
		fq, err := createFIFOQueue(ctx, c.sqs, queueSpec{Name: q.Name, VisibilityTimeout: min(q.Visibility, visibilityTimeout), MaxReceiveCount: q.MaxReceives})
		if err != nil {
			return r, err
		}
		r.Queues[q.Name] = fq
	}
	// The media bucket; S3Proxy keeps it in memory, so it is new with every run.
	if c.s3 != nil {
		_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(mediaBucket)})
		var owned *s3types.BucketAlreadyOwnedByYou
		if err != nil && !errors.As(err, &owned) {
			return r, fmt.Errorf("create the media bucket: %w", err)
		}
	}
	if deploy.Buzon.StreamConsumed() {
		var err error
		if r.StreamARN, err = store.EnableStream(ctx, c.dynamo, tableName); err != nil {
			return r, err
		}
		if r.StreamFailures, _, err = ensureQueue(ctx, c.sqs, "stream-failures", map[string]string{}); err != nil {
			return r, err
		}
	}
	r.Store = store.New(c.dynamo, tableName, nil)
	f, err := seed.Read(seedFile)
	if err != nil {
		return r, err
	}
	if err := seed.Load(ctx, r.Store, f, now); err != nil {
		return r, fmt.Errorf("load %s: %w", seedFile, err)
	}
	return r, nil
}
