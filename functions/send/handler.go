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
	"github.com/buzon/buzon/shared/consume"
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

// Retry policy for the provider: a retryable provider error is tried again after
// backoff(receive count), and on the maxAttempts-th receive the message is marked failed
// instead, so that an agent learns it within minutes. Failures of Buzón's own storage are
// retried with the runner's backoff until the queue's redrive (consume.MaxReceives, sized for
// an hour's outage).
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
	st      *store.Store
	senders senders // by line provider ("meta", "twilio"); a missing one is not configured
	limit   *limiter
	now     func() time.Time
	backoff func(receiveCount int) time.Duration
}

// errThrottled is the retry of a message over its line's local rate limit.
var errThrottled = errors.New("send: line over its rate limit")

// runner consumes the outbound queue with h: conversations (message groups) are handled side
// by side, each in order; a failed record holds its conversation's later ones and comes back
// after its backoff (its visibility is changed: the function never sleeps).
func (h *handler) runner(outbound, dlq *queue.Queue) *consume.Runner {
	return &consume.Runner{Name: "send", Handle: h.process, Queue: outbound, DLQ: dlq}
}

// process sends one record's message, or decides it never can (consume.Poison, after marking
// the message failed when the event names it). A failure of Buzón's own storage is retried
// with the runner's backoff; a provider's retryable refusal with the provider's.
func (h *handler) process(ctx context.Context, r *lambdaevents.SQSMessage) error {
	var ev events.Send
	if err := json.Unmarshal([]byte(r.Body), &ev); err != nil {
		return consume.Poisonf("not a send event: %w", err)
	}
	if ev.OrgID == "" || ev.ConversationID == "" || ev.MessageID == "" || ev.MessageAt.IsZero() {
		return h.poison(ctx, &ev, "send event without org_id, conversation_id, message_id or message_at")
	}
	log := slog.With("message_id", ev.MessageID, "conversation_id", ev.ConversationID, "request_id", ev.RequestID, "sqs_message_id", r.MessageId)
	attempt := receiveCount(r)
	k := store.KeyOf(&inbox.Message{ConversationID: ev.ConversationID, ID: ev.MessageID, At: ev.MessageAt})

	m, err := h.st.Message(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return consume.Poisonf("no such message")
	}
	if err != nil {
		return fmt.Errorf("read message %s: %w", ev.MessageID, err)
	}
	if m.Direction != inbox.Outbound {
		return consume.Poisonf("not an outbound message")
	}
	if m.ProviderID != "" {
		// SQS delivered it again after it was sent: never twice. Finish linking in case the
		// attempt that sent it stopped before.
		log.InfoContext(ctx, "already sent", "status", m.Status)
		h.link(ctx, log, k, ev.ConversationID, m.ProviderID)
		return nil
	}
	if m.Status != inbox.DeliveryQueued {
		log.InfoContext(ctx, "not queued any more", "status", m.Status)
		return nil
	}
	cv, err := h.st.Conversation(ctx, ev.OrgID, ev.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		return h.poison(ctx, &ev, "no such conversation in the organization")
	}
	if err != nil {
		return fmt.Errorf("read conversation %s: %w", ev.ConversationID, err)
	}
	line, err := h.st.Line(ctx, ev.OrgID, cv.LineID)
	if errors.Is(err, store.ErrNotFound) {
		return h.fail(ctx, log, k, &inbox.ProviderError{Title: "line removed", Message: "The conversation's line no longer exists: the message cannot be sent"})
	}
	if err != nil {
		return fmt.Errorf("read line %s: %w", cv.LineID, err)
	}
	log = log.With("line_id", line.ID, "provider", line.Provider, "attempt", attempt)
	if line.State != inbox.LineActive {
		return h.fail(ctx, log, k, &inbox.ProviderError{Title: "line not active",
			Message: fmt.Sprintf("The line is %s: it cannot send until an admin reactivates it", line.State)})
	}
	sender := h.senders.sender(ctx, line.Provider)
	if sender == nil {
		return h.fail(ctx, log, k, &inbox.ProviderError{Title: "provider not configured",
			Message: "Buzón has no credentials for this line's provider: an admin must configure them"})
	}
	// The last attempt skips the local throttle: only the provider's own limit may fail it.
	if attempt < maxAttempts && !h.limit.allow(line.ID, h.now()) {
		return consume.RetryAfter(throttleDelay, fmt.Errorf("%w: %s", errThrottled, line.ID))
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < providerTimeout+2*time.Second {
		// Not enough time left for the provider to answer: a timeout now could send twice.
		return consume.RetryAfter(time.Second, errors.New("send: too little time left for the provider to answer"))
	}

	pid, err := sender.Send(ctx, line, cv.Contact.WaID, m)
	if err != nil {
		pe, retryable := classify(err)
		if retryable && attempt < maxAttempts {
			return consume.RetryAfter(h.backoff(attempt), fmt.Errorf("provider refused for now (code %d): %w", pe.Code, err))
		}
		log.WarnContext(ctx, "provider refused", "error", err, "code", pe.Code, "retryable", retryable)
		return h.fail(ctx, log, k, pe)
	}
	h.sent(ctx, log.With("provider_message_id", pid), k, ev.ConversationID, pid)
	return nil
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

// link maps the provider id to the message and applies the statuses parked before the mapping
// existed (ingest.Link). A failure is logged: a redelivery of an event whose message has a
// provider id repairs it.
func (h *handler) link(ctx context.Context, log *slog.Logger, k store.MessageKey, convID, pid string) {
	if err := ingest.Link(ctx, h.st, k, pid, h.now()); err != nil {
		log.ErrorContext(ctx, "provider id not linked; its statuses may stay parked", "error", err)
	}
}

// fail marks the message failed with the reason the agent sees, and acknowledges the record.
func (h *handler) fail(ctx context.Context, log *slog.Logger, k store.MessageKey, pe *inbox.ProviderError) error {
	_, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: h.now(), Error: pe})
	if err != nil {
		return consume.RetryAfter(throttleDelay, fmt.Errorf("record the failure %q: %w", pe.Title, err))
	}
	log.InfoContext(ctx, "message failed", "code", pe.Code, "reason", pe.Message)
	return nil
}

// poison is a record that can never be sent, for the dead-letter queue with reason. Its
// message is marked failed first when the event names it, so that the agent does not wait on
// it and sees why; if that write fails, the record is retried.
func (h *handler) poison(ctx context.Context, ev *events.Send, reason string) error {
	if ev.ConversationID != "" && ev.MessageID != "" && !ev.MessageAt.IsZero() {
		k := store.KeyOf(&inbox.Message{ConversationID: ev.ConversationID, ID: ev.MessageID, At: ev.MessageAt})
		_, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: h.now(),
			Error: &inbox.ProviderError{Title: "not sendable", Message: "Buzón could not process this message: it was not sent"}})
		if err != nil {
			return fmt.Errorf("mark the unsendable message %s failed: %w", ev.MessageID, err)
		}
	}
	return consume.Poison(errors.New(reason))
}

// classify turns a provider failure into what the thread shows, and whether to retry.
func classify(err error) (*inbox.ProviderError, bool) {
	var se *provider.SendError
	if errors.As(err, &se) {
		return &inbox.ProviderError{Code: se.Code, Title: se.Title, Message: se.Reason, Details: se.Message}, se.Retryable
	}
	return &inbox.ProviderError{Title: "send failed", Message: "The message could not be sent: try again later"}, true
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
