package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/events"
)

// channelPrefix marks WhatsApp addresses in Twilio's From and To ("whatsapp:+14155238886").
const channelPrefix = "whatsapp:"

// maxMedia is the most attachments a Twilio message carries.
const maxMedia = 10

// knownTypes are the MessageType values Buzón renders; others are kept as placeholders.
var knownTypes = map[string]bool{
	"text": true, "image": true, "audio": true, "video": true, "document": true,
	"sticker": true, "location": true, "button": true, "interactive": true,
}

// Parse turns the form parameters of one Twilio webhook into a Buzón event: an inbound
// message (SmsStatus=received, with Body, NumMedia or MessageType) or a status callback
// (MessageStatus). receivedAt is stamped on the item; RequestID is left for the caller.
//
// Twilio sends no event time, so Timestamp stays zero. Line.Address is the business number as
// "+E164" (the message's To, the status's From); customer ids are digits without "+" (WaId
// when present). The whole form is kept as JSON in Raw; unknown parameters are ignored.
//
// Parse never refuses a form: the signature already proved it is Twilio's, and a 4xx would
// only make it lost. A form without MessageSid, without the business or the customer number,
// or that is neither kind of webhook becomes a KindMalformed item whose reason wraps
// ErrInvalid, with the form as its raw JSON.
func Parse(form url.Values, receivedAt time.Time) events.Inbound {
	in := events.Inbound{Provider: events.ProviderTwilio, ReceivedAt: receivedAt}
	raw, _ := json.Marshal(form) // a map of string slices always encodes
	if err := parse(&in, form, raw); err != nil {
		in.Kind, in.Message, in.Status = events.KindMalformed, nil, nil
		in.Malformed = &events.Malformed{Reason: fmt.Errorf("%w: %w", ErrInvalid, err).Error(), Path: "form", Raw: raw}
	}
	return in
}

// parse fills in with the message or status of form.
func parse(in *events.Inbound, form url.Values, raw json.RawMessage) error {
	sid := strings.TrimSpace(form.Get("MessageSid"))
	if sid == "" {
		return errors.New("MessageSid missing")
	}
	from, to := address(form.Get("From")), address(form.Get("To"))
	status := strings.ToLower(strings.TrimSpace(form.Get("MessageStatus")))
	switch {
	case status != "" && status != "received":
		// A status callback comes from the business number to the customer.
		if from == "" {
			return errors.New("no business number: From missing")
		}
		if to == "" {
			return errors.New("To missing")
		}
		in.Kind = events.KindStatus
		in.Status = &events.Status{
			MessageID:   sid,
			Line:        line(from, form),
			RecipientID: digits(to),
			Status:      statusName(status),
			Errors:      statusErrors(form),
			Raw:         raw,
		}
	case isInbound(form, status):
		if to == "" {
			return errors.New("no business number: To missing")
		}
		if from == "" {
			return errors.New("From missing")
		}
		in.Kind = events.KindMessage
		in.Message = message(sid, from, to, form, raw)
	default:
		return errors.New("neither an inbound message nor a status callback")
	}
	return nil
}

// isInbound reports whether form is an inbound-message webhook.
func isInbound(form url.Values, status string) bool {
	return status == "received" ||
		strings.EqualFold(form.Get("SmsStatus"), "received") ||
		form.Has("Body") || form.Has("NumMedia") || form.Has("MessageType")
}

// message maps an inbound-message webhook.
func message(sid, from, to string, form url.Values, raw json.RawMessage) *events.Message {
	customer := digits(from)
	if w := digits(form.Get("WaId")); w != "" {
		customer = w
	}
	m := &events.Message{
		ID:          sid,
		Line:        line(to, form),
		From:        customer,
		ProfileName: form.Get("ProfileName"),
		Type:        strings.TrimSpace(form.Get("MessageType")),
		Text:        form.Get("Body"),
		Raw:         raw,
	}
	// Every attachment, MediaUrl0 … MediaUrl{NumMedia-1} (Twilio allows 10): the first is
	// Media, the others MoreMedia.
	for i := 0; i < maxMedia; i++ {
		u := form.Get(fmt.Sprintf("MediaUrl%d", i))
		if u == "" {
			break
		}
		md := events.Media{URL: u, MimeType: form.Get(fmt.Sprintf("MediaContentType%d", i))}
		if i == 0 {
			m.Media = &md
		} else {
			m.MoreMedia = append(m.MoreMedia, md)
		}
	}
	lat, latErr := strconv.ParseFloat(strings.TrimSpace(form.Get("Latitude")), 64)
	lon, lonErr := strconv.ParseFloat(strings.TrimSpace(form.Get("Longitude")), 64)
	if latErr == nil && lonErr == nil && validCoordinates(lat, lon) {
		m.Location = &events.Location{
			Latitude:  lat,
			Longitude: lon,
			Name:      form.Get("Label"),
			Address:   form.Get("Address"),
		}
	}
	if m.Type == "" {
		m.Type = inferType(m)
	}
	if form.Has("ButtonPayload") || form.Has("ButtonText") {
		kind := "button_reply" // interactive quick-reply buttons
		if m.Type == "button" {
			kind = "button" // template quick-reply buttons
		}
		m.Reply = &events.Reply{Kind: kind, Title: form.Get("ButtonText"), Payload: form.Get("ButtonPayload")}
		if m.Text == "" {
			m.Text = m.Reply.Title
		}
	}
	ctx := events.Context{
		MessageID:           form.Get("OriginalRepliedMessageSid"),
		From:                digits(form.Get("OriginalRepliedMessageSender")),
		Forwarded:           isTrue(form.Get("Forwarded")),
		FrequentlyForwarded: isTrue(form.Get("FrequentlyForwarded")),
	}
	if ctx != (events.Context{}) {
		m.Context = &ctx
	}
	ref := events.Referral{
		SourceURL:  form.Get("ReferralSourceUrl"),
		SourceID:   form.Get("ReferralSourceId"),
		SourceType: form.Get("ReferralSourceType"),
		Headline:   form.Get("ReferralHeadline"),
		Body:       form.Get("ReferralBody"),
		CtwaClid:   form.Get("ReferralCtwaClid"),
	}
	if ref != (events.Referral{}) {
		m.Referral = &ref
	}
	m.Unsupported = !knownTypes[m.Type]
	return m
}

// inferType names the type of a message whose webhook has no MessageType (older senders).
func inferType(m *events.Message) string {
	switch {
	case m.Media != nil:
		major, _, _ := strings.Cut(m.Media.MimeType, "/")
		switch major {
		case "image", "audio", "video":
			return major
		}
		return "document"
	case m.Location != nil:
		return "location"
	default:
		return "text"
	}
}

// statusName maps Twilio's MessageStatus onto Buzón's status names: Twilio's "undelivered"
// is WhatsApp's "failed"; every other value passes through.
func statusName(s string) string {
	if s == "undelivered" {
		return "failed"
	}
	return s
}

// statusErrors maps ErrorCode and ChannelStatusMessage. A code that is not a number is kept
// in Details rather than losing the callback.
func statusErrors(form url.Values) []events.ProviderError {
	code := strings.TrimSpace(form.Get("ErrorCode"))
	if code == "" || code == "0" {
		return nil
	}
	e := events.ProviderError{Message: form.Get("ChannelStatusMessage")}
	n, err := strconv.Atoi(code)
	if err != nil {
		e.Details = "ErrorCode " + code
	} else {
		e.Code = n
	}
	return []events.ProviderError{e}
}

// line builds the business line from its "+E164" address.
func line(addr string, form url.Values) events.Line {
	return events.Line{Address: addr, Display: digits(addr), Account: form.Get("AccountSid")}
}

// address normalises a Twilio From/To ("whatsapp:+14155238886") to "+E164". A "+" that a
// careless encoder left unescaped arrives as a space and is restored. It returns "" when no
// number is left.
func address(s string) string {
	n := digits(s)
	if n == "" {
		return ""
	}
	return "+" + n
}

// digits strips the channel prefix, spaces and a leading "+" from a Twilio address.
func digits(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= len(channelPrefix) && strings.EqualFold(s[:len(channelPrefix)], channelPrefix) {
		s = s[len(channelPrefix):]
	}
	return strings.TrimPrefix(strings.TrimSpace(s), "+")
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

// validCoordinates keeps NaN, infinities and impossible values out of a Location, which must
// marshal to JSON.
func validCoordinates(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}
