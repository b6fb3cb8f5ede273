// Package e2e runs the local stack as `make dev` does (the real bootstrap binaries behind the
// local gateway, pollers and emulators) and drives it over HTTP as a provider and an agent would.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	localstack "github.com/buzon/buzon/infra/local/stack"
	"github.com/buzon/buzon/shared/queue"
)

const appSecret = "e2e-meta-secret"

type stack struct {
	base    string
	sandbox string
	ws      string // the WebSocket API
	http    *http.Client
	logs    *syncBuffer // what the stack logs
}

// syncBuffer is a bytes.Buffer safe for the stack's writer and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs the local stack with its own ports and waits for its ready line. The emulators
// `make test` started are reused (their ports come from the environment).
func start(t *testing.T, env ...string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: needs the emulators and the built functions (make test)")
	}
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		t.Fatal("AWS_ENDPOINT_URL_DYNAMODB is not set: run `make test`")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := localstack.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	port, sandboxPort, wsPort := ports[0], ports[1], ports[2]
	logs := &syncBuffer{}
	st, err := localstack.Start(context.Background(), root, append([]string{
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("SANDBOX_PORT=%d", sandboxPort),
		fmt.Sprintf("WS_PORT=%d", wsPort),
		"META_APP_SECRET=" + appSecret,
		"TICK_SECONDS=3600",
	}, env...), logs, 4*time.Minute)
	if err != nil {
		t.Fatalf("%v; logs:\n%s", err, tail(logs.String(), 4000))
	}
	t.Cleanup(func() {
		st.Stop()
		if t.Failed() {
			t.Logf("stack logs (tail):\n%s", tail(logs.String(), 4000))
		}
	})
	return &stack{base: fmt.Sprintf("http://127.0.0.1:%d", port), sandbox: fmt.Sprintf("http://127.0.0.1:%d", sandboxPort),
		ws: fmt.Sprintf("ws://127.0.0.1:%d", wsPort), http: &http.Client{Timeout: 30 * time.Second}, logs: logs}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (s *stack) do(t *testing.T, method, path, token string, headers map[string]string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *stack) token(t *testing.T, email string) string {
	t.Helper()
	status, b := s.do(t, "POST", "/local/token", "", nil, []byte(`{"email":"`+email+`"}`))
	if status != 200 {
		t.Fatalf("token for %s: %d %s", email, status, b)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		t.Fatalf("token response %s", b)
	}
	return out.Token
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is a Cloud API webhook for the default seed's Meta line.
func delivery(items string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` + items + `}}]}]}`)
}

type conversation struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	UnreadCount int    `json:"unread_count"`
	AssigneeID  *string
	Contact     struct {
		WaID string `json:"wa_id"`
		Name string `json:"name"`
	} `json:"contact"`
}

// eventually polls f until it returns true or the time runs out (two minutes: room for a
// busy 2-core machine running other suites and the load driver).
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestInboundThroughTheLocalStack(t *testing.T) {
	s := start(t)
	sofia := s.token(t, "sofia@acme.test") // sales agent: the Meta line routes to sales
	diego := s.token(t, "diego@acme.test") // support agent

	wa := fmt.Sprintf("54911%08d", time.Now().UnixNano()%1e8)
	ts := time.Now().Unix()
	msg := func(id string, at int64, text string) string {
		return fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"%s"}}`, wa, id, at, text)
	}
	first := delivery(`"contacts":[{"profile":{"name":"Lucía"},"wa_id":"` + wa + `"}],"messages":[` + msg("wamid.e2e1"+wa, ts, "hola") + `,` + msg("wamid.e2e2"+wa, ts+1, "¿tienen stock?") + `]`)

	// Bad signature, garbage, then the real delivery three times (provider retries).
	if status, _ := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign([]byte("x"))}, first); status != 401 {
		t.Errorf("bad signature: %d, want 401", status)
	}
	if status, _ := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign([]byte("nope"))}, []byte("nope")); status != 400 {
		t.Errorf("garbage: %d, want 400", status)
	}
	for i := 0; i < 3; i++ {
		if status, b := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign(first)}, first); status != 200 {
			t.Fatalf("delivery %d: %d %s", i, status, b)
		}
	}

	var conv conversation
	eventually(t, "the conversation in sofia's default view", func() bool {
		status, b := s.do(t, "GET", "/v1/conversations", sofia, nil, nil)
		if status != 200 {
			t.Fatalf("list: %d %s", status, b)
		}
		var page struct{ Items []conversation }
		_ = json.Unmarshal(b, &page)
		for _, c := range page.Items {
			if c.Contact.WaID == wa && c.UnreadCount == 2 {
				conv = c
				return true
			}
		}
		return false
	})
	if conv.Contact.Name != "Lucía" {
		t.Errorf("contact name = %q, want Lucía", conv.Contact.Name)
	}
	status, b := s.do(t, "GET", "/v1/conversations", diego, nil, nil)
	if status != 200 || strings.Contains(string(b), conv.ID) {
		t.Errorf("support agent sees the sales conversation: %d %s", status, b)
	}
	status, b = s.do(t, "GET", "/v1/conversations/"+conv.ID+"/messages", sofia, nil, nil)
	var thread struct {
		Items []struct {
			Kind, Text, Type string
		}
	}
	if err := json.Unmarshal(b, &thread); status != 200 || err != nil {
		t.Fatalf("thread: %d %s", status, b)
	}
	var texts []string
	for _, e := range thread.Items {
		if e.Kind == "message" {
			texts = append(texts, e.Text)
		}
	}
	if strings.Join(texts, "|") != "hola|¿tienen stock?" {
		t.Errorf("thread = %q, want exactly the two messages in order", texts)
	}
	p := "/v1/conversations/" + conv.ID
	if status, b := s.do(t, "POST", p+"/claim", sofia, nil, nil); status != 200 {
		t.Fatalf("claim: %d %s", status, b)
	}

	// The answer goes queued → sent → delivered → read through the provider sandbox, which
	// posts signed status webhooks back.
	status, b = s.do(t, "POST", p+"/messages", sofia, map[string]string{"Idempotency-Key": "reply-1"}, []byte(`{"type":"text","text":"¡Sí! ¿Qué modelo?"}`))
	if status != 202 {
		t.Fatalf("reply: %d %s", status, b)
	}
	var reply struct{ ID, Status string }
	_ = json.Unmarshal(b, &reply)
	if reply.Status != "queued" {
		t.Errorf("reply status = %q, want queued", reply.Status)
	}
	eventually(t, "the reply read", func() bool {
		_, b := s.do(t, "GET", p+"/messages", sofia, nil, nil)
		var th struct{ Items []struct{ ID, Status string } }
		_ = json.Unmarshal(b, &th)
		for _, e := range th.Items {
			if e.ID == reply.ID {
				return e.Status == "read"
			}
		}
		return false
	})

	// Transfer to support, close there, and the customer's next message opens a new cycle.
	steps := []struct {
		token, path, body string
	}{
		{sofia, p + "/transfer", `{"department_id":"support"}`},
		{diego, p + "/claim", ``},
		{diego, p + "/close", `{"reason":"resuelto"}`},
	}
	for _, st := range steps {
		if status, b := s.do(t, "POST", st.path, st.token, nil, []byte(st.body)); status != 200 {
			t.Fatalf("%s: %d %s", st.path, status, b)
		}
	}
	resp, err := s.http.Post(s.sandbox+"/sandbox/customer", "application/json",
		strings.NewReader(`{"line":"meta","phone_number_id":"106540352242922","from":"`+wa+`","name":"Lucía","text":"otra consulta"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sandbox customer: %d", resp.StatusCode)
	}
	eventually(t, "the conversation reopened in sales", func() bool {
		_, b := s.do(t, "GET", p, sofia, nil, nil)
		var c struct {
			Status       string
			Cycle        int
			DepartmentID string `json:"department_id"`
		}
		_ = json.Unmarshal(b, &c)
		return c.Status == "open" && c.Cycle == 2 && c.DepartmentID == "sales"
	})

	// The same stack, for templates: synced from the sandbox when it started.
	templatesRoundTrip(t, s)
	// And for automatic assignment, run by the assign function as a conversation opens.
	assignmentRoundTrip(t, s)
	// And for deliveries with unreadable parts.
	malformedRoundTrip(t, s)
	// And for a send function killed between the provider's acceptance and saving it.
	crashRoundTrip(t, s)
}

// crashRoundTrip kills the send function's processes while the provider sandbox, which
// accepted the message and posts its statuses, holds its answer (accept_timeout): the crash
// between the provider call and the save. The message ends read, the record redelivered after
// the visibility timeout finds it sent, and the sandbox got it once.
func crashRoundTrip(t *testing.T, s *stack) {
	sofia := s.token(t, "sofia@acme.test")
	wa := fmt.Sprintf("54911%08d", (time.Now().UnixNano()+13)%1e8)
	in := delivery(`"contacts":[{"profile":{"name":"Rosa"},"wa_id":"` + wa + `"}],"messages":[{"from":"` + wa + `","id":"wamid.cr` + wa + `","timestamp":"` + fmt.Sprint(time.Now().Unix()) + `","type":"text","text":{"body":"hola"}}]`)
	if status, b := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign(in)}, in); status != 200 {
		t.Fatalf("delivery: %d %s", status, b)
	}
	var convID string
	eventually(t, "the crash test's conversation", func() bool {
		_, b := s.do(t, "GET", "/v1/conversations", sofia, nil, nil)
		var page struct{ Items []conversation }
		_ = json.Unmarshal(b, &page)
		for _, c := range page.Items {
			if c.Contact.WaID == wa {
				convID = c.ID
				return true
			}
		}
		return false
	})
	p := "/v1/conversations/" + convID
	if status, b := s.do(t, "POST", p+"/claim", sofia, nil, nil); status != 200 {
		t.Fatalf("claim: %d %s", status, b)
	}
	resp, err := s.http.Post(s.sandbox+"/sandbox/fail", "application/json", strings.NewReader(`{"mode":"accept_timeout","count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, b := s.do(t, "POST", p+"/messages", sofia, map[string]string{"Idempotency-Key": "crash-1"}, []byte(`{"type":"text","text":"¿Seguís ahí?"}`))
	if status != 202 {
		t.Fatalf("send: %d %s", status, b)
	}
	var msg struct{ ID string }
	_ = json.Unmarshal(b, &msg)
	sends := func() int {
		resp, err := s.http.Get(s.sandbox + "/sandbox/messages")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Messages []struct{ Request json.RawMessage }
		}
		_ = json.NewDecoder(resp.Body).Decode(&page)
		n := 0
		for _, m := range page.Messages {
			if strings.Contains(string(m.Request), msg.ID) {
				n++
			}
		}
		return n
	}
	eventually(t, "the send accepted at the sandbox", func() bool { return sends() == 1 })
	killed := 0
	for _, pid := range descendants(t, "/send/bootstrap") {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no send process of this stack to kill")
	}
	eventually(t, "the message read through its status callbacks", func() bool {
		_, b := s.do(t, "GET", p+"/messages", sofia, nil, nil)
		var th struct{ Items []struct{ ID, Status string } }
		_ = json.Unmarshal(b, &th)
		for _, e := range th.Items {
			if e.ID == msg.ID {
				return e.Status == "read"
			}
		}
		return false
	})
	// The killed invocation's record comes back after the visibility timeout (30 s locally).
	eventually(t, "the redelivered record finding the message sent", func() bool {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(line, `"already sent"`) && strings.Contains(line, msg.ID) {
				return true
			}
		}
		return false
	})
	if n := sends(); n != 1 {
		t.Errorf("%d sends at the sandbox after the crash, want 1", n)
	}
}

// descendants are the processes under this test process whose executable path ends with
// suffix: the functions of the stack this test started, not another test's.
func descendants(t *testing.T, suffix string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	var match []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: the command may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		parent[pid], _ = strconv.Atoi(fields[1])
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && strings.HasSuffix(exe, suffix) {
			match = append(match, pid)
		}
	}
	var out []int
	for _, pid := range match {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == os.Getpid() {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// malformedRoundTrip posts a signed delivery that mixes two good messages with a message
// without an id and a change without its business number, twice (a provider retry), and a
// delivery with no business number at all: each is answered 200, the good messages are in
// the thread once, and every bad part is in the inbound dead-letter queue with its reason.
func malformedRoundTrip(t *testing.T, s *stack) {
	sofia := s.token(t, "sofia@acme.test")
	wa := fmt.Sprintf("54911%08d", (time.Now().UnixNano()+7)%1e8)
	ts := time.Now().Unix()
	msg := func(id string, at int64, text string) string {
		return fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"%s"}}`, wa, id, at, text)
	}
	noID := `{"from":"` + wa + `","type":"text","text":{"body":"sin id"}}`
	mixed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[` +
		`{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[` + msg("wamid.mx1"+wa, ts, "uno") + `,` + noID + `,` + msg("wamid.mx2"+wa, ts+1, "dos") + `]}},` +
		`{"field":"messages","value":{"messages":[` + msg("wamid.mx3"+wa, ts+2, "sin línea") + `]}}]}]}`)
	noNumber := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.nn` + wa + `","status":"sent","recipient_id":"` + wa + `"}]}}]}]}`)
	for i, body := range [][]byte{mixed, mixed, noNumber} {
		if status, b := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign(body)}, body); status != 200 {
			t.Fatalf("delivery %d: %d %s, want 200", i, status, b)
		}
	}
	var convID string
	eventually(t, "the good messages of the mixed delivery", func() bool {
		_, b := s.do(t, "GET", "/v1/conversations", sofia, nil, nil)
		var page struct{ Items []conversation }
		_ = json.Unmarshal(b, &page)
		for _, c := range page.Items {
			if c.Contact.WaID == wa && c.UnreadCount == 2 {
				convID = c.ID
				return true
			}
		}
		return false
	})
	_, b := s.do(t, "GET", "/v1/conversations/"+convID+"/messages", sofia, nil, nil)
	var thread struct{ Items []struct{ Kind, Text string } }
	_ = json.Unmarshal(b, &thread)
	var texts []string
	for _, e := range thread.Items {
		if e.Kind == "message" {
			texts = append(texts, e.Text)
		}
	}
	if strings.Join(texts, "|") != "uno|dos" {
		t.Errorf("thread = %q, want the two good messages once each", texts)
	}

	dlq := inboundDLQ(t)
	want := map[string]string{ // a part of each bad item's raw JSON → part of its reason
		`sin id`:               "messages[1]: meta: invalid webhook delivery: id missing",
		`wamid.mx3` + wa:       "changes[1]: meta: invalid webhook delivery: no business number",
		`"wamid.nn` + wa + `"`: "changes[0]: meta: invalid webhook delivery: no business number",
	}
	eventually(t, "the bad parts in the inbound dead-letter queue", func() bool {
		dead, err := dlq.Peek(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]int{}
		for _, d := range dead {
			for marker, reason := range want {
				if strings.Contains(d.Body, marker) && strings.Contains(d.Reason, reason) {
					found[marker]++
				}
			}
		}
		for marker := range want {
			if found[marker] != 1 {
				return false
			}
		}
		return true
	})
}

// inboundDLQ is the local stack's inbound dead-letter queue on the emulator the tests use.
func inboundDLQ(t *testing.T) *queue.Queue {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	out, err := client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("inbound-dlq.fifo")})
	if err != nil {
		t.Fatal(err)
	}
	return queue.New(client, aws.ToString(out.QueueUrl))
}

// templatesRoundTrip checks the template sync against the provider sandbox (order_update
// APPROVED, welcome_back PENDING, promo_blast REJECTED): only the approved one starts a
// conversation, with its body filled in as its text, and a status webhook approves the
// pending one at once.
func templatesRoundTrip(t *testing.T, s *stack) {
	admin := s.token(t, "admin@acme.test")
	statuses := func() map[string]string {
		_, b := s.do(t, "GET", "/v1/templates?line_id=line-meta", admin, nil, nil)
		var page struct {
			Items []struct{ Name, Status string }
		}
		_ = json.Unmarshal(b, &page)
		out := map[string]string{}
		for _, it := range page.Items {
			out[it.Name] = it.Status
		}
		return out
	}
	eventually(t, "the templates synced at start", func() bool {
		st := statuses()
		return st["order_update"] == "APPROVED" && st["welcome_back"] == "PENDING" && st["promo_blast"] == "REJECTED"
	})
	if status, b := s.do(t, "POST", "/v1/templates/sync", admin, nil, nil); status != 200 || !strings.Contains(string(b), `"templates":3`) {
		t.Errorf("sync now: %d %s", status, b)
	}

	start := func(to, template string) (int, []byte) {
		return s.do(t, "POST", "/v1/conversations", admin, nil, []byte(`{"line_id":"line-meta","to":"`+to+`","template":`+template+`}`))
	}
	n := time.Now().UnixNano() % 1e8
	to, other := fmt.Sprintf("+54911%08d", n), fmt.Sprintf("+54911%08d", (n+1)%1e8)
	status, b := start(to, `{"name":"order_update","language":"es_AR","variables":{"1":"Lucía","2":"#4521"}}`)
	if status != 201 || !strings.Contains(string(b), `"text":"Hola Lucía, tu pedido #4521 ya está en camino."`) {
		t.Fatalf("start with the approved template: %d %s", status, b)
	}
	eventually(t, "the template at the sandbox", func() bool {
		resp, err := s.http.Get(s.sandbox + "/sandbox/messages")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `order_update`)
	})
	status, b = start(other, `{"name":"welcome_back","language":"es","variables":{"customer_name":"Lucía"}}`)
	if status != 422 || !strings.Contains(string(b), `"template_status":"PENDING"`) {
		t.Errorf("start with the pending template: %d %s, want 422 naming PENDING", status, b)
	}

	hook := []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":%d,"changes":[{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1001001001001002,"message_template_name":"welcome_back","message_template_language":"es","reason":"NONE"}}]}]}`, time.Now().Unix()+1))
	if status, b := s.do(t, "POST", "/webhooks/meta", "", map[string]string{"X-Hub-Signature-256": sign(hook)}, hook); status != 200 {
		t.Fatalf("template status webhook: %d %s", status, b)
	}
	eventually(t, "welcome_back approved by its webhook", func() bool { return statuses()["welcome_back"] == "APPROVED" })
	if status, b := start(other, `{"name":"welcome_back","language":"es","variables":{"customer_name":"Lucía"}}`); status != 201 {
		t.Errorf("start with the approved template: %d %s", status, b)
	}
}

// assignmentRoundTrip gives the Twilio line (support) the least-loaded rule with the admin
// away: a new customer's conversation opens assigned to diego, the one eligible agent.
func assignmentRoundTrip(t *testing.T, s *stack) {
	admin, diego := s.token(t, "admin@acme.test"), s.token(t, "diego@acme.test")
	status, b := s.do(t, "GET", "/v1/me", admin, nil, nil)
	var me struct{ ID string }
	if err := json.Unmarshal(b, &me); status != 200 || err != nil {
		t.Fatalf("me: %d %s", status, b)
	}
	for _, step := range []struct{ path, body string }{
		{"/v1/users/" + me.ID + "/availability", `{"available":false}`},
		{"/v1/lines/line-twilio/rules", `{"rules":[{"type":"least_loaded"}]}`},
	} {
		if status, b := s.do(t, "PUT", step.path, admin, nil, []byte(step.body)); status != 200 {
			t.Fatalf("PUT %s: %d %s", step.path, status, b)
		}
	}
	from := fmt.Sprintf("+54911%08d", time.Now().UnixNano()%1e8)
	resp, err := s.http.Post(s.sandbox+"/sandbox/customer", "application/json",
		strings.NewReader(`{"line":"twilio","to":"+14155238886","from":"`+from+`","name":"Tomás","text":"hola"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sandbox customer: %d", resp.StatusCode)
	}
	eventually(t, "the new conversation assigned to diego by least_loaded", func() bool {
		_, b := s.do(t, "GET", "/v1/conversations?view=mine", diego, nil, nil)
		var page struct {
			Items []struct {
				Contact struct {
					WaID string `json:"wa_id"`
				}
				Route string
			}
		}
		_ = json.Unmarshal(b, &page)
		for _, c := range page.Items {
			if "+"+c.Contact.WaID == from {
				return c.Route == "least_loaded"
			}
		}
		return false
	})
}
