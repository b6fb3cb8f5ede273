// Command send consumes the outbound FIFO queue: for each message the API stored as queued it
// calls the line's provider (Meta Cloud API or Twilio), records the provider's id and applies
// the statuses that raced ahead of it, retries what the provider refuses for now with a
// backoff, and marks failed, with a reason an agent can act on, what it never will take.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/twilio"
)

func main() {
	ctx := context.Background()
	// Provider credentials are not required: a line whose provider has none gets its messages
	// marked failed with that reason, so a Meta-only business runs without Twilio settings.
	cfg, awsCfg, err := boot.Setup(ctx, "send")
	if err != nil {
		slog.Error("send init failed", "error", err)
		os.Exit(1)
	}
	hc := &http.Client{Timeout: providerTimeout}
	senders := map[string]Sender{}
	if cfg.MetaAccessToken != "" {
		senders["meta"] = &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken, HTTP: hc}
	}
	if cfg.TwilioAuthToken != "" {
		var callback string
		if cfg.PublicBaseURL != "" {
			callback = cfg.PublicBaseURL + "/webhooks/twilio"
		}
		senders["twilio"] = &twilio.Client{BaseURL: cfg.TwilioAPIURL, AuthToken: cfg.TwilioAuthToken, StatusCallback: callback, HTTP: hc}
	}
	sq := sqs.NewFromConfig(awsCfg)
	h := &handler{
		st:      store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil),
		senders: senders,
		limit:   newLimiter(cfg.LineRateLimit),
		now:     time.Now,
		backoff: backoff,
	}
	lambda.Start(h.runner(queue.New(sq, cfg.OutboundQueueURL), queue.New(sq, cfg.OutboundDLQURL)).Run)
}
