// Command send consumes the outbound FIFO queue: for each message the API stored as queued it
// calls the line's provider (Meta Cloud API or Twilio), records the provider's id and applies
// the statuses that raced ahead of it, retries what the provider refuses for now with a
// backoff, and marks failed, with a reason an agent can act on, what it never will take.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/twilio"
)

func main() {
	// Provider credentials are not required: a line whose provider has none gets its messages
	// marked failed with that reason, so a Meta-only business runs without Twilio settings.
	// The secret is re-read after config.SecretTTL, so credentials filled in after this
	// instance started are used without recycling it.
	boot.Main("send", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		hc := &http.Client{Timeout: providerTimeout}
		// Agents' uploads (Media.Key) are read from the media bucket and handed to the provider.
		bucket := e.Bucket()
		senders := &secretSenders{secrets: e.Secrets, build: func(c config.Config) staticSenders { return withUploads(newSenders(c, hc), bucket) }}
		h := &handler{
			st:      e.Store(nil),
			senders: senders,
			limit:   newLimiter(cfg.LineRateLimit),
			now:     time.Now,
			backoff: backoff,
		}
		return h.runner(e.Queue(cfg.OutboundQueueURL), e.Queue(cfg.OutboundDLQURL)).Run, nil
	})
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
