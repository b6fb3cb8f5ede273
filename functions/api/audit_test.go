package main

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAudit (P2): admin and conversation actions are recorded with actor, time, entity and
// before/after; GET /v1/audit filters by actor and entity, pages without losing or repeating
// a record, and is for admins only.
func TestAudit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000991", "wamid.au1", "hola", t0)
	actions := []struct{ user, method, path, body string }{
		{"ana", "POST", "/v1/conversations/" + conv + "/claim", ""},
		{"ana", "POST", "/v1/labels", `{"name":"Urgente"}`},
		{"admin", "PATCH", "/v1/lines/l1", `{"state":"paused"}`},
		{"ana", "POST", "/v1/conversations/" + conv + "/notes", `{"text":"ojo"}`},
		{"admin", "DELETE", "/v1/users/bea", ""},
	}
	for _, a := range actions {
		if status, out := w.call(t, a.user, a.method, a.path, a.body); status >= 300 {
			t.Fatalf("%s %s: %d %v", a.method, a.path, status, out)
		}
	}
	records := func(query string) []map[string]any {
		t.Helper()
		status, out := w.call(t, "admin", "GET", "/v1/audit?"+query, "")
		if status != 200 {
			t.Fatalf("audit %s: %d %v", query, status, out)
		}
		var rs []map[string]any
		for _, it := range out["items"].([]any) {
			rs = append(rs, it.(map[string]any))
		}
		return rs
	}
	summary := func(rs []map[string]any) []string {
		var s []string
		for _, r := range rs {
			actor, _ := r["actor_id"].(string)
			s = append(s, actor+" "+r["entity"].(string)+" "+r["action"].(string))
		}
		return s
	}
	all := records("")
	want := []string{"admin user delete", "ana conversation note", "admin line update", "ana label create", "ana conversation claimed"}
	if diff := cmp.Diff(want, summary(all)); diff != "" {
		t.Errorf("audit, newest first (-want +got):\n%s", diff)
	}
	line := all[2]
	if line["before"].(map[string]any)["state"] != "active" || line["after"].(map[string]any)["state"] != "paused" {
		t.Errorf("line update before/after: %v → %v", line["before"], line["after"])
	}
	claim := all[4]
	if claim["before"].(map[string]any)["assignee_id"] != nil || claim["after"].(map[string]any)["assignee_id"] != "ana" || claim["entity_id"] != conv {
		t.Errorf("claim record: %v", claim)
	}
	if diff := cmp.Diff([]string{"ana conversation note", "ana label create", "ana conversation claimed"}, summary(records("actor_id=ana"))); diff != "" {
		t.Errorf("by actor (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ana conversation note", "ana conversation claimed"}, summary(records("entity=conversation&entity_id="+conv))); diff != "" {
		t.Errorf("by entity (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"admin line update"}, summary(records("entity=line"))); diff != "" {
		t.Errorf("by entity type (-want +got):\n%s", diff)
	}
	var paged []string
	cursor := ""
	for i := 0; i < 10; i++ {
		status, out := w.call(t, "admin", "GET", "/v1/audit?limit=2&cursor="+url.QueryEscape(cursor), "")
		if status != 200 {
			t.Fatalf("page: %d %v", status, out)
		}
		for _, it := range out["items"].([]any) {
			paged = append(paged, it.(map[string]any)["id"].(string))
		}
		if cursor = out["next_cursor"].(string); cursor == "" {
			break
		}
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r["id"].(string))
	}
	if diff := cmp.Diff(ids, paged); diff != "" {
		t.Errorf("pages of 2 (-all +paged):\n%s", diff)
	}
	if got := records("since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z"); len(got) != 0 {
		t.Errorf("a day with nothing: %v", got)
	}
	for _, bad := range []string{"since=yesterday", "since=2026-01-01T00:00:00Z&until=2025-01-01T00:00:00Z", "since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "entity_id=x", "who=ana"} {
		if status, out := w.call(t, "admin", "GET", "/v1/audit?"+bad, ""); status != 400 {
			t.Errorf("%s: %d %v, want 400", bad, status, out)
		}
	}
	if status, _ := w.call(t, "ana", "GET", "/v1/audit", ""); status != 403 {
		t.Errorf("an agent reads the audit: %d, want 403", status)
	}
}
