package twilio

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/buzon/buzon/events"
)

// FuzzParse feeds arbitrary form bodies to Parse, seeded with testdata/*.txt. Parse must never
// panic; it either fails with ErrInvalid or returns a well-formed item that the inbound queue
// can carry.
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
	for _, s := range []string{"", "MessageSid=SM1", "MessageSid=SM1&From=%2B&To=whatsapp:&Body=", "MessageSid=SM1&From=1&To=2&MessageStatus=undelivered&ErrorCode=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // not a form body; the handler answers 400 before Parse
		}
		in, err := Parse(form, received)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse() error %v does not wrap ErrInvalid", err)
			}
			return
		}
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
