package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
)

// TestDeleteUser: a deleted user's token is refused at once, whatever it says; their open
// conversation goes to the chosen agent; they are listed nowhere; the timeline still names
// them.
func TestDeleteUser(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000961", "wamid.du1", "hola", t0)
	if status, out := w.call(t, "bea", "POST", "/v1/conversations/"+conv+"/claim", ""); status != 200 {
		t.Fatalf("claim: %d %v", status, out)
	}
	steps := []struct {
		name, user, path string
		want             int
		code             string
	}{
		{"an agent", "ana", "/v1/users/bea", 403, "forbidden"},
		{"themselves", "admin", "/v1/users/admin", 422, "delete_self"},
		{"to someone unknown", "admin", "/v1/users/bea?conversations_to=zed", 422, "unknown_conversations_to"},
		{"to themselves", "admin", "/v1/users/bea?conversations_to=bea", 422, "bad_conversations_to"},
		{"to a user without an inbox", "admin", "/v1/users/bea?conversations_to=ed", 422, "assignee_has_no_inbox"},
		{"an unknown parameter", "admin", "/v1/users/bea?to=ana", 400, "bad_request"},
		{"bea, hers to ana", "admin", "/v1/users/bea?conversations_to=ana", 204, ""},
		{"again: nothing left to do", "admin", "/v1/users/bea?conversations_to=ana", 204, ""},
		{"nobody", "admin", "/v1/users/zed", 404, "not_found"},
	}
	for _, s := range steps {
		if status, out := w.call(t, s.user, "DELETE", s.path, ""); status != s.want || code(out) != s.code {
			t.Fatalf("%s: %d %v, want %d %s", s.name, status, out, s.want, s.code)
		}
	}
	for _, path := range []string{"/v1/me", "/v1/conversations/" + conv} {
		if status, out := w.call(t, "bea", "GET", path, ""); status != 403 || code(out) != "user_removed" {
			t.Errorf("GET %s by a deleted user: %d %v, want 403 user_removed", path, status, out)
		}
	}
	status, out := w.call(t, "admin", "GET", "/v1/conversations/"+conv, "")
	if status != 200 || out["assignee_id"] != "ana" {
		t.Errorf("bea's conversation: %d assignee %v, want ana's", status, out["assignee_id"])
	}
	for _, path := range []string{"/v1/users", "/v1/colleagues"} {
		if _, out := w.call(t, "admin", "GET", path, ""); cmp.Equal(true, contains(ids(out), "bea")) {
			t.Errorf("%s lists the deleted user: %v", path, ids(out))
		}
	}
	if _, err := w.st.UserByEmail(context.Background(), "bea@"+w.org+".test"); err == nil {
		t.Errorf("a deleted user's email still signs in")
	}
	if status, out := w.call(t, "admin", "POST", "/v1/users/bea/enable", ""); status != 404 {
		t.Errorf("enable a deleted user: %d %v, want 404", status, out)
	}
	_, out = w.call(t, "admin", "GET", "/v1/conversations/"+conv+"/messages", "")
	var handed []string
	for _, it := range out["items"].([]any) {
		if e := it.(map[string]any); e["type"] == "assigned" {
			d := e["details"].(map[string]any)
			handed = append(handed, d["from"].(string)+"→"+d["assignee_id"].(string)+" "+d["rule"].(string))
		}
	}
	if diff := cmp.Diff([]string{"bea→ana user_deleted"}, handed); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestDeleteLine: a deleted line's history stays readable, its open conversation is closed,
// it cannot send or start conversations, it cannot be changed, and its number is free: a
// customer's next message to it is kept as unrouted, not added to the old conversation.
func TestDeleteLine(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.withOutbound(t)
	conv := w.customer(t, "5491100000971", "wamid.dl1", "hola", t0)
	path := "/v1/conversations/" + conv
	if status, out := w.call(t, "ana", "POST", path+"/claim", ""); status != 200 {
		t.Fatalf("claim: %d %v", status, out)
	}
	if status, out := w.call(t, "ana", "DELETE", "/v1/lines/l1", ""); status != 403 {
		t.Fatalf("an agent deletes a line: %d %v", status, out)
	}
	status, out := w.call(t, "admin", "DELETE", "/v1/lines/l1", "")
	if status != 200 || out["state"] != "deleted" {
		t.Fatalf("delete: %d %v", status, out)
	}
	status, out = w.call(t, "ana", "GET", path+"/messages", "")
	if status != 200 || len(out["items"].([]any)) == 0 {
		t.Errorf("history of a deleted line: %d %v, want it readable", status, out)
	}
	status, out = w.call(t, "ana", "GET", path, "")
	if status != 200 || out["status"] != "done" || out["close_reason"] != "line_deleted" {
		t.Errorf("its open conversation: %d %v, want done (line_deleted)", status, out)
	}
	refusals := []struct{ name, user, method, path, body string }{
		{"reply", "ana", "POST", path + "/messages", `{"type":"text","text":"hola"}`},
		{"start", "admin", "POST", "/v1/conversations", startBody("l1", "+5491100000972")},
		{"change", "admin", "PATCH", "/v1/lines/l1", `{"state":"active"}`},
		{"auto-close", "admin", "PUT", "/v1/lines/l1/auto-close", `{"idle_minutes":60}`},
	}
	for _, r := range refusals {
		if r.name == "reply" {
			if status, out := w.call(t, "admin", "POST", path+"/reopen", ""); status != 200 {
				t.Fatalf("reopen: %d %v", status, out)
			}
		}
		if status, out := w.call(t, r.user, r.method, r.path, r.body); status != 409 || code(out) != "line_deleted" {
			t.Errorf("%s on a deleted line: %d %v, want 409 line_deleted", r.name, status, out)
		}
	}
	// A fresh processor: a running one keeps lines by address for 30 s.
	_, err := ingest.New(w.st, time.Now, nil).Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: t0,
		Message: &events.Message{ID: "wamid.dl2", Line: events.Line{Address: w.line.Address}, From: "5491100000971", Timestamp: t0.Add(time.Minute), Type: "text", Text: "¿hola?"}})
	if err != nil {
		t.Fatal(err)
	}
	cv, err := w.st.Conversation(context.Background(), w.org, conv)
	if err != nil || cv.InboundCount != 1 {
		t.Errorf("after a message to the freed number: %d customer messages (%v), want 1", cv.InboundCount, err)
	}
	_, out = w.call(t, "admin", "GET", "/v1/lines", "")
	if items := out["items"].([]any); len(items) != 1 || items[0].(map[string]any)["state"] != "deleted" {
		t.Errorf("lines: %v, want l1 listed as deleted", items)
	}
}

// TestDeleteDepartment: an empty department goes at once; one with conversations only by
// moving them, which files them (open and done) under the other with whoever holds them, and
// reroutes its lines; members lose it.
func TestDeleteDepartment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	held := w.customer(t, "5491100000981", "wamid.dd1", "hola", t0)
	done := w.customer(t, "5491100000982", "wamid.dd2", "hola", t0)
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+held+"/claim", ""); status != 200 {
		t.Fatalf("claim: %d %v", status, out)
	}
	if status, out := w.call(t, "bea", "POST", "/v1/conversations/"+done+"/close", `{"reason":"ok"}`); status != 200 {
		t.Fatalf("close: %d %v", status, out)
	}
	steps := []struct {
		name, user, path string
		want             int
		code             string
	}{
		{"an agent", "ana", "/v1/departments/support", 403, "forbidden"},
		{"with conversations", "admin", "/v1/departments/sales", 409, "department_in_use"},
		{"to itself", "admin", "/v1/departments/sales?move_to=sales", 422, "bad_move_to"},
		{"to nowhere", "admin", "/v1/departments/sales?move_to=nope", 422, "unknown_move_to"},
		{"nothing", "admin", "/v1/departments/nope", 404, "not_found"},
		{"sales to support", "admin", "/v1/departments/sales?move_to=support", 204, ""},
	}
	for _, s := range steps {
		if status, out := w.call(t, s.user, "DELETE", s.path, ""); status != s.want || code(out) != s.code {
			t.Fatalf("%s: %d %v, want %d %s", s.name, status, out, s.want, s.code)
		}
	}
	for id, want := range map[string]string{held: "open ana", done: "done "} {
		_, out := w.call(t, "admin", "GET", "/v1/conversations/"+id, "")
		got := []any{out["department_id"], out["status"]}
		if !cmp.Equal(got, []any{"support", want[:4]}) {
			t.Errorf("%s: department %v status %v, want support %s", id, out["department_id"], out["status"], want)
		}
	}
	if _, out := w.call(t, "admin", "GET", "/v1/conversations/"+held, ""); out["assignee_id"] != "ana" {
		t.Errorf("moved conversation held by %v, want ana still", out["assignee_id"])
	}
	if _, out := w.call(t, "admin", "GET", "/v1/departments", ""); !cmp.Equal([]string{"support"}, ids(out)) {
		t.Errorf("departments: %v, want support only", ids(out))
	}
	if _, out := w.call(t, "ana", "GET", "/v1/me", ""); len(out["departments"].([]any)) != 0 {
		t.Errorf("ana's departments: %v, want none", out["departments"])
	}
	l, err := w.st.Line(context.Background(), w.org, "l1")
	if err != nil || l.DepartmentID != "support" {
		t.Errorf("line l1 routes to %q (%v), want support", l.DepartmentID, err)
	}
	if status, out := w.call(t, "admin", "DELETE", "/v1/departments/support", ""); status != 409 {
		t.Errorf("support now has conversations: %d %v, want 409", status, out)
	}
	if status, out := w.call(t, "admin", "POST", "/v1/departments", `{"id":"empty","name":"Vacío"}`); status != 201 {
		t.Fatalf("create: %d %v", status, out)
	}
	if status, out := w.call(t, "admin", "DELETE", "/v1/departments/empty", ""); status != 204 {
		t.Errorf("an empty department: %d %v, want 204", status, out)
	}
}

// TestEditLabels: admins rename, recolor and delete labels; a rename keeps the id (and the
// conversations that carry it); two labels never share a name.
func TestEditLabels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, name := range []string{"Urgente", "Reclamo"} {
		if status, out := w.call(t, "ana", "POST", "/v1/labels", `{"name":"`+name+`"}`); status != 201 {
			t.Fatalf("create %s: %d %v", name, status, out)
		}
	}
	id, other := inbox.LabelID("Urgente"), inbox.LabelID("Reclamo")
	steps := []struct {
		name, user, method, path, body string
		want                           int
		code                           string
	}{
		{"an agent edits", "ana", "PATCH", "/v1/labels/" + id, `{"color":"#00FF00"}`, 403, "forbidden"},
		{"bad color", "admin", "PATCH", "/v1/labels/" + id, `{"color":"green"}`, 422, "bad_label"},
		{"blank name", "admin", "PATCH", "/v1/labels/" + id, `{"name":"  "}`, 422, "bad_label"},
		{"another's name", "admin", "PATCH", "/v1/labels/" + id, `{"name":"reclamo"}`, 409, "label_exists"},
		{"rename", "admin", "PATCH", "/v1/labels/" + id, `{"name":"Muy urgente","color":"#ff0000"}`, 200, ""},
		{"its new name again", "ana", "POST", "/v1/labels", `{"name":"muy urgente"}`, 409, "label_exists"},
		{"nothing", "admin", "PATCH", "/v1/labels/lb_nope", `{"color":"#00FF00"}`, 404, "not_found"},
		{"an agent deletes", "ana", "DELETE", "/v1/labels/" + other, "", 403, "forbidden"},
		{"delete", "admin", "DELETE", "/v1/labels/" + other, "", 204, ""},
		{"delete again", "admin", "DELETE", "/v1/labels/" + other, "", 404, "not_found"},
	}
	for _, s := range steps {
		if status, out := w.call(t, s.user, s.method, s.path, s.body); status != s.want || code(out) != s.code {
			t.Fatalf("%s: %d %v, want %d %s", s.name, status, out, s.want, s.code)
		}
	}
	_, out := w.call(t, "ana", "GET", "/v1/labels", "")
	items := out["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("labels: %v, want the renamed one", items)
	}
	got := items[0].(map[string]any)
	if got["id"] != id || got["name"] != "Muy urgente" || got["color"] != "#FF0000" {
		t.Errorf("renamed label: %v", got)
	}
}
