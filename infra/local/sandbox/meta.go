package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// graphError is the Graph API's error body.
func graphError(code int, title, details string) map[string]any {
	e := map[string]any{
		"message":    fmt.Sprintf("(#%d) %s", code, title),
		"type":       "OAuthException",
		"code":       code,
		"fbtrace_id": "A" + strings.ToUpper(randomHex(11)),
	}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	return map[string]any{"error": e}
}

// metaSend serves POST /{version}/{phone_number_id}/messages.
func (s *Sandbox) metaSend(w http.ResponseWriter, r *http.Request, phoneNumberID string) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || s.opt.MetaAccessToken != "" && auth != "Bearer "+s.opt.MetaAccessToken {
		writeJSON(w, http.StatusUnauthorized, graphError(190, "Invalid OAuth access token - Cannot parse access token", ""))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "unreadable body"))
		return
	}
	var req struct {
		Product   string `json:"messaging_product"`
		To        string `json:"to"`
		Callback  string `json:"biz_opaque_callback_data"`
		Type      string `json:"type"`
		Status    string `json:"status"`
		MessageID string `json:"message_id"`
		Text      *struct {
			Body string `json:"body"`
		} `json:"text"`
		Template *struct {
			Name     string `json:"name"`
			Language *struct {
				Code string `json:"code"`
			} `json:"language"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Product != "whatsapp" {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "messaging_product must be whatsapp"))
		return
	}
	if req.Status == "read" {
		writeJSON(w, http.StatusOK, map[string]bool{"success": true}) // mark as read
		return
	}
	if msg := checkMeta(req.To, req.Type, raw, req.Text != nil && utf8.RuneCountInString(req.Text.Body) > 4096,
		req.Template != nil && (req.Template.Name == "" || req.Template.Language == nil || req.Template.Language.Code == "")); msg != "" {
		writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", msg))
		return
	}

	mode := s.takeFail()
	switch mode {
	case FailRateLimit:
		writeJSON(w, http.StatusTooManyRequests, graphError(130429, "Rate limit hit", "Cloud API message throughput has been reached."))
		return
	case FailServer:
		writeJSON(w, http.StatusInternalServerError, graphError(131000, "Something went wrong", "Something went wrong. Please try again later."))
		return
	case FailTimeout:
		s.hold(w, r)
		return
	}
	to := digits(req.To)
	id := wamid(to)
	var fetched []SentMedia
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	switch req.Type {
	case "image", "audio", "video", "document", "sticker":
		var obj struct {
			ID   string `json:"id"`
			Link string `json:"link"`
		}
		_ = json.Unmarshal(fields[req.Type], &obj)
		if obj.ID != "" {
			fetched = append(fetched, s.fetchSent(r.Context(), obj.ID, false))
		} else {
			fetched = append(fetched, s.fetchSent(r.Context(), obj.Link, true))
		}
	}
	s.record(Sent{Provider: "meta", ID: id, From: phoneNumberID, To: to, Request: raw, At: time.Now().UTC(), Media: fetched})
	s.log.InfoContext(r.Context(), "meta send accepted", "id", id, "type", req.Type, "fail", mode)

	// The statuses, as Meta posts them: one webhook each, echoing biz_opaque_callback_data.
	// They are scheduled before the answer, which accept_timeout and accept_reset lose.
	steps := []string{"sent", "delivered", "read"}
	if mode == FailWindow {
		// The Cloud API accepts a free-form message outside the window and fails it after.
		steps = []string{"failed"}
	}
	for i, st := range steps {
		s.later(time.Duration(i+1)*s.opt.StatusDelay, func(ctx context.Context) {
			status := metaStatus(id, to, st)
			if req.Callback != "" {
				status["biz_opaque_callback_data"] = req.Callback
			}
			s.postMeta(ctx, phoneNumberID, map[string]any{"statuses": []any{status}})
		})
	}
	s.answer(w, r, mode, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": to}},
		"messages":          []map[string]string{{"id": id, "message_status": "accepted"}},
	})
}

// checkMeta returns why a send request is invalid, or "".
func checkMeta(to, typ string, raw []byte, textTooLong, badTemplate bool) string {
	if to == "" {
		return "to is required"
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	switch typ {
	case "text", "image", "video", "document", "audio", "sticker", "template", "interactive", "reaction", "location", "contacts":
	default:
		return "type " + strconv.Quote(typ) + " is not supported"
	}
	if _, ok := fields[typ]; !ok {
		return "the " + typ + " object is required for type " + typ
	}
	switch {
	case textTooLong:
		return "text.body is longer than 4096 characters"
	case badTemplate:
		return "template.name and template.language.code are required"
	}
	return ""
}

// metaStatus is one statuses[] item.
func metaStatus(id, to, status string) map[string]any {
	st := map[string]any{
		"id":           id,
		"status":       status,
		"timestamp":    strconv.FormatInt(time.Now().Unix(), 10),
		"recipient_id": to,
	}
	switch status {
	case "sent":
		st["conversation"] = map[string]any{
			"id":                   randomHex(16),
			"expiration_timestamp": strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10),
			"origin":               map[string]string{"type": "service"},
		}
		fallthrough
	case "delivered":
		st["pricing"] = map[string]any{"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
	case "failed":
		st["errors"] = []map[string]any{{
			"code":       131047,
			"title":      "Re-engagement message",
			"message":    "Re-engagement message",
			"error_data": map[string]string{"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
			"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
		}}
	}
	return st
}

// postMeta posts a signed "messages" webhook for phoneNumberID with value's items.
func (s *Sandbox) postMeta(ctx context.Context, phoneNumberID string, items map[string]any) int {
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": displayNumber(phoneNumberID), "phone_number_id": phoneNumberID},
	}
	for k, v := range items {
		value[k] = v
	}
	body, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": s.opt.WABAID, "changes": []any{map[string]any{"field": "messages", "value": value}}}},
	})
	if err != nil {
		s.log.ErrorContext(ctx, "meta webhook not encoded", "error", err)
		return 0
	}
	h := http.Header{}
	if s.opt.MetaAppSecret != "" {
		h.Set("X-Hub-Signature-256", signMeta(s.opt.MetaAppSecret, body))
	}
	return s.post(ctx, s.opt.WebhookURL+"/webhooks/meta", "application/json", body, h)
}

// displayNumber makes up the display number of a phone_number_id the sandbox knows nothing
// about: a US test number, stable per id.
func displayNumber(phoneNumberID string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phoneNumberID)
	d = "0000000" + d
	return "1555" + d[len(d)-7:]
}

// wamid makes a message id shaped like Meta's: base64 of a small protobuf holding the
// recipient and a random hex id ("wamid.HBgL…" for 11-digit numbers).
func wamid(to string) string {
	var id [9]byte
	_, _ = rand.Read(id[:])
	hexID := strings.ToUpper(fmt.Sprintf("%x", id[:]))
	b := []byte{0x1c, 0x18, byte(len(to))}
	b = append(b, to...)
	b = append(b, 0x15, 0x02, 0x00, 0x11, 0x18, byte(len(hexID)))
	b = append(b, hexID...)
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// templates serves GET /{version}/{waba_id}/message_templates: three templates, one each
// APPROVED, PENDING and REJECTED, paged with cursors as the Graph API does.
func (s *Sandbox) templates(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") ||
		s.opt.MetaAccessToken != "" && r.Header.Get("Authorization") != "Bearer "+s.opt.MetaAccessToken {
		writeJSON(w, http.StatusUnauthorized, graphError(190, "Invalid OAuth access token - Cannot parse access token", ""))
		return
	}
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "limit must be a positive integer"))
			return
		}
		limit = n
	}
	start := 0
	if after := q.Get("after"); after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		n, aerr := strconv.Atoi(string(b))
		if err != nil || aerr != nil || n < 0 || n > len(sandboxTemplates) {
			writeJSON(w, http.StatusBadRequest, graphError(100, "Invalid parameter", "after is not a cursor this API returned"))
			return
		}
		start = n
	}
	end := min(start+limit, len(sandboxTemplates))
	page := sandboxTemplates[start:end]
	cursor := func(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }
	paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
	if end < len(sandboxTemplates) {
		next := *r.URL
		next.Scheme, next.Host = "http", r.Host
		nq := next.Query()
		nq.Set("limit", strconv.Itoa(limit))
		nq.Set("after", cursor(end))
		next.RawQuery = nq.Encode()
		paging["next"] = next.String()
	}
	if start > 0 {
		prev := *r.URL
		prev.Scheme, prev.Host = "http", r.Host
		pq := prev.Query()
		pq.Del("after")
		pq.Set("before", cursor(start))
		prev.RawQuery = pq.Encode()
		paging["previous"] = prev.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": page, "paging": paging})
}

// sandboxTemplates are what every WABA of the sandbox has.
var sandboxTemplates = []map[string]any{
	{
		"id": "1001001001001001", "name": "order_update", "language": "es_AR", "status": "APPROVED", "category": "UTILITY",
		"parameter_format": "POSITIONAL",
		"components": []map[string]any{
			{"type": "BODY", "text": "Hola {{1}}, tu pedido {{2}} ya está en camino.",
				"example": map[string]any{"body_text": [][]string{{"Lucía", "#4521"}}}},
			{"type": "FOOTER", "text": "Respondé STOP para no recibir avisos"},
		},
	},
	{
		"id": "1001001001001002", "name": "welcome_back", "language": "es", "status": "PENDING", "category": "MARKETING",
		"parameter_format": "NAMED",
		"components": []map[string]any{
			{"type": "HEADER", "format": "TEXT", "text": "¡Volviste!"},
			{"type": "BODY", "text": "Hola {{customer_name}}, tenemos novedades para vos.",
				"example": map[string]any{"body_text_named_params": []map[string]string{{"param_name": "customer_name", "example": "Lucía"}}}},
			{"type": "BUTTONS", "buttons": []map[string]string{{"type": "QUICK_REPLY", "text": "Ver novedades"}}},
		},
	},
	{
		"id": "1001001001001003", "name": "promo_blast", "language": "es", "status": "REJECTED", "category": "MARKETING",
		"parameter_format": "POSITIONAL", "rejected_reason": "PROMOTIONAL",
		"components": []map[string]any{
			{"type": "BODY", "text": "¡50% OFF en todo! Usá el código {{1}}.", "example": map[string]any{"body_text": [][]string{{"PROMO50"}}}},
		},
	},
}
