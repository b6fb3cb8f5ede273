// Command api is the agent API behind API Gateway's HTTP API and its JWT authorizer: inbox
// views, threads and the actions agents take on conversations.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, err := boot.Setup(ctx, "TABLE_NAME", "OUTBOUND_QUEUE_URL")
	if err != nil {
		slog.Error("api init failed", "error", err)
		os.Exit(1)
	}
	a := &api{
		st:       store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil),
		now:      time.Now,
		outbound: queue.New(sqs.NewFromConfig(awsCfg), cfg.OutboundQueueURL),
	}
	lambda.Start(a.routes().serve)
}
