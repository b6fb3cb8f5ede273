// Command templates syncs the organizations' WhatsApp message templates from the Cloud API
// into the table (M3), for every WhatsApp Business Account a Meta line is on: on its
// EventBridge schedule and once when the local stack starts. Status changes between syncs
// arrive as template status webhooks, which the assign function applies at once; an admin's
// "sync now" runs the same sync from the API (shared/templates).
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/templates"
)

// graphTimeout bounds one page of a template list.
const graphTimeout = 30 * time.Second

func main() {
	// Without Meta credentials (a Twilio-only business) there is nothing to sync: each run
	// says so and ends.
	boot.Main("templates", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		h := &handler{}
		if cfg.MetaAccessToken != "" {
			client := &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken,
				HTTP: &http.Client{Timeout: graphTimeout}}
			h.sync = templates.New(e.Store(nil), client, time.Now)
		}
		return h.handle, nil
	})
}
