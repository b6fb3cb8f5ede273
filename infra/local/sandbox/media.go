package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MediaURLTTL is how long a media URL of the Graph API stand-in works, as Meta's do.
const MediaURLTTL = 5 * time.Minute

// maxMedia is the largest file the sandbox keeps (a Cloud API document's limit and a bit).
const maxMedia = 110 << 20

// storedMedia is a file the sandbox holds as the provider would: uploaded by a test playing a
// customer (POST /sandbox/media) or by the send path (POST /{phone-number-id}/media).
type storedMedia struct {
	body        []byte
	contentType string
	sha256      string // hex, of body
	announced   string // what the Graph API says the sha256 is: sha256 unless a test lies
	deleted     bool
	// expiredURLs: how many of the next URLs handed out are already expired (a URL that
	// expired between the Graph call and the download).
	expiredURLs int
}

// SentMedia is a file a send named, as the sandbox fetched it: by media id from its own
// store, or from the link the send gave (with no credentials, as WhatsApp and Twilio fetch).
type SentMedia struct {
	Ref         string `json:"ref"` // the media id or the URL
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256,omitempty"` // of the bytes fetched
	Error       string `json:"error,omitempty"`  // why it could not be fetched
}

// mediaUpload serves POST /sandbox/media: the raw body, stored with its Content-Type.
// Query parameters for tests: sha256=<hex> makes the Graph API announce that digest instead
// of the true one; expired_urls=N makes the next N URLs handed out already expired.
func (s *Sandbox) mediaUpload(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Content-Type is required: the media's MIME type"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMedia+1))
	if err != nil || len(body) == 0 || len(body) > maxMedia {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("the body is the file: 1 byte to %d MB", maxMedia>>20)})
		return
	}
	m := newMedia(body, ct)
	if a := r.URL.Query().Get("sha256"); a != "" {
		m.announced = a
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("expired_urls")); err == nil {
		m.expiredURLs = n
	}
	id := s.putMedia(m)
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// mediaDelete serves DELETE /sandbox/media/{id}: the provider no longer has the file.
func (s *Sandbox) mediaDelete(w http.ResponseWriter, id string) {
	s.mu.Lock()
	m, ok := s.media[id]
	if ok {
		m.deleted = true
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no media " + id})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func newMedia(body []byte, contentType string) *storedMedia {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	return &storedMedia{body: body, contentType: contentType, sha256: h, announced: h}
}

func (s *Sandbox) putMedia(m *storedMedia) string {
	id := strconv.FormatInt(time.Now().UnixNano()%1e15, 10) + strconv.Itoa(int(randomHex(1)[0]%10))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.media == nil {
		s.media = map[string]*storedMedia{}
	}
	for s.media[id] != nil {
		id += "1"
	}
	s.media[id] = m
	return id
}

func (s *Sandbox) getMedia(id string) (*storedMedia, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || m.deleted {
		return nil, false
	}
	return m, true
}

// metaAuthorized checks the Graph API's bearer token.
func (s *Sandbox) metaAuthorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	return strings.HasPrefix(auth, "Bearer ") && (s.opt.MetaAccessToken == "" || auth == "Bearer "+s.opt.MetaAccessToken)
}

// graphMedia serves GET /{version}/{media-id}: the media's metadata and a URL that needs the
// bearer token and works for five minutes.
func (s *Sandbox) graphMedia(w http.ResponseWriter, r *http.Request, id string) {
	if !s.metaAuthorized(r) {
		writeJSON(w, http.StatusUnauthorized, graphError(190, "Invalid OAuth access token - Cannot parse access token", ""))
		return
	}
	m, ok := s.getMedia(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, graphError(100, "Unsupported get request. Object with ID '"+id+"' does not exist", ""))
		return
	}
	exp := time.Now().Add(MediaURLTTL)
	s.mu.Lock()
	if m.expiredURLs > 0 {
		m.expiredURLs--
		exp = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
	e := strconv.FormatInt(exp.Unix(), 10)
	u := fmt.Sprintf("http://%s/sandbox/lookaside/%s?ext=%s&hash=%s", r.Host, id, e, s.urlSig(id, e))
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp", "url": u, "mime_type": m.contentType,
		"sha256": m.announced, "file_size": len(m.body), "id": id,
	})
}

func (s *Sandbox) urlSig(id, exp string) string {
	mac := hmac.New(sha256.New, []byte("sandbox-media-"+s.opt.MetaAccessToken))
	mac.Write([]byte(id + "\x00" + exp))
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

// lookaside serves GET /sandbox/lookaside/{id}: the download URL the Graph API handed out.
// Like Meta's, it needs the bearer token, and after five minutes it answers 404.
func (s *Sandbox) lookaside(w http.ResponseWriter, r *http.Request, id string) {
	if !s.metaAuthorized(r) {
		writeJSON(w, http.StatusUnauthorized, graphError(190, "Invalid OAuth access token", ""))
		return
	}
	exp := r.URL.Query().Get("ext")
	at, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(r.URL.Query().Get("hash")), []byte(s.urlSig(id, exp))) {
		writeJSON(w, http.StatusForbidden, graphError(10, "URL signature mismatch", ""))
		return
	}
	if time.Now().Unix() > at {
		writeJSON(w, http.StatusNotFound, graphError(100, "URL expired", "the media URL expired: ask the Graph API for a new one"))
		return
	}
	s.serveMedia(w, id)
}

// twilioMedia serves GET /2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}: an inbound
// attachment, behind the account's basic auth.
func (s *Sandbox) twilioMedia(w http.ResponseWriter, r *http.Request, account, id string) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != account || s.opt.TwilioAuthToken != "" && pass != s.opt.TwilioAuthToken {
		writeJSON(w, http.StatusUnauthorized, twilioError(http.StatusUnauthorized, 20003, "Authenticate"))
		return
	}
	s.serveMedia(w, id)
}

func (s *Sandbox) serveMedia(w http.ResponseWriter, id string) {
	m, ok := s.getMedia(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no media " + id})
		return
	}
	w.Header().Set("Content-Type", m.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.body)
}

// graphUpload serves POST /{version}/{phone-number-id}/media: the Cloud API's upload
// (multipart: messaging_product=whatsapp, file, type), answering the media id a send names.
func (s *Sandbox) graphUpload(w http.ResponseWriter, r *http.Request) {
	if !s.metaAuthorized(r) {
		writeJSON(w, http.StatusUnauthorized, graphError(190, "Invalid OAuth access token - Cannot parse access token", ""))
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "a multipart form with messaging_product, file and type is required"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	if r.FormValue("messaging_product") != "whatsapp" {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "messaging_product must be whatsapp"))
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "file is required"))
		return
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, maxMedia+1))
	if err != nil || len(body) > maxMedia {
		writeJSON(w, http.StatusBadRequest, graphError(131053, "Media upload error", "the file is too large"))
		return
	}
	ct := r.FormValue("type")
	if ct == "" {
		ct = hdr.Header.Get("Content-Type")
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "type must be the file's MIME type"))
		return
	}
	id := s.putMedia(newMedia(body, ct))
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// fetchSent fetches what a send names, for GET /sandbox/messages: a media id from the
// sandbox's store, or a link over HTTP without credentials.
func (s *Sandbox) fetchSent(ctx context.Context, ref string, isLink bool) SentMedia {
	sm := SentMedia{Ref: ref}
	if !isLink {
		m, ok := s.getMedia(ref)
		if !ok {
			sm.Error = "no media with id " + ref
			return sm
		}
		sm.ContentType, sm.Size, sm.SHA256 = m.contentType, len(m.body), m.sha256
		return sm
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		sm.Error = err.Error()
		return sm
	}
	res, err := s.opt.HTTP.Do(req)
	if err != nil {
		sm.Error = err.Error()
		return sm
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		sm.Error = "GET answered " + res.Status
		return sm
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(res.Body, maxMedia))
	if err != nil {
		sm.Error = err.Error()
		return sm
	}
	sm.ContentType, sm.Size, sm.SHA256 = res.Header.Get("Content-Type"), int(n), hex.EncodeToString(h.Sum(nil))
	return sm
}

// customerMedia is the "media" of POST /sandbox/customer: a file uploaded with POST
// /sandbox/media, sent by the customer.
type customerMedia struct {
	Type     string `json:"type"` // image, audio, video, document, sticker (Meta lines)
	ID       string `json:"id"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
}

// metaMediaObject is the webhook's object for a customer's media message.
func (s *Sandbox) metaMediaObject(c customerMedia) (map[string]any, error) {
	switch c.Type {
	case "image", "audio", "video", "document", "sticker":
	default:
		return nil, fmt.Errorf("media.type must be image, audio, video, document or sticker")
	}
	m, ok := s.getMedia(c.ID)
	if !ok {
		return nil, fmt.Errorf("media.id %q: no such media (upload it with POST /sandbox/media)", c.ID)
	}
	o := map[string]any{"id": c.ID, "mime_type": m.contentType, "sha256": m.announced}
	if c.Caption != "" && c.Type != "audio" && c.Type != "sticker" {
		o["caption"] = c.Caption
	}
	if c.Type == "document" && c.Filename != "" {
		o["filename"] = c.Filename
	}
	if c.Type == "audio" {
		o["voice"] = c.Voice
	}
	if c.Type == "sticker" {
		o["animated"] = false
	}
	return o, nil
}
