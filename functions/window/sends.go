package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// staleAfter is how long an outbound message may stay queued or sending. The send function
// resolves every record it holds well within it (a provider's backoff, an unknown outcome's
// wait, an hour's outage of the table), and fails the message on the record's last receive, so
// a message still pending this long lost its record: sent to the queue never, or its failure
// could not be written.
const staleAfter = 2 * time.Hour

// sweepSends fails the outbound messages left pending: it reads the pending-send index bucket by
// bucket, staleAfter behind t, from cp.SendsNext, and fails each message that is still queued
// or sending without a provider id (an entry may lag its message: the message is read).
func (j *job) sweepSends(ctx context.Context, t time.Time, cp *store.WindowCheckpoint, rep *report) error {
	end := t.Add(-staleAfter)
	if cp.SendsNext.IsZero() {
		cp.SendsNext = store.WindowBucketOf(end).Add(-firstLookback)
	}
	if floor := store.WindowBucketOf(end).Add(-maxCatchUp); cp.SendsNext.Before(floor) {
		cp.SendsNext = floor
	}
	for b := cp.SendsNext; !b.Add(store.WindowBucket).After(end); b = b.Add(store.WindowBucket) {
		if j.late(ctx) {
			rep.Behind = true
			return nil
		}
		if err := j.sweepBucket(ctx, b, rep); err != nil {
			return err
		}
		cp.SendsNext = b.Add(store.WindowBucket)
	}
	return nil
}

func (j *job) sweepBucket(ctx context.Context, b time.Time, rep *report) error {
	keys, err := j.st.PendingSends(ctx, b)
	if err != nil {
		return err
	}
	rep.Buckets++
	for _, k := range keys {
		m, err := j.st.Message(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if m.ProviderID != "" || (m.Status != inbox.DeliveryQueued && m.Status != inbox.DeliverySending) {
			continue
		}
		if _, err := j.st.ApplyStatus(ctx, k, store.StatusUpdate{Status: inbox.DeliveryFailed, At: j.now(), Error: staleFailure(m.Status)}); err != nil {
			return fmt.Errorf("fail the stale message %s: %w", m.ID, err)
		}
		slog.WarnContext(ctx, "stale outbound message failed", "message_id", m.ID, "conversation_id", m.ConversationID, "status", m.Status)
		rep.StaleSends++
	}
	return nil
}

// staleFailure is what the agent sees on a message the sweep failed.
func staleFailure(s inbox.DeliveryStatus) *inbox.ProviderError {
	if s == inbox.DeliverySending {
		return &inbox.ProviderError{Title: "delivery uncertain, not resent",
			Message: "It may or may not have reached the customer: the provider's answer was lost and no status came for it. It was not sent again so that the customer does not get it twice: check with the customer or send it again."}
	}
	return &inbox.ProviderError{Title: "not sent",
		Message: "It was still waiting to be sent two hours after it was written: it was not sent. Send it again."}
}
