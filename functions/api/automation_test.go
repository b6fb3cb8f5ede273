package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/autoreply"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
)

// TestLineAutomationAPI: business hours, auto-replies and auto-close round-trip through the
// admin API, bad values are refused with the reason, and only admins touch them.
func TestLineAutomationAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.st.PutLine(context.Background(), &inbox.Line{ID: "tw", OrgID: w.org, Provider: "twilio", Address: "+1" + w.org[3:], State: inbox.LineActive}); err != nil {
		t.Fatal(err)
	}
	hours := `{"time_zone":"America/Argentina/Buenos_Aires","weekly":{"mon":["09:00-13:00","14:00-18:00"],"fri":["09:00-18:00"]},"holidays":["2026-12-25"]}`
	steps := []struct {
		user, method, path, body string
		status                   int
		want                     string // a fragment of the error message, or of the answer
	}{
		{"ana", "GET", "/v1/lines/l1/hours", "", 403, ""},
		{"ana", "PUT", "/v1/lines/l1/hours", hours, 403, ""},
		{"admin", "GET", "/v1/lines/l1/hours", "", 200, ""},
		{"admin", "PUT", "/v1/lines/nope/hours", hours, 404, ""},
		{"admin", "PUT", "/v1/lines/l1/hours", `{"time_zone":"Mars/Olympus","weekly":{}}`, 422, `unknown time zone "Mars/Olympus"`},
		{"admin", "PUT", "/v1/lines/l1/hours", `{"time_zone":"UTC","weekly":{"mon":["09:00-13:00","12:00-18:00"]}}`, 422, "mon: ranges overlap"},
		{"admin", "PUT", "/v1/lines/l1/hours", `{"time_zone":"UTC","weekly":{"funday":["09:00-13:00"]}}`, 422, "unknown weekday"},
		{"admin", "PUT", "/v1/lines/l1/hours", `{"time_zone":"UTC","weekly":{},"extra":1}`, 400, ""},
		{"admin", "PUT", "/v1/lines/l1/hours", hours, 200, ""},
		{"admin", "PUT", "/v1/lines/l1/auto-replies", `{"items":[{"trigger":"sometimes","text":"x"}]}`, 422, `unknown trigger "sometimes"`},
		{"admin", "PUT", "/v1/lines/l1/auto-replies", `{"items":[{"trigger":"always","text":""}]}`, 422, "text is required"},
		{"ana", "PUT", "/v1/lines/l1/auto-replies", `{"items":[]}`, 403, ""},
		{"admin", "PUT", "/v1/lines/tw/auto-replies", `{"items":[{"trigger":"always","text":"` + strings.Repeat("a", 1601) + `"}]}`, 422, "at most 1600 characters"},
		{"admin", "PUT", "/v1/lines/l1/auto-replies", `{"items":[{"trigger":"outside_hours","text":"Estamos cerrados"},{"trigger":"first_contact","text":"Hola"}]}`, 200, ""},
		{"admin", "PUT", "/v1/lines/l1/auto-close", `{"idle_minutes":5}`, 422, "idle_minutes"},
		{"admin", "PUT", "/v1/lines/l1/auto-close", `{"idle_minutes":2880}`, 200, ""},
		// Changing the line's route keeps its automation.
		{"admin", "PATCH", "/v1/lines/l1", `{"department_id":"support"}`, 200, ""},
	}
	for _, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("%s %s %s: %d %v, want %d", s.user, s.method, s.path, status, out, s.status)
		}
		if s.want != "" {
			e, _ := out["error"].(map[string]any)
			if msg, _ := e["message"].(string); !strings.Contains(msg, s.want) {
				t.Errorf("%s %s: message %q, want it to say %q", s.method, s.path, msg, s.want)
			}
		}
	}
	_, got := w.call(t, "admin", "GET", "/v1/lines/l1/hours", "")
	// The API's clock is Friday 20 November 2026, 11:00 UTC: 08:00 in Buenos Aires, closed.
	want := map[string]any{"hours": map[string]any{"time_zone": "America/Argentina/Buenos_Aires",
		"weekly":   map[string]any{"mon": []any{"09:00-13:00", "14:00-18:00"}, "fri": []any{"09:00-18:00"}},
		"holidays": []any{"2026-12-25"}}, "open_now": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET hours (-want +got):\n%s", diff)
	}
	_, got = w.call(t, "admin", "GET", "/v1/lines/l1/auto-replies", "")
	wantReplies := map[string]any{"items": []any{
		map[string]any{"trigger": "outside_hours", "text": "Estamos cerrados"},
		map[string]any{"trigger": "first_contact", "text": "Hola"},
	}}
	if diff := cmp.Diff(wantReplies, got); diff != "" {
		t.Errorf("GET auto-replies (-want +got):\n%s", diff)
	}
	if _, got = w.call(t, "admin", "GET", "/v1/lines/l1/auto-close", ""); got["idle_minutes"] != 2880.0 {
		t.Errorf("GET auto-close = %v, want 2880 minutes", got)
	}
	// Off again.
	if status, got := w.call(t, "admin", "DELETE", "/v1/lines/l1/hours", ""); status != 200 || got["hours"] != nil || got["open_now"] != true {
		t.Errorf("DELETE hours: %d %v, want no hours, open", status, got)
	}
	w.call(t, "admin", "PUT", "/v1/lines/l1/auto-close", `{"idle_minutes":0}`)
	if _, got = w.call(t, "admin", "GET", "/v1/lines/l1/auto-close", ""); got["idle_minutes"] != 0.0 {
		t.Errorf("auto-close after turning it off = %v, want 0", got)
	}
}

// TestHoursDriveTheOutsideHoursAutoReply: hours and an outside-hours reply set through the API
// answer a customer who writes at night, in the thread, as an automatic message; one who writes
// in business hours gets nothing.
func TestHoursDriveTheOutsideHoursAutoReply(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, s := range []struct{ path, body string }{
		{"/v1/lines/l1/hours", `{"time_zone":"America/Argentina/Buenos_Aires","weekly":{"fri":["09:00-18:00"]}}`},
		{"/v1/lines/l1/auto-replies", `{"items":[{"trigger":"outside_hours","text":"Estamos cerrados: te respondemos el lunes"}]}`},
	} {
		if status, out := w.call(t, "admin", "PUT", s.path, s.body); status != 200 {
			t.Fatalf("PUT %s: %d %v", s.path, status, out)
		}
	}
	night := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC) // Friday 20:30 in Buenos Aires
	day := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)    // Friday 12:00
	now := night
	proc := ingest.New(w.st, func() time.Time { return now }, nil)
	proc.OnReceived(autoreply.New(w.st, nil, func() time.Time { return now }).Reply)
	for _, c := range []struct {
		wa string
		at time.Time
	}{{"5491100000001", night}, {"5491100000002", day}} {
		now = c.at.Add(time.Second)
		_, err := proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: c.at,
			Message: &events.Message{ID: "wamid." + c.wa, Line: events.Line{Address: w.line.Address}, From: c.wa, Timestamp: c.at, Type: "text", Text: "hola"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	auto := func(wa string) []string {
		entries, _, err := w.st.Thread(context.Background(), inbox.ConversationID(w.org, "l1", wa), 50, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if m := e.Message; m != nil && m.Automatic {
				out = append(out, m.Text)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"Estamos cerrados: te respondemos el lunes"}, auto("5491100000001")); diff != "" {
		t.Errorf("at night (-want +got):\n%s", diff)
	}
	if got := auto("5491100000002"); len(got) != 0 {
		t.Errorf("in business hours: auto-replies %v, want none", got)
	}
	// The thread shows it as automatic, sent by nobody.
	w.api.now = func() time.Time { return night.Add(time.Minute) }
	_, out := w.call(t, "admin", "GET", "/v1/conversations/"+inbox.ConversationID(w.org, "l1", "5491100000001")+"/messages", "")
	items, _ := out["items"].([]any)
	found := false
	for _, it := range items {
		m := it.(map[string]any)
		if m["text"] == "Estamos cerrados: te respondemos el lunes" {
			found = true
			if m["automatic"] != true || m["direction"] != "out" {
				t.Errorf("auto-reply in the thread: %v, want automatic outbound", m)
			}
		}
	}
	if !found {
		t.Errorf("thread %v has no auto-reply", items)
	}
}
