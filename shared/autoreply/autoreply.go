// Package autoreply answers customer messages by themselves (R3): outside business hours, on
// first contact, or always, as a line configures. It runs in the inbound consumer as the
// ingest.Received hook and sends through the normal send path: the reply is stored in the
// thread as a queued outbound message marked automatic, and put on the outbound queue for the
// send function, which delivers it and records its statuses like an agent's.
//
// A trigger fires at most once per customer service window of a conversation (a mark in the
// conversation's partition, keyed by the window's opening, written before the reply). No reply
// goes out when an agent wrote in the last few minutes, or to a message that arrived within
// seconds of one of our auto-replies (another bot answering), and a window gets at most
// maxPerWindow of them, so two bots never talk in a loop. The reply does not change the
// conversation: it stays unanswered for the agents.
package autoreply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// Guards.
const (
	// agentActive: an agent's message this recent means someone is answering; the trigger is
	// spent for the window without a reply.
	agentActive = 5 * time.Minute
	// botGap: a customer message this soon after our auto-reply is likely another bot's
	// automatic answer; it gets none (the trigger stays unspent).
	botGap = 10 * time.Second
	// maxPerWindow caps the auto-replies of one window, whatever the triggers.
	maxPerWindow = 3
	// stale: a message this old when it is applied (a backlog, a provider retry) gets no reply.
	stale = time.Hour
	// tail is how many of the newest thread entries the guards look at.
	tail = 20
)

// Outcomes recorded on a mark.
const (
	outcomeSent        = "sent"
	outcomeAgentActive = "agent_active"
)

// Replier decides and queues auto-replies. It is safe for concurrent use; messages of one
// conversation must come one at a time (the inbound FIFO queue's message group).
type Replier struct {
	st   *store.Store
	flow *workflow.Service // sends the replies
	now  func() time.Time
}

// New returns a replier that stores replies in st and queues them on outbound (nil: replies
// are stored as queued but not sent, logged).
func New(st *store.Store, outbound *queue.Queue, now func() time.Time) *Replier {
	return &Replier{st: st, flow: workflow.New(st, outbound, nil, now), now: now}
}

// Reply answers the customer message of rc if one of its line's auto-replies is due. It is an
// ingest.Received hook: idempotent, so a redelivered message neither loses nor doubles a reply.
// An error means the message must be applied again.
func (r *Replier) Reply(ctx context.Context, rc *ingest.Receipt) error {
	line, cv, msg := rc.Line, rc.Conversation, rc.Message
	if len(line.AutoReplies) == 0 || cv.Status != inbox.StatusOpen {
		return nil
	}
	due := line.Triggered(msg.At, rc.FirstContact)
	if len(due) == 0 && !rc.Redelivered {
		return nil
	}
	log := slog.With("conversation_id", cv.ID, "message_id", msg.ID)
	opened := cv.WindowOpenedAt
	marks, err := r.st.AutoReplyMarks(ctx, cv.ID, opened)
	if err != nil {
		return err
	}
	spent := map[inbox.Trigger]bool{}
	for _, m := range marks {
		if m.By == msg.ProviderID && m.Outcome == outcomeSent {
			// Decided for this very message by a consumer that stopped before finishing.
			return r.deliver(ctx, log, cv, m, textOf(line, m.Trigger))
		}
		spent[m.Trigger] = true
	}
	var pick *inbox.AutoReply
	for i := range due {
		if !spent[due[i].Trigger] {
			pick = &due[i]
			break
		}
	}
	if pick == nil {
		return nil
	}
	now := r.now()
	if line.State != inbox.LineActive || !cv.WindowOpen(now) || now.Sub(msg.At) > stale {
		return nil
	}
	outcome, err := r.guard(ctx, log, cv, msg, now)
	if err != nil || outcome == "" {
		return err
	}
	mark := store.AutoReplyMark{Trigger: pick.Trigger, By: msg.ProviderID, Outcome: outcome}
	if outcome == outcomeSent {
		// Just after the customer's message on the thread, even if the provider's clock is ahead.
		mark.MessageID = inbox.AutoReplyID(cv.ID, pick.Trigger, opened)
		mark.At = later(now, msg.At.Add(time.Millisecond)).UTC().Truncate(time.Millisecond)
	}
	switch err := r.st.PutAutoReplyMark(ctx, cv.ID, opened, mark, now); {
	case errors.Is(err, store.ErrExists):
		return nil // decided meanwhile for another message of the window
	case err != nil:
		return err
	}
	if outcome != outcomeSent {
		log.InfoContext(ctx, "auto-reply not sent", "trigger", pick.Trigger, "reason", outcome)
		return nil
	}
	return r.deliver(ctx, log, cv, mark, pick.Text)
}

// guard looks at the newest entries of the thread (the customer's message is not stored yet)
// and says what to do: send, spend the trigger without sending (an agent is answering), or
// "" to leave it unspent (a bot answering ours, or the window's cap reached).
func (r *Replier) guard(ctx context.Context, log *slog.Logger, cv *inbox.Conversation, msg *inbox.Message, now time.Time) (string, error) {
	entries, err := r.st.RecentThread(ctx, cv.ID, tail)
	if err != nil {
		return "", err
	}
	automatic := 0
	outcome := outcomeSent
	for _, e := range entries {
		m := e.Message
		if m == nil || m.Direction != inbox.Outbound {
			continue
		}
		if m.Automatic {
			if gap := msg.At.Sub(m.At); gap >= 0 && gap < botGap {
				log.InfoContext(ctx, "auto-reply not sent: the message came right after ours (another bot?)")
				return "", nil
			}
			if !m.At.Before(cv.WindowOpenedAt) {
				automatic++
			}
		} else if now.Sub(m.At) < agentActive {
			outcome = outcomeAgentActive
		}
	}
	if automatic >= maxPerWindow {
		log.InfoContext(ctx, "auto-reply not sent: the window's cap is reached", "cap", maxPerWindow)
		return "", nil
	}
	return outcome, nil
}

// deliver sends the reply a mark decided through the send workflow: stored once, queued
// unless it was sent already.
func (r *Replier) deliver(ctx context.Context, log *slog.Logger, cv *inbox.Conversation, mark store.AutoReplyMark, text string) error {
	m := inbox.NewAutoReply(mark.MessageID, cv.ID, text, mark.At)
	if text == "" {
		// The line's reply was removed since it was decided: only a stored one is sent.
		stored, err := r.st.Message(ctx, store.KeyOf(m))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		m = stored
	}
	if err := r.flow.SendAutomatic(ctx, cv.OrgID, m); err != nil {
		return fmt.Errorf("auto-reply %s: %w", m.ID, err)
	}
	log.InfoContext(ctx, "auto-reply sent to the outbound queue", "trigger", mark.Trigger, "reply_id", m.ID)
	return nil
}

// textOf is the text of the line's auto-reply for t (its current text: a reply being resumed
// after a crash takes the line's text as it is now).
func textOf(line *inbox.Line, t inbox.Trigger) string {
	for _, r := range line.AutoReplies {
		if r.Trigger == t {
			return r.Text
		}
	}
	return ""
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
