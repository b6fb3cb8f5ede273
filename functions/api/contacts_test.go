package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waIDs are the wa_id of each item of a listing.
func waIDs(out map[string]any) []string {
	var res []string
	items, _ := out["items"].([]any)
	for _, it := range items {
		res = append(res, it.(map[string]any)["wa_id"].(string))
	}
	return res
}

func TestContacts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const lucia, pedro, owned = "5491100000801", "5491100000802", "5491100000803"
	conv := w.named(t, w.line, lucia, "Lucía Pérez", "wamid.c1", t0)
	w.named(t, w.line, pedro, "Pedro Peña", "wamid.c2", t0.Add(time.Minute))
	w.named(t, w.line, owned, "Olga Ruiz", "wamid.c3", t0.Add(2*time.Minute))

	// Lucía's first cycle: ana claims it and closes it with a reason.
	for _, step := range []struct{ user, path, body string }{
		{"ana", "/claim", ""}, {"ana", "/close", `{"reason":"venta"}`},
	} {
		if status, out := w.call(t, step.user, "POST", "/v1/conversations/"+conv+step.path, step.body); status != 200 {
			t.Fatalf("%s: %d %v", step.path, status, out)
		}
	}

	// Only admins change an owner; a seller's own contacts are theirs.
	if status, out := w.call(t, "ana", "PATCH", "/v1/contacts/"+owned, `{"owner_id":"sam"}`); status != 403 {
		t.Fatalf("agent sets owner: %d %v, want 403", status, out)
	}
	if status, out := w.call(t, "admin", "PATCH", "/v1/contacts/"+owned, `{"owner_id":"nobody"}`); status != 422 || out["error"].(map[string]any)["code"] != "unknown_owner_id" {
		t.Fatalf("unknown owner: %d %v, want 422 unknown_owner_id", status, out)
	}
	if status, out := w.call(t, "admin", "PATCH", "/v1/contacts/"+owned, `{"owner_id":"sam"}`); status != 200 || out["owner_id"] != "sam" {
		t.Fatalf("admin sets owner: %d %v", status, out)
	}

	// An agent names Lucía, gives her an email and a custom field.
	status, out := w.call(t, "ana", "PATCH", "/v1/contacts/"+lucia, `{"name":"Lucía (mayorista)","email":"lucia@example.com","fields":{"Zona":"Córdoba"}}`)
	if status != 200 {
		t.Fatalf("patch: %d %v", status, out)
	}
	if out["name"] != "Lucía (mayorista)" || out["profile_name"] != "Lucía Pérez" || out["name_set"] != true {
		t.Errorf("patched contact: %v", out)
	}
	// Her next message carries a new profile name: it is kept, the agent's name stays.
	w.named(t, w.line, lucia, "Lu", "wamid.c4", t0.Add(3*time.Hour))
	status, out = w.call(t, "ana", "GET", "/v1/contacts/"+lucia, "")
	if status != 200 {
		t.Fatalf("get: %d %v", status, out)
	}
	ct := out["contact"].(map[string]any)
	if ct["name"] != "Lucía (mayorista)" || ct["profile_name"] != "Lu" {
		t.Errorf("after a new profile name: name %q profile_name %q, want the agent's name and Lu", ct["name"], ct["profile_name"])
	}
	if status, c := w.call(t, "ana", "GET", "/v1/conversations/"+conv, ""); status != 200 || c["contact"].(map[string]any)["name"] != "Lucía (mayorista)" {
		t.Errorf("conversation's contact after a new profile name: %d %v", status, c["contact"])
	}
	// Her history: the closed cycle (ana, venta) and the one her message opened.
	cycles := out["conversations"].([]any)
	if len(cycles) != 2 {
		t.Fatalf("cycles: %v, want 2", cycles)
	}
	first, second := cycles[0].(map[string]any), cycles[1].(map[string]any)
	if diff := cmp.Diff(map[string]any{"conversation_id": conv, "line_id": "l1", "department_id": "sales", "agent_ids": []any{"ana"},
		"opened_at": first["opened_at"], "closed_at": first["closed_at"], "closing_reason": "venta"}, first); diff != "" || first["closed_at"] == nil {
		t.Errorf("first cycle (-want +got):\n%s", diff)
	}
	if second["closed_at"] != nil || second["closing_reason"] != nil || second["department_id"] != "sales" {
		t.Errorf("second cycle: %v, want open in sales", second)
	}

	// Giving the name back: the profile name shows again.
	if status, out := w.call(t, "admin", "PATCH", "/v1/contacts/"+pedro, `{"name":"Don Pedro"}`); status != 200 {
		t.Fatalf("patch pedro: %d %v", status, out)
	}
	if status, out := w.call(t, "admin", "PATCH", "/v1/contacts/"+pedro, `{"name":""}`); status != 200 || out["name"] != "Pedro Peña" || out["name_set"] != false {
		t.Fatalf("name given back: %d %v", status, out)
	}

	tests := []struct {
		name, user, query string
		status            int
		want              []string
	}{
		{name: "by name, the agent's", user: "ana", query: "q=mayorista", status: 200, want: []string{lucia}},
		{name: "by the former name", user: "ana", query: "q=perez", status: 200},
		{name: "by number", user: "admin", query: "q=549110000080", status: 200, want: []string{lucia, pedro, owned}},
		{name: "by email, case ignored", user: "ana", query: "email=LUCIA@example.com", status: 200, want: []string{lucia}},
		{name: "by custom field, accents ignored", user: "ana", query: "field=Zona&value=cordoba", status: 200, want: []string{lucia}},
		{name: "by owner", user: "admin", query: "owner_id=sam", status: 200, want: []string{owned}},
		{name: "two filters", user: "admin", query: "q=5491&owner_id=sam", status: 200, want: []string{owned}},
		{name: "a seller lists their own", user: "sam", status: 200, want: []string{owned}},
		{name: "a seller's search stays within their own", user: "sam", query: "q=549110000080", status: 200, want: []string{owned}},
		{name: "a seller may not list another's", user: "sam", query: "owner_id=ana", status: 403},
		{name: "admins say what they look for", user: "admin", status: 400},
		{name: "field without value", user: "admin", query: "field=Zona", status: 400},
		{name: "no inbox", user: "ed", query: "q=luc", status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := w.call(t, tt.user, "GET", "/v1/contacts?"+tt.query, "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, out)
			}
			if diff := cmp.Diff(tt.want, waIDs(out)); status == 200 && diff != "" {
				t.Errorf("contacts (-want +got):\n%s", diff)
			}
		})
	}

	// A seller neither reads nor edits another's contact: it does not exist for them.
	for _, method := range []string{"GET", "PATCH"} {
		if status, out := w.call(t, "sam", method, "/v1/contacts/"+lucia, `{"name":"x"}`); status != 404 {
			t.Errorf("seller %s another's contact: %d %v, want 404", method, status, out)
		}
	}
	if status, out := w.call(t, "sam", "PATCH", "/v1/contacts/"+owned, `{"email":"olga@example.com"}`); status != 200 || out["email"] != "olga@example.com" {
		t.Errorf("seller edits their own: %d %v", status, out)
	}
	if status, out := w.call(t, "sam", "PATCH", "/v1/contacts/"+owned, `{"owner_id":"bea"}`); status != 403 {
		t.Errorf("seller gives their contact away: %d %v, want 403", status, out)
	}
	for _, body := range []string{`{"email":"not an address"}`, `{"fields":{"":"x"}}`} {
		if status, out := w.call(t, "admin", "PATCH", "/v1/contacts/"+lucia, body); status != 422 {
			t.Errorf("%s: %d %v, want 422", body, status, out)
		}
	}
	if status, _ := w.call(t, "admin", "GET", "/v1/contacts/549119999", ""); status != 404 {
		t.Errorf("unknown contact: %d, want 404", status)
	}
}

// TestContactsPages walks a listing page by page: every contact once.
func TestContactsPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var want []string
	for i := range 7 {
		wa := "54911000009" + string(rune('0'+i)) + "0"
		w.named(t, w.line, wa, "Cliente Nuevo", "wamid.p"+wa, t0.Add(time.Duration(i)*time.Minute))
		want = append(want, wa)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 7 {
			t.Fatal("more pages than contacts")
		}
		status, out := w.call(t, "admin", "GET", "/v1/contacts?q=nuevo&limit=3&cursor="+url.QueryEscape(cursor), "")
		if status != 200 {
			t.Fatalf("page: %d %v", status, out)
		}
		got = append(got, waIDs(out)...)
		if cursor, _ = out["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contacts over pages (-want +got):\n%s", diff)
	}
	if status, _ := w.call(t, "admin", "GET", "/v1/contacts?cursor=bm9wZQ", ""); status != 400 {
		t.Errorf("a cursor the API never gave: %d, want 400", status)
	}
}
