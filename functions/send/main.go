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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/twilio"
)

func main() {
	ctx := context.Background()
	// Provider credentials are not required: a line whose provider has none gets its messages
	// marked failed with that reason, so a Meta-only business runs without Twilio settings.
	// The secret is re-read after config.SecretTTL, so credentials filled in after this
	// instance started are used without recycling it.
	secrets, awsCfg, err := boot.SetupSecrets(ctx, "send")
	if err != nil {
		slog.Error("send init failed", "error", err)
		os.Exit(1)
	}
	cfg, err := secrets.Config(ctx)
	if err != nil {
		slog.Error("send init failed", "error", err)
		os.Exit(1)
	}
	hc := &http.Client{Timeout: providerTimeout}
	// Agents' uploads (Media.Key) are read from the media bucket and handed to the provider.
	var bucket *media.Bucket
	if cfg.MediaBucket != "" {
		bucket = media.NewBucket(s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.S3PathStyle }), cfg.MediaBucket)
	}
	senders := &secretSenders{secrets: secrets, build: func(c config.Config) staticSenders { return withUploads(newSenders(c, hc), bucket) }}
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

// newSenders builds a client for each provider whose credentials cfg holds.
func newSenders(cfg config.Config, hc *http.Client) staticSenders {
	senders := staticSenders{}
	if cfg.MetaAccessToken != "" {
		senders["meta"] = &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken, HTTP: hc}
	}
	if cfg.TwilioAuthToken != "" {
		var callback string
		if cfg.PublicBaseURL != "" {
			callback = cfg.PublicBaseURL + "/webhooks/twilio" + twilio.RetryOverrides
		}
		senders["twilio"] = &twilio.Client{BaseURL: cfg.TwilioAPIURL, AuthToken: cfg.TwilioAuthToken, StatusCallback: callback, HTTP: hc}
	}
	return senders
}
