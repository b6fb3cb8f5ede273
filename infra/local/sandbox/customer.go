package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// customerRequest is the body of POST /sandbox/customer: a customer writing to a line.
type customerRequest struct {
	Line string `json:"line"` // meta or twilio
	// PhoneNumberID is the Meta line; for a Twilio line, To (or PhoneNumberID) is its number.
	PhoneNumberID string `json:"phone_number_id"`
	To            string `json:"to"`
	AccountSID    string `json:"account_sid"` // Twilio; default a made-up AC…
	From          string `json:"from"`        // the customer's number, digits (a "+" is dropped)
	Name          string `json:"name"`
	Text          string `json:"text"`
	// Media is a file uploaded with POST /sandbox/media that the customer sends.
	Media *customerMedia `json:"media"`
	// Attachments are the media ids of a Twilio message's attachments, in order (Twilio lines;
	// Media alone is one attachment).
	Attachments []string `json:"attachments"`
}

// customer plays a customer: it posts a signed inbound text message to the webhook endpoint
// and answers with the message's id and the webhook's status.
func (s *Sandbox) customer(w http.ResponseWriter, r *http.Request) {
	var c customerRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"line\":\"meta|twilio\",\"phone_number_id\"|\"to\",\"from\",\"name\",\"text\"}: " + err.Error()})
		return
	}
	from := digits(strings.TrimSpace(c.From))
	hasMedia := c.Media != nil || len(c.Attachments) > 0
	if from == "" || strings.TrimSpace(c.Text) == "" && !hasMedia {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "from and text (or media) are required"})
		return
	}
	var id string
	var status int
	switch c.Line {
	case "meta":
		if c.PhoneNumberID == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "phone_number_id is required for a meta line"})
			return
		}
		id = wamid(from)
		msg := map[string]any{
			"from": from, "id": id, "timestamp": strconv.FormatInt(time.Now().Unix(), 10),
			"type": "text", "text": map[string]string{"body": c.Text},
		}
		if c.Media != nil {
			obj, err := s.metaMediaObject(*c.Media)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			delete(msg, "text")
			msg["type"], msg[c.Media.Type] = c.Media.Type, obj
		}
		status = s.postMeta(r.Context(), c.PhoneNumberID, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]string{"name": c.Name}, "wa_id": from}},
			"messages": []any{msg},
		})
	case "twilio":
		number := c.To
		if number == "" {
			number = c.PhoneNumberID
		}
		if digits(number) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "to (the line's number, +E164) is required for a twilio line"})
			return
		}
		account := c.AccountSID
		if account == "" {
			account = "AC" + strings.Repeat("0", 32)
		}
		id = "SM" + randomHex(16)
		ids := c.Attachments
		if c.Media != nil {
			ids = append([]string{c.Media.ID}, ids...)
		}
		if len(ids) > 0 {
			id = "MM" + id[2:]
		}
		body := c.Text
		if body == "" && c.Media != nil {
			body = c.Media.Caption
		}
		f := url.Values{
			"MessageSid": {id}, "SmsMessageSid": {id}, "SmsSid": {id}, "AccountSid": {account},
			"From": {"whatsapp:+" + from}, "To": {"whatsapp:+" + digits(number)}, "Body": {body},
			"NumMedia": {strconv.Itoa(len(ids))}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
			"WaId": {from}, "MessageType": {"text"},
		}
		for i, mid := range ids {
			m, ok := s.getMedia(mid)
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "attachment " + mid + ": no such media (upload it with POST /sandbox/media)"})
				return
			}
			f.Set(fmt.Sprintf("MediaUrl%d", i), fmt.Sprintf("http://%s/2010-04-01/Accounts/%s/Messages/%s/Media/%s", r.Host, account, id, mid))
			f.Set(fmt.Sprintf("MediaContentType%d", i), m.contentType)
			if i == 0 {
				major, _, _ := strings.Cut(m.contentType, "/")
				switch major {
				case "image", "audio", "video":
					f.Set("MessageType", major)
				default:
					f.Set("MessageType", "document")
				}
			}
		}
		if c.Name != "" {
			f.Set("ProfileName", c.Name)
		}
		status = s.postTwilio(r.Context(), "", f)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "line must be meta or twilio"})
		return
	}
	s.log.InfoContext(r.Context(), "customer message posted", "line", c.Line, "id", id, "webhook_status", status)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "webhook_status": status})
}
