package sandbox

import (
	"encoding/json"
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
	if from == "" || strings.TrimSpace(c.Text) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "from and text are required"})
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
		status = s.postMeta(r.Context(), c.PhoneNumberID, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]string{"name": c.Name}, "wa_id": from}},
			"messages": []any{map[string]any{
				"from": from, "id": id, "timestamp": strconv.FormatInt(time.Now().Unix(), 10),
				"type": "text", "text": map[string]string{"body": c.Text},
			}},
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
		f := url.Values{
			"MessageSid": {id}, "SmsMessageSid": {id}, "SmsSid": {id}, "AccountSid": {account},
			"From": {"whatsapp:+" + from}, "To": {"whatsapp:+" + digits(number)}, "Body": {c.Text},
			"NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
			"WaId": {from}, "MessageType": {"text"},
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
