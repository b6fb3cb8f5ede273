// Package ingest applies inbound provider events (events.Inbound) to the store: customer
// messages become thread messages and move their conversation, statuses move outbound
// messages forward, everything else is kept. Every step is idempotent by design, so SQS
// redeliveries and provider retries days later leave exactly one copy.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/phone"
	"github.com/buzon/buzon/shared/store"
)

// Result tells what applying an event did, for logs and tests.
type Result string

// Results.
const (
	Stored     Result = "stored"     // a new message or status was recorded
	Duplicate  Result = "duplicate"  // already applied before
	Parked     Result = "parked"     // status for a message not known yet
	Stale      Result = "stale"      // status older than the message's current one
	Unrouted   Result = "unrouted"   // no line claims the business number: kept for admins
	Kept       Result = "kept"       // provider event stored as received
	Irrelevant Result = "irrelevant" // e.g. Twilio "accepted": says nothing about delivery
)

// Opened is called when a conversation opens (new, or a new cycle): the place where the
// assignment rules run.
type Opened func(ctx context.Context, c *inbox.Conversation, line *inbox.Line) error

// Received is called for each new customer message once its conversation is updated (and
// routed, when it opened), before the message itself is stored: a redelivery calls it again,
// so it must be idempotent. It is where auto-replies are decided (R3).
type Received func(ctx context.Context, r *Receipt) error

// Receipt is a customer message as applied to its conversation.
type Receipt struct {
	Conversation *inbox.Conversation
	Line         *inbox.Line
	Message      *inbox.Message
	// FirstContact: the line had never seen the customer (a new conversation, not one an
	// agent started).
	FirstContact bool
	// Redelivered: a consumer applied the message to the conversation before and stopped
	// before storing it; what the conversation was before is not known any more.
	Redelivered bool
}

// OnReceived sets the hook called for each new customer message; call it before Apply.
func (p *Processor) OnReceived(fn Received) { p.received = fn }

// Processor applies inbound events. It is safe for concurrent use; events of one conversation
// must be applied one at a time (the FIFO queue's message group guarantees it).
type Processor struct {
	st     *store.Store
	now    func() time.Time
	opened Opened
	wrote  Wrote
	lines  lineCache

	received Received
	media    MediaQueue
}

// New returns a processor over st. opened may be nil.
func New(st *store.Store, now func() time.Time, opened Opened) *Processor {
	return &Processor{st: st, now: now, opened: opened, lines: lineCache{ttl: 30 * time.Second, m: map[string]cachedLine{}}}
}

// Wrote is called when a customer writes on a conversation that was already open and assigned
// (not one the message opened), before the message is stored: where a line that re-routes the
// conversations of away agents does it. A redelivery calls it again.
type Wrote func(ctx context.Context, c *inbox.Conversation, line *inbox.Line) error

// OnAssignedMessage sets the Wrote hook; call it before Apply.
func (p *Processor) OnAssignedMessage(fn Wrote) { p.wrote = fn }

// Apply applies one event. An error means nothing durable was lost and the event must be
// retried (the consumer reports it as a batch item failure).
func (p *Processor) Apply(ctx context.Context, ev *events.Inbound) (Result, error) {
	switch ev.Kind {
	case events.KindMessage:
		if ev.Message == nil {
			return "", fmt.Errorf("%w: message event without message", ErrMalformed)
		}
		return p.message(ctx, ev)
	case events.KindStatus:
		if ev.Status == nil {
			return "", fmt.Errorf("%w: status event without status", ErrMalformed)
		}
		return p.status(ctx, ev)
	case events.KindTemplateStatus:
		if ev.Template == nil {
			return "", fmt.Errorf("%w: template event without template", ErrMalformed)
		}
		return p.template(ctx, ev)
	case events.KindOther:
		if ev.Other == nil {
			return "", fmt.Errorf("%w: other event without payload", ErrMalformed)
		}
		return Kept, p.st.PutProviderEvent(ctx, ev.Provider, ev.Other.Account, ev)
	case events.KindMalformed:
		// The webhook found this part of a signed delivery unreadable and passed it on so that
		// it ends, with its reason, in the dead-letter queue.
		if ev.Malformed == nil {
			return "", fmt.Errorf("%w: malformed event without payload", ErrMalformed)
		}
		return "", fmt.Errorf("%w: %s %s: %s", ErrMalformed, ev.Provider, ev.Malformed.Path, ev.Malformed.Reason)
	}
	return "", fmt.Errorf("%w: unknown kind %q", ErrMalformed, ev.Kind)
}

// ErrMalformed marks an event that can never be applied: retrying cannot help, so the consumer
// moves it to the dead-letter queue with the reason.
var ErrMalformed = errors.New("ingest: malformed event")

func (p *Processor) message(ctx context.Context, ev *events.Inbound) (Result, error) {
	m := ev.Message
	if m.ID == "" || m.From == "" || m.Line.Address == "" {
		return "", fmt.Errorf("%w: message without id, sender or line", ErrMalformed)
	}
	line, err := p.line(ctx, ev.Provider, m.Line.Address)
	if errors.Is(err, store.ErrNotFound) {
		return Unrouted, p.st.PutUnrouted(ctx, ev.Provider, m.Line.Address, ev)
	}
	if err != nil {
		return "", err
	}
	m.From = customerID(m.From)
	convID := inbox.ConversationID(line.OrgID, line.ID, m.From)
	log := slog.With("conversation_id", convID, "message_id", m.ID)

	at, err := p.messageTime(ctx, convID, ev)
	if err != nil {
		return "", err
	}
	now := p.now()
	msg := inbox.InboundMessage(convID, m, at, now)
	k := store.KeyOf(msg)
	// The message item is written last, so its presence means everything before it was done:
	// a provider retry days later stops here. The conversation's update reads the message's
	// key with the conversation, in one request, and stops with ErrExists when it is stored.
	var opened, created, recovering, firstInbound, renamed, firstContact bool
	conv, err := p.st.UpdateConversationUnless(ctx, line.OrgID, convID, k,
		func() *inbox.Conversation {
			created = true
			return inbox.NewConversation(line.OrgID, line.ID, inbox.ContactRef{WaID: m.From, Name: m.ProfileName, ProfileName: m.ProfileName}, now)
		},
		func(c *inbox.Conversation) error {
			if c.LastAppliedID == m.ID {
				// Applied by a consumer that died before storing the message.
				recovering = true
				return store.ErrNoChange
			}
			before := c.Contact.ProfileName
			// Also true for a conversation an agent started (M4): its contact learns the line
			// when the customer first answers.
			firstInbound = c.InboundCount == 0
			firstContact = firstInbound && c.LastActivityAt.IsZero()
			opened = c.ApplyInbound(inbox.CustomerMessage{
				ProviderID:  m.ID,
				At:          at,
				Preview:     inbox.Preview{Text: msg.Text, Direction: inbox.Inbound, Type: msg.Type, At: at},
				ProfileName: m.ProfileName,
				Referral:    m.Referral != nil,
			}, line.DepartmentID)
			renamed = !created && c.Contact.ProfileName != before
			if opened {
				c.RouteRule = routeRule(line)
			}
			return nil
		})
	if errors.Is(err, store.ErrExists) {
		if m.Media != nil && p.media != nil {
			// Stored by a consumer that may have died before queueing its attachments.
			stored, err := p.st.Message(ctx, k)
			if err != nil {
				return "", err
			}
			if err := p.queueMedia(ctx, line, stored, ev.RequestID); err != nil {
				return "", err
			}
		}
		return Duplicate, nil
	}
	if err != nil {
		return "", fmt.Errorf("update conversation: %w", err)
	}
	if recovering && conv.Status == inbox.StatusOpen && conv.AssigneeID == "" && conv.RouteRule == routeRule(line) {
		// The consumer that applied it may have died before routing: route again (the
		// opened event has a fixed id and the assignment step is idempotent).
		opened = true
	}
	// The contact (and its search items) changes only with a conversation's first customer
	// message or a new profile name, never per message; a redelivery after a crash does it
	// again (SaveContact writes only what is missing).
	if firstInbound || recovering || renamed {
		err := p.st.SaveContact(ctx, &inbox.Contact{OrgID: line.OrgID, WaID: m.From, Name: m.ProfileName, ProfileName: m.ProfileName, CreatedAt: now}, line.ID)
		if err != nil {
			return "", err
		}
	}
	if opened {
		if err := p.recordOpened(ctx, conv, line, at); err != nil {
			return "", err
		}
	} else if p.wrote != nil && conv.Holder() != "" {
		if err := p.wrote(ctx, conv, line); err != nil {
			return "", err
		}
	}
	if p.received != nil {
		rc := &Receipt{Conversation: conv, Line: line, Message: msg, FirstContact: firstContact && !recovering, Redelivered: recovering}
		if err := p.received(ctx, rc); err != nil {
			return "", err
		}
	}
	if err := p.st.PutMessage(ctx, msg); err != nil && !errors.Is(err, store.ErrExists) {
		return "", err
	}
	if err := p.queueMedia(ctx, line, msg, ev.RequestID); err != nil {
		return "", err
	}
	if m.Reaction != nil && m.Reaction.MessageID != "" {
		p.attachReaction(ctx, log, convID, m)
	}
	log.DebugContext(ctx, "message stored", "type", m.Type, "opened", opened)
	return Stored, nil
}

// messageTime is the message's place on the timeline: the provider's timestamp, or, for
// providers that send none (Twilio), the time it was first received, pinned by a pointer item
// so that a retry lands on the same place.
func (p *Processor) messageTime(ctx context.Context, convID string, ev *events.Inbound) (time.Time, error) {
	m := ev.Message
	if !m.Timestamp.IsZero() {
		return m.Timestamp, nil
	}
	// The pointer is written first and read only when it was there: a first delivery (the
	// common case) costs one request, a retry two.
	at := ev.ReceivedAt
	if at.IsZero() {
		at = p.now()
	}
	msg := inbox.InboundMessage(convID, m, at, at)
	switch err := p.st.PutPointer(ctx, m.ID, store.KeyOf(msg)); {
	case errors.Is(err, store.ErrExists):
		k, err := p.st.Pointer(ctx, convID, m.ID)
		if err != nil {
			return time.Time{}, err
		}
		return k.Time(), nil
	case err != nil:
		return time.Time{}, err
	}
	return at, nil
}

func routeRule(line *inbox.Line) string {
	if line.DepartmentID == "" {
		return "no route"
	}
	return "line route"
}

// recordOpened writes the "opened" event with the route (V7) and runs the assignment hook.
// The event id is derived from the cycle, so a redelivery writes it once.
func (p *Processor) recordOpened(ctx context.Context, c *inbox.Conversation, line *inbox.Line, at time.Time) error {
	e := &inbox.Event{
		ID:             fmt.Sprintf("e_open_%d", c.Cycle),
		ConversationID: c.ID,
		Type:           inbox.EventOpened,
		At:             at.Add(-time.Millisecond),
		Details: map[string]string{
			"line_id": line.ID, "department_id": c.DepartmentID, "rule": c.RouteRule, "cycle": fmt.Sprint(c.Cycle),
		},
	}
	if err := p.st.PutEvent(ctx, e); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	if p.opened != nil {
		return p.opened(ctx, c, line)
	}
	return nil
}

// attachReaction shows a reaction on the message it targets when that message is ours
// (found through its provider id); the reaction is a thread message of its own either way.
func (p *Processor) attachReaction(ctx context.Context, log *slog.Logger, convID string, m *events.Message) {
	k, err := p.st.Pointer(ctx, convID, m.Reaction.MessageID)
	if err != nil {
		return
	}
	if err := p.st.SetReaction(ctx, k, m.From, m.Reaction.Emoji); err != nil {
		log.WarnContext(ctx, "reaction not attached", "error", err)
	}
}

func (p *Processor) status(ctx context.Context, ev *events.Inbound) (Result, error) {
	st := ev.Status
	if st.MessageID == "" || st.RecipientID == "" || st.Line.Address == "" {
		return "", fmt.Errorf("%w: status without message id, recipient or line", ErrMalformed)
	}
	if !Relevant(st.Status) {
		return Irrelevant, nil
	}
	line, err := p.line(ctx, ev.Provider, st.Line.Address)
	if errors.Is(err, store.ErrNotFound) {
		return Unrouted, p.st.PutUnrouted(ctx, ev.Provider, st.Line.Address, ev)
	}
	if err != nil {
		return "", err
	}
	convID := inbox.ConversationID(line.OrgID, line.ID, customerID(st.RecipientID))
	k, err := p.st.Pointer(ctx, convID, st.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		if res, linked, err := p.linkByRef(ctx, convID, ev); linked || err != nil {
			return res, err
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		// The send path has not recorded the provider's id yet (the status raced it): park it;
		// the send path applies parked statuses right after recording the id.
		if err := p.st.ParkStatus(ctx, convID, st, p.now()); err != nil {
			return "", err
		}
		k, err = p.st.Pointer(ctx, convID, st.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			return Parked, nil
		}
	}
	if err != nil {
		return "", err
	}
	return ApplyStatus(ctx, p.st, k, st, ev.ReceivedAt)
}

// linkByRef applies a status whose provider id the send path has not recorded, when the
// status names its message by our reference (the send's answer was lost, or is still on its
// way): the provider id is linked to the message, the statuses parked for it are applied, then
// this one. linked is false when the reference names no message of this conversation that can
// take the id; the caller parks the status then.
func (p *Processor) linkByRef(ctx context.Context, convID string, ev *events.Inbound) (Result, bool, error) {
	st := ev.Status
	refConv, at, id, ok := inbox.ParseRef(st.Ref)
	if !ok || refConv != convID {
		return "", false, nil
	}
	k := store.KeyOf(&inbox.Message{ConversationID: convID, ID: id, At: at})
	err := p.st.LinkProvider(ctx, k, st.MessageID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		slog.WarnContext(ctx, "status names a message that cannot take its provider id; parked", "ref", st.Ref, "provider_message_id", st.MessageID, "error", err)
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if err := Link(ctx, p.st, k, st.MessageID, p.now()); err != nil {
		return "", false, err
	}
	res, err := ApplyStatus(ctx, p.st, k, st, ev.ReceivedAt)
	return res, true, err
}

// Link maps the provider id pid to our message k and applies the statuses parked before the
// mapping existed. It is idempotent: the send path calls it after recording the id, a status
// naming the message by our reference calls it too, and a redelivery repairs a link an earlier
// attempt did not finish.
func Link(ctx context.Context, st *store.Store, k store.MessageKey, pid string, now time.Time) error {
	if err := st.PutPointer(ctx, pid, k); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("map provider id %s: %w", pid, err)
	}
	parked, err := st.Parked(ctx, k.ConversationID, pid)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range parked {
		if _, err := ApplyStatus(ctx, st, k, s, now); err != nil {
			errs = append(errs, fmt.Errorf("parked status %s: %w", s.Status, err))
		}
	}
	return errors.Join(errs...)
}

// Relevant reports whether a provider status says anything Buzón keeps: a step on the
// delivery scale, or a status kept in the message's history (inbox.HistoryKey).
func Relevant(status string) bool {
	_, step := inbox.ParseDeliveryStatus(status)
	_, history := inbox.HistoryKey(status)
	return step || history
}

// ApplyStatus applies a provider status to our message at k: a step on the delivery scale
// moves it forward only (Stale when it is older news), a history status is added to its
// status times without moving it (Duplicate when it was there). The send path calls it for
// the statuses parked before it knew the provider id.
func ApplyStatus(ctx context.Context, st *store.Store, k store.MessageKey, s *events.Status, received time.Time) (Result, error) {
	if ds, ok := inbox.ParseDeliveryStatus(s.Status); ok {
		applied, err := st.ApplyStatus(ctx, k, StatusUpdate(ds, s, received))
		if err != nil {
			return "", err
		}
		if !applied {
			return Stale, nil
		}
		return Stored, nil
	}
	name, ok := inbox.HistoryKey(s.Status)
	if !ok {
		return Irrelevant, nil
	}
	at := s.Timestamp
	if at.IsZero() {
		at = received
	}
	recorded, err := st.RecordStatusTime(ctx, k, name, at)
	if err != nil {
		return "", err
	}
	if !recorded {
		return Duplicate, nil
	}
	return Stored, nil
}

// customerID is the canonical id of a customer: the normalized number, so that a Brazilian
// wa_id without the ninth digit and a number an agent typed with it are one contact. Ids that
// are not numbers (business-scoped user ids) are kept as they are.
func customerID(waID string) string {
	if d, err := phone.Normalize("+" + waID); err == nil {
		return d
	}
	return waID
}

// StatusUpdate converts a provider status into a store update.
func StatusUpdate(ds inbox.DeliveryStatus, st *events.Status, received time.Time) store.StatusUpdate {
	at := st.Timestamp
	if at.IsZero() {
		at = received
	}
	u := store.StatusUpdate{Status: ds, At: at}
	if len(st.Errors) > 0 {
		u.Error = inbox.ProviderErrorOf(st.Errors[0])
	}
	return u
}

// lineCache keeps lines by provider address for a short while: every inbound event needs its
// line, and lines change rarely.
type lineCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedLine
}

type cachedLine struct {
	line *inbox.Line
	at   time.Time
}

func (p *Processor) line(ctx context.Context, provider events.Provider, address string) (*inbox.Line, error) {
	key := string(provider) + "\x00" + address
	now := p.now()
	p.lines.mu.Lock()
	c, ok := p.lines.m[key]
	p.lines.mu.Unlock()
	if ok && now.Sub(c.at) < p.lines.ttl {
		return c.line, nil
	}
	l, err := p.st.LineByAddress(ctx, string(provider), address)
	if err != nil {
		return nil, err
	}
	p.lines.mu.Lock()
	p.lines.m[key] = cachedLine{line: l, at: now}
	p.lines.mu.Unlock()
	return l, nil
}
