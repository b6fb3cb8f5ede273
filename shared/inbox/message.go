package inbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/events"
)

// Direction tells a customer's message from ours.
type Direction string

// Directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// DeliveryStatus is where a message stands. Inbound messages are "received"; outbound ones move
// queued → sending → sent → delivered → read, or end failed. "sending" means the send function
// is calling the provider, or called it and does not know the outcome yet.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryReceived  DeliveryStatus = "received"
	DeliveryQueued    DeliveryStatus = "queued"
	DeliverySending   DeliveryStatus = "sending"
	DeliverySent      DeliveryStatus = "sent"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryRead      DeliveryStatus = "read"
	DeliveryPlayed    DeliveryStatus = "played"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Rank orders delivery statuses: a status update applies only if it ranks higher than the
// message's current one, so webhooks in any order leave the same result.
func (s DeliveryStatus) Rank() int {
	switch s {
	case DeliveryQueued, DeliverySending:
		// One rank: sending is the send function's own mark on a queued message (it may go
		// back to queued when the provider refused for now); any provider status is above both.
		return 1
	case DeliverySent:
		return 2
	case DeliveryFailed:
		// Above sent, below delivered: failed wins over queued and sent, but a message already
		// delivered or read stays so ("failed kept unless already delivered or read").
		return 3
	case DeliveryDelivered:
		return 4
	case DeliveryRead:
		return 5
	case DeliveryPlayed:
		return 6
	}
	return 0
}

// ParseDeliveryStatus maps a provider status onto ours; ok is false for statuses that say
// nothing about delivery (Twilio's accepted, scheduled, ...).
func ParseDeliveryStatus(s string) (DeliveryStatus, bool) {
	switch strings.ToLower(s) {
	case "sent":
		return DeliverySent, true
	case "delivered":
		return DeliveryDelivered, true
	case "read":
		return DeliveryRead, true
	case "played":
		return DeliveryPlayed, true
	case "failed", "undelivered", "canceled":
		return DeliveryFailed, true
	}
	return "", false
}

// HistoryKey names, in a message's status times, a provider status that is not a step on the
// delivery scale but is worth keeping: Twilio's queued, accepted, sending and scheduled, Meta's
// deleted and warning. The key is prefixed ("provider:queued") so it never clashes with
// Buzón's own statuses of the same name. ok is false for any other status.
func HistoryKey(status string) (key string, ok bool) {
	switch s := strings.ToLower(status); s {
	case "queued", "accepted", "sending", "scheduled", "deleted", "warning":
		return "provider:" + s, true
	}
	return "", false
}

// Ref is the reference of an outbound message the providers echo in its status webhooks (the
// Cloud API's biz_opaque_callback_data, the query of a Twilio StatusCallback URL), so that a
// status names the message even when the provider's answer to the send was lost:
// "<conversation id>.<at in unix ms>.<message id>".
func (m *Message) Ref() string {
	return m.ConversationID + "." + strconv.FormatInt(m.At.UnixMilli(), 10) + "." + m.ID
}

// ParseRef reads a reference made by Ref into the conversation id, the time and the id of the
// message it names; ok is false for anything else.
func ParseRef(ref string) (convID string, at time.Time, id string, ok bool) {
	convID, rest, ok1 := strings.Cut(ref, ".")
	ms, id, ok2 := strings.Cut(rest, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok1 || !ok2 || err != nil || convID == "" || id == "" || n < 0 {
		return "", time.Time{}, "", false
	}
	return convID, time.UnixMilli(n).UTC(), id, true
}

// Message is one entry of a thread sent by the customer or by us.
type Message struct {
	ID             string // Buzón's id, stable across retries
	ConversationID string
	ProviderID     string // wamid / MessageSid; empty until an outbound message is accepted
	Direction      Direction
	Type           string
	Text           string // body or caption, or a short description for other types
	Status         DeliveryStatus
	Attempt        int // of an outbound message, the send attempt that marked it sending
	StatusAt       map[DeliveryStatus]time.Time
	Error          *ProviderError
	At             time.Time // when it was written (provider time for inbound)
	CreatedAt      time.Time // when Buzón stored it
	AgentID        string    // who sent it (outbound)
	Automatic      bool      // sent by automation, not a person
	ReplyTo        string    // provider id of the message it answers
	Reactions      map[string]string

	Media     *Media
	MoreMedia []Media // a Twilio message's attachments after the first, in order
	Location  *Location
	Reply     *Reply
	Template  *TemplateRef
	Detail    []byte // the provider's own JSON for the item, kept permanently (L5)
}

// Media is a message's attachment: the provider's media id (Meta) or a URL, as the customer
// or the agent sent it, and where Buzón keeps its copy.
type Media struct {
	ID       string
	URL      string
	MimeType string
	SHA256   string // announced by the provider; once kept, of the bytes kept
	Filename string
	Voice    bool // a voice note, not an audio file
	Animated bool // an animated sticker

	Status MediaStatus // a customer's attachment: where its copy stands
	Reason string      // why it is unavailable or failed
	Key    string      // the object in the media bucket (a kept attachment, an agent's upload)
	Size   int64
}

// MediaStatus is where a customer's attachment stands in Buzón's bucket.
type MediaStatus string

// Media statuses. An attachment is pending from the moment its message is stored until the
// media function has kept it (ready), learnt that the provider no longer has it
// (unavailable), or given up after its last try (failed); the last two carry a reason.
const (
	MediaPending     MediaStatus = "pending"
	MediaReady       MediaStatus = "ready"
	MediaUnavailable MediaStatus = "unavailable"
	MediaFailed      MediaStatus = "failed"
)

// Location is a shared location.
type Location struct {
	Latitude  float64
	Longitude float64
	Name      string
	Address   string
	URL       string
}

// Reply is the customer's tap on an interactive message or a template button.
type Reply struct {
	Kind        string // button_reply, list_reply, nfm_reply, button
	ID          string
	Title       string
	Description string
	Payload     string
}

// ProviderError is why a provider (or Buzón, before handing the message over) did not deliver
// a message.
type ProviderError struct {
	Code    int
	Title   string
	Message string
	Details string
}

// TemplateRef names the template an outbound message was rendered from.
type TemplateRef struct {
	Name      string
	Language  string
	Variables map[string]string
}

// NewID returns a unique id with a prefix, for items that have no provider id. Ids made one
// after another sort in that order (wall-clock nanoseconds first), so timeline entries
// written in the same millisecond keep their order.
func NewID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%016x%s", prefix, time.Now().UnixNano(), hex.EncodeToString(b[:]))
}

// InboundMessage builds the thread message of a customer message. Its id derives from the
// provider id, so the same message always gets the same id.
func InboundMessage(convID string, m *events.Message, at, now time.Time) *Message {
	return &Message{
		ID:             "m_" + hashID(string(m.Line.Address)+"\x00"+m.ID),
		ConversationID: convID,
		ProviderID:     m.ID,
		Direction:      Inbound,
		Type:           m.Type,
		Text:           Describe(m),
		Status:         DeliveryReceived,
		At:             at,
		CreatedAt:      now,
		ReplyTo:        contextID(m),
		Media:          pending(MediaOf(m.Media)),
		MoreMedia:      moreMedia(m.MoreMedia),
		Location:       locationOf(m.Location),
		Reply:          replyOf(m.Reply),
		Detail:         m.Raw,
	}
}

// MediaOf is the attachment of a queued event as a message holds it.
func MediaOf(m *events.Media) *Media {
	if m == nil {
		return nil
	}
	return &Media{ID: m.ID, URL: m.URL, MimeType: m.MimeType, SHA256: m.SHA256, Filename: m.Filename, Voice: m.Voice, Animated: m.Animated}
}

// pending marks a customer's attachment as waiting for the media function.
func pending(md *Media) *Media {
	if md != nil {
		md.Status = MediaPending
	}
	return md
}

func moreMedia(more []events.Media) []Media {
	var out []Media
	for i := range more {
		out = append(out, *pending(MediaOf(&more[i])))
	}
	return out
}

func locationOf(l *events.Location) *Location {
	if l == nil {
		return nil
	}
	return &Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
}

func replyOf(r *events.Reply) *Reply {
	if r == nil {
		return nil
	}
	return &Reply{Kind: r.Kind, ID: r.ID, Title: r.Title, Description: r.Description, Payload: r.Payload}
}

// ProviderErrorOf is an error a provider reported in a queued event, as a message holds it.
func ProviderErrorOf(e events.ProviderError) *ProviderError {
	return &ProviderError{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.Details}
}

func contextID(m *events.Message) string {
	if m.Context != nil {
		return m.Context.MessageID
	}
	return ""
}

// Describe is the text a thread or a list shows for a message: the body or caption, or a
// short description for types without text.
func Describe(m *events.Message) string {
	if m.Text != "" {
		return m.Text
	}
	switch m.Type {
	case "image", "video", "audio", "document", "sticker":
		if m.Type == "document" && m.Media != nil && m.Media.Filename != "" {
			return "[document: " + m.Media.Filename + "]"
		}
		if m.Type == "audio" && m.Media != nil && m.Media.Voice {
			return "[voice message]"
		}
		return "[" + m.Type + "]"
	case "location":
		if m.Location != nil {
			label := m.Location.Name
			if label == "" {
				label = m.Location.Address
			}
			if label != "" {
				return "[location: " + label + "]"
			}
			return fmt.Sprintf("[location: %.5f, %.5f]", m.Location.Latitude, m.Location.Longitude)
		}
		return "[location]"
	case "contacts":
		return "[contact card]"
	case "interactive", "button":
		if m.Reply != nil {
			return firstNonEmpty(m.Reply.Title, m.Reply.Payload, "[reply]")
		}
	case "reaction":
		if m.Reaction != nil {
			if m.Reaction.Emoji == "" {
				return "[reaction removed]"
			}
			return "[reaction " + m.Reaction.Emoji + "]"
		}
	case "order":
		return "[order]"
	case "system":
		if m.System != nil && m.System.Body != "" {
			return m.System.Body
		}
		return "[system notice]"
	}
	return "[unsupported message: " + m.Type + "]"
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}
