// Command webhook is the Lambda behind the provider webhooks: it verifies each delivery's
// signature, splits it into Buzón events and puts them on the inbound FIFO queue, answering
// 200 only once SQS accepted every item.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/queue"
)

func main() {
	ctx := context.Background()
	// Provider secrets are not required: a provider without its secret answers 503 on its own
	// route, so a Meta-only business runs without Twilio settings.
	cfg, awsCfg, err := boot.Setup(ctx, "webhook")
	if err != nil {
		slog.Error("webhook init failed", "error", err)
		os.Exit(1)
	}
	h := newHandler(cfg, queue.New(sqs.NewFromConfig(awsCfg), cfg.InboundQueueURL), time.Now)
	lambda.Start(h.handle)
}
