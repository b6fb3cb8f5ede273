package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/testenv"
	"github.com/buzon/buzon/shared/twilio"
)

const (
	appSecret   = "test-app-secret"
	twilioToken = "test-twilio-token"
	base        = "https://hooks.example.test"
)

func metaSig(body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func twilioSig(u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := u
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func request(method, path, query string, headers map[string]string, body string) lambdaevents.APIGatewayV2HTTPRequest {
	r := lambdaevents.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Headers: headers, Body: body}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.RequestID = testenv.ID("req")
	return r
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../shared/meta/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func twilioForm(t *testing.T, name string) url.Values {
	t.Helper()
	b, err := os.ReadFile("../../shared/twilio/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// drain reads every message now on the queue.
func drain(t *testing.T, client *sqs.Client, u string) []events.Inbound {
	t.Helper()
	var got []events.Inbound
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(u), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			var ev events.Inbound
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev)
		}
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	multi := fixture(t, "multi_entry.json")
	wantMulti, err := meta.Parse(multi, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	nonASCII := fixture(t, "non_ascii.json")
	unknown := fixture(t, "unknown_field.json")
	wantUnknown, err := meta.Parse(unknown, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tw := twilioForm(t, "inbound_text.txt")
	twBody := tw.Encode()
	twSig := twilioSig(base+"/webhooks/twilio", tw)
	// A delivery mixing two good messages with a message without id and a change without its
	// business number; and one whose only change has no business number.
	const good = `{"from":"5491122334455","id":"wamid.g%d","timestamp":"1763632800","type":"text","text":{"body":"hola"}}`
	mixed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[` +
		`{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[` + fmt.Sprintf(good, 1) + `,{"from":"5491122334455","type":"text"},` + fmt.Sprintf(good, 2) + `]}},` +
		`{"field":"messages","value":{"messages":[` + fmt.Sprintf(good, 3) + `]}}]}]}`)
	noNumber := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.x","status":"sent","recipient_id":"1"}]}}]}]}`)
	twNoTo := url.Values{"MessageSid": {"SMnoto"}, "From": {"whatsapp:+5215512345678"}, "Body": {"hola"}, "AccountSid": {"AC1"}}

	tests := []struct {
		name       string
		req        lambdaevents.APIGatewayV2HTTPRequest
		brokenSQS  bool
		noSecrets  bool
		wantStatus int
		wantItems  int
		wantBad    int // of wantItems, the malformed ones
		wantBody   string
	}{
		{name: "handshake", req: request("GET", "/webhooks/meta", "hub.mode=subscribe&hub.verify_token=vt&hub.challenge=1158201444", nil, ""),
			wantStatus: 200, wantBody: "1158201444"},
		{name: "handshake wrong token", req: request("GET", "/webhooks/meta", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", nil, ""),
			wantStatus: 403},
		{name: "meta multi-entry delivery", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(multi)}, string(multi)),
			wantStatus: 200, wantItems: len(wantMulti)},
		{name: "meta base64 body, non-ASCII escapes", req: func() lambdaevents.APIGatewayV2HTTPRequest {
			r := request("POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": metaSig(nonASCII)}, base64.StdEncoding.EncodeToString(nonASCII))
			r.IsBase64Encoded = true
			return r
		}(), wantStatus: 200, wantItems: 1},
		{name: "meta unknown field is kept", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(unknown)}, string(unknown)),
			wantStatus: 200, wantItems: len(wantUnknown)},
		{name: "meta mixed delivery: good items queued, bad ones recorded, 200", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(mixed)}, string(mixed)),
			wantStatus: 200, wantItems: 4, wantBad: 2},
		{name: "meta delivery without a business number: recorded, 200", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(noNumber)}, string(noNumber)),
			wantStatus: 200, wantItems: 1, wantBad: 1},
		{name: "twilio message without To: recorded, 200", req: request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": twilioSig(base+"/webhooks/twilio", twNoTo)}, twNoTo.Encode()),
			wantStatus: 200, wantItems: 1, wantBad: 1, wantBody: "<Response/>"},
		{name: "meta bad signature", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig([]byte("other"))}, string(multi)),
			wantStatus: 401},
		{name: "meta missing signature", req: request("POST", "/webhooks/meta", "", nil, string(multi)), wantStatus: 401},
		{name: "meta signed garbage", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig([]byte("{not json"))}, "{not json"),
			wantStatus: 400},
		{name: "meta too large", req: request("POST", "/webhooks/meta", "", nil, strings.Repeat("x", 3<<20+1)), wantStatus: 413},
		{name: "meta queue down", req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(multi)}, string(multi)),
			brokenSQS: true, wantStatus: 503},
		{name: "twilio inbound", req: request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": twSig}, twBody),
			wantStatus: 200, wantItems: 1, wantBody: "<Response/>"},
		{name: "twilio bad signature", req: request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": "AAAA"}, twBody),
			wantStatus: 401},
		{name: "meta secret not configured", noSecrets: true, req: request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(multi)}, string(multi)),
			wantStatus: 503},
		{name: "twilio token not configured", noSecrets: true, req: request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": twSig}, twBody),
			wantStatus: 503},
		{name: "unknown route", req: request("POST", "/webhooks/other", "", nil, ""), wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := testenv.FIFOQueue(t, 5, 30)
			if tc.brokenSQS {
				u = strings.TrimSuffix(u, ".fifo") + "-missing.fifo"
			}
			cfg := config.Config{MetaAppSecrets: []string{"old-secret", appSecret}, MetaVerifyToken: "vt", TwilioAuthToken: twilioToken,
				PublicBaseURL: base, MaxWebhookBytes: 3 << 20}
			if tc.noSecrets {
				cfg.MetaAppSecrets, cfg.TwilioAuthToken = nil, ""
			}
			h := newHandler(cfg, queue.New(client, u), time.Now)
			resp, err := h.handle(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			if tc.wantBody != "" && resp.Body != tc.wantBody {
				t.Errorf("body = %q, want %q", resp.Body, tc.wantBody)
			}
			if tc.brokenSQS || tc.noSecrets {
				return
			}
			got := drain(t, client, u)
			if len(got) != tc.wantItems {
				t.Errorf("queued %d items, want %d", len(got), tc.wantItems)
			}
			bad := 0
			for _, ev := range got {
				if ev.RequestID != tc.req.RequestContext.RequestID {
					t.Errorf("item request id = %q, want %q", ev.RequestID, tc.req.RequestContext.RequestID)
				}
				if ev.Kind == events.KindMalformed {
					bad++
					if ev.Malformed.Reason == "" || len(ev.Malformed.Raw) == 0 {
						t.Errorf("malformed item without reason or raw JSON: %+v", ev.Malformed)
					}
				}
			}
			if bad != tc.wantBad {
				t.Errorf("queued %d malformed items, want %d", bad, tc.wantBad)
			}
		})
	}
}

func TestWebhookRetryIsDeduplicatedByQueue(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	u, _ := testenv.FIFOQueue(t, 5, 30)
	body := fixture(t, "multi_entry.json")
	want, err := meta.Parse(body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(config.Config{MetaAppSecrets: []string{appSecret}, MaxWebhookBytes: 3 << 20}, queue.New(client, u), time.Now)
	for i := 0; i < 3; i++ {
		resp, _ := h.handle(context.Background(), request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": metaSig(body)}, string(body)))
		if resp.StatusCode != 200 {
			t.Fatalf("delivery %d: status %d", i, resp.StatusCode)
		}
	}
	if got := drain(t, client, u); len(got) != len(want) {
		t.Errorf("queued %d items after 3 identical deliveries, want %d", len(got), len(want))
	}
}

// TestTwilioStatusCarriesOurReference: a status posted to the StatusCallback URL of a send
// (our reference in its query) is verified over that full URL and keeps the reference; the
// same status with the reference changed is refused.
func TestTwilioStatusCarriesOurReference(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	u, _ := testenv.FIFOQueue(t, 5, 30)
	h := newHandler(config.Config{TwilioAuthToken: twilioToken, PublicBaseURL: base, MaxWebhookBytes: 3 << 20}, queue.New(client, u), time.Now)
	form := twilioForm(t, "status_delivered.txt")
	const query = "ref=c_k3fq2w.1763632800123.m_0187a1"
	sig := twilioSig(base+"/webhooks/twilio?"+query, form)
	forged := request("POST", "/webhooks/twilio", "ref=c_other.1.m_x", map[string]string{"x-twilio-signature": sig}, form.Encode())
	if resp, _ := h.handle(context.Background(), forged); resp.StatusCode != 401 {
		t.Errorf("status with another reference: %d, want 401", resp.StatusCode)
	}
	resp, _ := h.handle(context.Background(), request("POST", "/webhooks/twilio", query, map[string]string{"x-twilio-signature": sig}, form.Encode()))
	if resp.StatusCode != 200 {
		t.Fatalf("status: %d %s", resp.StatusCode, resp.Body)
	}
	got := drain(t, client, u)
	if len(got) != 1 || got[0].Status == nil || got[0].Status.Ref != "c_k3fq2w.1763632800123.m_0187a1" {
		t.Errorf("queued %+v, want the status with our reference", got)
	}
}

// TestTwilioRetryAfterA5xx is the retry path of a Twilio line whose webhook URL carries the
// connection overrides README gives (twilio.RetryOverrides): Twilio strips the fragment before
// the request, so the signature covers the URL without it, the one PUBLIC_BASE_URL builds. The
// first attempt meets a queue outage and gets a 503; Twilio's retry carries the same form and
// signature and is accepted; a retry after an answer that got lost is dropped by the queue.
func TestTwilioRetryAfterA5xx(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	u, _ := testenv.FIFOQueue(t, 5, 30)
	cfg := config.Config{TwilioAuthToken: twilioToken, PublicBaseURL: base, MaxWebhookBytes: 3 << 20}
	down := newHandler(cfg, queue.New(client, strings.TrimSuffix(u, ".fifo")+"-missing.fifo"), time.Now)
	up := newHandler(cfg, queue.New(client, u), time.Now)

	const configured = base + "/webhooks/twilio" + twilio.RetryOverrides // as set on the Twilio number
	requested, _, _ := strings.Cut(configured, "#")                      // what Twilio requests and signs
	form := twilioForm(t, "inbound_text.txt")
	req := request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": twilioSig(requested, form)}, form.Encode())

	if resp, _ := down.handle(context.Background(), req); resp.StatusCode != 503 {
		t.Fatalf("attempt during the outage: %d %s, want 503 so that Twilio retries", resp.StatusCode, resp.Body)
	}
	for i := 0; i < 2; i++ {
		if resp, _ := up.handle(context.Background(), req); resp.StatusCode != 200 {
			t.Fatalf("retry %d: %d %s, want 200", i+1, resp.StatusCode, resp.Body)
		}
	}
	if got := drain(t, client, u); len(got) != 1 || got[0].Kind != events.KindMessage {
		t.Errorf("queued %+v after an outage and two retries, want the message once", got)
	}
	// Were the fragment part of the signed URL, no retry would ever verify: keep it out of
	// PUBLIC_BASE_URL.
	withFragment := request("POST", "/webhooks/twilio", "", map[string]string{"x-twilio-signature": twilioSig(configured, form)}, form.Encode())
	if resp, _ := up.handle(context.Background(), withFragment); resp.StatusCode != 401 {
		t.Errorf("signature over the URL with its fragment: %d, want 401", resp.StatusCode)
	}
}

// BenchmarkMetaDelivery measures the webhook's cost per message for a signed Cloud API
// delivery of 10 messages: signature, parsing and the SQS batch send (moto), per message.
func BenchmarkMetaDelivery(b *testing.B) {
	for _, withQueue := range []bool{false, true} {
		name := "verify+parse"
		if withQueue {
			name = "verify+parse+sqs"
		}
		b.Run(name, func(b *testing.B) {
			body := tenMessages()
			sig := metaSig(body)
			var q *queue.Queue
			if withQueue {
				u, _ := testenv.FIFOQueue(b, 5, 30)
				q = queue.New(testenv.SQS(b), u)
			}
			h := newHandler(config.Config{MetaAppSecrets: []string{appSecret}, MaxWebhookBytes: 3 << 20}, q, time.Now)
			req := request("POST", "/webhooks/meta", "", map[string]string{"x-hub-signature-256": sig}, string(body))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !withQueue {
					if err := meta.VerifySignature(body, sig, []byte(appSecret)); err != nil {
						b.Fatal(err)
					}
					if _, err := meta.Parse(body, time.Now()); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if resp, _ := h.handle(context.Background(), req); resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10), "ns/msg")
		})
	}
}

// tenMessages is a Cloud API delivery with ten text messages from ten customers.
func tenMessages() []byte {
	var msgs, contacts []string
	for i := 0; i < 10; i++ {
		wa := fmt.Sprintf("54911000%05d", i)
		contacts = append(contacts, fmt.Sprintf(`{"profile":{"name":"Cliente %d"},"wa_id":"%s"}`, i, wa))
		msgs = append(msgs, fmt.Sprintf(`{"from":"%s","id":"wamid.HBgLNTQ5MTEwMDAw%05d","timestamp":"1763632800","type":"text","text":{"body":"Hola, ¿tienen stock del repuesto %d?"}}`, wa, i, i))
	}
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[` +
		strings.Join(contacts, ",") + `],"messages":[` + strings.Join(msgs, ",") + `]}}]}]}`)
}
