package main

import (
	"context"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/templates"
)

type handler struct {
	sync *templates.Syncer // nil: no Meta credentials
}

// handle runs one scheduled sync of every registered WABA. An account that cannot be read
// does not stop the others; the run then returns an error, so the failure shows in the
// function's error alarm and Lambda retries the run (a retry rewrites nothing unchanged).
func (h *handler) handle(ctx context.Context, ev lambdaevents.EventBridgeEvent) (templates.Result, error) {
	log := slog.With("event_id", ev.ID)
	if h.sync == nil {
		log.WarnContext(ctx, "no Meta access token: templates not synced")
		return templates.Result{}, nil
	}
	res, err := h.sync.SyncAll(ctx)
	if err != nil {
		log.ErrorContext(ctx, "template sync incomplete", "wabas", res.WABAs, "failed", res.Failed, "error", err)
		return res, err
	}
	log.InfoContext(ctx, "template sync done", "wabas", res.WABAs, "templates", res.Templates, "changed", res.Changed, "removed", res.Removed)
	return res, nil
}
