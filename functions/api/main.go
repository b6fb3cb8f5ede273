// Command api is the agent API behind API Gateway's HTTP API and its JWT authorizer: inbox
// views, threads and the actions agents take on conversations, templates and quick replies.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/templates"
)

func main() {
	boot.Main("api", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		st := e.Store(nil)
		a := &api{
			st:          st,
			now:         time.Now,
			outbound:    e.Queue(cfg.OutboundQueueURL),
			realtimeURL: cfg.WebSocketURL,
			// Media URLs and uploads need the bucket; without one messages show no URLs and
			// uploads answer 503.
			bucket: e.Bucket(),
		}
		// "Sync now" reads the templates with the Meta token (SECRETS_ARN); without one it is 503.
		if cfg.MetaAccessToken != "" {
			graph := &meta.Client{BaseURL: cfg.MetaGraphURL, Version: cfg.MetaAPIVersion, Token: cfg.MetaAccessToken,
				HTTP: &http.Client{Timeout: 10 * time.Second}}
			a.templates = templates.New(st, graph, time.Now)
		}
		// Automatic assignment's turn after actions, availability and rule changes.
		a.routing = routing.New(a.st, time.Now)
		return a.routes().serve, nil
	})
}
