package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// twilioError is Twilio's REST error body.
func twilioError(status, code int, message string) map[string]any {
	return map[string]any{"code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status}
}

// twilioSend serves POST /2010-04-01/Accounts/{sid}/Messages.json.
func (s *Sandbox) twilioSend(w http.ResponseWriter, r *http.Request, account string) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != account || s.opt.TwilioAuthToken != "" && pass != s.opt.TwilioAuthToken {
		writeJSON(w, http.StatusUnauthorized, twilioError(401, 20003, "Authenticate"))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, perr := url.ParseQuery(string(raw))
	if err != nil || perr != nil {
		writeJSON(w, http.StatusBadRequest, twilioError(400, 21620, "Invalid request body"))
		return
	}
	from, to := form.Get("From"), form.Get("To")
	switch {
	case !strings.HasPrefix(to, "whatsapp:+") || len(digits(to)) < 8:
		writeJSON(w, http.StatusBadRequest, twilioError(400, 21211, "Invalid 'To' Phone Number: "+to))
		return
	case !strings.HasPrefix(from, "whatsapp:+"):
		writeJSON(w, http.StatusBadRequest, twilioError(400, 63007, "Twilio could not find a Channel with the specified From address"))
		return
	case form.Get("Body") == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		writeJSON(w, http.StatusBadRequest, twilioError(400, 21619, "A text message body, media URL or content SID is required"))
		return
	case utf8.RuneCountInString(form.Get("Body")) > 1600:
		writeJSON(w, http.StatusBadRequest, twilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit"))
		return
	}

	mode := s.takeFail()
	switch mode {
	case FailRateLimit:
		writeJSON(w, http.StatusTooManyRequests, twilioError(429, 20429, "Too Many Requests"))
		return
	case FailServer:
		writeJSON(w, http.StatusInternalServerError, twilioError(500, 20500, "Internal Server Error"))
		return
	case FailTimeout:
		s.hold(w, r)
		return
	}
	sid := "SM" + randomHex(16)
	now := time.Now().UTC()
	request, _ := json.Marshal(form)
	var fetched []SentMedia
	for _, u := range form["MediaUrl"] {
		fetched = append(fetched, s.fetchSent(r.Context(), u, true))
	}
	s.record(Sent{Provider: "twilio", ID: sid, From: from, To: to, Request: request, At: now, Media: fetched})
	s.log.InfoContext(r.Context(), "twilio send accepted", "id", sid, "fail", mode)
	numMedia := "0"
	if form.Has("MediaUrl") {
		numMedia = strconv.Itoa(len(form["MediaUrl"]))
	}
	callback := form.Get("StatusCallback")
	steps := []string{"sent", "delivered", "read"}
	if mode == FailWindow {
		steps = []string{"failed"}
	}
	for i, st := range steps {
		s.later(time.Duration(i+1)*s.opt.StatusDelay, func(ctx context.Context) {
			f := url.Values{
				"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {account}, "From": {from}, "To": {to},
				"MessageStatus": {st}, "SmsStatus": {st}, "ApiVersion": {"2010-04-01"}, "ChannelPrefix": {"whatsapp"},
				"ChannelInstallSid": {"XE" + strings.Repeat("0", 32)}, "ChannelToAddress": {"+" + digits(to)},
				"StructuredMessage": {"false"},
			}
			switch st {
			case "delivered":
				f.Set("EventType", "DELIVERED")
			case "read":
				f.Set("EventType", "READ")
			case "failed":
				f.Set("ErrorCode", "63016")
				f.Set("ChannelStatusMessage", "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.")
			}
			s.postTwilio(ctx, callback, f)
		})
	}
	// The answer last: accept_timeout and accept_reset lose it, the statuses above still come.
	s.answer(w, r, mode, http.StatusCreated, map[string]any{
		"sid": sid, "account_sid": account, "from": from, "to": to, "body": form.Get("Body"),
		"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01", "num_media": numMedia, "num_segments": "1",
		"date_created": now.Format(time.RFC1123Z), "date_updated": now.Format(time.RFC1123Z), "date_sent": nil,
		"error_code": nil, "error_message": nil, "price": nil, "price_unit": "USD", "messaging_service_sid": nil,
		"uri": "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json",
	})
}

// postTwilio posts a signed Twilio webhook. It is signed against the URL Twilio was given
// (the send's StatusCallback, or PUBLIC_BASE_URL/webhooks/twilio) and posted to the same path
// on the local webhook endpoint.
func (s *Sandbox) postTwilio(ctx context.Context, callback string, form url.Values) int {
	signed := s.opt.PublicBaseURL + "/webhooks/twilio"
	path := "/webhooks/twilio"
	// A fragment holds Twilio's connection overrides (#rc=…): Twilio reads it and strips it
	// before the request, so the URL it calls and signs is without it.
	callback, _, _ = strings.Cut(callback, "#")
	if callback != "" {
		if u, err := url.Parse(callback); err == nil && u.Path != "" {
			signed = callback
			path = u.EscapedPath()
			if u.RawQuery != "" {
				path += "?" + u.RawQuery
			}
		}
	}
	h := http.Header{}
	if s.opt.TwilioAuthToken != "" {
		h.Set("X-Twilio-Signature", signTwilio(s.opt.TwilioAuthToken, signed, form))
	}
	return s.post(ctx, s.opt.WebhookURL+path, "application/x-www-form-urlencoded", []byte(form.Encode()), h)
}
