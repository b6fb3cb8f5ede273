// Command assign consumes the inbound FIFO queue: it stores customer messages, conversations
// and contacts, applies delivery statuses and keeps every other provider event, idempotently.
// When a conversation opens it is where routing and the assignment rules run; each customer
// message may get the line's auto-reply, queued for the send function.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/buzon/buzon/shared/autoreply"
	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
)

func main() {
	boot.Main("assign", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		writes := store.NewWriteCounter()
		st := e.Store(writes)
		// The assignment rules run when a conversation opens, and when the customer of an away
		// agent writes again.
		router := routing.New(st, time.Now)
		h := &handler{proc: ingest.New(st, time.Now, router.Opened)}
		h.proc.OnAssignedMessage(router.CustomerWrote)
		// Auto-replies (R3) go out through the outbound queue, as agents' messages do.
		h.proc.OnReceived(autoreply.New(st, e.Queue(cfg.OutboundQueueURL), time.Now).Reply)
		// Each attachment of a stored customer message becomes a job for the media function.
		if q := e.Queue(cfg.MediaQueueURL); q != nil {
			h.proc.QueueMedia(q)
		}
		return h.runner(e.Queue(cfg.InboundQueueURL), e.Queue(cfg.InboundDLQURL), writes).Run, nil
	})
}

// runner consumes the inbound queue with h. writes, when set, counts the batch's DynamoDB
// writes: the total joins the batch's log line (a metric for dashboards; cmd/load reads
// write_units) and the counter starts again.
func (h *handler) runner(inbound, dlq *queue.Queue, writes *store.WriteCounter) *consume.Runner {
	r := &consume.Runner{Name: "assign", Handle: h.apply, Queue: inbound, DLQ: dlq}
	if writes != nil {
		r.Report = func() []slog.Attr {
			units, calls := writes.Units()
			writes.Reset()
			return []slog.Attr{slog.Float64("write_units", units), slog.Int("write_calls", calls)}
		}
	}
	return r
}
