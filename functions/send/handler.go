package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/provider"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// Sender delivers one message through a provider: meta.Client and twilio.Client. Send returns
// the provider's id of the accepted message (a wamid or a Message SID); every failure is a
// *provider.SendError, which says whether a later attempt may succeed. Acceptance is
// not delivery: the outcome arrives as status webhooks. Implementations are safe for
// concurrent use.
type Sender interface {
	Send(ctx context.Context, line *inbox.Line, to string, m *inbox.Message) (providerID string, err error)
}

// Retry policy: a retryable provider error is tried again after backoff(receive count), and
// on the maxAttempts-th receive the message is marked failed instead, before the queue's own
// redrive (maxReceiveCount 5) would move it to the dead-letter queue with the message still
// shown as queued.
const (
	maxAttempts     = 4
	maxBackoff      = 15 * time.Minute
	throttleDelay   = time.Second
	providerTimeout = 10 * time.Second // the clients' HTTP timeout (main)
)

// backoff is 4^n seconds, capped: 4 s, 16 s, 64 s, ... (Meta's advice for pair rate limits).
func backoff(n int) time.Duration {
	d := time.Second
	for i := 0; i < n && d < maxBackoff; i++ {
		d *= 4
	}
	return min(d, maxBackoff)
}

type handler struct {
	st       *store.Store
	senders  map[string]Sender // by line provider ("meta", "twilio"); a missing one is not configured
	outbound *queue.Queue      // the queue consumed, to postpone retries
	dlq      *queue.Queue
	limit    *limiter
	now      func() time.Time
	backoff  func(receiveCount int) time.Duration
}

// result is what became of one record.
type result struct {
	retry bool
	delay time.Duration // how long the retry waits; 0 leaves the queue's visibility timeout
}

var done = result{}

// handle sends a batch of outbound messages. Conversations (FIFO message groups) are handled in
// parallel, each in order; once a record fails, the later records of its conversation fail
// too without being sent, so a conversation's messages never overtake each other. A failed
// record comes back after its backoff (its visibility is changed); the function never sleeps.
func (h *handler) handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	results := make([]result, len(ev.Records))
	var order []string
	groups := map[string][]int{}
	for i := range ev.Records {
		g := ev.Records[i].Attributes["MessageGroupId"]
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	var wg sync.WaitGroup
	for _, g := range order {
		wg.Add(1)
		go func(idxs []int) {
			defer wg.Done()
			var blocked *result
			for _, i := range idxs {
				if blocked != nil {
					results[i] = *blocked
					continue
				}
				results[i] = h.process(ctx, &ev.Records[i])
				if results[i].retry {
					blocked = &results[i]
				}
			}
		}(groups[g])
	}
	wg.Wait()

	batch := queue.NewBatch()
	for i := range ev.Records {
		r := &ev.Records[i]
		if !results[i].retry && !batch.Blocked(r) {
			continue
		}
		batch.Fail(r)
		if d := results[i].delay; d > 0 && r.ReceiptHandle != "" {
			if err := h.outbound.Postpone(ctx, r.ReceiptHandle, d); err != nil {
				slog.WarnContext(ctx, "retry not postponed; it comes back after the visibility timeout", "sqs_message_id", r.MessageId, "error", err)
			}
		}
	}
	return batch.Response(), nil
}

// process sends one record's message, or decides it never can.
func (h *handler) process(ctx context.Context, r *lambdaevents.SQSMessage) result {
	var ev events.Send
	if err := json.Unmarshal([]byte(r.Body), &ev); err != nil {
		return h.poison(ctx, r, nil, "not a send event: "+err.Error())
	}
	if ev.OrgID == "" || ev.ConversationID == "" || ev.MessageID == "" || ev.MessageAt.IsZero() {
		return h.poison(ctx, r, &ev, "send event without org_id, conversation_id, message_id or message_at")
	}
	log := slog.With("message_id", ev.MessageID, "conversation_id", ev.ConversationID, "request_id", ev.RequestID, "sqs_message_id", r.MessageId)
	attempt := receiveCount(r)
	k := store.KeyOf(&inbox.Message{ConversationID: ev.ConversationID, ID: ev.MessageID, At: ev.MessageAt})

	m, err := h.st.Message(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return h.poison(ctx, r, nil, "no such message")
	}
	if err != nil {
		return h.transient(ctx, log, attempt, err)
	}
	if m.Direction != inbox.Outbound {
		return h.poison(ctx, r, nil, "not an outbound message")
	}
	if m.ProviderID != "" {
		// SQS delivered it again after it was sent: never twice. Finish linking in case the
		// attempt that sent it stopped before.
		log.InfoContext(ctx, "already sent", "status", m.Status)
		h.link(ctx, log, k, ev.ConversationID, m.ProviderID)
		return done
	}
	if m.Status != inbox.DeliveryQueued {
		log.InfoContext(ctx, "not queued any more", "status", m.Status)
		return done
	}
	cv, err := h.st.Conversation(ctx, ev.OrgID, ev.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		return h.poison(ctx, r, &ev, "no such conversation in the organization")
	}
	if err != nil {
		return h.transient(ctx, log, attempt, err)
	}
	line, err := h.st.Line(ctx, ev.OrgID, cv.LineID)
	if errors.Is(err, store.ErrNotFound) {
		return h.fail(ctx, log, k, &events.ProviderError{Title: "line removed", Message: "The conversation's line no longer exists: the message cannot be sent"})
	}
	if err != nil {
		return h.transient(ctx, log, attempt, err)
	}
	log = log.With("line_id", line.ID, "provider", line.Provider, "attempt", attempt)
	if line.State != inbox.LineActive {
		return h.fail(ctx, log, k, &events.ProviderError{Title: "line not active",
			Message: fmt.Sprintf("The line is %s: it cannot send until an admin reactivates it", line.State)})
	}
	sender := h.senders[line.Provider]
	if sender == nil {
		return h.fail(ctx, log, k, &events.ProviderError{Title: "provider not configured",
			Message: "Buzón has no credentials for this line's provider: an admin must configure them"})
	}
	// The last attempt skips the local throttle: only the provider's own limit may fail it.
	if attempt < maxAttempts && !h.limit.allow(line.ID, h.now()) {
		log.InfoContext(ctx, "line over its rate limit; retrying shortly")
		return result{retry: true, delay: throttleDelay}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < providerTimeout+2*time.Second {
		// Not enough time left for the provider to answer: a timeout now could send twice.
		return result{retry: true, delay: time.Second}
	}

	pid, err := sender.Send(ctx, line, cv.Contact.WaID, m)
	if err != nil {
		pe, retryable := classify(err)
		if retryable && attempt < maxAttempts {
			log.WarnContext(ctx, "provider refused for now; will retry", "error", err, "code", pe.Code)
			return result{retry: true, delay: h.backoff(attempt)}
		}
		log.WarnContext(ctx, "provider refused", "error", err, "code", pe.Code, "retryable", retryable)
		return h.fail(ctx, log, k, pe)
	}
	h.sent(ctx, log.With("provider_message_id", pid), k, ev.ConversationID, pid)
	return done
}

// sent records what the provider accepted. The message gets its provider id (and "sent")
// before the pointer exists: until then status webhooks are parked, so none can move the
// message past "sent" first and make that write a no-op that would lose the id. The message
// left already: a failure here must not make SQS send it again, so it is logged (with the
// provider id, for an operator) and the record acknowledged.
func (h *handler) sent(ctx context.Context, log *slog.Logger, k store.MessageKey, convID, pid string) {
	if _, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliverySent, At: h.now(), ProviderID: pid}); err != nil {
		log.ErrorContext(ctx, "message sent but not marked sent", "error", err)
		return
	}
	h.link(ctx, log, k, convID, pid)
	log.InfoContext(ctx, "message sent")
}

// link maps the provider id to the message and applies the statuses parked before the
// mapping existed. It is idempotent, so a redelivery of an event whose message has a provider
// id repairs a link an earlier attempt did not finish.
func (h *handler) link(ctx context.Context, log *slog.Logger, k store.MessageKey, convID, pid string) {
	if err := h.st.PutPointer(ctx, pid, k); err != nil && !errors.Is(err, store.ErrExists) {
		log.ErrorContext(ctx, "provider id not mapped; its statuses stay parked", "error", err)
		return
	}
	parked, err := h.st.Parked(ctx, convID, pid)
	if err != nil {
		log.ErrorContext(ctx, "parked statuses not read", "error", err)
		return
	}
	now := h.now()
	for _, st := range parked {
		ds, ok := inbox.ParseDeliveryStatus(st.Status)
		if !ok {
			continue
		}
		if _, err := h.st.ApplyStatus(ctx, k, ingest.StatusUpdate(ds, st, now)); err != nil {
			log.ErrorContext(ctx, "parked status not applied", "status", st.Status, "error", err)
		}
	}
	if len(parked) > 0 {
		log.InfoContext(ctx, "parked statuses applied", "count", len(parked))
	}
}

// fail marks the message failed with the reason the agent sees, and acknowledges the record.
func (h *handler) fail(ctx context.Context, log *slog.Logger, k store.MessageKey, pe *events.ProviderError) result {
	_, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: h.now(), Error: pe})
	if err != nil {
		log.WarnContext(ctx, "failure not recorded; will retry", "error", err)
		return result{retry: true, delay: throttleDelay}
	}
	log.InfoContext(ctx, "message failed", "code", pe.Code, "reason", pe.Message)
	return done
}

// transient is a failure of Buzón's own storage: retried after a backoff.
func (h *handler) transient(ctx context.Context, log *slog.Logger, attempt int, err error) result {
	log.WarnContext(ctx, "send failed; will retry", "error", err)
	return result{retry: true, delay: h.backoff(attempt)}
}

// poison moves a record that can never be sent to the dead-letter queue with the reason and
// acknowledges it; when the event names a message, that message is marked failed so that the
// agent does not wait on it.
func (h *handler) poison(ctx context.Context, r *lambdaevents.SQSMessage, ev *events.Send, reason string) result {
	log := slog.With("sqs_message_id", r.MessageId)
	group := r.Attributes["MessageGroupId"]
	if group == "" {
		group = "poison"
	}
	if err := h.dlq.Bury(ctx, group, r.MessageId, r.Body, reason); err != nil {
		log.ErrorContext(ctx, "poison event could not be buried; retrying", "error", err, "reason", reason)
		return result{retry: true}
	}
	log.ErrorContext(ctx, "poison event moved to the dead-letter queue", "reason", reason)
	if ev != nil && ev.ConversationID != "" && ev.MessageID != "" && !ev.MessageAt.IsZero() {
		k := store.KeyOf(&inbox.Message{ConversationID: ev.ConversationID, ID: ev.MessageID, At: ev.MessageAt})
		_, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: h.now(),
			Error: &events.ProviderError{Title: "not sendable", Message: "Buzón could not process this message: it was not sent"}})
		if err != nil {
			log.WarnContext(ctx, "poisoned message not marked failed", "error", err)
		}
	}
	return done
}

// classify turns a provider failure into what the thread shows, and whether to retry.
func classify(err error) (*events.ProviderError, bool) {
	var se *provider.SendError
	if errors.As(err, &se) {
		return &events.ProviderError{Code: se.Code, Title: se.Title, Message: se.Reason, Details: se.Message}, se.Retryable
	}
	return &events.ProviderError{Title: "send failed", Message: "The message could not be sent: try again later"}, true
}

// receiveCount is how many times SQS has delivered the record, this time included.
func receiveCount(r *lambdaevents.SQSMessage) int {
	n, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// limiter is a token bucket per line, in process: each Lambda instance keeps its own, so it
// smooths bursts rather than enforcing the provider's limit across instances (the provider's
// 130429 is retried anyway). It is safe for concurrent use.
type limiter struct {
	mu    sync.Mutex
	rate  float64 // tokens per second
	lines map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(perSecond int) *limiter {
	return &limiter{rate: float64(perSecond), lines: map[string]*bucket{}}
}

// allow takes a token of line's bucket (capacity: one second of rate) if one is left.
func (l *limiter) allow(line string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.lines[line]
	if !ok {
		b = &bucket{tokens: l.rate, at: now}
		l.lines[line] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = min(l.rate, b.tokens+elapsed*l.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
