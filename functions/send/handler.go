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
// backoff(provider attempts), and at the maxAttempts-th call of the provider the message is
// marked failed instead, so that an agent learns it within minutes. Provider attempts are
// counted on the message (MarkSending), not by SQS receives: after an outage of Buzón's own
// storage, which the runner retries until the queue's redrive (consume.MaxReceives, sized for
// an hour's outage), a message still gets all its provider attempts.
const (
	maxAttempts     = 4
	maxBackoff      = 15 * time.Minute
	throttleDelay   = time.Second
	providerTimeout = 10 * time.Second // the clients' HTTP timeout (main)
)

// An unknown outcome (the provider got the request and its answer was lost, or the function
// died between the call and the save) is never sent again blindly: the message stays
// "sending" and the record comes back, more and more seldom from recheck on, to see whether a
// status callback, which names the message by its Ref, linked the provider's id. After callbackWait without one the
// message is failed as "delivery uncertain, not resent" so that an agent decides: neither
// provider can confirm that it did not accept a message (the Cloud API has no lookup by our
// reference, Twilio's finds messages by the SID the lost answer carried). Only a send that
// never left (no connection) is retried.
const (
	callbackWait = 2 * time.Minute
	recheck      = 5 * time.Second
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
	backoff func(attempt int) time.Duration
	// callbackWait and recheck: see the constants (tests shorten them).
	callbackWait, recheck time.Duration
}

// errThrottled is the retry of a message over its line's local rate limit.
var errThrottled = errors.New("send: line over its rate limit")

// runner consumes the outbound queue with h: conversations (message groups) are handled side
// by side, each in order; a failed record holds its conversation's later ones and comes back
// after its backoff (its visibility is changed: the function never sleeps).
func (h *handler) runner(outbound, dlq *queue.Queue) *consume.Runner {
	return &consume.Runner{Name: "send", Handle: h.handle, Queue: outbound, DLQ: dlq}
}

// handle is process, and on the record's last receive before the queue's redrive to the
// dead-letter queue, a failed message: an agent never waits on a message that stays queued or
// sending while its record lies in the DLQ.
func (h *handler) handle(ctx context.Context, r *lambdaevents.SQSMessage) error {
	err := h.process(ctx, r)
	if err == nil || errors.Is(err, consume.ErrPoison) || receiveCount(r) < consume.MaxReceives {
		return err
	}
	var ev events.Send
	if json.Unmarshal([]byte(r.Body), &ev) != nil || ev.ConversationID == "" || ev.MessageID == "" || ev.MessageAt.IsZero() {
		return err
	}
	k := store.KeyOf(&inbox.Message{ConversationID: ev.ConversationID, ID: ev.MessageID, At: ev.MessageAt})
	if _, ferr := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: h.now(), Error: &inbox.ProviderError{
		Title:   "not sent",
		Message: "Buzón could not finish sending it for too long; it may not have reached the customer: check with the customer or send it again.",
	}}); ferr != nil {
		slog.ErrorContext(ctx, "record goes to the dead-letter queue; its message not marked failed", "message_id", ev.MessageID, "error", ferr)
	}
	return err
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
	receives := receiveCount(r)
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
	if m.Status != inbox.DeliveryQueued && m.Status != inbox.DeliverySending {
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
	attempt := m.Attempt + 1 // this call of the provider, if it comes to one
	log = log.With("line_id", line.ID, "provider", line.Provider, "attempt", attempt, "receives", receives)
	if m.Status == inbox.DeliverySending {
		return h.unknownOutcome(ctx, log, k, m, line, receives)
	}
	if line.State != inbox.LineActive {
		return h.fail(ctx, log, k, &inbox.ProviderError{Title: "line not active",
			Message: fmt.Sprintf("The line is %s: it cannot send until an admin reactivates it", line.State)})
	}
	sender := h.senders.sender(ctx, line.Provider)
	if sender == nil {
		return h.fail(ctx, log, k, &inbox.ProviderError{Title: "provider not configured",
			Message: "Buzón has no credentials for this line's provider: an admin must configure them"})
	}
	// A record throttled maxAttempts times skips the local throttle: only the provider's own
	// limit may hold it longer.
	if receives < maxAttempts && !h.limit.allow(line.ID, h.now()) {
		return consume.RetryAfter(throttleDelay, fmt.Errorf("%w: %s", errThrottled, line.ID))
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < providerTimeout+2*time.Second {
		// Not enough time left for the provider to answer: a timeout now could send twice.
		return consume.RetryAfter(time.Second, errors.New("send: too little time left for the provider to answer"))
	}

	// From here until the outcome is saved, a crash or a lost answer leaves the mark: the next
	// attempt waits for the provider's callback instead of calling it again.
	if err := h.st.MarkSending(ctx, k, attempt, h.now()); errors.Is(err, store.ErrConflict) {
		log.InfoContext(ctx, "moved on while being read; not sent")
		return nil
	} else if err != nil {
		return fmt.Errorf("mark %s sending: %w", ev.MessageID, err)
	}
	pid, err := sender.Send(ctx, line, cv.Contact.WaID, m)
	if err != nil {
		var se *provider.SendError
		if errors.As(err, &se) && se.Uncertain {
			log.WarnContext(ctx, "provider outcome unknown; not resent, waiting for its status callback", "error", err)
			return consume.RetryAfter(h.recheckIn(0), fmt.Errorf("outcome unknown, waiting for the status callback: %w", err))
		}
		pe, retryable := classify(err)
		if retryable && attempt < maxAttempts {
			// A definite refusal: the provider does not have the message, so the next attempt
			// may send it. If this write fails the mark stays, and the next attempt treats the
			// outcome as unknown: never a second send on a guess.
			if err := h.st.Requeue(ctx, k); err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("requeue after the provider refused for now: %w", err)
			}
			return consume.RetryAfter(h.backoff(attempt), fmt.Errorf("provider refused for now (code %d): %w", pe.Code, err))
		}
		log.WarnContext(ctx, "provider refused", "error", err, "code", pe.Code, "retryable", retryable)
		return h.fail(ctx, log, k, pe)
	}
	h.sent(ctx, log.With("provider_message_id", pid), k, ev.ConversationID, pid)
	return nil
}

// sent records what the provider accepted: its id with "sent", then the pointer and the
// statuses parked before it. When a status callback got there first, it named the message by
// its Ref and linked the id itself, so "sent" arriving later than it loses nothing. The message
// left already: a failure here must not make SQS send it again, so it is logged (with the
// provider id, for an operator) and the record acknowledged; the message stays "sending" and
// its callbacks link it.
func (h *handler) sent(ctx context.Context, log *slog.Logger, k store.MessageKey, convID, pid string) {
	if _, err := h.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliverySent, At: h.now(), ProviderID: pid}); err != nil {
		log.ErrorContext(ctx, "message sent but not marked sent", "error", err)
		return
	}
	h.link(ctx, log, k, convID, pid)
	log.InfoContext(ctx, "message sent")
}

// unknownOutcome handles a message an earlier attempt marked sending and never resolved: its
// provider call got no answer, or the function died before saving the answer. A status
// callback naming the message would have linked its provider id (the caller checked there is
// none), so the record waits for one, rechecking, up to callbackWait after the mark; then the
// message is failed with the reason the agent sees, and not sent again.
func (h *handler) unknownOutcome(ctx context.Context, log *slog.Logger, k store.MessageKey, m *inbox.Message, line *inbox.Line, receives int) error {
	waited := h.now().Sub(m.StatusAt[inbox.DeliverySending])
	if waited < h.wait() && receives < consume.MaxReceives-1 {
		return consume.RetryAfter(h.recheckIn(waited), fmt.Errorf("attempt %d's outcome is unknown: waiting for the status callback (%s so far)", m.Attempt, waited.Round(time.Second)))
	}
	log.WarnContext(ctx, "no status callback after an unknown outcome; failed, not resent", "marked_by_attempt", m.Attempt, "waited", waited.Round(time.Second))
	return h.fail(ctx, log, k, uncertain(line.Provider))
}

// uncertain is the failure an agent sees when a send's outcome stayed unknown, with why it
// was not sent again on this provider.
func uncertain(provider string) *inbox.ProviderError {
	why := "WhatsApp did not answer and sent no status for it; the Cloud API cannot be asked whether it has a message"
	if provider == "twilio" {
		why = "Twilio did not answer and sent no status for it; Twilio finds a message only by the id its lost answer carried"
	}
	return &inbox.ProviderError{Title: "delivery uncertain, not resent",
		Message: "It may or may not have reached the customer: " + why + ". It was not sent again so that the customer does not get it twice: check with the customer or send it again."}
}

// wait is how long an unknown outcome waits for a status callback.
func (h *handler) wait() time.Duration {
	if h.callbackWait > 0 {
		return h.callbackWait
	}
	return callbackWait
}

// recheckIn is when a record waiting for a callback comes back, having waited so far: after
// recheck, then after as long again as it waited (5 s, 5 s, 10 s, 20 s, ...), so that the wait
// takes a handful of receives, for it and for the records of its conversation behind it,
// well within the queue's redrive limit.
func (h *handler) recheckIn(waited time.Duration) time.Duration {
	d := recheck
	if h.recheck > 0 {
		d = h.recheck
	}
	return max(min(max(d, waited), h.wait()-waited), time.Second/10)
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
