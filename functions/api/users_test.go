package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDisabledUser: a disabled user's token is refused at once, their open conversations go
// back to the queue, and an admin enables them again.
func TestDisabledUser(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000951", "wamid.d1", "hola", t0)
	if status, out := w.call(t, "bea", "POST", "/v1/conversations/"+conv+"/claim", ""); status != 200 {
		t.Fatalf("claim: %d %v", status, out)
	}
	if status, out := w.call(t, "ana", "POST", "/v1/users/bea/disable", ""); status != 403 {
		t.Fatalf("agent disables: %d %v, want 403", status, out)
	}
	if status, out := w.call(t, "admin", "POST", "/v1/users/admin/disable", ""); status != 422 {
		t.Fatalf("admin disables themselves: %d %v, want 422", status, out)
	}
	status, out := w.call(t, "admin", "POST", "/v1/users/bea/disable", "")
	if status != 200 || out["disabled"] != true {
		t.Fatalf("disable: %d %v", status, out)
	}
	for _, path := range []string{"/v1/me", "/v1/conversations", "/v1/conversations/" + conv} {
		status, out := w.call(t, "bea", "GET", path, "")
		if status != 403 || out["error"].(map[string]any)["code"] != "user_disabled" {
			t.Errorf("GET %s by a disabled user: %d %v, want 403 user_disabled", path, status, out)
		}
	}
	status, out = w.call(t, "admin", "GET", "/v1/conversations/"+conv, "")
	if status != 200 || out["assignee_id"] == "bea" || out["status"] != "open" {
		t.Errorf("disabled user's conversation: %d assignee %v status %v, want open and not bea's", status, out["assignee_id"], out["status"])
	}
	if status, out := w.call(t, "admin", "POST", "/v1/users/bea/enable", ""); status != 200 || out["disabled"] != false {
		t.Fatalf("enable: %d %v", status, out)
	}
	if status, out := w.call(t, "bea", "GET", "/v1/me", ""); status != 200 {
		t.Errorf("enabled user: %d %v", status, out)
	}
}

func TestColleagues(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if status, out := w.call(t, "admin", "POST", "/v1/users/bea/disable", ""); status != 200 {
		t.Fatalf("disable: %d %v", status, out)
	}
	status, out := w.call(t, "sam", "GET", "/v1/colleagues", "")
	if status != 200 {
		t.Fatalf("colleagues: %d %v", status, out)
	}
	if diff := cmp.Diff([]string{"admin", "ana", "carl", "sam"}, ids(out)); diff != "" {
		t.Errorf("colleagues: with an inbox, not disabled (-want +got):\n%s", diff)
	}
	if status, _ := w.call(t, "ed", "GET", "/v1/colleagues", ""); status != 403 {
		t.Errorf("no-inbox user: %d, want 403", status)
	}
}
