package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

type handler struct {
	proc *ingest.Processor
	dlq  *queue.Queue
	// writes, when set, counts the batch's DynamoDB writes; the total is logged with each
	// batch (a metric for dashboards and the load driver) and the counter starts again.
	writes *store.WriteCounter
}

// handle applies a batch of inbound events. A record that fails transiently is reported (with
// every later record of its conversation, to keep FIFO order) and comes back; a record that can
// never be applied goes to the dead-letter queue at once with its reason and is acknowledged,
// so it does not hold its conversation up for five retries.
func (h *handler) handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	batch := queue.NewBatch()
	for i := range ev.Records {
		r := &ev.Records[i]
		if batch.Blocked(r) {
			batch.Fail(r)
			continue
		}
		log := slog.With("sqs_message_id", r.MessageId)
		var in events.Inbound
		err := json.Unmarshal([]byte(r.Body), &in)
		if err == nil {
			log = log.With("request_id", in.RequestID, "kind", in.Kind)
			var res ingest.Result
			res, err = h.proc.Apply(ctx, &in)
			if err == nil {
				log.DebugContext(ctx, "applied", "result", res)
				continue
			}
		} else {
			err = errors.Join(ingest.ErrMalformed, err)
		}
		if errors.Is(err, ingest.ErrMalformed) {
			if derr := h.dlq.Bury(ctx, r.Attributes["MessageGroupId"], r.MessageId, r.Body, err.Error()); derr != nil {
				log.ErrorContext(ctx, "poison event could not be buried; retrying", "error", derr, "reason", err)
				batch.Fail(r)
				continue
			}
			log.ErrorContext(ctx, "poison event moved to the dead-letter queue", "reason", err)
			continue
		}
		log.WarnContext(ctx, "event failed; will be retried", "error", err)
		batch.Fail(r)
	}
	if h.writes != nil {
		units, calls := h.writes.Units()
		h.writes.Reset()
		slog.InfoContext(ctx, "batch applied", "records", len(ev.Records),
			"failed", len(batch.Response().BatchItemFailures), "write_units", units, "write_calls", calls)
	}
	return batch.Response(), nil
}
