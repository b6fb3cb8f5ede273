package meta

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/buzon/buzon/events"
)

// FuzzParse feeds arbitrary bodies to Parse, seeded with testdata/*.json. Parse must never
// panic; it either fails with ErrInvalid or returns well-formed items that the inbound queue
// can carry.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[{"from":"3","id":"w","timestamp":"1","type":"image","image":{}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","time":1,"changes":[{"field":"message_template_status_update","value":{"message_template_id":1}}]}]}`,
		// One bad part among good ones: the good ones are kept, the bad one recorded.
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[{"from":"3","id":"w","type":"text","text":{"body":"x"}},{"from":"3","type":"text"}],"statuses":[{"id":"w","status":"sent"}]}},{"field":"messages","value":{"messages":[{"from":"3","id":"v"}]}},{"value":{}},7]},{"id":2,"changes":[]},null]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"contacts":{},"messages":{}}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := Parse(body, received)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse() error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(items) > MaxItems {
			t.Fatalf("Parse() returned %d items, more than MaxItems", len(items))
		}
		for i, in := range items {
			if err := checkItem(&in); err != "" {
				t.Fatalf("item %d: %s: %+v", i, err, in)
			}
			if g, d := in.GroupID(), in.DedupID(); g == "" || d == "" || len(g) > 128 || len(d) > 128 {
				t.Fatalf("item %d: bad FIFO ids %q, %q", i, g, d)
			}
			if _, err := json.Marshal(in); err != nil {
				t.Fatalf("item %d does not marshal: %v", i, err)
			}
		}
	})
}

// checkItem reports what is wrong with an item Parse returned, or "".
func checkItem(in *events.Inbound) string {
	if in.Provider != events.ProviderMeta {
		return "provider not meta"
	}
	switch in.Kind {
	case events.KindMessage:
		m := in.Message
		if m == nil || m.ID == "" || m.From == "" || m.Line.Address == "" {
			return "message without ids"
		}
	case events.KindStatus:
		s := in.Status
		if s == nil || s.MessageID == "" || s.Status == "" || s.RecipientID == "" || s.Line.Address == "" {
			return "status without ids"
		}
	case events.KindTemplateStatus:
		if in.Template == nil || in.Template.TemplateID == "" || in.Template.Account == "" {
			return "template status without ids"
		}
	case events.KindOther:
		if in.Other == nil || in.Other.Field == "" || len(in.Other.Raw) == 0 {
			return "other without field"
		}
	case events.KindMalformed:
		if in.Malformed == nil || in.Malformed.Reason == "" || in.Malformed.Path == "" || !json.Valid(in.Malformed.Raw) {
			return "malformed without reason, path or raw JSON"
		}
	default:
		return "kind not set"
	}
	return ""
}
