package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCollaboratorsAPI (A7) over the API: ana, who holds a conversation of sales, pulls in
// carl of support; carl finds it in his collaborating view, reads the thread, writes a note,
// cannot reply until the line allows it, and leaves; the timeline shows each step.
func TestCollaboratorsAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000701", "wamid.k1", "hola", t0)
	path := "/v1/conversations/" + conv
	if status, out := w.call(t, "ana", "POST", path+"/claim", ""); status != 200 {
		t.Fatalf("claim: %d %v", status, out)
	}
	if status, _ := w.call(t, "carl", "GET", path, ""); status != 404 {
		t.Fatalf("carl before: %d, want 404", status)
	}
	steps := []struct {
		name, user, method, path, body string
		want                           int
		code                           string
	}{
		{"bea does not hold it", "bea", "POST", "/collaborators", `{"user_id":"carl"}`, 403, "forbidden"},
		{"no user", "ana", "POST", "/collaborators", `{}`, 422, "missing_user_id"},
		{"unknown user", "ana", "POST", "/collaborators", `{"user_id":"zed"}`, 422, "unknown_user_id"},
		{"no inbox", "ana", "POST", "/collaborators", `{"user_id":"ed"}`, 422, "assignee_has_no_inbox"},
		{"herself", "ana", "POST", "/collaborators", `{"user_id":"ana"}`, 422, "collaborator_is_assignee"},
		{"carl", "ana", "POST", "/collaborators", `{"user_id":"carl"}`, 200, ""},
		{"carl again", "ana", "POST", "/collaborators", `{"user_id":"carl"}`, 409, "no_change"},
		{"carl reads", "carl", "GET", "/messages", "", 200, ""},
		{"carl notes", "carl", "POST", "/notes", `{"text":"lo veo yo"}`, 201, ""},
		{"carl replies on a notes-only line", "carl", "POST", "/messages", `{"type":"text","text":"hola"}`, 403, "forbidden"},
		{"carl claims", "carl", "POST", "/claim", "", 403, "forbidden"},
		{"carl removes nobody else", "carl", "DELETE", "/collaborators/bea", "", 403, "forbidden"},
	}
	for _, s := range steps {
		status, out := w.call(t, s.user, s.method, path+s.path, s.body)
		if status != s.want || (s.code != "" && code(out) != s.code) {
			t.Fatalf("%s: %d %v, want %d %s", s.name, status, out, s.want, s.code)
		}
	}
	status, out := w.call(t, "carl", "GET", "/v1/conversations?view=collaborating", "")
	if status != 200 || !cmp.Equal([]string{conv}, ids(out)) {
		t.Fatalf("carl's collaborating view: %d %v", status, out)
	}
	if got := out["items"].([]any)[0].(map[string]any)["collaborators"]; !cmp.Equal(got, []any{"carl"}) {
		t.Errorf("collaborators shown %v, want [carl]", got)
	}
	if status, out := w.call(t, "ana", "GET", "/v1/conversations?view=collaborating", ""); status != 200 || len(ids(out)) != 0 {
		t.Errorf("ana's collaborating view: %d %v, want empty", status, out)
	}
	if status, out := w.call(t, "admin", "PATCH", "/v1/lines/l1", `{"collaborators_reply":true}`); status != 200 || out["collaborators_reply"] != true {
		t.Fatalf("line setting: %d %v", status, out)
	}
	if status, out := w.call(t, "carl", "POST", path+"/messages", `{"type":"text","text":"hola, soy Carl"}`); status != 202 {
		t.Errorf("carl replies once the line allows it: %d %v", status, out)
	}
	if status, out := w.call(t, "carl", "DELETE", path+"/collaborators/carl", ""); status != 200 {
		t.Fatalf("carl leaves: %d %v", status, out)
	}
	if status, _ := w.call(t, "carl", "GET", path, ""); status != 404 {
		t.Errorf("carl after leaving: %d, want 404", status)
	}
	if status, out := w.call(t, "ana", "GET", path, ""); status != 200 || out["assignee_id"] != "ana" {
		t.Errorf("after carl's reply: %d %v, want still ana's", status, out)
	}
	status, out = w.call(t, "ana", "GET", path+"/messages?limit=100", "")
	if status != 200 {
		t.Fatalf("thread: %d %v", status, out)
	}
	var got []string
	for _, it := range out["items"].([]any) {
		e := it.(map[string]any)
		switch e["type"] {
		case "collaborator_added", "collaborator_removed":
			got = append(got, e["actor_id"].(string)+" "+e["type"].(string)+" "+e["details"].(map[string]any)["user_id"].(string))
		}
	}
	want := []string{"ana collaborator_added carl", "carl collaborator_removed carl"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// code is the error code of an error response.
func code(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
