// Command api is the agent API behind API Gateway's HTTP API and its JWT authorizer: inbox
// views, threads and the actions agents take on conversations, templates and quick replies.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/templates"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, err := boot.Setup(ctx, "api")
	if err != nil {
		slog.Error("api init failed", "error", err)
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	a := &api{
		st:          st,
		now:         time.Now,
		outbound:    queue.New(sqs.NewFromConfig(awsCfg), cfg.OutboundQueueURL),
		realtimeURL: cfg.WebSocketURL,
	}
	// Media URLs and uploads need the bucket; without one messages show no URLs and uploads
	// answer 503.
	if cfg.MediaBucket != "" {
		a.bucket = media.NewBucket(s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.S3PathStyle }), cfg.MediaBucket)
	}
	// "Sync now" reads the templates with the Meta token (SECRETS_ARN); without one it is 503.
	if cfg.MetaAccessToken != "" {
		graph := &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken,
			HTTP: &http.Client{Timeout: 10 * time.Second}}
		a.templates = templates.New(st, graph, time.Now)
	}
	// Automatic assignment's turn after actions, availability and rule changes.
	a.routing = routing.New(a.st, time.Now)
	lambda.Start(a.routes().serve)
}
