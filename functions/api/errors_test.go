package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNotFoundNamesWhatIsMissing: a 404 says which item is missing, from the store's error
// through the router's table, not "conversation not found" for everything.
func TestNotFoundNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		user, method, path, body string
		want                     string
	}{
		{"admin", "GET", "/v1/conversations/nope", "", "conversation not found"},
		{"admin", "POST", "/v1/conversations/nope/claim", "", "conversation not found"},
		{"admin", "GET", "/v1/lines/nope/hours", "", "line not found"},
		{"admin", "PATCH", "/v1/lines/nope", `{"state":"paused"}`, "line not found"},
		{"admin", "GET", "/v1/lines/nope/rules", "", "line not found"},
		{"admin", "GET", "/v1/departments/nope/rules", "", "department not found"},
		{"admin", "GET", "/v1/users/nope/availability", "", "user not found"},
		{"admin", "DELETE", "/v1/quick-replies/nope", "", "quick reply not found"},
		{"admin", "PUT", "/v1/quick-replies/nope", `{"title":"t","text":"x"}`, "quick reply not found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			status, out := w.call(t, tt.user, tt.method, tt.path, tt.body)
			want := map[string]any{"error": map[string]any{"code": "not_found", "message": tt.want}}
			if diff := cmp.Diff(want, out); status != 404 || diff != "" {
				t.Errorf("%s %s = %d (-want +got):\n%s", tt.method, tt.path, status, diff)
			}
		})
	}
}

// TestGuardsBeforeHandlers: each route's guard answers before the handler reads the body, with
// the rule's reason.
func TestGuardsBeforeHandlers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		user, method, path, body string
		want                     string
	}{
		{"ana", "POST", "/v1/departments", `not json`, "only admins manage the organization"},
		{"ana", "PUT", "/v1/lines/l1/hours", `{}`, "only admins manage the organization"},
		{"ed", "GET", "/v1/conversations", "", "your role has no inbox"},
		{"ed", "POST", "/v1/conversations", `{}`, "your role has no inbox"},
		{"ana", "POST", "/v1/quick-replies", `{}`, "only admins and editors manage quick replies"},
		{"sam", "POST", "/v1/labels", `{}`, "only admins and agents create labels"},
		{"ana", "GET", "/v1/users/bea/availability", "", "only admins see or set another user's availability"},
		{"sam", "GET", "/v1/conversations?assignee_id=ana", "", "sellers see only their own conversations"},
		{"carl", "GET", "/v1/conversations?department_id=sales", "", "you are not a member of that department"},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			status, out := w.call(t, tt.user, tt.method, tt.path, tt.body)
			want := map[string]any{"error": map[string]any{"code": "forbidden", "message": tt.want}}
			if diff := cmp.Diff(want, out); status != 403 || diff != "" {
				t.Errorf("= %d (-want +got):\n%s", status, diff)
			}
		})
	}
}
