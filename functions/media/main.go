// Command media keeps customers' attachments: fed by the media FIFO queue, one job per
// attachment of a stored message, it asks the provider for the file (a fresh Cloud API URL on
// every try), streams it into the media bucket with bounded memory while checking the size
// and sha256 the provider announced, and records on the message whether it is ready,
// unavailable at the provider, or failed, with the reason. Nothing here blocks a
// conversation: the inbound queue never waits for a download.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/twilio"
)

// downloadTimeout bounds one provider download within the function's 30 s timeout
// (shared/deploy): 100 MB at 4 MB/s. A slower one is retried, then marked failed.
const downloadTimeout = 25 * time.Second

func main() {
	boot.Main("media", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		hc := &http.Client{Timeout: downloadTimeout}
		h := &handler{st: e.Store(nil), bucket: e.Bucket(), log: slog.Default()}
		if cfg.MetaAccessToken != "" {
			h.meta = &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken, HTTP: hc}
		}
		if cfg.TwilioAuthToken != "" {
			h.twilio = &twilio.Client{BaseURL: cfg.TwilioAPIURL, AuthToken: cfg.TwilioAuthToken, HTTP: hc}
		}
		// Without the queue's URL a retry waits out the visibility timeout, and without the
		// DLQ's a poison job goes by redrive (without its reason).
		return h.runner(e.Queue(cfg.MediaQueueURL), e.Queue(cfg.MediaDLQURL)).Run, nil
	})
}
