package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/buzon/buzon/events"
)

// MaxItems is the most items Parse accepts from one delivery. Meta batches far fewer; a
// larger delivery is treated as abuse and rejected with ErrInvalid.
const MaxItems = 10_000

// objectWhatsApp is the only envelope object Parse accepts.
const objectWhatsApp = "whatsapp_business_account"

// Webhook fields Parse maps to their own event kinds; every other field becomes KindOther.
const (
	fieldMessages       = "messages"
	fieldTemplateStatus = "message_template_status_update"
)

// Parse turns one Meta webhook delivery, the raw POST body, into Buzón events: every entry,
// every change, every message and status, in the order they appear. receivedAt is stamped on
// each item; RequestID is left for the caller.
//
// Parse refuses with ErrInvalid (wrapped with the reason) only a body that is not a delivery at
// all: not JSON, an object other than whatsapp_business_account, no entry array, or more than
// MaxItems items. Inside a delivery one bad part never costs its siblings: an entry, a change,
// a message or a status that cannot be read (a required id missing, a timestamp that is not
// unix seconds, a known field of the wrong JSON type, a change without its business number)
// becomes a KindMalformed item with the reason, its JSON path and its raw JSON, and the rest is
// parsed as usual. It is liberal with everything else: unknown keys are ignored, unknown
// webhook fields become KindOther with the raw value, unknown message types become a Message
// with Unsupported set and the raw item kept. Every error Parse returns wraps ErrInvalid.
//
// Message.From is the sender's wa_id digits (from); a message without one (a user known only
// by username) falls back to the business-scoped from_user_id. ProfileName comes from the
// value.contacts entry with the same id, else from the only contact. Each item's Raw is its
// own JSON exactly as delivered: the message or status object, or the whole change value for
// template statuses and other fields.
func Parse(body []byte, receivedAt time.Time) ([]events.Inbound, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if env.Object != objectWhatsApp {
		return nil, fmt.Errorf("%w: object is %q, want %q", ErrInvalid, env.Object, objectWhatsApp)
	}
	if env.Entry == nil {
		return nil, fmt.Errorf("%w: entry missing", ErrInvalid)
	}
	p := parser{receivedAt: receivedAt}
	for i, raw := range env.Entry {
		path := fmt.Sprintf("entry[%d]", i)
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.malformed(path, raw, err)
		} else {
			for j, c := range e.Changes {
				p.change(fmt.Sprintf("%s.changes[%d]", path, j), e, c)
			}
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	return p.out, nil
}

// parser accumulates the items of one delivery; err is set once it holds more than MaxItems.
type parser struct {
	receivedAt time.Time
	out        []events.Inbound
	err        error
}

// add appends one item, enforcing MaxItems.
func (p *parser) add(in events.Inbound) {
	if p.err != nil {
		return
	}
	if len(p.out) >= MaxItems {
		p.err = fmt.Errorf("%w: more than %d items in one delivery", ErrInvalid, MaxItems)
		return
	}
	in.Provider = events.ProviderMeta
	in.ReceivedAt = p.receivedAt
	p.out = append(p.out, in)
}

// maxMalformedRaw bounds the raw JSON kept with a malformed item, so that the item still fits
// an SQS message (256 KB) with its envelope.
const maxMalformedRaw = 128 << 10

// malformed records a part of the delivery that cannot be read, with the reason and its JSON.
func (p *parser) malformed(path string, raw json.RawMessage, reason error) {
	p.add(events.Inbound{Kind: events.KindMalformed, Malformed: Malformed(path, raw, reason)})
}

// Malformed builds the record of a delivery part that cannot be read. A raw value larger than
// an SQS message allows is kept as a JSON string of its beginning.
func Malformed(path string, raw json.RawMessage, reason error) *events.Malformed {
	raw = rawOrNil(raw)
	switch {
	case raw == nil:
		raw = json.RawMessage("null")
	case len(raw) > maxMalformedRaw:
		cut, _ := json.Marshal(string(raw[:maxMalformedRaw]) + "…")
		raw = cut
	}
	return &events.Malformed{Reason: fmt.Errorf("%w: %w", ErrInvalid, reason).Error(), Path: path, Raw: raw}
}

// change routes one entry[].changes[] item on its field.
func (p *parser) change(path string, e entry, raw json.RawMessage) {
	var c change
	if err := json.Unmarshal(raw, &c); err != nil {
		p.malformed(path, raw, err)
		return
	}
	switch c.Field {
	case "":
		p.malformed(path, raw, errors.New("field missing"))
	case fieldMessages:
		p.messagesChange(path, e, raw, c.Value)
	case fieldTemplateStatus:
		p.templateStatus(path, e, raw, c.Value)
	default:
		p.other(e.ID, c.Field, c.Value)
	}
}

// other keeps a change Buzón does not act on, so nothing Meta sends is lost.
func (p *parser) other(account, field string, value json.RawMessage) {
	raw := rawOrNil(value)
	if raw == nil {
		raw = json.RawMessage("null")
	}
	p.add(events.Inbound{
		Kind:  events.KindOther,
		Other: &events.Other{Account: account, Field: field, Raw: raw},
	})
}

// errNoBusinessNumber is the reason a messages change without metadata is recorded rather than
// applied: without the phone number id no line can claim it.
var errNoBusinessNumber = errors.New("no business number: value.metadata.phone_number_id missing")

// messagesChange maps the value of a "messages" change: customer messages, statuses of our
// messages and out-of-band errors. rawChange is the whole change, kept if the value is
// unreadable.
func (p *parser) messagesChange(path string, e entry, rawChange, value json.RawMessage) {
	var v messagesValue
	if err := decode(value, &v); err != nil {
		p.malformed(path, rawChange, fmt.Errorf("value: %w", err))
		return
	}
	if v.Metadata.PhoneNumberID == "" {
		p.malformed(path, rawChange, errNoBusinessNumber)
		return
	}
	line := events.Line{
		Address: v.Metadata.PhoneNumberID,
		Display: v.Metadata.DisplayPhoneNumber,
		Account: e.ID,
	}
	var contacts []contact
	_ = decode(v.Contacts, &contacts) // profile names only: unreadable contacts leave them empty
	for k, raw := range v.Messages {
		m, err := message(raw, line, contacts)
		if err != nil {
			p.malformed(fmt.Sprintf("%s.value.messages[%d]", path, k), raw, err)
			continue
		}
		p.add(events.Inbound{Kind: events.KindMessage, Message: m})
	}
	for k, raw := range v.Statuses {
		s, err := status(raw, line)
		if err != nil {
			p.malformed(fmt.Sprintf("%s.value.statuses[%d]", path, k), raw, err)
			continue
		}
		p.add(events.Inbound{Kind: events.KindStatus, Status: s})
	}
	// Out-of-band errors, or a value shape Buzón does not know yet, are kept whole.
	hasErrors := len(rawOrNil(v.Errors)) > 0 && !bytes.Equal(bytes.TrimSpace(v.Errors), []byte("[]"))
	if hasErrors || (len(v.Messages) == 0 && len(v.Statuses) == 0) {
		p.other(e.ID, fieldMessages, value)
	}
}

// templateStatus maps a message_template_status_update change. Its account is the entry id,
// so an entry without one cannot place it.
func (p *parser) templateStatus(path string, e entry, rawChange, value json.RawMessage) {
	var v templateStatusValue
	if err := decode(value, &v); err != nil {
		p.malformed(path, rawChange, fmt.Errorf("value: %w", err))
		return
	}
	id, err := decimalID(v.TemplateID)
	if err != nil {
		p.malformed(path, rawChange, fmt.Errorf("value.message_template_id %w", err))
		return
	}
	if e.ID == "" {
		p.malformed(path, rawChange, errors.New("entry id (the WhatsApp Business Account) missing"))
		return
	}
	var at time.Time
	var t unixTime
	if err := decode(e.Time, &t); err == nil {
		at = t.Time // a bad entry time only loses the event time; the status itself is good
	}
	p.add(events.Inbound{
		Kind: events.KindTemplateStatus,
		Template: &events.TemplateStatus{
			Account:    e.ID,
			TemplateID: id,
			Name:       v.Name,
			Language:   v.Language,
			Event:      v.Event,
			Reason:     v.Reason,
			Timestamp:  at,
			Raw:        rawOrNil(value),
		},
	})
}

// message maps one value.messages[] item.
func message(raw json.RawMessage, line events.Line, contacts []contact) (*events.Message, error) {
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, errors.New("id missing")
	}
	from := w.From
	if from == "" {
		// Users with a username may come without a phone-based id; the business-scoped
		// user id is then the only stable key.
		from = w.FromUserID
	}
	if from == "" {
		return nil, errors.New("from missing")
	}
	m := &events.Message{
		ID:          w.ID,
		Line:        line,
		From:        from,
		ProfileName: profileName(contacts, w.From, w.FromUserID),
		Timestamp:   w.Timestamp.Time,
		Type:        w.Type,
		Errors:      providerErrors(w.Errors),
		Raw:         raw,
	}
	if c := w.Context; c != nil {
		m.Context = &events.Context{
			MessageID:           c.ID,
			From:                c.From,
			Forwarded:           c.Forwarded,
			FrequentlyForwarded: c.FrequentlyForwarded,
		}
	}
	if r := w.Referral; r != nil {
		m.Referral = &events.Referral{
			SourceURL:  r.SourceURL,
			SourceID:   r.SourceID,
			SourceType: r.SourceType,
			Headline:   r.Headline,
			Body:       r.Body,
			CtwaClid:   r.CtwaClid,
		}
	}
	if err := payload(m, &w); err != nil {
		return nil, fmt.Errorf("%s: %w", w.Type, err)
	}
	return m, nil
}

// payload fills m from the type-specific object of w. Only the object named by the type is
// decoded, so an unknown type never fails on fields it does not use.
func payload(m *events.Message, w *wireMessage) error {
	switch w.Type {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		if err := decode(w.Text, &t); err != nil {
			return err
		}
		m.Text = t.Body
	case "image", "audio", "video", "document", "sticker":
		var md wireMedia
		if err := decode(w.media(), &md); err != nil {
			return err
		}
		m.Text = md.Caption
		m.Media = &events.Media{
			ID:       md.ID,
			URL:      md.URL,
			MimeType: md.MimeType,
			SHA256:   md.SHA256,
			Filename: md.Filename,
			Voice:    md.Voice,
			Animated: md.Animated,
		}
	case "location":
		var l events.Location
		if err := decode(w.Location, &l); err != nil {
			return err
		}
		m.Location = &l
	case "contacts":
		m.Contacts = rawOrNil(w.Contacts)
	case "interactive":
		var in wireInteractive
		if err := decode(w.Interactive, &in); err != nil {
			return err
		}
		m.Reply = &events.Reply{Kind: in.Type}
		switch {
		case in.Type == "button_reply" && in.ButtonReply != nil:
			m.Reply.ID, m.Reply.Title = in.ButtonReply.ID, in.ButtonReply.Title
			m.Text = in.ButtonReply.Title
		case in.Type == "list_reply" && in.ListReply != nil:
			m.Reply.ID, m.Reply.Title = in.ListReply.ID, in.ListReply.Title
			m.Reply.Description = in.ListReply.Description
			m.Text = in.ListReply.Title
		case in.Type == "nfm_reply" && in.NfmReply != nil:
			m.Reply.ID, m.Reply.Title = in.NfmReply.Name, in.NfmReply.Body
			m.Reply.Payload = in.NfmReply.ResponseJSON
			m.Text = in.NfmReply.Body
		default:
			m.Unsupported = true
		}
	case "button":
		var b struct {
			Payload string `json:"payload"`
			Text    string `json:"text"`
		}
		if err := decode(w.Button, &b); err != nil {
			return err
		}
		m.Reply = &events.Reply{Kind: "button", Title: b.Text, Payload: b.Payload}
		m.Text = b.Text
	case "reaction":
		var r events.Reaction
		if err := decode(w.Reaction, &r); err != nil {
			return err
		}
		m.Reaction = &r
	case "order":
		var o struct {
			Text string `json:"text"`
		}
		if err := decode(w.Order, &o); err != nil {
			return err
		}
		m.Order = rawOrNil(w.Order)
		m.Text = o.Text
	case "system":
		var s struct {
			Body string `json:"body"`
			Type string `json:"type"`
			WaID string `json:"wa_id"`
		}
		if err := decode(w.System, &s); err != nil {
			return err
		}
		m.System = &events.System{Type: s.Type, Body: s.Body, NewWaID: s.WaID}
	default: // unsupported, unknown, and types newer than this code
		m.Unsupported = true
	}
	return nil
}

// status maps one value.statuses[] item.
func status(raw json.RawMessage, line events.Line) (*events.Status, error) {
	var w wireStatus
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	switch {
	case w.ID == "":
		return nil, errors.New("id missing")
	case w.Status == "":
		return nil, errors.New("status missing")
	case w.RecipientID == "":
		return nil, errors.New("recipient_id missing")
	}
	return &events.Status{
		MessageID:   w.ID,
		Line:        line,
		RecipientID: w.RecipientID,
		Status:      w.Status,
		Timestamp:   w.Timestamp.Time,
		Errors:      providerErrors(w.Errors),
		Ref:         w.BizOpaqueCallbackData,
		Raw:         raw,
	}, nil
}

// profileName finds the sender's profile name in value.contacts: the contact with the
// sender's wa_id (or user id), else the only contact.
func profileName(contacts []contact, waID, userID string) string {
	for _, c := range contacts {
		if (waID != "" && c.WaID == waID) || (userID != "" && c.UserID == userID) {
			return c.Profile.Name
		}
	}
	if len(contacts) == 1 {
		return contacts[0].Profile.Name
	}
	return ""
}

func providerErrors(ws []wireError) []events.ProviderError {
	if len(ws) == 0 {
		return nil
	}
	out := make([]events.ProviderError, len(ws))
	for i, w := range ws {
		out[i] = events.ProviderError{
			Code:    w.Code,
			Title:   w.Title,
			Message: w.Message,
			Details: w.ErrorData.Details,
		}
	}
	return out
}

// decimalID reads a numeric id sent as a JSON number (or string) and returns its decimal
// digits, without a float64 round trip that would corrupt ids above 2^53.
func decimalID(raw json.RawMessage) (string, error) {
	raw = rawOrNil(raw)
	if raw == nil {
		return "", errors.New("missing")
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
	}
	if s == "" {
		return "", errors.New("missing")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("%s is not a decimal integer", raw)
		}
	}
	return s, nil
}

// decode unmarshals an optional JSON value: absent or null leaves v unchanged.
func decode(raw json.RawMessage, v any) error {
	if rawOrNil(raw) == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// rawOrNil returns nil for an absent or null JSON value, raw otherwise.
func rawOrNil(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return raw
}

// maxUnix is 9999-12-31T23:59:59Z, the last second encoding/json can write as RFC 3339.
const maxUnix = 253402300799

// unixTime is a Meta timestamp: unix seconds as a JSON string ("1698266945"), or as a number
// (entry.time). Absent, null and "" leave it zero.
type unixTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *unixTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || !(f >= 0 && f <= maxUnix) { // also rejects NaN
			return fmt.Errorf("timestamp %s is not unix seconds", b)
		}
		n = int64(f)
	}
	if n < 0 || n > maxUnix {
		return fmt.Errorf("timestamp %s out of range", b)
	}
	t.Time = time.Unix(n, 0).UTC()
	return nil
}

// Wire types: the parts of Meta's payload Buzón reads. Unknown keys are ignored.

type envelope struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

// entry keeps its time and changes raw: each change is read on its own, and the time is
// needed only by template statuses.
type entry struct {
	ID      string            `json:"id"`
	Time    json.RawMessage   `json:"time"`
	Changes []json.RawMessage `json:"changes"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type messagesValue struct {
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts json.RawMessage   `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
	Errors   json.RawMessage   `json:"errors"`
}

type contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID   string `json:"wa_id"`
	UserID string `json:"user_id"`
}

type wireMessage struct {
	From       string        `json:"from"`
	FromUserID string        `json:"from_user_id"`
	ID         string        `json:"id"`
	Timestamp  unixTime      `json:"timestamp"`
	Type       string        `json:"type"`
	Context    *wireContext  `json:"context"`
	Referral   *wireReferral `json:"referral"`
	Errors     []wireError   `json:"errors"`

	// Type-specific objects, decoded only for their own type.
	Text        json.RawMessage `json:"text"`
	Image       json.RawMessage `json:"image"`
	Audio       json.RawMessage `json:"audio"`
	Video       json.RawMessage `json:"video"`
	Document    json.RawMessage `json:"document"`
	Sticker     json.RawMessage `json:"sticker"`
	Location    json.RawMessage `json:"location"`
	Contacts    json.RawMessage `json:"contacts"`
	Interactive json.RawMessage `json:"interactive"`
	Button      json.RawMessage `json:"button"`
	Reaction    json.RawMessage `json:"reaction"`
	Order       json.RawMessage `json:"order"`
	System      json.RawMessage `json:"system"`
}

// media returns the object of a media message's type.
func (w *wireMessage) media() json.RawMessage {
	switch w.Type {
	case "image":
		return w.Image
	case "audio":
		return w.Audio
	case "video":
		return w.Video
	case "document":
		return w.Document
	default:
		return w.Sticker
	}
}

type wireMedia struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Filename string `json:"filename"`
	Caption  string `json:"caption"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type wireInteractive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NfmReply *struct {
		Name         string `json:"name"`
		Body         string `json:"body"`
		ResponseJSON string `json:"response_json"`
	} `json:"nfm_reply"`
}

type wireContext struct {
	From                string `json:"from"`
	ID                  string `json:"id"`
	Forwarded           bool   `json:"forwarded"`
	FrequentlyForwarded bool   `json:"frequently_forwarded"`
}

type wireReferral struct {
	SourceURL  string `json:"source_url"`
	SourceID   string `json:"source_id"`
	SourceType string `json:"source_type"`
	Body       string `json:"body"`
	Headline   string `json:"headline"`
	CtwaClid   string `json:"ctwa_clid"`
}

type wireError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type wireStatus struct {
	ID                    string      `json:"id"`
	BizOpaqueCallbackData string      `json:"biz_opaque_callback_data"`
	Status                string      `json:"status"`
	Timestamp             unixTime    `json:"timestamp"`
	RecipientID           string      `json:"recipient_id"`
	Errors                []wireError `json:"errors"`
}

type templateStatusValue struct {
	Event      string          `json:"event"`
	TemplateID json.RawMessage `json:"message_template_id"`
	Name       string          `json:"message_template_name"`
	Language   string          `json:"message_template_language"`
	Reason     string          `json:"reason"`
}
