package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/provider"
	"github.com/buzon/buzon/shared/twilio"
)

const (
	appSecret   = "meta-secret"
	accessToken = "meta-token"
	twilioToken = "twilio-token"
	publicBase  = "https://buzon.example.com"
	account     = "AC00000000000000000000000000000001"
)

// receiver is the webhook endpoint: it checks every signature as the webhook function does and
// keeps what the parsers make of the deliveries.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []events.Inbound
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var got []events.Inbound
	switch r.URL.Path {
	case "/webhooks/meta":
		if err := meta.VerifySignature(body, r.Header.Get("X-Hub-Signature-256"), []byte(appSecret)); err != nil {
			rc.t.Errorf("meta webhook signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		items, err := meta.Parse(body, time.Now())
		if err != nil {
			rc.t.Errorf("meta webhook: %v: %s", err, body)
		}
		got = items
	case "/webhooks/twilio":
		form, _ := url.ParseQuery(string(body))
		// Signed against the public URL, whatever address it was posted to.
		if err := twilio.VerifySignature(publicBase+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature"), twilioToken); err != nil {
			rc.t.Errorf("twilio webhook signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		item := twilio.Parse(form, time.Now())
		if item.Kind == events.KindMalformed {
			rc.t.Errorf("twilio webhook: %s: %s", item.Malformed.Reason, body)
		}
		if item.Status != nil {
			item.Status.Ref = r.URL.Query().Get(twilio.RefParam) // as the webhook function does
		}
		got = []events.Inbound{item}
	default:
		rc.t.Errorf("webhook posted to %s", r.URL.Path)
	}
	rc.mu.Lock()
	rc.events = append(rc.events, got...)
	rc.mu.Unlock()
}

// statuses returns "id status" of every status received, sorted.
func (rc *receiver) statuses() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		if e.Status != nil {
			out = append(out, e.Status.MessageID+" "+e.Status.Status)
		}
	}
	sort.Strings(out)
	return out
}

type fixture struct {
	sb   *Sandbox
	srv  *httptest.Server
	rc   *receiver
	meta *meta.Client
	tw   *twilio.Client
}

func newFixture(t *testing.T, opt Options) *fixture {
	t.Helper()
	rc := &receiver{t: t}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	opt.WebhookURL, opt.PublicBaseURL = hook.URL, publicBase
	opt.MetaAppSecret, opt.MetaAccessToken, opt.TwilioAuthToken = appSecret, accessToken, twilioToken
	opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opt.StatusDelay == 0 {
		opt.StatusDelay = 5 * time.Millisecond
	}
	sb := New(opt)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &fixture{
		sb: sb, srv: srv, rc: rc,
		meta: &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: accessToken, HTTP: &http.Client{Timeout: 2 * time.Second}},
		tw:   &twilio.Client{BaseURL: srv.URL, AuthToken: twilioToken, StatusCallback: publicBase + "/webhooks/twilio", HTTP: &http.Client{Timeout: 2 * time.Second}},
	}
}

var (
	metaLine   = &inbox.Line{Provider: "meta", Address: "106540352242922"}
	twilioLine = &inbox.Line{Provider: "twilio", Address: "+14155238886", Account: account}
	text       = &inbox.Message{Type: "text", Text: "¡Hola!"}
)

func TestMetaSendPostsSignedStatuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	id, err := f.meta.Send(context.Background(), metaLine, "54911555500001", text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "wamid.HBg") {
		t.Errorf("id %q is not shaped like a wamid", id)
	}
	f.sb.Wait()
	want := []string{id + " delivered", id + " read", id + " sent"}
	if diff := cmp.Diff(want, f.rc.statuses()); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	for _, e := range f.rc.events {
		if e.Status.Line.Address != metaLine.Address || e.Status.RecipientID != "54911555500001" {
			t.Errorf("status %+v: want line %s, recipient 54911555500001", e.Status, metaLine.Address)
		}
	}
}

func TestTwilioSendPostsSignedStatuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	sid, err := f.tw.Send(context.Background(), twilioLine, "5491155550002", text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sid, "SM") || len(sid) != 34 {
		t.Errorf("sid %q is not shaped like a Message SID", sid)
	}
	f.sb.Wait()
	want := []string{sid + " delivered", sid + " read", sid + " sent"}
	if diff := cmp.Diff(want, f.rc.statuses()); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	for _, e := range f.rc.events {
		if e.Status.Line.Address != twilioLine.Address || e.Status.RecipientID != "5491155550002" {
			t.Errorf("status %+v: want line %s, recipient 5491155550002", e.Status, twilioLine.Address)
		}
	}
}

// TestStatusesNameOurMessage: the statuses of a stored message carry its Ref, as the providers
// echo it (Meta's biz_opaque_callback_data; the query of the message's Twilio StatusCallback,
// posted and signed without the connection-override fragment).
func TestStatusesNameOurMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.tw.StatusCallback += "#rc=5&rp=5xx,ct,rt"
	m := &inbox.Message{ID: "m_1", ConversationID: "c_abc", At: time.UnixMilli(1763632800123), Type: "text", Text: "¿Llegó?"}
	if _, err := f.meta.Send(context.Background(), metaLine, "54911555500004", m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tw.Send(context.Background(), twilioLine, "5491155550004", m); err != nil {
		t.Fatal(err)
	}
	f.sb.Wait()
	f.rc.mu.Lock()
	defer f.rc.mu.Unlock()
	if len(f.rc.events) != 6 {
		t.Fatalf("%d statuses, want 6", len(f.rc.events))
	}
	for _, e := range f.rc.events {
		if e.Status == nil || e.Status.Ref != m.Ref() {
			t.Errorf("%s status %+v: want the reference %q", e.Provider, e.Status, m.Ref())
		}
	}
}

func TestFailureSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      string
		send      func(f *fixture) (string, error)
		wantCode  int
		wantRetry bool
		wantUnc   bool     // the client cannot tell whether the send was accepted
		wantAsync []string // statuses after an accepted send: "failed <code>"
		accepted  bool     // accepted although the client got no answer: recorded, statuses posted
	}{
		{name: "meta 429", fail: `{"mode":"429"}`, send: metaSend, wantCode: 130429, wantRetry: true},
		{name: "meta 500", fail: `{"mode":"500"}`, send: metaSend, wantCode: 131000, wantRetry: true},
		{name: "meta window", fail: `{"mode":"window"}`, send: metaSend, wantAsync: []string{"failed 131047"}},
		{name: "meta timeout", fail: `{"mode":"timeout"}`, send: metaSend, wantUnc: true},
		{name: "meta accept_timeout", fail: `{"mode":"accept_timeout"}`, send: metaSend, wantUnc: true, accepted: true},
		{name: "meta accept_reset", fail: `{"mode":"accept_reset"}`, send: metaSend, wantUnc: true, accepted: true},
		{name: "twilio 429", fail: `{"mode":"429"}`, send: twilioSend, wantCode: 20429, wantRetry: true},
		{name: "twilio 500", fail: `{"mode":"500"}`, send: twilioSend, wantCode: 20500, wantRetry: true},
		{name: "twilio window", fail: `{"mode":"window","count":1}`, send: twilioSend, wantAsync: []string{"failed 63016"}},
		{name: "twilio timeout", fail: `{"mode":"timeout"}`, send: twilioSend, wantUnc: true},
		{name: "twilio accept_timeout", fail: `{"mode":"accept_timeout"}`, send: twilioSend, wantUnc: true, accepted: true},
		{name: "twilio accept_reset", fail: `{"mode":"accept_reset"}`, send: twilioSend, wantUnc: true, accepted: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{TimeoutAfter: 5 * time.Second})
			// Long enough that the request is surely written first, even on a loaded machine; shorter
			// than the sandbox holds a "timeout".
			f.meta.HTTP.Timeout, f.tw.HTTP.Timeout = 2*time.Second, 2*time.Second
			setFail(t, f, tc.fail, http.StatusOK)
			_, err := tc.send(f)
			if tc.wantAsync != nil {
				if err != nil {
					t.Fatalf("send = %v, want accepted", err)
				}
				f.sb.Wait()
				var got []string
				for _, e := range f.rc.events {
					got = append(got, e.Status.Status+" "+itoa(e.Status.Errors))
				}
				if diff := cmp.Diff(tc.wantAsync, got); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
			} else {
				code, retry, unc := sendErr(t, err)
				if code != tc.wantCode || retry != tc.wantRetry || unc != tc.wantUnc {
					t.Errorf("send error %v: code %d retryable %v uncertain %v, want %d %v %v", err, code, retry, unc, tc.wantCode, tc.wantRetry, tc.wantUnc)
				}
				f.sb.Wait()
				var want []string
				if tc.accepted {
					want = []string{"delivered", "read", "sent"}
				}
				var got []string
				for _, e := range f.rc.events {
					got = append(got, e.Status.Status)
				}
				sort.Strings(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("statuses posted (-want +got):\n%s", diff)
				}
				if n := len(f.sb.Sent()); tc.accepted != (n == 1) {
					t.Errorf("%d sends recorded, want accepted = %v", n, tc.accepted)
				}
			}
			// One failure was asked for: the next send goes through.
			if _, err := tc.send(f); err != nil {
				t.Errorf("second send = %v, want accepted", err)
			}
		})
	}
}

func metaSend(f *fixture) (string, error) {
	return f.meta.Send(context.Background(), metaLine, "54911555500003", text)
}

func twilioSend(f *fixture) (string, error) {
	return f.tw.Send(context.Background(), twilioLine, "5491155550003", text)
}

func itoa(errs []events.ProviderError) string {
	if len(errs) == 0 {
		return "-"
	}
	b, _ := json.Marshal(errs[0].Code)
	return string(b)
}

// sendErr returns the provider code, retryability and uncertainty of a send error.
func sendErr(t *testing.T, err error) (int, bool, bool) {
	t.Helper()
	var se *provider.SendError
	if errors.As(err, &se) {
		return se.Code, se.Retryable, se.Uncertain
	}
	t.Fatalf("send error = %v, want a provider SendError", err)
	return 0, false, false
}

func setFail(t *testing.T, f *fixture, body string, want int) Fail {
	t.Helper()
	resp, err := http.Post(f.srv.URL+"/sandbox/fail", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST /sandbox/fail %s = %d, want %d", body, resp.StatusCode, want)
	}
	var got Fail
	_ = json.NewDecoder(resp.Body).Decode(&got)
	return got
}

func TestFailCountAndUntilOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Fail: Fail{Mode: FailServer, Count: 2}})
	for i, wantErr := range []bool{true, true, false} {
		if _, err := metaSend(f); (err != nil) != wantErr {
			t.Errorf("send %d = %v, want error %v", i, err, wantErr)
		}
	}
	setFail(t, f, `{"mode":"429","count":-1}`, http.StatusOK)
	for i := 0; i < 3; i++ {
		if _, err := twilioSend(f); err == nil {
			t.Errorf("send %d accepted while failing until switched off", i)
		}
	}
	setFail(t, f, `{"mode":"off"}`, http.StatusOK)
	if _, err := twilioSend(f); err != nil {
		t.Errorf("after off: %v", err)
	}
	setFail(t, f, `{"mode":"explode"}`, http.StatusBadRequest)
}

func TestParseFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Fail
		wantErr bool
	}{
		{"", Fail{}, false},
		{"off", Fail{}, false},
		{"429", Fail{Mode: "429", Count: 1}, false},
		{"500:3", Fail{Mode: "500", Count: 3}, false},
		{"WINDOW:-1", Fail{Mode: "window", Count: -1}, false},
		{"timeout:0", Fail{}, true},
		{"429:x", Fail{}, true},
		{"503", Fail{}, true},
	}
	for _, tc := range tests {
		got, err := ParseFail(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseFail(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadFail) {
			t.Errorf("ParseFail(%q) error %v is not ErrBadFail", tc.in, err)
		}
	}
}

func TestCustomerMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	tests := []struct {
		name, body string
		want       events.Message
	}{
		{"meta", `{"line":"meta","phone_number_id":"106540352242922","from":"5491155550004","name":"Lucía","text":"¿tienen talle M?"}`,
			events.Message{Line: events.Line{Address: "106540352242922"}, From: "5491155550004", ProfileName: "Lucía", Type: "text", Text: "¿tienen talle M?"}},
		{"twilio", `{"line":"twilio","to":"+14155238886","from":"+5491155550005","name":"Tomás","text":"hola"}`,
			events.Message{Line: events.Line{Address: "+14155238886"}, From: "5491155550005", ProfileName: "Tomás", Type: "text", Text: "hola"}},
	}
	for _, tc := range tests {
		resp, err := http.Post(f.srv.URL+"/sandbox/customer", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ID            string `json:"id"`
			WebhookStatus int    `json:"webhook_status"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out.WebhookStatus != 200 || out.ID == "" {
			t.Fatalf("%s: %d %+v", tc.name, resp.StatusCode, out)
		}
		f.rc.mu.Lock()
		last := f.rc.events[len(f.rc.events)-1]
		f.rc.mu.Unlock()
		if last.Kind != events.KindMessage || last.Message.ID != out.ID {
			t.Fatalf("%s: webhook carried %+v, want message %s", tc.name, last, out.ID)
		}
		got := *last.Message
		got.ID, got.Timestamp, got.Raw, got.Line.Display, got.Line.Account = "", time.Time{}, nil, "", ""
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: message (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, bad := range []string{`{"line":"meta","from":"549","text":"x"}`, `{"line":"fax","from":"549","text":"x"}`, `{"line":"meta","phone_number_id":"1","text":"x"}`} {
		resp, err := http.Post(f.srv.URL+"/sandbox/customer", "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestTemplatesArePaged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	next := f.srv.URL + "/v23.0/102290129340398/message_templates?limit=2&fields=name,status"
	var got []string
	for pages := 0; next != "" && pages < 5; pages++ {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+accessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Data []struct {
				Name, Status, Language, Category string
				Components                       []map[string]any
			}
			Paging struct {
				Next string
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("page: %d %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		for _, d := range page.Data {
			if len(d.Components) == 0 || d.Language == "" || d.Category == "" {
				t.Errorf("template %s lacks language, category or components", d.Name)
			}
			got = append(got, d.Name+" "+d.Status)
		}
		next = page.Paging.Next
	}
	want := []string{"order_update APPROVED", "welcome_back PENDING", "promo_blast REJECTED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
}

func TestCredentialsAreChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.meta.Token = "wrong"
	if code, retry, _ := sendErr(t, func() error { _, err := metaSend(f); return err }()); code != 190 || retry {
		t.Errorf("meta wrong token: %d %v, want 190 permanent", code, retry)
	}
	f.tw.AuthToken = "wrong"
	if code, retry, _ := sendErr(t, func() error { _, err := twilioSend(f); return err }()); code != 20003 || retry {
		t.Errorf("twilio wrong token: %d %v, want 20003 permanent", code, retry)
	}
}

func TestSentMessagesAreListed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	id, err := metaSend(f)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.srv.URL + "/sandbox/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Messages []Sent }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Messages) != 1 || out.Messages[0].ID != id || out.Messages[0].To != "54911555500003" {
		t.Errorf("GET /sandbox/messages = %+v, %v; want the one send", out, err)
	}
}
