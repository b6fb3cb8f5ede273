package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
)

func TestQuickRepliesAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.st.PutOrganization(context.Background(), &inbox.Organization{ID: w.org, Name: "Acme Repuestos", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, user, method, path, body string
		status                         int
		code                           string
	}{
		{"agents do not write them", "ana", "POST", "/v1/quick-replies", `{"title":"Saludo","text":"Hola"}`, 403, "forbidden"},
		{"no title", "admin", "POST", "/v1/quick-replies", `{"title":" ","text":"Hola"}`, 422, "bad_quick_reply"},
		{"no text", "admin", "POST", "/v1/quick-replies", `{"title":"Saludo"}`, 422, "bad_quick_reply"},
		{"a variable Buzón cannot fill", "admin", "POST", "/v1/quick-replies", `{"title":"Saludo","text":"Hola {{first_name}} y {{order}}"}`, 422, "unknown_variable"},
		{"unknown field", "admin", "POST", "/v1/quick-replies", `{"title":"Saludo","text":"Hola","shortcut":"/s"}`, 400, "bad_request"},
		{"admin", "admin", "POST", "/v1/quick-replies", `{"title":"Saludo","text":"Hola {{customer_name}}, soy {{user_name}} de {{company_name}}."}`, 201, ""},
		{"editor", "ed", "POST", "/v1/quick-replies", `{"title":"Cierre","text":"¡Gracias por escribir a {{company_name}}!"}`, 201, ""},
		{"missing one", "admin", "PUT", "/v1/quick-replies/qr_nope", `{"title":"x","text":"y"}`, 404, "not_found"},
		{"agents do not delete", "ana", "DELETE", "/v1/quick-replies/qr_nope", "", 403, "forbidden"},
		{"delete a missing one", "ed", "DELETE", "/v1/quick-replies/qr_nope", "", 404, "not_found"},
	}
	ids := map[string]string{}
	for _, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status || errorCode(out) != s.code {
			t.Fatalf("%s: %d %v, want %d %q", s.name, status, out, s.status, s.code)
		}
		if status == 201 {
			ids[out["title"].(string)] = out["id"].(string)
		}
	}
	// Everyone reads them, by title, with the variables they use.
	_, out := w.call(t, "sam", "GET", "/v1/quick-replies", "")
	var got []any
	for _, it := range out["items"].([]any) {
		m := it.(map[string]any)
		got = append(got, []any{m["title"], m["variables"], m["created_by"]})
	}
	want := []any{
		[]any{"Cierre", []any{"company_name"}, "ed"},
		[]any{"Saludo", []any{"company_name", "customer_name", "user_name"}, "admin"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// Rendered for a conversation and its agent.
	conv := w.customer(t, "5491100000901", "wamid.qr1", "hola", t0)
	render := func(user, conv, qr string) (int, map[string]any) {
		return w.call(t, user, "POST", "/v1/conversations/"+conv+"/quick-replies/"+qr+"/render", "")
	}
	status, out := render("ana", conv, ids["Saludo"])
	if diff := cmp.Diff(map[string]any{"quick_reply_id": ids["Saludo"], "text": "Hola Cliente 5491100000901, soy ana de Acme Repuestos."}, out); status != 200 || diff != "" {
		t.Errorf("render: %d (-want +got):\n%s", status, diff)
	}
	if status, _ := render("carl", conv, ids["Saludo"]); status != 404 {
		t.Errorf("render on a conversation carl cannot see: %d, want 404", status)
	}
	if status, out := render("ana", conv, "qr_nope"); status != 404 || errorCode(out) != "not_found" {
		t.Errorf("render of a missing quick reply: %d %v, want 404", status, out)
	}

	// Edited, then deleted.
	status, out = w.call(t, "ed", "PUT", "/v1/quick-replies/"+ids["Saludo"], `{"title":"Saludo","text":"Hola {{customer_name}}, ¿en qué te ayudo?"}`)
	if status != 200 || out["text"] != "Hola {{customer_name}}, ¿en qué te ayudo?" || out["created_by"] != "admin" {
		t.Errorf("update: %d %v", status, out)
	}
	if status, out := w.call(t, "admin", "PUT", "/v1/quick-replies/"+ids["Saludo"], `{"title":"Saludo","text":"{{nope}}"}`); status != 422 || errorCode(out) != "unknown_variable" {
		t.Errorf("update with an unknown variable: %d %v, want 422", status, out)
	}
	if _, out := render("bea", conv, ids["Saludo"]); out["text"] != "Hola Cliente 5491100000901, ¿en qué te ayudo?" {
		t.Errorf("render after the edit: %v", out)
	}
	if status, _ := w.call(t, "ed", "DELETE", "/v1/quick-replies/"+ids["Cierre"], ""); status != 204 {
		t.Errorf("delete: %d, want 204", status)
	}
	_, out = w.call(t, "ana", "GET", "/v1/quick-replies", "")
	if n := len(out["items"].([]any)); n != 1 {
		t.Errorf("%d quick replies after the delete, want 1", n)
	}
	// Another organization sees none of them.
	other := newWorld(t)
	if _, out := other.call(t, "admin", "GET", "/v1/quick-replies", ""); len(out["items"].([]any)) != 0 {
		t.Errorf("another organization lists %v", out["items"])
	}
	if status, _ := other.call(t, "admin", "PUT", "/v1/quick-replies/"+ids["Saludo"], `{"title":"x","text":"y"}`); status != 404 {
		t.Errorf("another organization edits it: %d, want 404", status)
	}
}
