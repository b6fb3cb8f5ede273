package boot

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// Env is what a function's main builds its handler from: the configuration as read at init,
// the provider secrets re-read after their TTL, and the resources its settings name, each
// client made once from the one AWS configuration.
type Env struct {
	Config  config.Config
	Secrets *config.SecretCache
	AWS     aws.Config

	sqsOnce sync.Once
	sqs     *sqs.Client
}

// Main is a function's whole main: it sets the function named name up (Setup), builds its
// handler with build and hands it to Lambda. A failure of either is logged and ends the
// process, which Lambda reports as an init error.
func Main(name string, build func(ctx context.Context, e *Env) (any, error)) {
	ctx := context.Background()
	secrets, awsCfg, err := SetupSecrets(ctx, name)
	if err != nil {
		slog.Error(name+" init failed", "error", err)
		os.Exit(1)
	}
	cfg, err := secrets.Config(ctx) // read by SetupSecrets a moment ago: no second read
	if err != nil {
		slog.Error(name+" init failed", "error", err)
		os.Exit(1)
	}
	handler, err := build(ctx, &Env{Config: cfg, Secrets: secrets, AWS: awsCfg})
	if err != nil {
		slog.Error(name+" init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// Store is the table (TABLE_NAME); writes, when set, counts its write units.
func (e *Env) Store(writes *store.WriteCounter) *store.Store {
	return store.New(dynamodb.NewFromConfig(e.AWS), e.Config.TableName, writes)
}

// Queue is the queue at url, or nil when url is empty (a queue the function may go without).
func (e *Env) Queue(url string) *queue.Queue {
	if url == "" {
		return nil
	}
	e.sqsOnce.Do(func() { e.sqs = sqs.NewFromConfig(e.AWS) })
	return queue.New(e.sqs, url)
}

// Bucket is the media bucket (MEDIA_BUCKET), or nil in a deployment that keeps no media.
func (e *Env) Bucket() *media.Bucket {
	if e.Config.MediaBucket == "" {
		return nil
	}
	return media.NewBucket(s3.NewFromConfig(e.AWS, func(o *s3.Options) { o.UsePathStyle = e.Config.S3PathStyle }), e.Config.MediaBucket)
}

// Connections is the WebSocket API's @connections endpoint (WEBSOCKET_MANAGEMENT_URL).
func (e *Env) Connections() *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(e.AWS, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(e.Config.WebSocketManagementURL)
	})
}
