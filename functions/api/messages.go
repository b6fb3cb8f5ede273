package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/workflow"
)

// Limits of outbound messages [docs/protocol.md#sending].
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
	Link     string `json:"link,omitempty"`
	UploadID string `json:"upload_id,omitempty"` // a file PUT to the URL POST /v1/uploads gave
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type templateRequest struct {
	Name      string            `json:"name"`
	Language  string            `json:"language"`
	Variables map[string]string `json:"variables,omitempty"`
}

// draft checks the request and returns the message it asks for, without ids or times.
func (r *sendRequest) draft() (*inbox.Message, error) {
	m := &inbox.Message{Type: r.Type}
	switch r.Type {
	case "text":
		if r.Media != nil || r.Template != nil {
			return nil, unprocessable("bad_message", "a text message has text only")
		}
		if strings.TrimSpace(r.Text) == "" || utf8.RuneCountInString(r.Text) > maxText {
			return nil, unprocessable("bad_text", "text is required (1 to 4096 characters)")
		}
		m.Text = r.Text
		return m, nil
	case "image", "video", "document", "audio":
		if r.Text != "" || r.Template != nil {
			return nil, unprocessable("bad_message", "a media message has media only; put its text in media.caption")
		}
		if r.Media == nil {
			return nil, unprocessable("bad_media", "media is required for a "+r.Type+" message")
		}
		if (r.Media.Link == "") == (r.Media.UploadID == "") {
			return nil, unprocessable("bad_media", "media needs exactly one of upload_id (a file uploaded with POST /v1/uploads) or link")
		}
		if u, err := url.Parse(r.Media.Link); r.Media.Link != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
			return nil, unprocessable("bad_media", "media.link must be an https URL the provider can fetch")
		}
		if r.Type == "audio" && r.Media.Caption != "" {
			return nil, unprocessable("bad_media", "audio takes no caption")
		}
		if utf8.RuneCountInString(r.Media.Caption) > maxCaption {
			return nil, unprocessable("bad_media", "media.caption is at most 1024 characters")
		}
		if r.Media.Filename != "" && (r.Type != "document" || utf8.RuneCountInString(r.Media.Filename) > maxFilename) {
			return nil, unprocessable("bad_media", "media.filename is for documents only, at most 240 characters")
		}
		m.Text = r.Media.Caption
		m.Media = &inbox.Media{URL: r.Media.Link, Filename: r.Media.Filename}
		return m, nil
	case "template":
		if r.Text != "" || r.Media != nil {
			return nil, unprocessable("bad_message", "a template message has a template only")
		}
		if r.Template == nil {
			return nil, unprocessable("bad_template", "template is required for a template message")
		}
		ref := &inbox.TemplateRef{Name: r.Template.Name, Language: r.Template.Language, Variables: r.Template.Variables}
		if err := ref.Validate(); err != nil {
			return nil, unprocessable("bad_template", strings.TrimPrefix(err.Error(), inbox.ErrBadTemplate.Error()+": "))
		}
		m.Template = ref
		m.Text = ref.Text()
		return m, nil
	}
	return nil, unprocessable("bad_type", "type must be text, image, video, document, audio or template")
}

// sendMessage sends an agent's message (workflow.Send). With an Idempotency-Key header, a
// retry answers with the message the first request created: never two.
func (a *api) sendMessage(ctx context.Context, c *call) (any, error) {
	var body sendRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	draft, err := body.draft()
	if err != nil {
		return nil, err
	}
	key, err := idempotencyKey(c.req)
	if err != nil {
		return nil, err
	}
	if body.Media != nil && body.Media.UploadID != "" {
		// The uploaded file takes the link's place: checked against the line's limits now
		// (404 first for a conversation the caller may not see), handed to the provider by
		// the send function.
		_, line, err := a.visible(ctx, c)
		if err != nil {
			return nil, err
		}
		if draft.Media, err = a.uploadedMedia(ctx, c.user.OrgID, line, draft.Type, body.Media.UploadID, body.Media.Filename); err != nil {
			return nil, err
		}
	}
	m, err := a.flow().Send(ctx, c.caller(), c.params["id"], draft, body.ReplyTo,
		workflow.Request{Key: key, Fingerprint: fingerprint(c.params["id"], &body)})
	if err != nil {
		return nil, err
	}
	return messageJSON(m), nil
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
