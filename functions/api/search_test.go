package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/testenv"
)

// named writes to line as a customer with a WhatsApp profile name; it returns the
// conversation id.
func (w *world) named(t *testing.T, line *inbox.Line, wa, name, id string, at time.Time) string {
	t.Helper()
	_, err := w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: id, Line: events.Line{Address: line.Address}, From: wa, ProfileName: name, Timestamp: at, Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatal(err)
	}
	return inbox.ConversationID(w.org, line.ID, wa)
}

func TestSearchConversations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	l2 := &inbox.Line{ID: "l2", OrgID: w.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "support", State: inbox.LineActive}
	if err := w.st.PutLine(context.Background(), l2); err != nil {
		t.Fatal(err)
	}
	lucia := w.named(t, w.line, "5491100000701", "Lucía Pérez", "wamid.s1", t0)
	luciano := w.named(t, w.line, "5491100000702", "Luciano Gómez", "wamid.s2", t0.Add(time.Minute))
	pedro := w.named(t, w.line, "34612345678", "Pedro Peña", "wamid.s3", t0.Add(2*time.Minute))
	luciaSupport := w.named(t, l2, "5491100000701", "Lucía Pérez", "wamid.s4", t0.Add(3*time.Minute))
	if status, out := w.call(t, "admin", "POST", "/v1/conversations/"+luciano+"/close", `{"reason":"resuelto"}`); status != 200 {
		t.Fatalf("close: %d %v", status, out)
	}

	tests := []struct {
		name, user, q, extra string
		status               int
		want                 []string
	}{
		{name: "first name prefix, newest first", user: "ana", q: "luc", status: 200, want: []string{luciano, lucia}},
		{name: "admin sees every line", user: "admin", q: "luc", status: 200, want: []string{luciaSupport, luciano, lucia}},
		{name: "other department sees its line only", user: "carl", q: "luc", status: 200, want: []string{luciaSupport}},
		{name: "family name, accents ignored", user: "ana", q: "PÉR", status: 200, want: []string{lucia}},
		{name: "ñ typed as n", user: "ana", q: "pena", status: 200, want: []string{pedro}},
		{name: "two words", user: "admin", q: "lu gom", status: 200, want: []string{luciano}},
		{name: "phone prefix", user: "ana", q: "+54 911", status: 200, want: []string{luciano, lucia}},
		{name: "phone prefix of another country", user: "ana", q: "346", status: 200, want: []string{pedro}},
		{name: "status open", user: "ana", q: "luc", extra: "&status=open", status: 200, want: []string{lucia}},
		{name: "status done", user: "ana", q: "luc", extra: "&status=done", status: 200, want: []string{luciano}},
		{name: "line filter", user: "admin", q: "luc", extra: "&line_id=l2", status: 200, want: []string{luciaSupport}},
		{name: "limit", user: "admin", q: "luc", extra: "&limit=1", status: 200, want: []string{luciaSupport}},
		{name: "nothing matches", user: "ana", q: "zzz", status: 200},
		{name: "seller sees only theirs", user: "sam", q: "luc", status: 200},
		{name: "no inbox", user: "ed", q: "luc", status: 403},
		{name: "no letters", user: "ana", q: " !? ", status: 400},
		{name: "empty box is the default view", user: "ana", q: " ", status: 200, want: []string{pedro, lucia}},
		{name: "with a view", user: "ana", q: "luc", extra: "&view=mine", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := w.call(t, tc.user, "GET", "/v1/conversations?q="+url.QueryEscape(tc.q)+tc.extra, "")
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, out)
			}
			if status == 200 {
				if diff := cmp.Diff(tc.want, ids(out)); diff != "" {
					t.Errorf("items (-want +got):\n%s", diff)
				}
			}
		})
	}
}
