package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Provider names a WhatsApp provider.
type Provider string

// Providers.
const (
	ProviderMeta   Provider = "meta"
	ProviderTwilio Provider = "twilio"
)

// Kind tells which payload an Inbound carries.
type Kind string

// Kinds of inbound events.
const (
	KindMessage        Kind = "message"         // a customer message
	KindStatus         Kind = "status"          // a delivery status for one of our messages
	KindTemplateStatus Kind = "template_status" // message_template_status_update
	KindOther          Kind = "other"           // any other webhook field: kept, never dropped
	// KindMalformed is an item of a signed delivery that cannot be applied (a message without
	// an id, a change without its business number): the webhook accepts its valid siblings and
	// passes this one on, with the reason, to end in the inbound dead-letter queue.
	KindMalformed Kind = "malformed"
)

// Inbound is one item of a provider delivery, as it travels on the inbound FIFO queue.
// Exactly one of Message, Status, Template, Other, Malformed is set, as Kind says.
type Inbound struct {
	Kind       Kind      `json:"kind"`
	Provider   Provider  `json:"provider"`
	ReceivedAt time.Time `json:"received_at"`
	// RequestID is the webhook request that carried the item (correlation id in logs).
	RequestID string `json:"request_id,omitempty"`

	Message   *Message        `json:"message,omitempty"`
	Status    *Status         `json:"status,omitempty"`
	Template  *TemplateStatus `json:"template,omitempty"`
	Other     *Other          `json:"other,omitempty"`
	Malformed *Malformed      `json:"malformed,omitempty"`
}

// Line identifies the business number an item was addressed to, as the provider names it:
// Meta's phone_number_id, or Twilio's sender number in E.164.
type Line struct {
	// Address is the routing key: Meta phone_number_id, or "+E164" for Twilio.
	Address string `json:"address"`
	// Display is the human-readable business number (digits), when known.
	Display string `json:"display,omitempty"`
	// Account is the Meta WABA id or the Twilio account SID.
	Account string `json:"account,omitempty"`
}

// Message is one inbound customer message of any type. Type is the provider's type string;
// unknown types are kept with their raw payload and shown as placeholders.
type Message struct {
	ID          string    `json:"id"` // wamid.… or Twilio MessageSid
	Line        Line      `json:"line"`
	From        string    `json:"from"` // customer WhatsApp id (digits, no "+")
	ProfileName string    `json:"profile_name,omitempty"`
	Timestamp   time.Time `json:"timestamp,omitzero"` // provider time; zero when the provider sends none
	Type        string    `json:"type"`
	Text        string    `json:"text,omitempty"` // body or caption

	Media       *Media          `json:"media,omitempty"`
	MoreMedia   []Media         `json:"more_media,omitempty"` // a Twilio message's attachments after the first, in order
	Location    *Location       `json:"location,omitempty"`
	Contacts    json.RawMessage `json:"contacts,omitempty"` // shared contact cards, as sent
	Reply       *Reply          `json:"reply,omitempty"`    // interactive / button reply
	Reaction    *Reaction       `json:"reaction,omitempty"`
	Order       json.RawMessage `json:"order,omitempty"`
	System      *System         `json:"system,omitempty"`
	Context     *Context        `json:"context,omitempty"`
	Referral    *Referral       `json:"referral,omitempty"`
	Errors      []ProviderError `json:"errors,omitempty"`
	Raw         json.RawMessage `json:"raw,omitempty"` // the provider's item as received
	Unsupported bool            `json:"unsupported,omitempty"`
}

// Media describes an attachment. The provider's media is fetched later by id or URL.
type Media struct {
	ID       string `json:"id,omitempty"`
	URL      string `json:"url,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

// Location is a shared location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Reply is the customer's tap on an interactive message or template button.
type Reply struct {
	Kind        string `json:"kind"` // button_reply, list_reply, nfm_reply, button
	ID          string `json:"id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

// Reaction is an emoji on another message; an empty Emoji removes it.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
}

// System is a provider notice such as user_changed_number.
type System struct {
	Type    string `json:"type,omitempty"`
	Body    string `json:"body,omitempty"`
	NewWaID string `json:"new_wa_id,omitempty"`
}

// Context links a message to the one it answers or says it was forwarded.
type Context struct {
	MessageID           string `json:"message_id,omitempty"`
	From                string `json:"from,omitempty"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

// Referral says the conversation started from a click-to-WhatsApp ad or post.
type Referral struct {
	SourceURL  string `json:"source_url,omitempty"`
	SourceID   string `json:"source_id,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Headline   string `json:"headline,omitempty"`
	Body       string `json:"body,omitempty"`
	CtwaClid   string `json:"ctwa_clid,omitempty"`
}

// ProviderError is an error the provider reported on a message or status.
type ProviderError struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Status is a delivery status for a message we sent.
type Status struct {
	MessageID   string          `json:"message_id"` // provider id of our outbound message
	Line        Line            `json:"line"`
	RecipientID string          `json:"recipient_id"` // customer WhatsApp id (digits)
	Status      string          `json:"status"`       // sent, delivered, read, failed, played, ...
	Timestamp   time.Time       `json:"timestamp,omitzero"`
	Errors      []ProviderError `json:"errors,omitempty"`
	// Ref is our reference of the message as the provider echoes it (inbox.Message.Ref: the
	// Cloud API's biz_opaque_callback_data, our Twilio StatusCallback's query), when it does.
	Ref string          `json:"ref,omitempty"`
	Raw json.RawMessage `json:"raw,omitempty"`
}

// TemplateStatus is a message_template_status_update.
type TemplateStatus struct {
	Account    string          `json:"account"` // WABA id
	TemplateID string          `json:"template_id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Event      string          `json:"event"` // APPROVED, REJECTED, PAUSED, ...
	Reason     string          `json:"reason,omitempty"`
	Timestamp  time.Time       `json:"timestamp,omitzero"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// Other is a webhook field Buzón does not act on yet (account_update, quality, unknown):
// kept so nothing a provider sends is lost.
type Other struct {
	Account string          `json:"account,omitempty"`
	Field   string          `json:"field"`
	Raw     json.RawMessage `json:"raw"`
}

// Malformed is the part of a delivery that could not be read as an item: what was wrong, where,
// and the provider's JSON for it (a message or status object, a change, an entry, or a Twilio
// form as JSON), so an operator can see it and nothing the provider sent is lost.
type Malformed struct {
	Reason string          `json:"reason"`
	Path   string          `json:"path,omitempty"` // where in the delivery, e.g. entry[0].changes[1].value.messages[2]
	Raw    json.RawMessage `json:"raw"`
}

// GroupID is the FIFO message group: one per conversation (business line + customer), so a
// conversation's events are applied in order while conversations proceed in parallel.
func (e *Inbound) GroupID() string {
	switch e.Kind {
	case KindMessage:
		return fifoID(string(e.Provider) + ":" + e.Message.Line.Address + ":" + e.Message.From)
	case KindStatus:
		return fifoID(string(e.Provider) + ":" + e.Status.Line.Address + ":" + e.Status.RecipientID)
	case KindTemplateStatus:
		return fifoID("template:" + e.Template.Account + ":" + e.Template.TemplateID)
	case KindMalformed:
		return fifoID("malformed:" + string(e.Provider))
	default:
		return fifoID("other:" + e.Other.Account + ":" + e.Other.Field)
	}
}

// DedupID is the FIFO deduplication id: the provider's id for the item, so a provider's retry
// inside SQS's five-minute window is dropped by the queue. Later retries are caught by the
// store's conditional writes.
func (e *Inbound) DedupID() string {
	switch e.Kind {
	case KindMessage:
		return fifoID("m:" + e.Message.ID)
	case KindStatus:
		return fifoID("s:" + e.Status.MessageID + ":" + e.Status.Status)
	case KindTemplateStatus:
		return fifoID("t:" + e.Template.TemplateID + ":" + e.Template.Event + ":" + e.Template.Timestamp.Format(time.RFC3339))
	case KindMalformed:
		sum := sha256.Sum256([]byte(e.Malformed.Path + "\x00" + e.Malformed.Reason + "\x00" + string(e.Malformed.Raw)))
		return fifoID("x:" + hex.EncodeToString(sum[:]))
	default:
		sum := sha256.Sum256(e.Other.Raw)
		return fifoID("o:" + e.Other.Field + ":" + hex.EncodeToString(sum[:]))
	}
}

// fifoID keeps an id within SQS's rules for group and deduplication ids (at most 128
// characters of alphanumerics and punctuation): short safe ids pass as they are, anything else
// is hashed.
func fifoID(s string) string {
	if len(s) <= 128 && safeFIFO(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h:" + hex.EncodeToString(sum[:])
}

func safeFIFO(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
