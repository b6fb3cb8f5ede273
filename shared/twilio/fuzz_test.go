package twilio

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buzon/buzon/events"
)

// FuzzParse feeds arbitrary form bodies to Parse, seeded with testdata/*.txt. Parse must never
// panic; it either fails with ErrInvalid or returns a well-formed item that the inbound queue
// can carry (a message, a status, or a malformed record of the form).
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{"", "MessageSid=SM1", "MessageSid=SM1&From=%2B&To=whatsapp:&Body=", "MessageSid=SM1&From=1&To=2&MessageStatus=undelivered&ErrorCode=x",
		"MessageSid=SM1&To=whatsapp:%2B1&MessageStatus=sent", "MessageSid=SM1&From=whatsapp:%2B1&Body=hi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // not a form body; the handler answers 400 before Parse
		}
		in := Parse(form, received)
		if in.Provider != events.ProviderTwilio {
			t.Fatalf("provider %q", in.Provider)
		}
		switch in.Kind {
		case events.KindMessage:
			m := in.Message
			if m == nil || m.ID == "" || m.From == "" || len(m.Line.Address) < 2 || m.Type == "" || len(m.Raw) == 0 {
				t.Fatalf("message without ids: %+v", m)
			}
		case events.KindStatus:
			s := in.Status
			if s == nil || s.MessageID == "" || s.RecipientID == "" || s.Status == "" || len(s.Line.Address) < 2 || len(s.Raw) == 0 {
				t.Fatalf("status without ids: %+v", s)
			}
		case events.KindMalformed:
			b := in.Malformed
			if b == nil || !strings.HasPrefix(b.Reason, ErrInvalid.Error()) || !json.Valid(b.Raw) || in.Message != nil || in.Status != nil {
				t.Fatalf("malformed without reason or form: %+v", in)
			}
		default:
			t.Fatalf("kind %q", in.Kind)
		}
		if g, d := in.GroupID(), in.DedupID(); g == "" || d == "" || len(g) > 128 || len(d) > 128 {
			t.Fatalf("bad FIFO ids %q, %q", g, d)
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("item does not marshal: %v", err)
		}
	})
}
