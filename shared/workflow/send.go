package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// Request identifies the caller's request, so that a retry answers with the message the
// first attempt created: never two.
type Request struct {
	// Key is the client's Idempotency-Key; "" for none.
	Key string
	// Fingerprint identifies the request's content, to tell a retry from another request
	// that reuses its Key.
	Fingerprint string
}

// Send sends an agent's message on a conversation: it stores it as queued, moves the
// conversation (an unassigned one is claimed by whoever answers) and puts the message on the
// outbound queue; the send function delivers it and the status webhooks move it on. draft has
// the message's type and content (checked by the caller's decoder); replyTo names the message
// answered, by its provider id or Buzón's.
func (s *Service) Send(ctx context.Context, by Caller, convID string, draft *inbox.Message, replyTo string, req Request) (*inbox.Message, error) {
	u := by.User
	// Reading first refuses before anything is written for a conversation the caller may
	// not see; the write below checks again on the state it writes.
	cv, line, err := s.Visible(ctx, u, convID)
	if err != nil {
		return nil, err
	}
	lines := map[string]*inbox.Line{cv.LineID: line}
	now := s.now()
	o := &outgoing{
		convID: cv.ID, req: req, draft: draft,
		change: func(cv *inbox.Conversation, id string, at time.Time, _ bool) ([]*inbox.Event, error) {
			line, err := s.Line(ctx, lines, cv)
			if err != nil {
				return nil, err
			}
			if err := access.Check(u, access.Send, cv, line); err != nil {
				return nil, err
			}
			if cv.Status == inbox.StatusDone {
				return nil, inbox.ErrClosed
			}
			if err := canSend(line); err != nil {
				return nil, err
			}
			if err := cv.CheckSend(now, draft.Type == "template"); err != nil {
				return nil, &WindowClosedError{Expired: cv.WindowExpiresAt}
			}
			if err := CheckProvider(line, draft); err != nil {
				return nil, err
			}
			if cv.AssigneeID != "" || cv.HasCollaborator(u.ID) {
				return nil, nil // a collaborator's reply does not take the conversation
			}
			if err := cv.Claim(u.ID); err != nil {
				return nil, err
			}
			// Its id derives from the message, so a replay records it once; it sorts just
			// before the message.
			return []*inbox.Event{{ID: "e_claim_" + id, ConversationID: cv.ID, Type: inbox.EventClaimed, ActorID: u.ID, At: at,
				Details: map[string]string{"assignee_id": u.ID, "rule": "answered"}}}, nil
		},
	}
	o.prepare = func() error {
		if err := s.replyTo(ctx, cv.ID, replyTo, draft); err != nil {
			return err
		}
		return s.renderTemplate(ctx, line, draft)
	}
	m, _, err := s.queue(ctx, by, u.OrgID, o)
	if err != nil {
		return nil, err
	}
	return m, s.record(ctx, by, u.OrgID, Change{Entity: "conversation", ID: cv.ID, Action: "message_sent",
		After: map[string]string{"message_id": m.ID, "type": m.Type}, Key: m.ID, At: m.At})
}

// SendAutomatic sends a message Buzón writes by itself on a conversation of org (an
// auto-reply; its id and time are the caller's, derived from what triggered it): stored once
// however often it is called, and queued unless it was sent already. The conversation does
// not change: it stays unanswered for the agents. An error means the caller must try again
// (its consumer's redelivery): the message stays queued.
func (s *Service) SendAutomatic(ctx context.Context, org string, m *inbox.Message) error {
	m, err := s.keep(ctx, m)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, System, org, m, true)
}

// keep stores an outbound message once: when it is stored already (an earlier attempt, a
// concurrent retry), the stored one is returned. Every outbound message is stored here and
// queued by enqueue.
func (s *Service) keep(ctx context.Context, m *inbox.Message) (*inbox.Message, error) {
	err := s.st.PutMessage(ctx, m)
	if errors.Is(err, store.ErrExists) {
		return s.st.Message(ctx, store.KeyOf(m))
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// outgoing is a message being sent, and what sending it does to its conversation.
type outgoing struct {
	convID string
	req    Request
	draft  *inbox.Message
	// create makes the conversation when it does not exist yet; nil: it must exist.
	create func() *inbox.Conversation
	// prepare completes the draft once the message is known not to be stored yet; nil: none.
	prepare func() error
	// change checks that the caller may send on cv and moves cv for the message id written at
	// at; reserved says id and at are the Idempotency-Key's, shared by every attempt of the
	// request, so a state that names them was written by another attempt. It runs inside the
	// conversation's conditional write, so it sees the state it writes; returning
	// store.ErrNoChange keeps cv as it is. The events it returns are recorded before the
	// message, with ids derived from the message or the cycle so a replay records them once.
	change func(cv *inbox.Conversation, id string, at time.Time, reserved bool) ([]*inbox.Event, error)
}

// queue stores o's message as queued, once, with the conversation change and events that go
// with it, and puts it on the outbound queue. The message is written last: once it exists,
// everything before it was done, so a replay only queues it again. The conversation is the
// one written, or nil when a replay answered from the stored message.
func (s *Service) queue(ctx context.Context, by Caller, org string, o *outgoing) (*inbox.Message, *inbox.Conversation, error) {
	now := s.now()
	retry := o.req.Key != ""
	// The thread keeps milliseconds: the first answer shows the same times as a replay.
	id, at := inbox.NewID("m_"), now.UTC().Truncate(time.Millisecond)
	if retry {
		rec, fresh, err := s.st.ReserveIdempotency(ctx, org, by.id(), o.req.Key,
			store.Idempotency{ConversationID: o.convID, MessageID: id, MessageAt: at, Fingerprint: o.req.Fingerprint}, now)
		if err != nil {
			return nil, nil, err
		}
		if !fresh {
			if rec.ConversationID != o.convID || rec.Fingerprint != o.req.Fingerprint {
				return nil, nil, ErrIdempotencyKeyReused
			}
			id, at = rec.MessageID, rec.MessageAt
			m, err := s.st.Message(ctx, messageKey(o.convID, id, at))
			switch {
			case err == nil:
				// The first request stored it; it may have stopped before queueing it.
				by.log().InfoContext(ctx, "idempotent replay", "message_id", id)
				return m, nil, s.enqueue(ctx, by, org, m, true)
			case !errors.Is(err, store.ErrNotFound):
				return nil, nil, err
			}
			// The first request stopped before storing the message: do it now, same id.
		}
	}
	if o.prepare != nil {
		if err := o.prepare(); err != nil {
			return nil, nil, err
		}
	}

	var evs []*inbox.Event
	update := func(cv *inbox.Conversation) error {
		var err error
		if evs, err = o.change(cv, id, at, retry); err != nil {
			return err
		}
		cv.ApplyOutbound(inbox.Preview{Text: preview(o.draft), Direction: inbox.Outbound, Type: o.draft.Type, At: at})
		return nil
	}
	var cv *inbox.Conversation
	var err error
	for attempt := 0; ; attempt++ {
		cv, err = s.st.UpdateConversation(ctx, org, o.convID, o.create, update)
		if !errors.Is(err, store.ErrConflict) || !retry || attempt == 2 {
			break
		}
		// Concurrent retries of one request contend on the conversation: if one of them
		// stored the message meanwhile, this one answers with it; else it tries again.
		if m, merr := s.st.Message(ctx, messageKey(o.convID, id, at)); merr == nil {
			return m, nil, s.enqueue(ctx, by, org, m, true)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	for _, ev := range evs {
		if err := s.st.PutEvent(ctx, ev); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, nil, err
		}
	}

	d := o.draft
	m := inbox.NewOutboundMessage(id, o.convID, by.id(), at)
	m.Type, m.Text, m.Media, m.Template, m.ReplyTo = d.Type, d.Text, d.Media, d.Template, d.ReplyTo
	// A concurrent request with the same key may have stored it first.
	if m, err = s.keep(ctx, m); err != nil {
		return nil, nil, err
	}
	by.log().InfoContext(ctx, "message queued", "message_id", m.ID, "type", m.Type, "events", len(evs))
	return m, cv, s.enqueue(ctx, by, org, m, retry)
}

// enqueue puts a stored message on the outbound queue, unless it is past queued already.
// When SQS refuses, a message the caller will try again (retry) stays queued; any other is
// marked failed, so it never waits for nothing.
func (s *Service) enqueue(ctx context.Context, by Caller, org string, m *inbox.Message, retry bool) error {
	if m.Status != inbox.DeliveryQueued || m.ProviderID != "" {
		return nil
	}
	log := by.log().With("message_id", m.ID)
	if s.outbound == nil {
		log.WarnContext(ctx, "no outbound queue configured: message stays queued")
		return nil
	}
	ev := &events.Send{OrgID: org, ConversationID: m.ConversationID, MessageID: m.ID, MessageAt: m.At, RequestID: by.RequestID}
	err := s.outbound.Send(ctx, []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}})
	if err == nil {
		return nil
	}
	err = fmt.Errorf("queue message %s: %w", m.ID, err)
	// Whoever handles the NotQueuedError logs it (the API's error table, the consumer).
	if retry {
		return &NotQueuedError{Retry: true, Err: err}
	}
	_, ferr := s.st.ApplyStatus(ctx, store.KeyOf(m), store.StatusUpdate{Status: inbox.DeliveryFailed, At: s.now(),
		Error: &inbox.ProviderError{Title: "not queued", Message: "Buzón could not queue the message: send it again"}})
	if ferr != nil {
		log.ErrorContext(ctx, "queued message left queued", "error", ferr)
	}
	return &NotQueuedError{Err: err}
}

// replyTo points the draft at the provider id of the message replyTo names (its provider id
// or our id), if any.
func (s *Service) replyTo(ctx context.Context, convID, replyTo string, draft *inbox.Message) error {
	if replyTo == "" {
		return nil
	}
	target, err := s.st.FindMessage(ctx, convID, replyTo)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownReplyTo
	}
	if err != nil {
		return err
	}
	if target.ProviderID == "" {
		return ErrReplyToNotSent
	}
	draft.ReplyTo = target.ProviderID
	return nil
}

// MaxTwilioText is Twilio's cap on a message body.
const MaxTwilioText = 1600

// CheckProvider refuses what the line's provider would refuse anyway, while the agent (or
// the admin writing an auto-reply) is still there to fix it.
func CheckProvider(line *inbox.Line, m *inbox.Message) error {
	if line.Provider != "twilio" {
		return nil
	}
	if utf8.RuneCountInString(m.Text) > MaxTwilioText && m.Template == nil {
		return ErrTextTooLong
	}
	if m.Template != nil && !strings.HasPrefix(m.Template.Name, "HX") {
		return ErrTemplateBySID
	}
	return nil
}

// preview is what the conversation list shows of a message.
func preview(m *inbox.Message) string {
	if md := m.Media; md != nil {
		return inbox.Describe(&events.Message{Type: m.Type, Text: m.Text, Media: &events.Media{URL: md.URL, Filename: md.Filename}})
	}
	return m.Text
}

// messageKey is the key of message id written at at in a conversation.
func messageKey(convID, id string, at time.Time) store.MessageKey {
	return store.KeyOf(&inbox.Message{ConversationID: convID, ID: id, At: at})
}

// Visible reads a conversation u may see, with its line (nil if it has none any more), or
// access.ErrInvisible.
func (s *Service) Visible(ctx context.Context, u *inbox.User, convID string) (*inbox.Conversation, *inbox.Line, error) {
	cv, err := s.st.Conversation(ctx, u.OrgID, convID)
	if err != nil {
		return nil, nil, err
	}
	line, err := s.Line(ctx, map[string]*inbox.Line{}, cv)
	if err != nil {
		return nil, nil, err
	}
	if !access.Visible(u, cv, line) {
		return nil, nil, access.ErrInvisible
	}
	return cv, line, nil
}

// canSend refuses a line that sends nothing now: deleted (for good) or not active (paused,
// in error); nil is a line that no longer exists.
func canSend(line *inbox.Line) error {
	switch {
	case line == nil || line.State == inbox.LineDeleted:
		return ErrLineDeleted
	case line.State != inbox.LineActive:
		return ErrLineNotActive
	}
	return nil
}

// Line reads cv's line through cache (lines by id); a line that no longer exists is nil.
func (s *Service) Line(ctx context.Context, cache map[string]*inbox.Line, cv *inbox.Conversation) (*inbox.Line, error) {
	if l, ok := cache[cv.LineID]; ok {
		return l, nil
	}
	l, err := s.st.Line(ctx, cv.OrgID, cv.LineID)
	if errors.Is(err, store.ErrNotFound) {
		l = nil
	} else if err != nil {
		return nil, err
	}
	cache[cv.LineID] = l
	return l, nil
}
