package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/infra/local/sandbox"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/templates"
)

// testTemplates are the synced templates of every world's line l1 (all in language es).
var testTemplates = []struct{ name, status, reason, components string }{
	{"order_update", inbox.TemplateApproved, "", `[{"type":"BODY","text":"Hola {{1}}, tu pedido {{2}} ya está en camino."},{"type":"FOOTER","text":"STOP"}]`},
	{"t", inbox.TemplateApproved, "", `[{"type":"BODY","text":"Hola {{customer_name}}."}]`},
	{"bienvenida", inbox.TemplateApproved, "", `[{"type":"BODY","text":"¡Hola {{1}}! Gracias por elegirnos."}]`},
	{"promo", inbox.TemplateRejected, "PROMOTIONAL", `[{"type":"BODY","text":"50% OFF con {{1}}"}]`},
	{"aviso", inbox.TemplatePaused, "", `[{"type":"BODY","text":"Aviso para {{1}}"}]`},
	{"nuevo", inbox.TemplatePending, "", `[{"type":"BODY","text":"Nuevo"}]`},
	{"foto", inbox.TemplateApproved, "", `[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Mirá"}]`},
}

// seedTemplates stores testTemplates for the world's line as a sync at t0 would, and
// "recien", known from an APPROVED status webhook only.
func (w *world) seedTemplates(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for i, tt := range testTemplates {
		err := w.st.SaveTemplate(ctx, &inbox.Template{OrgID: w.org, Account: w.line.Account, ID: "10" + string(rune('0'+i)),
			Name: tt.name, Language: "es", Category: "UTILITY", Status: tt.status, Reason: tt.reason, ParameterFormat: "POSITIONAL",
			Components: json.RawMessage(tt.components), StatusAt: t0, SyncedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.st.ApplyTemplateStatus(ctx, store.TemplateStatusUpdate{Org: w.org, Account: w.line.Account, Name: "recien",
		Language: "es", Status: inbox.TemplateApproved, At: t0}); err != nil {
		t.Fatal(err)
	}
}

func templateBody(name, vars string) string {
	return `{"type":"template","template":{"name":"` + name + `","language":"es","variables":` + vars + `}}`
}

func errorField(out map[string]any, k string) any {
	e, _ := out["error"].(map[string]any)
	return e[k]
}

// TestTemplateSendsAreChecked: a template goes out only if the line's WABA has it approved and
// synced, with exactly its body's variables; both send paths refuse the same way, and a
// refusal stores nothing.
func TestTemplateSendsAreChecked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000801", "wamid.tp1", "hola", t0)
	tests := []struct {
		name, tpl, vars string
		code, status    string // error code; the template's status in the error
		msg             string // part of the message
	}{
		{"unknown name", "nope", `{}`, "unknown_template", "", `no template "nope" in language "es"`},
		{"rejected", "promo", `{"1":"X"}`, "template_not_approved", "REJECTED", `template "promo" (es) is REJECTED: only APPROVED templates can be sent (reason: PROMOTIONAL)`},
		{"paused", "aviso", `{"1":"X"}`, "template_not_approved", "PAUSED", "is PAUSED"},
		{"pending", "nuevo", `{}`, "template_not_approved", "PENDING", "is PENDING"},
		{"not synced yet", "recien", `{}`, "template_not_synced", "APPROVED", "has not been synced yet"},
		{"a variable missing", "order_update", `{"1":"Ana"}`, "template_variables", "APPROVED", "order_update takes 2 variables ({{1}}, {{2}}); got 1 variable ({{1}})"},
		{"a variable too many", "bienvenida", `{"1":"Ana","2":"x"}`, "template_variables", "APPROVED", "takes 1 variable ({{1}})"},
		{"positional for named", "t", `{"1":"Ana"}`, "template_variables", "APPROVED", "takes 1 variable ({{customer_name}})"},
		{"named for positional", "order_update", `{"a":"Ana","b":"#1"}`, "template_variables", "APPROVED", "got 2 variables ({{a}}, {{b}})"},
		{"line break in a value", "bienvenida", `{"1":"Ana\nMaría"}`, "template_variables", "APPROVED", "line break"},
		{"image header", "foto", `{}`, "template_unsupported", "APPROVED", "its header is image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check := func(path string, status int, out map[string]any) {
				t.Helper()
				if status != 422 || errorCode(out) != tc.code {
					t.Fatalf("%s: %d %v, want 422 %s", path, status, out, tc.code)
				}
				if got, _ := errorField(out, "template_status").(string); got != tc.status {
					t.Errorf("%s: template_status %q, want %q", path, got, tc.status)
				}
				if msg, _ := errorField(out, "message").(string); !strings.Contains(msg, tc.msg) {
					t.Errorf("%s: message %q lacks %q", path, msg, tc.msg)
				}
			}
			status, out := w.post(t, "ana", conv, "", templateBody(tc.tpl, tc.vars))
			check("POST …/messages", status, out)
			status, out = w.start(t, "admin", "", `{"line_id":"l1","to":"+5491100000899","template":{"name":"`+tc.tpl+`","language":"es","variables":`+tc.vars+`}}`)
			check("POST /v1/conversations", status, out)
		})
	}
	t.Cleanup(func() {
		// Nothing was stored: the thread is the customer's message and its opening.
		_, thread := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
		if n := len(thread["items"].([]any)); n != 2 {
			t.Errorf("thread has %d entries after refusals, want 2", n)
		}
		if _, err := w.st.Conversation(context.Background(), w.org, inbox.ConversationID(w.org, "l1", "5491100000899")); err == nil {
			t.Errorf("a refused start created the conversation")
		}
	})
}

// TestTemplateRenderedInThread: the thread and the conversation list show what the customer
// reads, and the provider still gets the name and variables.
func TestTemplateRenderedInThread(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := w.withOutbound(t)
	conv := w.customer(t, "5491100000811", "wamid.tp2", "hola", t0)
	status, out := w.post(t, "ana", conv, "", templateBody("order_update", `{"2":"#4521","1":"Lucía"}`))
	if status != 202 {
		t.Fatalf("send: %d %v", status, out)
	}
	const text = "Hola Lucía, tu pedido #4521 ya está en camino."
	if out["text"] != text {
		t.Errorf("text %q, want %q", out["text"], text)
	}
	_, thread := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	items := thread["items"].([]any)
	if last := items[len(items)-1].(map[string]any); last["type"] != "template" || last["text"] != text {
		t.Errorf("thread's last entry %v, want the rendered template", last)
	}
	cv, err := w.st.Conversation(context.Background(), w.org, conv)
	if err != nil || cv.Preview.Text != text {
		t.Errorf("preview %q, %v; want the rendered template", cv.Preview.Text, err)
	}
	sends := drain(t, url)
	if len(sends) != 1 {
		t.Fatalf("%d sends queued, want 1", len(sends))
	}
	m, err := w.st.Message(context.Background(), messageKey(conv, sends[0].MessageID, sends[0].MessageAt))
	if err != nil {
		t.Fatal(err)
	}
	body, err := meta.Request("5491100000811", m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"parameters":[{"text":"Lucía","type":"text"},{"text":"#4521","type":"text"}]`) {
		t.Errorf("provider request %s does not carry the variables in order", body)
	}
}

// TestTemplateStatusWebhookRefusesAtOnce: a PAUSED webhook stops sends before any sync, and
// REINSTATED lets them through again.
func TestTemplateStatusWebhookRefusesAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000821", "wamid.tp3", "hola", t0)
	hook := func(ev string, minutes int) {
		t.Helper()
		_, err := w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindTemplateStatus, Provider: events.ProviderMeta,
			Template: &events.TemplateStatus{Account: w.line.Account, TemplateID: "100", Name: "bienvenida", Language: "es",
				Event: ev, Reason: "NONE", Timestamp: t0.Add(time.Duration(minutes) * time.Minute)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	hook("PAUSED", 10)
	status, out := w.post(t, "ana", conv, "", templateBody("bienvenida", `{"1":"Ana"}`))
	if status != 422 || errorCode(out) != "template_not_approved" || errorField(out, "template_status") != "PAUSED" {
		t.Fatalf("after PAUSED: %d %v, want 422 template_not_approved PAUSED", status, out)
	}
	hook("REINSTATED", 20)
	if status, out := w.post(t, "ana", conv, "", templateBody("bienvenida", `{"1":"Ana"}`)); status != 202 {
		t.Fatalf("after REINSTATED: %d %v, want 202", status, out)
	}
}

func TestListTemplates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	tw := &inbox.Line{ID: "lt", OrgID: w.org, Provider: "twilio", Address: "+1415" + w.org[len(w.org)-7:], Account: "AC1", State: inbox.LineActive}
	if err := w.st.PutLine(ctx, tw); err != nil {
		t.Fatal(err)
	}
	names := func(out map[string]any) []string {
		var res []string
		for _, it := range out["items"].([]any) {
			res = append(res, it.(map[string]any)["name"].(string))
		}
		return res
	}
	all := []string{"aviso", "bienvenida", "foto", "nuevo", "order_update", "promo", "recien", "t"}
	tests := []struct {
		name, user, query string
		status            int
		want              []string
	}{
		{"all, by name", "ana", "", 200, all},
		{"approved", "sam", "?status=approved", 200, []string{"bienvenida", "foto", "order_update", "recien", "t"}},
		{"rejected, upper case", "admin", "?status=REJECTED", 200, []string{"promo"}},
		{"a Meta line", "ana", "?line_id=l1", 200, all},
		{"a Twilio line has none", "ana", "?line_id=lt", 200, nil},
		{"unknown status", "ana", "?status=ok", 400, nil},
		{"unknown parameter", "ana", "?name=x", 400, nil},
		{"unknown line", "ana", "?line_id=nope", 422, nil},
	}
	for _, tc := range tests {
		status, out := w.call(t, tc.user, "GET", "/v1/templates"+tc.query, "")
		if status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, out, tc.status)
			continue
		}
		if status == 200 {
			if diff := cmp.Diff(tc.want, names(out)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
		}
	}
	// One template as clients see it, and one known from a webhook only.
	_, out := w.call(t, "ana", "GET", "/v1/templates?status=approved&limit=5", "")
	items := out["items"].([]any)
	got := map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		got[m["name"].(string)] = m
	}
	want := map[string]any{
		"id": "100", "waba_id": w.line.Account, "name": "order_update", "language": "es", "category": "UTILITY",
		"status": "APPROVED", "parameter_format": "POSITIONAL", "body": "Hola {{1}}, tu pedido {{2}} ya está en camino.",
		"variables": []any{"1", "2"}, "sendable": true, "synced": true, "status_updated_at": ts(t0),
		"components": []any{map[string]any{"type": "BODY", "text": "Hola {{1}}, tu pedido {{2}} ya está en camino."}, map[string]any{"type": "FOOTER", "text": "STOP"}},
	}
	if diff := cmp.Diff(want, got["order_update"]); diff != "" {
		t.Errorf("order_update (-want +got):\n%s", diff)
	}
	if r := got["recien"]; r["sendable"] != false || r["synced"] != false || len(r["components"].([]any)) != 0 {
		t.Errorf("recien = %v, want not sendable, not synced, no components", r)
	}
	// Pages of three.
	var paged []string
	cursor := ""
	for range 5 {
		_, out := w.call(t, "ana", "GET", "/v1/templates?limit=3"+cursor, "")
		paged = append(paged, names(out)...)
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if diff := cmp.Diff(all, paged); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if status, _ := w.call(t, "ana", "GET", "/v1/templates?cursor=bm9wZQ", ""); status != 400 {
		t.Errorf("foreign cursor: %d, want 400", status)
	}
}

// withGraph gives the world's API a template sync against the provider sandbox, whose every
// WABA lists order_update (es_AR) APPROVED, welcome_back PENDING and promo_blast REJECTED.
func (w *world) withGraph(t *testing.T, token string) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MetaAccessToken: "tok", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	w.api.templates = templates.New(w.st, &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: token, HTTP: srv.Client()}, w.api.now)
}

func TestSyncNow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000831", "wamid.tp4", "hola", t0)
	if status, out := w.call(t, "admin", "POST", "/v1/templates/sync", ""); status != 503 || errorCode(out) != "templates_unavailable" {
		t.Errorf("without credentials: %d %v, want 503", status, out)
	}
	w.withGraph(t, "tok")
	if status, _ := w.call(t, "ana", "POST", "/v1/templates/sync", ""); status != 403 {
		t.Errorf("agent: %d, want 403", status)
	}
	status, out := w.call(t, "admin", "POST", "/v1/templates/sync", "")
	// The seeded templates are not at the provider: they are DELETED now.
	want := map[string]any{"wabas": 1.0, "templates": 3.0, "changed": 3.0, "removed": float64(len(testTemplates) + 1), "failed": 0.0}
	if diff := cmp.Diff(want, out); status != 200 || diff != "" {
		t.Fatalf("sync: %d (-want +got):\n%s", status, diff)
	}
	_, list := w.call(t, "ana", "GET", "/v1/templates?status=approved", "")
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "order_update" {
		t.Errorf("approved after the sync: %v, want order_update only", items)
	}
	// The synced templates are what sends are checked against.
	send := func(name, lang, vars string) (int, map[string]any) {
		return w.post(t, "ana", conv, "", `{"type":"template","template":{"name":"`+name+`","language":"`+lang+`","variables":`+vars+`}}`)
	}
	if status, out := send("order_update", "es_AR", `{"1":"Lucía","2":"#4521"}`); status != 202 || out["text"] != "Hola Lucía, tu pedido #4521 ya está en camino." {
		t.Errorf("synced approved template: %d %v", status, out)
	}
	if status, out := send("welcome_back", "es", `{"customer_name":"Lucía"}`); status != 422 || errorField(out, "template_status") != "PENDING" {
		t.Errorf("synced pending template: %d %v, want 422 PENDING", status, out)
	}
	if status, out := send("bienvenida", "es", `{"1":"Ana"}`); status != 422 || errorField(out, "template_status") != "DELETED" {
		t.Errorf("template gone from the provider: %d %v, want 422 DELETED", status, out)
	}
	// Once a minute at most.
	status, out = w.call(t, "admin", "POST", "/v1/templates/sync", "")
	if status != 429 || errorCode(out) != "sync_too_soon" || errorField(out, "retry_after_seconds") != 60.0 {
		t.Errorf("second sync: %d %v, want 429 with retry_after_seconds 60", status, out)
	}

	// The provider refuses the token: the admin is told why.
	w2 := newWorld(t)
	w2.withGraph(t, "expired")
	status, out = w2.call(t, "admin", "POST", "/v1/templates/sync", "")
	if msg, _ := errorField(out, "message").(string); status != 502 || errorCode(out) != "provider_error" || !strings.Contains(msg, "access token") {
		t.Errorf("refused token: %d %v, want 502 provider_error naming the token", status, out)
	}
}
