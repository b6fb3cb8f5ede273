package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// Limits of outbound messages [WHATSAPP.md §3].
const (
	maxText     = 4096
	maxCaption  = 1024
	maxFilename = 240
	maxIdemKey  = 200
)

// sendRequest is the body of POST /v1/conversations/{id}/messages.
type sendRequest struct {
	Type     string           `json:"type"`
	Text     string           `json:"text,omitempty"`
	Media    *mediaRequest    `json:"media,omitempty"`
	Template *templateRequest `json:"template,omitempty"`
	ReplyTo  string           `json:"reply_to,omitempty"`
}

type mediaRequest struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type templateRequest struct {
	Name      string            `json:"name"`
	Language  string            `json:"language"`
	Variables map[string]string `json:"variables,omitempty"`
}

// draft checks the request and returns the message it asks for, without ids or times, and the
// preview the conversation list shows for it.
func (r *sendRequest) draft() (*inbox.Message, string, error) {
	m := &inbox.Message{Type: r.Type}
	switch r.Type {
	case "text":
		if r.Media != nil || r.Template != nil {
			return nil, "", unprocessable("bad_message", "a text message has text only")
		}
		if strings.TrimSpace(r.Text) == "" || utf8.RuneCountInString(r.Text) > maxText {
			return nil, "", unprocessable("bad_text", "text is required (1 to 4096 characters)")
		}
		m.Text = r.Text
		return m, r.Text, nil
	case "image", "video", "document", "audio":
		if r.Text != "" || r.Template != nil {
			return nil, "", unprocessable("bad_message", "a media message has media only; put its text in media.caption")
		}
		if r.Media == nil {
			return nil, "", unprocessable("bad_media", "media is required for a "+r.Type+" message")
		}
		if u, err := url.Parse(r.Media.Link); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, "", unprocessable("bad_media", "media.link must be an https URL the provider can fetch")
		}
		if r.Type == "audio" && r.Media.Caption != "" {
			return nil, "", unprocessable("bad_media", "audio takes no caption")
		}
		if utf8.RuneCountInString(r.Media.Caption) > maxCaption {
			return nil, "", unprocessable("bad_media", "media.caption is at most 1024 characters")
		}
		if r.Media.Filename != "" && (r.Type != "document" || utf8.RuneCountInString(r.Media.Filename) > maxFilename) {
			return nil, "", unprocessable("bad_media", "media.filename is for documents only, at most 240 characters")
		}
		m.Text = r.Media.Caption
		media := &events.Media{URL: r.Media.Link, Filename: r.Media.Filename}
		m.Media = inbox.MediaOf(media)
		return m, inbox.Describe(&events.Message{Type: m.Type, Text: m.Text, Media: media}), nil
	case "template":
		if r.Text != "" || r.Media != nil {
			return nil, "", unprocessable("bad_message", "a template message has a template only")
		}
		if r.Template == nil {
			return nil, "", unprocessable("bad_template", "template is required for a template message")
		}
		ref := &inbox.TemplateRef{Name: r.Template.Name, Language: r.Template.Language, Variables: r.Template.Variables}
		if err := ref.Validate(); err != nil {
			return nil, "", unprocessable("bad_template", strings.TrimPrefix(err.Error(), inbox.ErrBadTemplate.Error()+": "))
		}
		m.Template = ref
		m.Text = ref.Text()
		return m, m.Text, nil
	}
	return nil, "", unprocessable("bad_type", "type must be text, image, video, document, audio or template")
}

// sendMessage stores an agent's message as queued, moves the conversation (an unassigned one is
// claimed by whoever answers) and puts the message on the outbound queue; the send function
// delivers it and the status webhooks move it on. With an Idempotency-Key header, a retry
// answers with the message the first request created: never two.
func (a *api) sendMessage(ctx context.Context, c *call) (any, error) {
	var body sendRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	draft, preview, err := body.draft()
	if err != nil {
		return nil, err
	}
	key, err := idempotencyKey(c.req)
	if err != nil {
		return nil, err
	}
	// Reading first answers 404 before anything is written for a conversation the caller
	// may not see; the write below checks again on the state it writes.
	cv, line, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	now := a.now()
	lines := map[string]*inbox.Line{cv.LineID: line}
	o := &outgoing{
		convID: cv.ID, key: key, fingerprint: fingerprint(cv.ID, &body), draft: draft, preview: preview,
		change: func(cv *inbox.Conversation, id string, at time.Time, _ bool) ([]*inbox.Event, error) {
			line, err := a.line(ctx, lines, cv)
			if err != nil {
				return nil, err
			}
			if err := access.Check(c.user, access.Send, cv, line); err != nil {
				return nil, err
			}
			if cv.Status == inbox.StatusDone {
				return nil, inbox.ErrClosed
			}
			if line == nil || line.State != inbox.LineActive {
				return nil, errLineNotActive
			}
			if err := cv.CheckSend(now, draft.Type == "template"); err != nil {
				return nil, windowClosed(cv.WindowExpiresAt)
			}
			if err := providerLimits(line, draft); err != nil {
				return nil, err
			}
			if cv.AssigneeID != "" {
				return nil, nil
			}
			if err := cv.Claim(c.user.ID); err != nil {
				return nil, err
			}
			// Its id derives from the message, so a replay records it once; it sorts just
			// before the message.
			return []*inbox.Event{{ID: "e_claim_" + id, ConversationID: cv.ID, Type: inbox.EventClaimed, ActorID: c.user.ID, At: at,
				Details: map[string]string{"assignee_id": c.user.ID, "rule": "answered"}}}, nil
		},
	}
	o.prepare = func() error {
		if err := a.replyTo(ctx, cv.ID, body.ReplyTo, draft); err != nil {
			return err
		}
		return a.prepareTemplate(ctx, line, o)
	}
	m, _, err := a.queueMessage(ctx, c, o)
	if err != nil {
		return nil, err
	}
	return messageJSON(m), nil
}

// replyTo points the draft at the provider id of the message replyTo names (its provider id or
// our id), if any.
func (a *api) replyTo(ctx context.Context, convID, replyTo string, draft *inbox.Message) error {
	if replyTo == "" {
		return nil
	}
	target, err := a.st.FindMessage(ctx, convID, replyTo)
	if errors.Is(err, store.ErrNotFound) {
		return unprocessable("unknown_reply_to", "reply_to names no message of this conversation")
	}
	if err != nil {
		return err
	}
	if target.ProviderID == "" {
		return unprocessable("reply_to_not_sent", "the message replied to has not been sent yet")
	}
	draft.ReplyTo = target.ProviderID
	return nil
}

// outgoing is a message an agent sends, and what sending it does to its conversation.
type outgoing struct {
	convID      string
	key         string // Idempotency-Key; "" for none
	fingerprint string // identifies the request, to tell a retry from a reused key
	draft       *inbox.Message
	preview     string
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

// queueMessage stores o's message as queued, once, with the conversation change and events
// that go with it, and puts it on the outbound queue. The message is written last: once it
// exists, everything before it was done, so a replay only queues it again. The conversation
// is the one written, or nil when a replay answered from the stored message.
func (a *api) queueMessage(ctx context.Context, c *call, o *outgoing) (*inbox.Message, *inbox.Conversation, error) {
	now := a.now()
	// The thread keeps milliseconds: the first answer shows the same times as a replay.
	id, at := inbox.NewID("m_"), now.UTC().Truncate(time.Millisecond)
	if o.key != "" {
		rec, fresh, err := a.st.ReserveIdempotency(ctx, c.user.OrgID, c.user.ID, o.key,
			store.Idempotency{ConversationID: o.convID, MessageID: id, MessageAt: at, Fingerprint: o.fingerprint}, now)
		if err != nil {
			return nil, nil, err
		}
		if !fresh {
			if rec.ConversationID != o.convID || rec.Fingerprint != o.fingerprint {
				return nil, nil, unprocessable("idempotency_key_reused", "this Idempotency-Key was used for another request; use a new key for a new message")
			}
			id, at = rec.MessageID, rec.MessageAt
			m, err := a.st.Message(ctx, messageKey(o.convID, id, at))
			switch {
			case err == nil:
				// The first request stored it; it may have stopped before queueing it.
				c.log.InfoContext(ctx, "idempotent replay", "message_id", id)
				return m, nil, a.enqueue(ctx, c, m, true)
			case !errors.Is(err, store.ErrNotFound):
				return nil, nil, err
			}
			// The first request stopped before storing the message: do it now, same id.
		}
	}
	log := c.log.With("message_id", id)
	if o.prepare != nil {
		if err := o.prepare(); err != nil {
			return nil, nil, err
		}
	}

	var evs []*inbox.Event
	update := func(cv *inbox.Conversation) error {
		var err error
		if evs, err = o.change(cv, id, at, o.key != ""); err != nil {
			return err
		}
		cv.ApplyOutbound(inbox.Preview{Text: o.preview, Direction: inbox.Outbound, Type: o.draft.Type, At: at})
		return nil
	}
	var cv *inbox.Conversation
	var err error
	for attempt := 0; ; attempt++ {
		cv, err = a.st.UpdateConversation(ctx, c.user.OrgID, o.convID, o.create, update)
		if !errors.Is(err, store.ErrConflict) || o.key == "" || attempt == 2 {
			break
		}
		// Concurrent retries of one request contend on the conversation: if one of them
		// stored the message meanwhile, this one answers with it; else it tries again.
		if m, merr := a.st.Message(ctx, messageKey(o.convID, id, at)); merr == nil {
			return m, nil, a.enqueue(ctx, c, m, true)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	for _, ev := range evs {
		if err := a.st.PutEvent(ctx, ev); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, nil, err
		}
	}

	d := o.draft
	m := inbox.NewOutboundMessage(id, o.convID, c.user.ID, at)
	m.Type, m.Text, m.Media, m.Template, m.ReplyTo = d.Type, d.Text, d.Media, d.Template, d.ReplyTo
	switch err := a.st.PutMessage(ctx, m); {
	case errors.Is(err, store.ErrExists):
		// A concurrent request with the same key stored it first.
		if m, err = a.st.Message(ctx, store.KeyOf(m)); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	}
	log.InfoContext(ctx, "message queued", "type", m.Type, "events", len(evs))
	return m, cv, a.enqueue(ctx, c, m, o.key != "")
}

// enqueue puts a queued message on the outbound queue. A message already past queued is left
// as it is. When SQS refuses, the message is marked failed unless the client holds an
// Idempotency-Key to retry with (the retry queues it again).
func (a *api) enqueue(ctx context.Context, c *call, m *inbox.Message, retryable bool) error {
	if m.Status != inbox.DeliveryQueued {
		return nil
	}
	if a.outbound == nil {
		c.log.WarnContext(ctx, "no outbound queue configured: message stays queued", "message_id", m.ID)
		return nil
	}
	ev := &events.Send{OrgID: c.user.OrgID, ConversationID: m.ConversationID, MessageID: m.ID, MessageAt: m.At,
		RequestID: c.req.RequestContext.RequestID}
	err := a.outbound.Send(ctx, []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}})
	if err == nil {
		return nil
	}
	c.log.ErrorContext(ctx, "message not queued", "message_id", m.ID, "error", err)
	if retryable {
		return &apiError{http.StatusServiceUnavailable, "not_queued", "the message is stored but could not be queued; retry with the same Idempotency-Key"}
	}
	_, ferr := a.st.ApplyStatus(ctx, store.KeyOf(m), store.StatusUpdate{Status: inbox.DeliveryFailed, At: a.now(),
		Error: &inbox.ProviderError{Title: "not queued", Message: "Buzón could not queue the message: send it again"}})
	if ferr != nil {
		c.log.ErrorContext(ctx, "queued message left queued", "message_id", m.ID, "error", ferr)
	}
	return &apiError{http.StatusServiceUnavailable, "not_queued", "the message could not be queued; send it again"}
}

var errLineNotActive = &apiError{http.StatusConflict, "line_not_active", "the line is not active (paused or in error): it cannot send"}

// maxTwilioText is Twilio's cap on a message body.
const maxTwilioText = 1600

// providerLimits refuses what the line's provider would refuse anyway, while the agent is
// still there to fix it.
func providerLimits(line *inbox.Line, m *inbox.Message) error {
	if line.Provider != "twilio" {
		return nil
	}
	if utf8.RuneCountInString(m.Text) > maxTwilioText && m.Template == nil {
		return unprocessable("text_too_long", "this line sends through Twilio, which allows at most 1600 characters")
	}
	if m.Template != nil && !strings.HasPrefix(m.Template.Name, "HX") {
		return unprocessable("bad_template", "this line sends through Twilio, which sends templates by Content SID: template.name must be the HX… SID")
	}
	return nil
}

// windowClosed is the 422 of a free-form message outside the customer service window.
func windowClosed(expired time.Time) error {
	msg, at := "the customer has not written on this line yet: only an approved template can be sent", any(nil)
	if !expired.IsZero() {
		msg = "the 24-hour customer service window closed at " + ts(expired) +
			": only an approved template can be sent until the customer writes again"
		at = ts(expired)
	}
	return withDetails(&apiError{http.StatusUnprocessableEntity, "window_closed", msg}, map[string]any{"window_expires_at": at})
}

// messageKey is the key of message id written at at in a conversation.
func messageKey(convID, id string, at time.Time) store.MessageKey {
	return store.KeyOf(&inbox.Message{ConversationID: convID, ID: id, At: at})
}

// idempotencyKey is the request's Idempotency-Key header, "" when absent.
func idempotencyKey(req request) (string, error) {
	key := headerValue(req.Headers, "idempotency-key")
	if len(key) > maxIdemKey || !printable(key) {
		return "", badRequest("Idempotency-Key must be at most 200 printable ASCII characters")
	}
	return key, nil
}

// fingerprint identifies a request that creates a message, to tell a retry from another
// request that reuses its Idempotency-Key. Encoding the decoded body makes it independent of
// whitespace and key order.
func fingerprint(convID string, body any) string {
	b, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte(convID+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

// headerValue looks a header up case-insensitively (HTTP API v2 lower-cases them).
func headerValue(hs map[string]string, name string) string {
	if v, ok := hs[name]; ok {
		return strings.TrimSpace(v)
	}
	for k, v := range hs {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
