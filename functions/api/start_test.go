package main

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/testenv"
)

const greeting = `{"name":"bienvenida","language":"es","variables":{"1":"Ana"}}`

// start calls POST /v1/conversations as user, with an Idempotency-Key when key is set.
func (w *world) start(t *testing.T, user, key, body string) (int, map[string]any) {
	t.Helper()
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: "/v1/conversations", Body: body}
	if key != "" {
		req.Headers = map[string]string{"idempotency-key": key}
	}
	return w.serve(t, user, "POST", req)
}

func startBody(line, to string) string {
	return `{"line_id":"` + line + `","to":"` + to + `","template":` + greeting + `}`
}

// started is the conversation and message ids of a 201.
func started(t *testing.T, out map[string]any) (conv, msg string) {
	t.Helper()
	cv, _ := out["conversation"].(map[string]any)
	m, _ := out["message"].(map[string]any)
	conv, _ = cv["id"].(string)
	msg, _ = m["id"].(string)
	if conv == "" || msg == "" {
		t.Fatalf("no conversation and message in %v", out)
	}
	return conv, msg
}

func TestStartConversation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := w.withOutbound(t)
	ctx := context.Background()

	status, out := w.start(t, "admin", "", `{"line_id":"l1","to":"+54 9 11 5000-2001","name":"  Marta  ","template":`+greeting+`}`)
	if status != 201 {
		t.Fatalf("status %d %v, want 201", status, out)
	}
	convID, msgID := started(t, out)
	if want := inbox.ConversationID(w.org, "l1", "5491150002001"); convID != want {
		t.Errorf("conversation %s, want %s (line, normalized number)", convID, want)
	}
	at := ts(w.api.now())
	cv := out["conversation"].(map[string]any)
	gotConv := map[string]any{"status": cv["status"], "assignee_id": cv["assignee_id"], "department_id": cv["department_id"],
		"badge": cv["badge"], "cycle": cv["cycle"], "route": cv["route"], "contact": cv["contact"], "window_open": cv["window_open"],
		"window_expires_at": cv["window_expires_at"], "last_activity_at": cv["last_activity_at"]}
	wantConv := map[string]any{"status": "open", "assignee_id": "admin", "department_id": "sales", "badge": "mine", "cycle": 1.0,
		"route": "started", "contact": map[string]any{"wa_id": "5491150002001", "name": "Marta"}, "window_open": false,
		"window_expires_at": nil, "last_activity_at": at}
	if diff := cmp.Diff(wantConv, gotConv); diff != "" {
		t.Errorf("conversation (-want +got):\n%s", diff)
	}
	wantMsg := map[string]any{"kind": "message", "id": msgID, "created_at": at, "direction": "out", "type": "template",
		"text": "¡Hola Ana! Gracias por elegirnos.", "status": "queued", "status_times": map[string]any{"queued": at}, "agent_id": "admin"}
	if diff := cmp.Diff(wantMsg, out["message"]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}

	// The thread says who started it, where, before the template.
	_, thread := w.call(t, "admin", "GET", "/v1/conversations/"+convID+"/messages", "")
	var kinds []string
	for _, it := range thread["items"].([]any) {
		e := it.(map[string]any)
		kinds = append(kinds, e["type"].(string))
		if e["type"] == "opened" && (e["actor_id"] != "admin" || e["details"].(map[string]any)["rule"] != "started") {
			t.Errorf("opened event %v, want by admin with rule started", e)
		}
	}
	if diff := cmp.Diff([]string{"opened", "template"}, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	sends := drain(t, url)
	if len(sends) != 1 || sends[0].MessageID != msgID || sends[0].ConversationID != convID {
		t.Errorf("queued %v, want message %s once", sends, msgID)
	}
	ct, err := w.st.Contact(ctx, w.org, "5491150002001")
	if err != nil || ct.Name != "Marta" || ct.OwnerID != "" {
		t.Errorf("contact = %+v, %v; want Marta without an owner", ct, err)
	}

	// Until the customer writes, only templates go out; the error says the window never opened.
	status, out = w.post(t, "admin", convID, "", `{"type":"text","text":"¿Pudiste verlo?"}`)
	if e, _ := out["error"].(map[string]any); status != 422 || e["code"] != "window_closed" || e["window_expires_at"] != nil {
		t.Errorf("text before the customer wrote: %d %v, want 422 window_closed with window_expires_at null", status, out)
	}
	if _, ok := out["error"].(map[string]any)["window_expires_at"]; !ok {
		t.Errorf("window_closed without window_expires_at: %v", out)
	}

	// Starting again while it is open points at it.
	status, out = w.start(t, "ana", "", startBody("l1", "5491150002001"))
	if e, _ := out["error"].(map[string]any); status != 409 || e["code"] != "conversation_open" || e["conversation_id"] != convID {
		t.Errorf("start on an open conversation: %d %v, want 409 conversation_open with %s", status, out, convID)
	}
}

func TestStartPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	// A customer who wrote (a contact nobody owns), contacts owned by ana and by sam, and a line
	// only bea may work.
	w.customer(t, "5491150003001", "wamid.sp1", "hola", t0)
	for wa, owner := range map[string]string{"5491150003002": "ana", "5491150003003": "sam"} {
		if err := w.st.CreateContact(ctx, &inbox.Contact{OrgID: w.org, WaID: wa, OwnerID: owner, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	beas := &inbox.Line{ID: "lb", OrgID: w.org, Provider: "meta", Address: testenv.ID("pn"), Account: w.line.Account, DepartmentID: "sales", Authorized: []string{"bea"}, State: inbox.LineActive}
	paused := &inbox.Line{ID: "lp", OrgID: w.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LinePaused}
	twilioLine := &inbox.Line{ID: "lt", OrgID: w.org, Provider: "twilio", Address: "+1415" + testenv.ID("")[:7], Account: "AC1", DepartmentID: "sales", State: inbox.LineActive}
	for _, l := range []*inbox.Line{beas, paused, twilioLine} {
		if err := w.st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, user, body string
		status           int
		code             string
	}{
		{"seller, a customer nobody owns", "sam", startBody("l1", "+5491150003001"), 403, "not_your_contact"},
		{"seller, another's contact", "sam", startBody("l1", "+5491150003002"), 403, "not_your_contact"},
		{"seller, own contact", "sam", startBody("l1", "+5491150003003"), 201, ""},
		{"seller, new number", "sam", startBody("l1", "+5491150003004"), 201, ""},
		{"agent, another's contact", "ana", startBody("l1", "+5491150003005"), 201, ""},
		{"agent of another department", "carl", startBody("l1", "+5491150003006"), 403, "forbidden"},
		{"agent not authorized on the line", "ana", startBody("lb", "+5491150003007"), 403, "forbidden"},
		{"agent authorized on the line", "bea", startBody("lb", "+5491150003007"), 201, ""},
		{"no inbox", "ed", startBody("l1", "+5491150003008"), 403, "forbidden"},
		{"unknown line", "admin", startBody("nope", "+5491150003009"), 422, "unknown_line"},
		{"paused line", "admin", startBody("lp", "+5491150003009"), 409, "line_not_active"},
		{"Twilio template by name", "admin", startBody("lt", "+5491150003009"), 422, "bad_template"},
		{"number too short", "admin", startBody("l1", "+54 11"), 422, "bad_number"},
		{"not a number", "admin", startBody("l1", "hola"), 422, "bad_number"},
		{"no line", "admin", `{"to":"+5491150003009","template":` + greeting + `}`, 422, "missing_line"},
		{"no template", "admin", `{"line_id":"l1","to":"+5491150003009"}`, 422, "bad_template"},
		{"template without language", "admin", `{"line_id":"l1","to":"+5491150003009","template":{"name":"x"}}`, 422, "bad_template"},
		{"unknown field", "admin", `{"line_id":"l1","to":"+5491150003009","template":` + greeting + `,"type":"text"}`, 400, "bad_request"},
	}
	for _, tc := range tests {
		if status, out := w.start(t, tc.user, "", tc.body); status != tc.status || errorCode(out) != tc.code {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, out, tc.status, tc.code)
		}
	}
	// The seller's new contact is theirs; their conversation is in their view.
	ct, err := w.st.Contact(ctx, w.org, "5491150003004")
	if err != nil || ct.OwnerID != "sam" {
		t.Errorf("seller's new contact = %+v, %v; want owned by sam", ct, err)
	}
	if ct, err := w.st.Contact(ctx, w.org, "5491150003005"); err != nil || ct.OwnerID != "" {
		t.Errorf("agent's new contact = %+v, %v; want no owner", ct, err)
	}
	_, mine := w.call(t, "sam", "GET", "/v1/conversations?view=mine", "")
	want := []string{inbox.ConversationID(w.org, "l1", "5491150003004"), inbox.ConversationID(w.org, "l1", "5491150003003")}
	if diff := cmp.Diff(want, ids(mine), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("seller's view (-want +got):\n%s", diff)
	}
}

// TestStartMexicoNumber: Cloud API reports Mexican mobiles as +52 1 …; typed either way, the
// number is one contact and one conversation.
func TestStartMexicoNumber(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.customer(t, "5215512345678", "wamid.mx1", "hola", t0)
	conv := inbox.ConversationID(w.org, "l1", "525512345678")

	status, out := w.start(t, "ana", "", startBody("l1", "+52 1 55 1234 5678"))
	if e, _ := out["error"].(map[string]any); status != 409 || e["conversation_id"] != conv {
		t.Fatalf("start while the inbound one is open: %d %v, want 409 naming %s", status, out, conv)
	}
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/read", ""); status != 200 {
		t.Fatalf("read: %d %v", status, out)
	}
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/close", `{"reason":"resuelto"}`); status != 200 {
		t.Fatalf("close: %d %v", status, out)
	}
	status, out = w.start(t, "ana", "", startBody("l1", "+5215512345678"))
	if status != 201 {
		t.Fatalf("start after done: %d %v", status, out)
	}
	got, _ := started(t, out)
	cv := out["conversation"].(map[string]any)
	if got != conv || cv["cycle"] != 2.0 || cv["assignee_id"] != "ana" || cv["contact"].(map[string]any)["name"] != "Cliente 5215512345678" {
		t.Errorf("started %v, want %s in cycle 2, assigned to ana, with the customer's profile name", cv, conv)
	}
	// Ana read the customer's message before closing: nothing is unread for her.
	if cv["unread_count"] != 0.0 {
		t.Errorf("unread_count %v, want 0 (ana read it)", cv["unread_count"])
	}
	// The customer's window is still open from their message: the agent may write freely.
	if status, out := w.post(t, "ana", conv, "", `{"type":"text","text":"Te escribo por tu pedido"}`); status != 202 {
		t.Errorf("text in the window: %d %v, want 202", status, out)
	}
}

func TestStartIdempotencyKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := w.withOutbound(t)
	body := startBody("l1", "+54 9 11 5000-4001")

	// Concurrent attempts of one request: one conversation, one message, the same answer.
	var wg sync.WaitGroup
	convs, msgs := make([]string, 5), make([]string, 5)
	statuses := make([]int, 5)
	for i := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out map[string]any
			statuses[i], out = w.start(t, "ana", "start-1", body)
			if statuses[i] == 201 {
				convs[i], msgs[i] = started(t, out)
			}
		}()
	}
	wg.Wait()
	for i := range convs {
		if statuses[i] != 201 || convs[i] != convs[0] || msgs[i] != msgs[0] {
			t.Errorf("attempt %d: %d %s %s, want 201 %s %s", i, statuses[i], convs[i], msgs[i], convs[0], msgs[0])
		}
	}
	// A later retry, with the number typed another way, answers the same.
	status, out := w.start(t, "ana", "start-1", startBody("l1", "5491150004001"))
	if status != 201 {
		t.Fatalf("retry: %d %v", status, out)
	}
	if c, m := started(t, out); c != convs[0] || m != msgs[0] {
		t.Errorf("retry answered %s %s, want %s %s", c, m, convs[0], msgs[0])
	}
	// The key for another request is refused.
	if status, out := w.start(t, "ana", "start-1", startBody("l1", "+5491150004002")); status != 422 || errorCode(out) != "idempotency_key_reused" {
		t.Errorf("reused key: %d %v, want 422 idempotency_key_reused", status, out)
	}

	entries, _, err := w.st.Thread(context.Background(), convs[0], 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range entries {
		if e.Message != nil {
			kinds = append(kinds, e.Message.Type)
		} else {
			kinds = append(kinds, string(e.Event.Type))
		}
	}
	if diff := cmp.Diff([]string{"opened", "template"}, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	count := map[string]int{}
	for _, s := range drain(t, url) {
		count[s.MessageID]++
	}
	if diff := cmp.Diff(map[string]int{msgs[0]: 1}, count); diff != "" {
		t.Errorf("queued sends (-want +got):\n%s", diff)
	}
}

// serve calls the router as user with req's path, body and headers.
func (w *world) serve(t *testing.T, user, method string, req lambdaevents.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = testenv.ID("req")
	req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": user, orgClaim: w.org}},
	}
	resp, err := w.r.serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("body is not JSON: %s", resp.Body)
	}
	return resp.StatusCode, out
}
