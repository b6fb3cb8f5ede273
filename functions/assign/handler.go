package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/ingest"
)

type handler struct {
	proc *ingest.Processor
}

// apply applies one inbound event. An event that can never be applied (not JSON, or
// ingest.ErrMalformed) is poison: the runner moves it to the dead-letter queue at once with
// its reason, so it does not hold its conversation up; any other failure is retried, and the
// runner holds the conversation's later events behind it.
func (h *handler) apply(ctx context.Context, r *lambdaevents.SQSMessage) error {
	var in events.Inbound
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
		return consume.Poisonf("not an inbound event: %w", err)
	}
	res, err := h.proc.Apply(ctx, &in)
	if errors.Is(err, ingest.ErrMalformed) {
		return consume.Poison(err)
	}
	if err != nil {
		return fmt.Errorf("%s event of request %s: %w", in.Kind, in.RequestID, err)
	}
	slog.DebugContext(ctx, "applied", "sqs_message_id", r.MessageId, "request_id", in.RequestID, "kind", in.Kind, "result", res)
	return nil
}
