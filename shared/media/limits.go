// Package media holds what Buzón does with attachments: the providers' type and size limits,
// how a stored file may be served to a browser, and the bucket that keeps every attachment
// (streamed in with bounded memory, checked against the provider's size and sha256, read
// back through short-lived presigned URLs).
package media

import (
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/buzon/buzon/events"
)

// MB is the megabyte of the providers' limits: 1,048,576 bytes. Meta and Twilio write "5 MB"
// without saying which; the binary one is the lenient reading for what customers send, and a
// file an agent sends is refused before it reaches the provider, never after.
const MB = 1 << 20

// Kinds of media, as the Cloud API names the message types that carry them.
const (
	Image    = "image"
	Audio    = "audio"
	Video    = "video"
	Document = "document"
	Sticker  = "sticker"
)

// Limit is what a provider accepts for one kind of media.
type Limit struct {
	Kind     string
	Types    []string // MIME types without parameters
	MaxBytes int64
}

// The Cloud API's supported media ([docs/protocol.md#media], Meta's "Supported media types").
var metaLimits = []Limit{
	{Audio, []string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}, 16 * MB},
	{Document, []string{"text/plain", "application/pdf",
		"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	}, 100 * MB},
	{Image, []string{"image/jpeg", "image/png"}, 5 * MB},
	// 500 KB for an animated sticker; a static one should stay under 100 KB, which only the
	// image itself tells.
	{Sticker, []string{"image/webp"}, 500 << 10},
	{Video, []string{"video/mp4", "video/3gpp"}, 16 * MB},
}

// Twilio's WhatsApp media: images under 5 MB, a message under 16 MB; Twilio forwards the same
// types to WhatsApp, so the Cloud API's list applies.
var twilioLimits = []Limit{
	{Audio, metaLimits[0].Types, 16 * MB},
	{Document, metaLimits[1].Types, 16 * MB},
	{Image, metaLimits[2].Types, 5 * MB},
	{Sticker, metaLimits[3].Types, 500 << 10},
	{Video, metaLimits[4].Types, 16 * MB},
}

// TwilioMessageMax is the most a Twilio WhatsApp message may carry, all attachments together.
const TwilioMessageMax = 16 * MB

// Errors of the limits. Each is wrapped in a *LimitError that names the limit.
var (
	ErrKind     = errors.New("media: unknown kind of media")
	ErrType     = errors.New("media: type not accepted")
	ErrTooLarge = errors.New("media: larger than the limit")
)

// LimitError is a file refused by a provider's limit; its message says which limit, in words
// an agent can act on.
type LimitError struct {
	Err      error // ErrKind, ErrType or ErrTooLarge
	Provider events.Provider
	Kind     string
	Type     string
	Size     int64
	Limit    Limit
}

func (e *LimitError) Error() string {
	switch e.Err {
	case ErrKind:
		return fmt.Sprintf("media kind %q is not one of image, audio, video, document, sticker", e.Kind)
	case ErrType:
		return fmt.Sprintf("%s does not accept %q as %s; accepted: %s", providerName(e.Provider), e.Type, e.Kind, strings.Join(e.Limit.Types, ", "))
	default:
		return fmt.Sprintf("%s accepts %s files up to %s; this one is %s (%d bytes)", providerName(e.Provider), e.Kind, Size(e.Limit.MaxBytes), Size(e.Size), e.Size)
	}
}

func (e *LimitError) Unwrap() error { return e.Err }

func providerName(p events.Provider) string {
	if p == events.ProviderTwilio {
		return "Twilio"
	}
	return "WhatsApp (Cloud API)"
}

// Size writes a byte count as people read it: "5 MB", "500 KB", "1.5 MB", "312 bytes".
func Size(n int64) string {
	switch {
	case n >= MB:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/MB)) + " MB"
	case n >= 1<<10:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// LimitFor returns the provider's limit for a kind of media.
func LimitFor(p events.Provider, kind string) (Limit, bool) {
	limits := metaLimits
	if p == events.ProviderTwilio {
		limits = twilioLimits
	}
	i := slices.IndexFunc(limits, func(l Limit) bool { return l.Kind == kind })
	if i < 0 {
		return Limit{}, false
	}
	return limits[i], true
}

// CheckSend checks a file an agent wants to send: its kind, its type among the provider's
// and its size under the kind's limit.
func CheckSend(p events.Provider, kind, contentType string, size int64) error {
	l, ok := LimitFor(p, kind)
	if !ok {
		return &LimitError{Err: ErrKind, Provider: p, Kind: kind}
	}
	if !slices.Contains(l.Types, BaseType(contentType)) {
		return &LimitError{Err: ErrType, Provider: p, Kind: kind, Type: contentType, Limit: l}
	}
	if size > l.MaxBytes || size < 0 {
		return &LimitError{Err: ErrTooLarge, Provider: p, Kind: kind, Type: contentType, Size: size, Limit: l}
	}
	return nil
}

// MaxReceive is the largest attachment of a kind Buzón keeps from a customer: the provider's
// limit for that kind (an unknown kind gets the largest, a document's). The type is not
// checked: customers' phones send what they send, and Safe decides how it is served.
func MaxReceive(p events.Provider, kind string) int64 {
	if l, ok := LimitFor(p, kind); ok {
		return l.MaxBytes
	}
	l, _ := LimitFor(p, Document)
	return l.MaxBytes
}

// KindOf guesses the kind of media of a content type (Twilio names no kind): image/webp is
// a sticker, other images images, and so on; anything else is a document.
func KindOf(contentType string) string {
	t := BaseType(contentType)
	switch {
	case t == "image/webp":
		return Sticker
	case strings.HasPrefix(t, "image/"):
		return Image
	case strings.HasPrefix(t, "audio/"):
		return Audio
	case strings.HasPrefix(t, "video/"):
		return Video
	}
	return Document
}

// BaseType is a content type without its parameters, in lower case ("audio/ogg; codecs=opus"
// → "audio/ogg"); a type that does not parse is returned trimmed and lower-cased.
func BaseType(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		t, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(t))
}
