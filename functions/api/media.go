package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/store"
)

// uploadTTL is how long an upload URL accepts the file.
const uploadTTL = 15 * time.Minute

// errNoBucket reports a deployment without a media bucket (MEDIA_BUCKET).
var errNoBucket = errors.New("api: no media bucket configured")

// parseMediaID reads an apijson.MediaID back: the message's key and the attachment's index.
func parseMediaID(convID, messageID, id string) (store.MessageKey, int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return store.MessageKey{}, 0, false
	}
	at, idx, ok := strings.Cut(string(raw), ".")
	ms, err1 := strconv.ParseInt(at, 10, 64)
	index, err2 := strconv.Atoi(idx)
	if !ok || err1 != nil || err2 != nil || index < 0 || index > 10 {
		return store.MessageKey{}, 0, false
	}
	m := &inbox.Message{ID: messageID, ConversationID: convID, At: time.UnixMilli(ms).UTC()}
	return store.KeyOf(m), index, true
}

// withMediaURLs adds to e the short-lived URLs of m's kept attachments. Signing makes no
// request; a caller that cannot see the conversation never gets here.
func (a *api) withMediaURLs(ctx context.Context, m *inbox.Message, e *entryJSON) error {
	if a.bucket == nil {
		return nil
	}
	all := append([]*mediaJSON{e.Media}, e.MoreMedia...)
	for i, md := range apijson.Attachments(m) {
		if md.Key == "" || i >= len(all) || all[i] == nil || (md.Status != "" && md.Status != inbox.MediaReady) {
			continue
		}
		u, err := a.bucket.URL(ctx, md.Key, md.MimeType, md.Filename, media.MaxURLTTL)
		if err != nil {
			return err
		}
		all[i].URL = u
	}
	return nil
}

// mediaRedirect answers GET /v1/conversations/{id}/messages/{message_id}/media/{media_id}
// with a 302 to a fresh URL of the kept file, for a client whose URL expired.
func (a *api) mediaRedirect(ctx context.Context, c *call) (any, error) {
	cv, _, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	k, index, ok := parseMediaID(cv.ID, c.params["message_id"], c.params["media_id"])
	if !ok {
		return nil, &store.NotFoundError{Entity: "media"}
	}
	m, err := a.st.Message(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &store.NotFoundError{Entity: "media"}
	}
	if err != nil {
		return nil, err
	}
	all := apijson.Attachments(m)
	if index >= len(all) {
		return nil, &store.NotFoundError{Entity: "media"}
	}
	md := all[index]
	if md.Key == "" || md.Status != "" && md.Status != inbox.MediaReady {
		return nil, &apiError{http.StatusConflict, "media_not_ready",
			fmt.Sprintf("the file is %s%s", firstOf(string(md.Status), "not kept"), reasonSuffix(md.Reason))}
	}
	if a.bucket == nil {
		return nil, errNoBucket
	}
	u, err := a.bucket.URL(ctx, md.Key, md.MimeType, md.Filename, media.MaxURLTTL)
	if err != nil {
		return nil, err
	}
	return redirect(u), nil
}

// redirectTo is a handler's answer that is a redirect, not JSON.
type redirectTo string

func redirect(u string) redirectTo { return redirectTo(u) }

func firstOf(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// uploadRequest is the body of POST /v1/uploads: the file an agent is about to attach.
type uploadRequest struct {
	ConversationID string `json:"conversation_id"` // the conversation it will be sent on: its line's provider sets the limits
	Kind           string `json:"kind"`            // image, audio, video, document, sticker
	MimeType       string `json:"mime_type"`
	Size           int64  `json:"size"`
	Filename       string `json:"filename,omitempty"`
}

// uploadJSON is the answer: where to PUT the file, with which headers, until when.
type uploadJSON struct {
	UploadID  string            `json:"upload_id"`
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
}

// createUpload answers POST /v1/uploads: a presigned PUT that takes exactly the declared type
// and size, after checking them against the conversation's provider's limits (422 naming the
// limit). Nothing is stored: the upload id names the object under the organization's prefix.
func (a *api) createUpload(ctx context.Context, c *call) (any, error) {
	var r uploadRequest
	if err := decode(c.req, &r); err != nil {
		return nil, err
	}
	c.params["id"] = r.ConversationID
	if r.ConversationID == "" {
		return nil, unprocessable("bad_upload", "conversation_id is required: the conversation's provider sets the limits")
	}
	_, line, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	if r.Size <= 0 {
		return nil, unprocessable("bad_upload", "size is required: the file's exact size in bytes")
	}
	if err := media.CheckSend(events.Provider(line.Provider), r.Kind, r.MimeType, r.Size); err != nil {
		var le *media.LimitError
		if errors.As(err, &le) {
			return nil, withDetails(&apiError{http.StatusUnprocessableEntity, "media_limit", err.Error()},
				map[string]any{"limit_bytes": le.Limit.MaxBytes, "accepted_types": le.Limit.Types})
		}
		return nil, err
	}
	if a.bucket == nil {
		return nil, errNoBucket
	}
	id := newUploadID()
	up, err := a.bucket.UploadURL(ctx, media.UploadKey(c.user.OrgID, id), media.BaseType(r.MimeType), r.Size, uploadTTL)
	if err != nil {
		return nil, err
	}
	h := map[string]string{}
	for k := range up.Headers {
		h[k] = up.Headers.Get(k)
	}
	return uploadJSON{UploadID: id, URL: up.URL, Method: up.Method, Headers: h, ExpiresAt: ts(a.now().Add(uploadTTL))}, nil
}

var uploadIDPattern = regexp.MustCompile(`^u_[0-9a-f]{32}$`)

func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "u_" + hex.EncodeToString(b[:])
}

// uploadedMedia resolves a send's upload id: the file must be in the bucket (PUT done) and
// within the line's limits for the message's type.
func (a *api) uploadedMedia(ctx context.Context, org string, line *inbox.Line, kind, uploadID, filename string) (*inbox.Media, error) {
	if !uploadIDPattern.MatchString(uploadID) {
		return nil, unprocessable("bad_media", "media.upload_id is not one POST /v1/uploads returned")
	}
	if a.bucket == nil {
		return nil, errNoBucket
	}
	key := media.UploadKey(org, uploadID)
	size, ctype, err := a.bucket.Head(ctx, key)
	if errors.Is(err, media.ErrNotFound) {
		return nil, unprocessable("upload_missing", "nothing was uploaded for media.upload_id: PUT the file to the upload URL first")
	}
	if err != nil {
		return nil, err
	}
	if err := media.CheckSend(events.Provider(line.Provider), kind, ctype, size); err != nil {
		return nil, &apiError{http.StatusUnprocessableEntity, "media_limit", err.Error()}
	}
	return &inbox.Media{Key: key, MimeType: ctype, Size: size, Filename: filename}, nil
}
