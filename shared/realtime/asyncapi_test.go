package realtime

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
)

// docs are the AsyncAPI document and the OpenAPI one it refers to for summaries and entries.
type docs map[string]map[string]any

func loadDocs(t *testing.T) docs {
	t.Helper()
	d := docs{}
	for _, name := range []string{"asyncapi.json", "openapi.json"} {
		b, err := os.ReadFile("../../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d[name] = v
	}
	return d
}

// resolve follows a $ref ("#/a/b" in doc, or "openapi.json#/a/b").
func (d docs) resolve(doc, ref string) (string, map[string]any) {
	file, path, _ := strings.Cut(ref, "#")
	if file == "" {
		file = doc
	}
	var cur any = d[file]
	for _, p := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	m, _ := cur.(map[string]any)
	return file, m
}

// validate checks v against schema (the subset the documents use) and returns what differs.
func (d docs) validate(doc string, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		file, s := d.resolve(doc, ref)
		if s == nil {
			return []string{at + ": unresolved " + ref}
		}
		return d.validate(file, s, v, at)
	}
	var errs []string
	if c, ok := schema["const"]; ok && c != v {
		errs = append(errs, fmt.Sprintf("%s: %v, want %v", at, v, c))
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v not in %v", at, v, enum))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, at+": missing "+r.(string))
			}
		}
		for k, val := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false || doc == "asyncapi.json" {
					errs = append(errs, at+": undocumented field "+k)
				}
				continue
			}
			if val != nil {
				errs = append(errs, d.validate(doc, p, val, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, d.validate(doc, items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

// sampleEvents are events of every type, as the fan-out and the routes build them.
func sampleEvents(t *testing.T) []Event {
	t.Helper()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	u := &inbox.User{ID: "u1", OrgID: "o", Role: inbox.RoleAgent, Departments: []string{"sales"}}
	conv := &inbox.Conversation{ID: "c1", OrgID: "o", LineID: "l", DepartmentID: "sales", AssigneeID: "u1", Status: inbox.StatusOpen,
		Contact: inbox.ContactRef{WaID: "549", Name: "Lucía"}, LastActivityAt: now, InboundCount: 2,
		Preview: inbox.Preview{Text: "hola", Direction: inbox.Inbound, Type: "text", At: now}, WindowExpiresAt: now.Add(time.Hour)}
	msg := &inbox.Message{ID: "m1", ConversationID: "c1", Direction: inbox.Outbound, Type: "text", Text: "hola", Status: inbox.DeliveryStatus("read"),
		At: now, StatusAt: map[inbox.DeliveryStatus]time.Time{"sent": now}}
	var out []Event
	for _, rec := range []struct {
		name     string
		old, new Image
	}{
		{"MODIFY", Image{Conversation: &inbox.Conversation{ID: "c1", OrgID: "o", DepartmentID: "support"}}, Image{Conversation: conv}},
		{"INSERT", Image{}, Image{Message: msg}},
		{"MODIFY", Image{Message: &inbox.Message{ID: "m1", ConversationID: "c1", Status: "sent"}}, Image{Message: msg}},
		{"INSERT", Image{}, Image{Event: &inbox.Event{ID: "e1", ConversationID: "c1", Type: inbox.EventNote, ActorID: "u2", At: now, Details: map[string]string{"text": "VIP"}}}},
		{"INSERT", Image{}, Image{Event: &inbox.Event{ID: "e2", ConversationID: "c1", Type: inbox.EventAssigned, ActorID: "u2", At: now, Details: map[string]string{"assignee_id": "u1"}}}},
		{"INSERT", Image{}, Image{Event: &inbox.Event{ID: "e3", ConversationID: "c1", Type: inbox.EventWindowClosing, At: now}}},
	} {
		changes := Decode("rec-"+rec.name, rec.name, rec.old, rec.new)
		if len(changes) != 1 {
			t.Fatalf("Decode(%s %+v) = %d changes", rec.name, rec.new, len(changes))
		}
		e, ok := For(changes[0], conv, nil, u, 1, now)
		if !ok {
			t.Fatalf("For(%+v) not visible", changes[0])
		}
		out = append(out, e)
	}
	// Removed: someone in support who saw it before it moved to sales.
	c := Decode("rec-x", "MODIFY", Image{Conversation: &inbox.Conversation{ID: "c1", OrgID: "o", DepartmentID: "support"}}, Image{Conversation: conv})[0]
	e, ok := For(c, conv, nil, &inbox.User{ID: "u3", OrgID: "o", Role: inbox.RoleAgent, Departments: []string{"support"}}, 0, now)
	if !ok || e.Type != ConversationRemoved {
		t.Fatalf("removal = %+v, %v", e, ok)
	}
	out = append(out, e,
		Event{ID: "t1", Type: Typing, ConversationID: "c1", Typing: &TypingBody{UserID: "u2", UserName: "Sofía"}},
		Event{ID: "p1", Type: Pong},
		Event{Type: Subscribed, ConversationID: "c1"},
		Event{Type: Presence, Presence: &PresenceBody{Users: []PresentUser{{UserID: "u1", UserName: "Ana", Watching: "c1"}}}},
		Event{Type: Error, Error: "unknown action"},
	)
	return out
}

// TestAsyncAPIMatchesEvents checks docs/asyncapi.json against what the functions send: every
// event type is documented, every sample event validates against its schema (no undocumented
// field, every required one there), and the document names no type the code does not send.
func TestAsyncAPIMatchesEvents(t *testing.T) {
	t.Parallel()
	d := loadDocs(t)
	schemas := d["asyncapi.json"]["components"].(map[string]any)["schemas"].(map[string]any)
	byType := map[string]map[string]any{}
	for name, s := range schemas {
		m := s.(map[string]any)
		typ := m["properties"].(map[string]any)["type"].(map[string]any)["const"].(string)
		byType[typ] = m
		_ = name
	}
	sent := map[string]bool{}
	for _, e := range sampleEvents(t) {
		sent[e.Type] = true
		s := byType[e.Type]
		if s == nil {
			t.Errorf("event type %s is not documented in docs/asyncapi.json", e.Type)
			continue
		}
		b, _ := json.Marshal(e)
		var v any
		json.Unmarshal(b, &v)
		for _, err := range d.validate("asyncapi.json", s, v, e.Type) {
			t.Error(err)
		}
	}
	var documented []string
	for typ := range byType {
		documented = append(documented, typ)
		if !sent[typ] {
			t.Errorf("docs/asyncapi.json documents %s, which no sample sends", typ)
		}
	}
	sort.Strings(documented)
	t.Logf("documented: %v", documented)
}

// TestSummaryIsTheListView checks that the pushed summary is apijson's, which the API's list
// view renders too, field for field with the OpenAPI schema.
func TestSummaryIsTheListView(t *testing.T) {
	t.Parallel()
	d := loadDocs(t)
	_, s := d.resolve("openapi.json", "#/components/schemas/Conversation")
	var want []string
	for k := range s["properties"].(map[string]any) {
		want = append(want, k)
	}
	b, _ := json.Marshal(apijson.RenderConversation(&inbox.Conversation{ID: "c", CloseReason: "x", RouteRule: "r"}, "u", 0, time.Now()))
	var got map[string]any
	json.Unmarshal(b, &got)
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("the pushed summary lacks %s, which the list view documents", k)
		}
	}
}
