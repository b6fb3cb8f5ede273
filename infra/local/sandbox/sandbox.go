// Package sandbox is the local stand-in for the providers' APIs: Meta's Graph API (send
// messages, list templates) and Twilio's Messages API. It accepts sends the way the providers
// do, then plays the provider's side of the conversation: it posts signed status webhooks
// (sent, delivered, read) to the local webhook endpoint, and, on request, signed inbound
// customer messages, so the whole inbox runs end to end without a WhatsApp account.
//
// Failures can be switched on to exercise the send path: rate limits, provider errors, the
// closed 24-hour window and timeouts, for the next N sends (see Fail).
//
// Control endpoints (not the providers'):
//
//	POST /sandbox/fail      {"mode":"429|500|window|timeout|accept_timeout|accept_reset|off","count":N}  (count -1: until switched off)
//	GET  /sandbox/fail      the current switch
//	POST /sandbox/customer  {"line":"meta|twilio","phone_number_id":"…"|"to":"+E164","from":"549…","name":"…","text":"…",
//	                         "media":{"type":"image|audio|video|document|sticker","id":"…","caption":"…","filename":"…"},
//	                         "attachments":["<media id>",…] (Twilio: every attachment, NumMedia/MediaUrlN)}
//	POST /sandbox/media     the raw file with its Content-Type → {"id":"<media id>"}
//	                        (?sha256=<hex>: the Graph API announces that digest; ?expired_urls=N)
//	DELETE /sandbox/media/{id}  the provider no longer has it
//	GET  /sandbox/messages  the latest sends, newest last, with the sha256 of each file a send named
//
// Provider endpoints: Graph POST /{v}/{phone-number-id}/messages, GET /{v}/{waba}/message_templates,
// GET /{v}/{media-id} (url needing the bearer token, expiring after 5 minutes), POST
// /{v}/{phone-number-id}/media (upload); Twilio POST /2010-04-01/Accounts/{AC}/Messages.json and
// GET …/Messages/{MM}/Media/{ME} (basic auth).
package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Sandbox. Zero values get the defaults noted.
type Options struct {
	// WebhookURL is the base URL webhooks are posted to: the local gateway
	// (http://127.0.0.1:PORT). Meta's go to /webhooks/meta, Twilio's to the path of the send's
	// StatusCallback, or /webhooks/twilio.
	WebhookURL string
	// PublicBaseURL is the URL Twilio signatures are computed against (PUBLIC_BASE_URL, what
	// the webhook function rebuilds); default WebhookURL.
	PublicBaseURL string
	// MetaAppSecret signs Meta webhooks (X-Hub-Signature-256).
	MetaAppSecret string
	// MetaAccessToken is the bearer token sends must carry; empty accepts any.
	MetaAccessToken string
	// TwilioAuthToken signs Twilio webhooks and is the Basic auth password sends must carry;
	// empty accepts any.
	TwilioAuthToken string
	// Fail is the failure switch at start (PROVIDER_SANDBOX_FAIL, see ParseFail).
	Fail Fail
	// StatusDelay separates a send from its "sent" webhook and each status from the next;
	// default 300 ms.
	StatusDelay time.Duration
	// TimeoutAfter is how long a "timeout" failure holds a send before answering 504, unless
	// the client gives up first; default 35 s (past the send function's client timeout).
	TimeoutAfter time.Duration
	// WABAID is the account id of Meta webhooks (entry.id); default "102290129340398".
	WABAID string
	// HTTP posts the webhooks; default a client with a 15 s timeout.
	HTTP *http.Client
	// Log receives what the sandbox does; default slog.Default().
	Log *slog.Logger
}

// Failure modes.
const (
	FailOff       = ""
	FailRateLimit = "429"     // Meta 130429 / Twilio 20429, HTTP 429: retryable
	FailServer    = "500"     // Meta 131000 / Twilio 20500, HTTP 500: retryable
	FailWindow    = "window"  // accepted, then a failed status: Meta 131047 / Twilio 63016
	FailTimeout   = "timeout" // no answer until the client gives up
	// FailAcceptTimeout accepts the send (it is delivered and its status webhooks are posted)
	// but answers only after the client gave up: the client cannot know it was accepted.
	FailAcceptTimeout = "accept_timeout"
	// FailAcceptReset accepts the send (delivered, status webhooks posted) and drops the
	// connection instead of answering.
	FailAcceptReset = "accept_reset"
)

// Fail is the failure switch: the next Count sends fail with Mode; Count -1 keeps failing
// until the switch is set again.
type Fail struct {
	Mode  string `json:"mode"`
	Count int    `json:"count"`
}

// ErrBadFail reports a failure switch the sandbox does not know.
var ErrBadFail = errors.New("sandbox: invalid failure switch")

// ParseFail reads a failure switch written "mode" or "mode:count" (PROVIDER_SANDBOX_FAIL):
// "429:3" fails the next three sends with a rate limit, "500" the next one, "window:-1" every
// send until switched off. An empty string or "off" is no failure.
func ParseFail(s string) (Fail, error) {
	mode, count, hasCount := strings.Cut(strings.TrimSpace(s), ":")
	f := Fail{Mode: strings.ToLower(mode), Count: 1}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < -1 || n == 0 {
			return Fail{}, fmt.Errorf("%w: count %q: want a positive number or -1", ErrBadFail, count)
		}
		f.Count = n
	}
	return f.valid()
}

func (f Fail) valid() (Fail, error) {
	switch f.Mode {
	case FailOff, "off":
		return Fail{}, nil
	case FailRateLimit, FailServer, FailWindow, FailTimeout, FailAcceptTimeout, FailAcceptReset:
	default:
		return Fail{}, fmt.Errorf("%w: mode %q: want 429, 500, window, timeout, accept_timeout, accept_reset or off", ErrBadFail, f.Mode)
	}
	switch {
	case f.Count == 0:
		f.Count = 1
	case f.Count < -1:
		return Fail{}, fmt.Errorf("%w: count %d: want a positive number or -1", ErrBadFail, f.Count)
	}
	return f, nil
}

// Sent is one send the sandbox accepted.
type Sent struct {
	Provider string          `json:"provider"`
	ID       string          `json:"id"`
	From     string          `json:"from"` // phone_number_id or the Twilio sender
	To       string          `json:"to"`
	Request  json.RawMessage `json:"request"`
	At       time.Time       `json:"at"`
	Media    []SentMedia     `json:"media,omitempty"`
}

// maxSent is how many sends GET /sandbox/messages keeps.
const maxSent = 100

// Sandbox serves the providers' APIs and posts their webhooks. It is safe for concurrent use.
type Sandbox struct {
	opt    Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	fail  Fail
	sent  []Sent
	media map[string]*storedMedia
}

// New returns a sandbox; Close stops the webhooks it still has to post.
func New(opt Options) *Sandbox {
	if opt.PublicBaseURL == "" {
		opt.PublicBaseURL = opt.WebhookURL
	}
	opt.WebhookURL = strings.TrimRight(opt.WebhookURL, "/")
	opt.PublicBaseURL = strings.TrimRight(opt.PublicBaseURL, "/")
	if opt.StatusDelay <= 0 {
		opt.StatusDelay = 300 * time.Millisecond
	}
	if opt.TimeoutAfter <= 0 {
		opt.TimeoutAfter = 35 * time.Second
	}
	if opt.WABAID == "" {
		opt.WABAID = "102290129340398"
	}
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{opt: opt, log: opt.Log.With("component", "provider-sandbox"), ctx: ctx, cancel: cancel, fail: opt.Fail}
}

// Close cancels the webhooks not posted yet and waits for those in flight.
func (s *Sandbox) Close() {
	s.cancel()
	s.wg.Wait()
}

// Wait blocks until every webhook scheduled so far has been posted (for tests).
func (s *Sandbox) Wait() { s.wg.Wait() }

// ServeHTTP routes the providers' endpoints and the sandbox's own.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/sandbox/fail" && r.Method == http.MethodPost:
		s.setFail(w, r)
	case r.URL.Path == "/sandbox/fail" && r.Method == http.MethodGet:
		s.mu.Lock()
		f := s.fail
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, f)
	case r.URL.Path == "/sandbox/customer" && r.Method == http.MethodPost:
		s.customer(w, r)
	case r.URL.Path == "/sandbox/messages" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"messages": s.sentCopy()})
	case r.URL.Path == "/sandbox/media" && r.Method == http.MethodPost:
		s.mediaUpload(w, r)
	case len(segs) == 3 && segs[0] == "sandbox" && segs[1] == "media" && r.Method == http.MethodDelete:
		s.mediaDelete(w, segs[2])
	case len(segs) == 3 && segs[0] == "sandbox" && segs[1] == "lookaside" && r.Method == http.MethodGet:
		s.lookaside(w, r, segs[2])
	case len(segs) == 7 && segs[0] == "2010-04-01" && segs[1] == "Accounts" && segs[3] == "Messages" && segs[5] == "Media" && r.Method == http.MethodGet:
		s.twilioMedia(w, r, segs[2], segs[6])
	case len(segs) == 3 && segs[2] == "media" && r.Method == http.MethodPost:
		s.graphUpload(w, r)
	case len(segs) == 2 && segs[0] != "sandbox" && r.Method == http.MethodGet:
		s.graphMedia(w, r, segs[1])
	case len(segs) == 4 && segs[0] == "2010-04-01" && segs[1] == "Accounts" && segs[3] == "Messages.json" && r.Method == http.MethodPost:
		s.twilioSend(w, r, segs[2])
	case len(segs) == 3 && segs[2] == "messages" && r.Method == http.MethodPost:
		s.metaSend(w, r, segs[1])
	case len(segs) == 3 && segs[2] == "message_templates" && r.Method == http.MethodGet:
		s.templates(w, r)
	default:
		writeJSON(w, http.StatusNotFound, graphError(803, "Unknown path components: "+r.URL.Path, ""))
	}
}

func (s *Sandbox) setFail(w http.ResponseWriter, r *http.Request) {
	var f Fail
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"mode\":\"429|500|window|timeout|accept_timeout|accept_reset|off\",\"count\":N}"})
		return
	}
	f, err := f.valid()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "failure switch set", "mode", f.Mode, "count", f.Count)
	writeJSON(w, http.StatusOK, f)
}

// takeFail returns the failure mode the next send gets, consuming one of its count.
func (s *Sandbox) takeFail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	mode := s.fail.Mode
	if mode == FailOff {
		return ""
	}
	if s.fail.Count > 0 {
		s.fail.Count--
		if s.fail.Count == 0 {
			s.fail = Fail{}
		}
	}
	return mode
}

// Sent returns the latest sends it accepted, oldest first (GET /sandbox/messages).
func (s *Sandbox) Sent() []Sent { return s.sentCopy() }

// sentCopy returns the sends kept, oldest first.
func (s *Sandbox) sentCopy() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent{}, s.sent...)
}

func (s *Sandbox) record(sent Sent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sent)
	if len(s.sent) > maxSent {
		s.sent = s.sent[len(s.sent)-maxSent:]
	}
}

// hold answers a "timeout" failure: nothing until the client gives up or TimeoutAfter passes.
func (s *Sandbox) hold(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.ctx.Done():
	case <-time.After(s.opt.TimeoutAfter):
		w.WriteHeader(http.StatusGatewayTimeout)
	}
}

// answer writes the answer to an accepted send, unless the failure mode loses it: held past
// the client's timeout (accept_timeout) or cut by closing the connection (accept_reset).
func (s *Sandbox) answer(w http.ResponseWriter, r *http.Request, mode string, status int, v any) {
	switch mode {
	case FailAcceptTimeout:
		s.hold(w, r)
	case FailAcceptReset:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
			return
		}
		s.hold(w, r)
	default:
		writeJSON(w, status, v)
	}
}

// later runs f after d in the background, unless the sandbox closes first.
func (s *Sandbox) later(d time.Duration, f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(d):
		}
		f(s.ctx)
	}()
}

// post sends a webhook, retrying a few times as the providers do (the local gateway may be
// starting), and returns the final status (0: no answer).
func (s *Sandbox) post(ctx context.Context, target, contentType string, body []byte, header http.Header) int {
	status := 0
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return status
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			s.log.ErrorContext(ctx, "webhook not posted", "url", target, "error", err)
			return 0
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := s.opt.HTTP.Do(req)
		if err != nil {
			s.log.WarnContext(ctx, "webhook not delivered", "url", target, "attempt", attempt+1, "error", err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		if status < 500 {
			break
		}
		s.log.WarnContext(ctx, "webhook refused", "url", target, "status", status, "attempt", attempt+1)
	}
	if status/100 != 2 {
		s.log.WarnContext(ctx, "webhook gave up", "url", target, "status", status)
	}
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// signMeta is the X-Hub-Signature-256 value of body.
func signMeta(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// signTwilio is the X-Twilio-Signature of a form posted to fullURL: Base64 HMAC-SHA1 of the
// URL followed by each parameter name and value, names sorted, a name's values sorted.
func signTwilio(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for n := range form {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, n := range names {
		vals := append([]string{}, form[n]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(n + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func digits(s string) string {
	return strings.TrimPrefix(strings.TrimPrefix(s, "whatsapp:"), "+")
}
