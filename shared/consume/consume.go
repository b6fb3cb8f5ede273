// Package consume runs the batches of Buzón's SQS FIFO consumers (functions/assign,
// functions/send and every consumer that follows). A consumer supplies a Handler, a plain
// function of one record, and says what a failure means by the error it returns; the Runner
// gives it the guarantees every consumer needs:
//
//   - a message group's records are handled in order, one at a time; once one fails, every
//     later record of its group in the batch is reported failed too without being handled,
//     so a conversation's events never overtake each other;
//   - different message groups of a batch are handled concurrently;
//   - the answer is a partial batch response (the event source's ReportBatchItemFailures):
//     only the failed records come back;
//   - a poison record (an error wrapping ErrPoison, made with Poison) can never be handled: it
//     goes to the dead-letter queue at once, with its reason in the "reason" message attribute
//     (what `make dlq` shows), and is acknowledged, so it does not hold its group up;
//   - any other error is transient: the record comes back after a backoff that grows with its
//     receive count (Backoff), by changing its visibility, so the function never sleeps and a
//     long outage of the table does not burn the queue's receive budget (see MaxReceives);
//   - one log line per batch carries the batch's counts as CloudWatch metrics (Metrics).
package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/queue"
)

// Handler handles one record. It returns nil when the record is done (it is deleted), an error
// wrapping ErrPoison when it never can be (Poison), and any other error when a later attempt
// may succeed (RetryAfter to choose the delay). The Runner calls it concurrently for records of
// different message groups and never for two records of one group at once; it must be
// idempotent, since SQS delivers a record at least once.
type Handler func(ctx context.Context, r *lambdaevents.SQSMessage) error

// ErrPoison marks a record that can never be handled: malformed, or naming what does not
// exist. errors.Is(err, ErrPoison) is how the Runner recognizes it.
var ErrPoison = errors.New("consume: poison record")

// poisonError is what Poison returns: its message is the reason alone, without ErrPoison's.
type poisonError struct{ err error }

func (e *poisonError) Error() string   { return e.err.Error() }
func (e *poisonError) Unwrap() []error { return []error{ErrPoison, e.err} }

// Poison marks err as permanent: the record goes to the dead-letter queue with err's message
// as its reason. errors.Is still finds what err wraps.
func Poison(err error) error { return &poisonError{err: err} }

// Poisonf is Poison(fmt.Errorf(format, args...)).
func Poisonf(format string, args ...any) error { return Poison(fmt.Errorf(format, args...)) }

// retryError is what RetryAfter returns.
type retryError struct {
	after time.Duration
	err   error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RetryAfter marks err as transient with its own delay instead of the Runner's backoff: a
// provider's advice, or a local throttle that frees up within a second.
func RetryAfter(d time.Duration, err error) error { return &retryError{after: max(d, 0), err: err} }

// Runner handles SQS batches with a Handler. Its fields are set once; Run is safe for
// concurrent use.
type Runner struct {
	// Name names the consumer (its function's name) in the logs and as the metrics' Function
	// dimension.
	Name string
	// Handle handles one record.
	Handle Handler
	// Queue is the queue consumed: a failed record's visibility is changed on it so that it
	// comes back after its backoff. Nil leaves retries to the queue's visibility timeout.
	Queue *queue.Queue
	// DLQ takes poison records. Nil retries them like transient failures (the queue's redrive
	// moves them after MaxReceives, without a reason).
	DLQ *queue.Queue
	// Backoff is the delay before a record that failed on its nth receive comes back; nil is
	// the package's Backoff.
	Backoff func(receives int) time.Duration
	// Report, when set, is called once per batch after its records were handled; the
	// attributes it returns join the batch's log line (assign's write units).
	Report func() []slog.Attr
	// Log receives the runner's lines; nil is slog.Default().
	Log *slog.Logger
}

// settleReserve is the time kept back from the handlers, before the invocation's deadline,
// for the runner's own calls: changing the failed records' visibility and burying poison.
// Without it, a table that hangs until the deadline would leave every failure to the queue's
// visibility timeout instead of its backoff.
const settleReserve = 3 * time.Second

// maxGroups bounds the groups handled at once: a FIFO batch holds at most 10 records, but a
// standard queue's batch may hold thousands, each a group of its own.
const maxGroups = 10

// outcome is what became of one record.
type outcome int

const (
	acked   outcome = iota // handled: deleted
	retried                // failed transiently: reported, comes back after delay
	blocked                // behind a failed record of its group: reported, not handled
	buried                 // poison: moved to the dead-letter queue and acknowledged
)

type result struct {
	outcome outcome
	delay   time.Duration
}

// Run handles one batch and returns its partial batch response. It never returns an error:
// a failure of the whole invocation would bring back the records already handled, and
// delay their retry to the queue's visibility timeout.
func (r *Runner) Run(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	results := r.handle(ctx, ev.Records)
	var resp lambdaevents.SQSEventResponse
	var later []queue.Postponement
	for i := range ev.Records {
		rec := &ev.Records[i]
		if results[i].outcome != retried && results[i].outcome != blocked {
			continue
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		if rec.ReceiptHandle != "" {
			later = append(later, queue.Postponement{ReceiptHandle: rec.ReceiptHandle, After: results[i].delay})
		}
	}
	if r.Queue != nil && len(later) > 0 {
		if err := r.Queue.Postpone(ctx, later); err != nil {
			r.log().WarnContext(ctx, "retries not postponed; they come back after the queue's visibility timeout",
				"consumer", r.Name, "error", err)
		}
	}
	r.report(ctx, results)
	return resp, nil
}

// handle runs the batch's groups side by side and returns what became of each record.
func (r *Runner) handle(ctx context.Context, recs []lambdaevents.SQSMessage) []result {
	hctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(ctx, dl.Add(-settleReserve))
		defer cancel()
	}
	results := make([]result, len(recs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxGroups)
	for _, idxs := range groups(recs) {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			r.runGroup(ctx, hctx, recs, idxs, results)
		}()
	}
	wg.Wait()
	return results
}

// groups returns the indexes of the batch's records by message group, in the batch's order
// within each group. A record without a group (a standard queue) is a group of its own.
func groups(recs []lambdaevents.SQSMessage) [][]int {
	var out [][]int
	at := map[string]int{}
	for i := range recs {
		g, ok := recs[i].Attributes["MessageGroupId"]
		if !ok || g == "" {
			out = append(out, []int{i})
			continue
		}
		j, seen := at[g]
		if !seen {
			j = len(out)
			at[g] = j
			out = append(out, nil)
		}
		out[j] = append(out[j], i)
	}
	return out
}

// runGroup handles one group's records in order until one fails; the rest are blocked with
// the failed record's delay, so the group comes back together.
func (r *Runner) runGroup(ctx, hctx context.Context, recs []lambdaevents.SQSMessage, idxs []int, results []result) {
	for n, i := range idxs {
		res := r.one(ctx, hctx, &recs[i])
		results[i] = res
		if res.outcome != retried {
			continue
		}
		for _, j := range idxs[n+1:] {
			results[j] = result{outcome: blocked, delay: res.delay}
		}
		return
	}
}

// one handles a record and settles its failure: poison is buried, a transient failure gets its
// delay. ctx (without the handlers' reserve cut) is for the runner's own calls.
func (r *Runner) one(ctx, hctx context.Context, rec *lambdaevents.SQSMessage) result {
	err := r.call(hctx, rec)
	if err == nil {
		return result{outcome: acked}
	}
	receives := receiveCount(rec)
	log := r.log().With("consumer", r.Name, "sqs_message_id", rec.MessageId,
		"message_group", rec.Attributes["MessageGroupId"], "receives", receives)
	if errors.Is(err, ErrPoison) && r.DLQ != nil {
		berr := r.DLQ.Bury(ctx, rec.Attributes["MessageGroupId"], rec.MessageId, rec.Body, err.Error())
		if berr == nil {
			log.ErrorContext(ctx, "poison record moved to the dead-letter queue", "reason", err.Error())
			return result{outcome: buried}
		}
		log.ErrorContext(ctx, "poison record could not be moved to the dead-letter queue; it will be retried",
			"reason", err.Error(), "error", berr)
		err = berr
	}
	delay := r.backoff(receives)
	if re := (*retryError)(nil); errors.As(err, &re) {
		delay = re.after
	}
	log.WarnContext(ctx, "record failed; it will be retried", "error", err, "retry_in", delay.String())
	return result{outcome: retried, delay: delay}
}

// call runs the handler; a panic is a transient failure of that record alone, not of the
// whole batch (which would bring back the other groups' records already handled).
func (r *Runner) call(ctx context.Context, rec *lambdaevents.SQSMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log().ErrorContext(ctx, "handler panicked", "consumer", r.Name, "sqs_message_id", rec.MessageId,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("consume: handler panicked: %v", p)
		}
	}()
	return r.Handle(ctx, rec)
}

func (r *Runner) backoff(receives int) time.Duration {
	if r.Backoff != nil {
		return r.Backoff(receives)
	}
	return Backoff(receives)
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// receiveCount is how many times SQS has delivered the record, this time included.
func receiveCount(r *lambdaevents.SQSMessage) int {
	n, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}
