package main

import (
	"context"
	"strings"
	"testing"

	"github.com/buzon/buzon/shared/inbox"
)

// TestHostileRequests: each request is answered with a clear 4xx and leaves the conversation
// exactly as it was.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := newWorld(t)
	conv := w.customer(t, "5491100000901", "wamid.h1", "hola", t0)
	foreign := other.customer(t, "5491100000902", "wamid.h2", "hola", t0)
	p := "/v1/conversations/" + conv
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	tests := []struct {
		name, user, method, path, body string
		status                         int
	}{
		{"oversized body", "ana", "POST", p + "/notes", `{"text":"` + strings.Repeat("x", 300<<10) + `"}`, 413},
		{"deep JSON", "ana", "POST", p + "/close", deep, 400},
		{"wrong type", "ana", "POST", p + "/close", `{"reason":42}`, 400},
		{"array instead of object", "ana", "POST", p + "/transfer", `["support"]`, 400},
		{"trailing garbage", "ana", "POST", p + "/claim", `{} {}`, 400},
		{"unknown field", "ana", "POST", p + "/close", `{"reason":"x","status":"open"}`, 400},
		{"invalid UTF-8 reason", "ana", "POST", p + "/close", "{\"reason\":\"\xff\xfe\"}", 400},
		{"reason of only spaces", "ana", "POST", p + "/close", `{"reason":"   "}`, 422},
		{"zero-width note", "ana", "POST", p + "/notes", `{"text":"\u200b"}`, 422},
		{"another org's conversation", "ana", "POST", "/v1/conversations/" + foreign + "/claim", ``, 404},
		{"another org's user as assignee", "admin", "POST", p + "/assign", `{"assignee_id":"nobody"}`, 422},
		{"path traversal id", "ana", "GET", "/v1/conversations/..%2F..%2Fetc", ``, 404},
		{"no identity", "", "POST", p + "/claim", ``, 401},
		{"identity unknown to the org", "mallory", "POST", p + "/claim", ``, 403},
		{"bad cursor", "ana", "GET", "/v1/conversations?cursor=!!!", ``, 400},
		{"thread cursor of another item", "ana", "GET", p + "/messages?cursor=Q09OVg", ``, 400}, // base64url("CONV")
		{"huge limit", "ana", "GET", "/v1/conversations?limit=100000", ``, 400},
		{"unknown query parameter", "ana", "GET", "/v1/conversations?admin=true", ``, 400},
		{"method not allowed", "ana", "DELETE", p, ``, 405},
	}
	before, err := w.st.Conversation(context.Background(), w.org, conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		status, out := w.call(t, tc.user, tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, status, tc.status, out)
			continue
		}
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg == "" || e["code"] == "internal" {
			t.Errorf("%s: error body %v, want a code and a reason", tc.name, out)
		}
	}
	after, err := w.st.Conversation(context.Background(), w.org, conv)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.AssigneeID != "" || after.Status != inbox.StatusOpen {
		t.Errorf("conversation changed: version %d → %d, assignee %q, status %s", before.Version, after.Version, after.AssigneeID, after.Status)
	}
}

// FuzzDecode: the request decoder never panics and either fills the value or says why not.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"reason":"x","note":"y"}`, `{}`, ``, `[]`, `{"reason":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			Reason string `json:"reason"`
			Note   string `json:"note"`
		}
		err := decode(request{Body: body}, &v)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("decode error %T %v is not an API error", err, err)
			}
		}
	})
}
