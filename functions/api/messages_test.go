package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/testenv"
)

// post sends a message as user, with an Idempotency-Key when key is set.
func (w *world) post(t *testing.T, user, conv, key, body string) (int, map[string]any) {
	t.Helper()
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: "/v1/conversations/" + conv + "/messages", Body: body}
	if key != "" {
		req.Headers = map[string]string{"idempotency-key": key}
	}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = testenv.ID("req")
	req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": user, orgClaim: w.org}},
	}
	resp, err := w.r.serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("body is not JSON: %s", resp.Body)
	}
	return resp.StatusCode, out
}

// withOutbound gives the world's API an outbound FIFO queue and returns its URL.
func (w *world) withOutbound(t *testing.T) string {
	t.Helper()
	url, _ := testenv.FIFOQueue(t, 5, 30)
	w.api.outbound = queue.New(testenv.SQS(t), url)
	return url
}

// drain receives every Send on the queue.
func drain(t *testing.T, url string) []events.Send {
	t.Helper()
	var out []events.Send
	// moto's ReceiveMessage answers trip the SDK's checksum warning; it is noise here.
	opts := testenv.SQS(t).Options()
	opts.Logger = logging.Nop{}
	client := sqs.New(opts)
	for empty := 0; empty < 2; {
		resp, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameMessageGroupId},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range resp.Messages {
			var s events.Send
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &s); err != nil {
				t.Fatal(err)
			}
			if g := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; g != s.GroupID() {
				t.Errorf("group %q, want %q", g, s.GroupID())
			}
			out = append(out, s)
		}
	}
	return out
}

func errorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestSendTextClaimsAndQueues(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := w.withOutbound(t)
	conv := w.customer(t, "5491100000501", "wamid.s1", "hola", t0)

	status, out := w.post(t, "ana", conv, "", `{"type":"text","text":"¡Hola! Te ayudo."}`)
	if status != 202 {
		t.Fatalf("status %d %v, want 202", status, out)
	}
	id := out["id"].(string)
	at := w.api.now()
	want := map[string]any{
		"kind": "message", "id": id, "created_at": ts(at), "direction": "out", "type": "text", "text": "¡Hola! Te ayudo.",
		"status": "queued", "status_times": map[string]any{"queued": ts(at)}, "agent_id": "ana",
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	cv, err := w.st.Conversation(context.Background(), w.org, conv)
	if err != nil {
		t.Fatal(err)
	}
	gotConv := struct {
		Assignee, Rule string
		Unread         int
		Preview        inbox.Preview
	}{cv.AssigneeID, cv.RouteRule, cv.UnreadCount, cv.Preview}
	wantConv := gotConv
	wantConv.Assignee, wantConv.Rule, wantConv.Unread = "ana", "claimed", 0
	wantConv.Preview = inbox.Preview{Text: "¡Hola! Te ayudo.", Direction: inbox.Outbound, Type: "text", At: at}
	if diff := cmp.Diff(wantConv, gotConv); diff != "" {
		t.Errorf("conversation (-want +got):\n%s", diff)
	}

	_, thread := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	var kinds []string
	for _, it := range thread["items"].([]any) {
		kinds = append(kinds, it.(map[string]any)["type"].(string))
	}
	if diff := cmp.Diff([]string{"opened", "text", "claimed", "text"}, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	sends := drain(t, url)
	wantSend := []events.Send{{OrgID: w.org, ConversationID: conv, MessageID: id, MessageAt: at}}
	if diff := cmp.Diff(wantSend, sends, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".RequestID" }, cmp.Ignore())); diff != "" {
		t.Errorf("queued sends (-want +got):\n%s", diff)
	}
	// The stored message is what the send function reads by the event's key.
	m, err := w.st.Message(context.Background(), messageKey(conv, sends[0].MessageID, sends[0].MessageAt))
	if err != nil || m.Status != inbox.DeliveryQueued || m.StatusAt[inbox.DeliveryQueued].IsZero() {
		t.Errorf("stored message = %+v, %v; want queued with its queued time", m, err)
	}
}

func TestSendWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The customer wrote 25 hours before the API's now: the window closed an hour ago.
	wrote := w.api.now().Add(-25 * time.Hour)
	conv := w.customer(t, "5491100000601", "wamid.w1", "hola", wrote)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"text refused", `{"type":"text","text":"hola"}`, 422, "window_closed"},
		{"media refused", `{"type":"image","media":{"link":"https://cdn.example.com/a.png"}}`, 422, "window_closed"},
		{"template allowed", `{"type":"template","template":{"name":"order_update","language":"es","variables":{"1":"Ana","2":"#77"}}}`, 202, ""},
	}
	for _, tc := range tests {
		status, out := w.post(t, "ana", conv, "", tc.body)
		if status != tc.status || errorCode(out) != tc.code {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, out, tc.status, tc.code)
		}
		if tc.code == "window_closed" {
			e := out["error"].(map[string]any)
			if msg := e["message"].(string); !strings.Contains(msg, ts(wrote.Add(inbox.ServiceWindow))) {
				t.Errorf("%s: message %q does not give the expiry", tc.name, msg)
			}
			if got, want := e["window_expires_at"], ts(wrote.Add(inbox.ServiceWindow)); got != want {
				t.Errorf("%s: window_expires_at = %v, want %s", tc.name, got, want)
			}
		}
		if status == 202 && out["text"] != "Hola Ana, tu pedido #77 ya está en camino." {
			t.Errorf("%s: text %q", tc.name, out["text"])
		}
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000701", "wamid.v1", "hola", t0)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty text", `{"type":"text","text":"  "}`, 422, "bad_text"},
		{"text too long", `{"type":"text","text":"` + strings.Repeat("a", 4097) + `"}`, 422, "bad_text"},
		{"text at the limit", `{"type":"text","text":"` + strings.Repeat("ñ", 4096) + `"}`, 202, ""},
		{"unknown type", `{"type":"sticker"}`, 422, "bad_type"},
		{"unknown field", `{"type":"text","text":"x","extra":1}`, 400, "bad_request"},
		{"media without link", `{"type":"image","media":{}}`, 422, "bad_media"},
		{"media over http", `{"type":"image","media":{"link":"http://cdn.example.com/a.png"}}`, 422, "bad_media"},
		{"audio caption", `{"type":"audio","media":{"link":"https://cdn.example.com/a.ogg","caption":"x"}}`, 422, "bad_media"},
		{"image filename", `{"type":"image","media":{"link":"https://cdn.example.com/a.png","filename":"a.png"}}`, 422, "bad_media"},
		{"document", `{"type":"document","media":{"link":"https://cdn.example.com/c.pdf","caption":"contrato","filename":"c.pdf"}}`, 202, ""},
		{"text with media", `{"type":"text","text":"x","media":{"link":"https://cdn.example.com/a.png"}}`, 422, "bad_message"},
		{"template empty variable", `{"type":"template","template":{"name":"t","language":"es","variables":{"1":""}}}`, 422, "bad_template"},
		{"template number variable", `{"type":"template","template":{"name":"t","language":"es","variables":{"1":3}}}`, 400, "bad_request"},
		{"template named", `{"type":"template","template":{"name":"t","language":"es","variables":{"customer_name":"Ana"}}}`, 202, ""},
		{"template without language", `{"type":"template","template":{"name":"t"}}`, 422, "bad_template"},
		{"unknown reply_to", `{"type":"text","text":"x","reply_to":"wamid.nope"}`, 422, "unknown_reply_to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, out := w.post(t, "ana", conv, "", tc.body)
			if status != tc.status || errorCode(out) != tc.code {
				t.Errorf("%d %v, want %d %q", status, out, tc.status, tc.code)
			}
		})
	}
}

func TestSendPermissionsAndState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	held := w.customer(t, "5491100000801", "wamid.p1", "hola", t0)
	if status, _ := w.call(t, "ana", "POST", "/v1/conversations/"+held+"/claim", ""); status != 200 {
		t.Fatal("claim failed")
	}
	done := w.customer(t, "5491100000802", "wamid.p2", "hola", t0)
	if status, _ := w.call(t, "ana", "POST", "/v1/conversations/"+done+"/close", `{"reason":"ok"}`); status != 200 {
		t.Fatal("close failed")
	}
	const text = `{"type":"text","text":"hola"}`
	tests := []struct {
		name, user, conv string
		status           int
		code             string
	}{
		{"other department", "carl", held, 404, "not_found"},
		{"held by someone else", "bea", held, 403, "forbidden"},
		{"seller, not assigned", "sam", held, 404, "not_found"},
		{"no inbox", "ed", held, 404, "not_found"},
		{"admin on someone else's", "admin", held, 202, ""},
		{"holder", "ana", held, 202, ""},
		{"done conversation", "ana", done, 409, "conversation_done"},
		{"unknown conversation", "ana", "c_nope", 404, "not_found"},
	}
	for _, tc := range tests {
		status, out := w.post(t, tc.user, tc.conv, "", text)
		if status != tc.status || errorCode(out) != tc.code {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, out, tc.status, tc.code)
		}
	}
	// A paused line cannot send.
	paused := *w.line
	paused.State = inbox.LinePaused
	if err := w.st.PutLine(ctx, &paused); err != nil {
		t.Fatal(err)
	}
	if status, out := w.post(t, "ana", held, "", text); status != 409 || errorCode(out) != "line_not_active" {
		t.Errorf("paused line: %d %v, want 409 line_not_active", status, out)
	}
}

func TestSendReplyTo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000901", "wamid.r1", "¿tienen talle M?", t0)
	inbound := inbox.InboundMessage(conv, &events.Message{ID: "wamid.r1", Line: events.Line{Address: w.line.Address}}, t0, t0)
	for _, ref := range []string{"wamid.r1", inbound.ID} {
		status, out := w.post(t, "ana", conv, "", `{"type":"text","text":"sí","reply_to":"`+ref+`"}`)
		if status != 202 || out["reply_to"] != "wamid.r1" {
			t.Errorf("reply_to %s: %d %v, want 202 replying to wamid.r1", ref, status, out)
		}
	}
	// A queued outbound message has no provider id yet: nothing to quote.
	_, queued := w.post(t, "ana", conv, "", `{"type":"text","text":"otro"}`)
	if status, out := w.post(t, "ana", conv, "", `{"type":"text","text":"x","reply_to":"`+queued["id"].(string)+`"}`); status != 422 || errorCode(out) != "reply_to_not_sent" {
		t.Errorf("reply to queued: %d %v, want 422 reply_to_not_sent", status, out)
	}
}

func TestSendIdempotencyKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := w.withOutbound(t)
	conv := w.customer(t, "5491100001001", "wamid.i1", "hola", t0)
	const body = `{"type":"text","text":"una sola vez"}`

	// Concurrent retries of one request: one message, the same answer for all.
	var wg sync.WaitGroup
	ids := make([]string, 6)
	statuses := make([]int, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out map[string]any
			statuses[i], out = w.post(t, "ana", conv, "key-1", body)
			ids[i], _ = out["id"].(string)
		}()
	}
	wg.Wait()
	for i := range ids {
		if statuses[i] != 202 || ids[i] != ids[0] {
			t.Errorf("attempt %d: %d %s, want 202 %s", i, statuses[i], ids[i], ids[0])
		}
	}
	// A later retry, even with the body re-encoded, answers the same message.
	if status, out := w.post(t, "ana", conv, "key-1", `{ "text":"una sola vez", "type":"text" }`); status != 202 || out["id"] != ids[0] {
		t.Errorf("retry: %d %v, want 202 %s", status, out, ids[0])
	}
	// The same key for another message is refused; another user's same key is theirs.
	if status, out := w.post(t, "ana", conv, "key-1", `{"type":"text","text":"otra cosa"}`); status != 422 || errorCode(out) != "idempotency_key_reused" {
		t.Errorf("reused key: %d %v, want 422 idempotency_key_reused", status, out)
	}
	if status, out := w.post(t, "admin", conv, "key-1", body); status != 202 || out["id"] == ids[0] {
		t.Errorf("other user's key: %d %v, want 202 with a new message", status, out)
	}
	if status, _ := w.post(t, "ana", conv, "bad key", body); status != 400 {
		t.Errorf("key with a space: %d, want 400", status)
	}

	entries, _, err := w.st.Thread(context.Background(), conv, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Message != nil && e.Message.Text == "una sola vez" {
			n++
		}
	}
	if n != 2 { // ana's once, admin's once
		t.Errorf("%d stored copies, want 2", n)
	}
	count := map[string]int{}
	for _, s := range drain(t, url) {
		count[s.MessageID]++
	}
	if count[ids[0]] != 1 {
		t.Errorf("message %s queued %d times, want once (%v)", ids[0], count[ids[0]], count)
	}
}

func TestSendReplayQueuesWhatTheFirstRequestDidNot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100001101", "wamid.q1", "hola", t0)
	// The first attempt stores the message but has no queue (as if SQS had refused it).
	status, out := w.post(t, "ana", conv, "key-q", `{"type":"text","text":"hola"}`)
	if status != 202 {
		t.Fatalf("first: %d %v", status, out)
	}
	url := w.withOutbound(t)
	if status, again := w.post(t, "ana", conv, "key-q", `{"type":"text","text":"hola"}`); status != 202 || again["id"] != out["id"] {
		t.Fatalf("retry: %d %v", status, again)
	}
	sends := drain(t, url)
	if len(sends) != 1 || sends[0].MessageID != out["id"] {
		t.Errorf("queued %v, want the first request's message once", sends)
	}
}

func TestSendWithoutOutboundQueueStoresQueued(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100001201", "wamid.n1", "hola", t0)
	status, out := w.post(t, "ana", conv, "", `{"type":"text","text":"hola"}`)
	if status != 202 || out["status"] != "queued" {
		t.Fatalf("%d %v", status, out)
	}
	m, err := w.st.Message(context.Background(), messageKey(conv, out["id"].(string), w.api.now()))
	if err != nil || m.Status != inbox.DeliveryQueued {
		t.Errorf("stored %+v %v", m, err)
	}
}

func TestSendTwilioLimits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	tw := &inbox.Line{ID: "lt", OrgID: w.org, Provider: "twilio", Address: "+1415" + testenv.ID("")[:7], Account: "AC1", DepartmentID: "sales", State: inbox.LineActive}
	if err := w.st.PutLine(ctx, tw); err != nil {
		t.Fatal(err)
	}
	_, err := w.proc.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderTwilio, ReceivedAt: t0,
		Message: &events.Message{ID: "SMin1", Line: events.Line{Address: tw.Address}, From: "5491100001301", Timestamp: t0, Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatal(err)
	}
	conv := inbox.ConversationID(w.org, tw.ID, "5491100001301")
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"text over 1600", `{"type":"text","text":"` + strings.Repeat("a", 1601) + `"}`, 422, "text_too_long"},
		{"text at 1600", `{"type":"text","text":"` + strings.Repeat("a", 1600) + `"}`, 202, ""},
		{"template by name", `{"type":"template","template":{"name":"order_update","language":"es"}}`, 422, "bad_template"},
		{"template by content sid", `{"type":"template","template":{"name":"HXb5b62575e6e4ff6129ad7c8efe1f983e","language":"es","variables":{"1":"Ana"}}}`, 202, ""},
	}
	for _, tc := range tests {
		if status, out := w.post(t, "ana", conv, "", tc.body); status != tc.status || errorCode(out) != tc.code {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, out, tc.status, tc.code)
		}
	}
}
