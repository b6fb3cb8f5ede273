package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coder/websocket"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

const jwtKey = "e2e-realtime-key"

// event is what a client reads of a pushed event.
type event struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Conversation   *struct {
		ID         string  `json:"id"`
		Badge      string  `json:"badge"`
		AssigneeID *string `json:"assignee_id"`
	} `json:"conversation"`
	Message *struct {
		ID, Text, Status, Direction string
	} `json:"message"`
	Note *struct {
		Details map[string]string `json:"details"`
	} `json:"note"`
	Notification *struct{ Kind string } `json:"notification"`
	Typing       *struct {
		UserName string `json:"user_name"`
	} `json:"typing"`
}

// client is one agent's socket; it keeps every event it read.
type client struct {
	name string
	conn *websocket.Conn
	mu   sync.Mutex
	evs  []event
	done chan struct{}
}

func (s *stack) connect(t *testing.T, name, token string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.ws+"/?token="+token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: connect: %d %v", name, status, err)
	}
	c := &client{name: name, conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var evs []event
			if err := json.Unmarshal(b, &evs); err != nil {
				t.Errorf("%s: a frame that is not an array of events: %s", name, b)
				continue
			}
			c.mu.Lock()
			c.evs = append(c.evs, evs...)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *client) events() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.evs)
}

// has reports whether c got an event of type typ about conv that passes ok.
func (c *client) has(typ, conv string, ok func(event) bool) bool {
	for _, e := range c.events() {
		if e.Type == typ && e.ConversationID == conv && (ok == nil || ok(e)) {
			return true
		}
	}
	return false
}

// send writes a client message and waits for the answer of that id.
func (c *client) send(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("%s: send: %v", c.name, err)
	}
}

// forge signs claims with the stack's key (LOCAL_JWT_KEY), as only the issuer can.
func forge(claims map[string]any, key string) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func (s *stack) customer(t *testing.T, phoneNumberID, from, text string) {
	t.Helper()
	resp, err := s.http.Post(s.sandbox+"/sandbox/customer", "application/json",
		strings.NewReader(`{"line":"meta","phone_number_id":"`+phoneNumberID+`","from":"`+from+`","name":"Lucía","text":"`+text+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sandbox customer: %d", resp.StatusCode)
	}
}

// TestRealtimeIsolation drives two organizations through the local stack over real sockets:
// every event type reaches exactly the users the API would show the conversation to.
func TestRealtimeIsolation(t *testing.T) {
	s := start(t, "SEED_FILE=e2e/testdata/realtime-seed.json", "LOCAL_JWT_KEY="+jwtKey)

	// Refused at $connect: no token, a forged one, an expired one, one of another issuer.
	now := time.Now().Unix()
	good := map[string]any{"sub": "u_sofia_at_rta_test", "custom:org_id": "rta", "iss": "buzon-local", "aud": "buzon-local-console",
		"token_use": "id", "iat": now, "exp": now + 3600}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	for name, tok := range map[string]string{
		"no token":       "",
		"forged":         forge(good, "not-the-key"),
		"expired":        forge(with("exp", now-10), jwtKey),
		"other issuer":   forge(with("iss", "https://cognito-idp.example"), jwtKey),
		"access for id":  forge(with("token_use", "refresh"), jwtKey),
		"other audience": forge(with("aud", "other-client"), jwtKey),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, resp, err := websocket.Dial(ctx, s.ws+"/?token="+tok, nil)
		cancel()
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: connected or not 401 (%v)", name, err)
		}
	}
	if c := s.connect(t, "forged-valid", forge(good, jwtKey)); c == nil {
		t.Fatal("a valid token was refused")
	}

	// GET /v1/realtime tells clients where to connect.
	adminA := s.token(t, "admin@rta.test")
	status, b := s.do(t, "GET", "/v1/realtime", adminA, nil, nil)
	if status != 200 || !strings.Contains(string(b), s.ws) {
		t.Errorf("GET /v1/realtime: %d %s, want %s", status, b, s.ws)
	}

	tokens := map[string]string{}
	clients := map[string]*client{}
	for _, who := range []string{"admin@rta.test", "sofia@rta.test", "seller@rta.test", "diego@rta.test", "admin@rtb.test", "sofia@rtb.test"} {
		tokens[who] = s.token(t, who)
		clients[who] = s.connect(t, who, tokens[who])
	}
	// A connection whose socket is gone without a $disconnect (a crashed gateway node): its
	// item in sales must be deleted at the first 410.
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }), "buzon", nil)
	ghost := &inbox.User{ID: "u_sofia_at_rta_test", OrgID: "rta", Role: inbox.RoleAgent, Departments: []string{"sales"}}
	if err := st.PutConnection(ctx, store.NewConnection("ghost-"+fmt.Sprint(now), ghost, time.Now())); err != nil {
		t.Fatal(err)
	}

	var convA, convB string
	// The isolation matrix, checked however the test ends: what each one must never see.
	defer func() {
		for who, c := range clients {
			seen := map[string]bool{}
			for _, e := range c.events() {
				if seen[e.ID] {
					t.Errorf("%s got event %s twice", who, e.ID)
				}
				seen[e.ID] = true
				switch {
				case strings.HasSuffix(who, "@rtb.test") && e.ConversationID != convB && e.ConversationID != "":
					t.Errorf("%s (organization B) got %s of %s", who, e.Type, e.ConversationID)
				case strings.HasSuffix(who, "@rta.test") && e.ConversationID == convB:
					t.Errorf("%s (organization A) got %s of B's conversation", who, e.Type)
				case who == "diego@rta.test" && (e.ConversationID != convA || (e.Type != "error" && e.Type != "conversation.updated")):
					t.Errorf("diego (support) got %s of %s", e.Type, e.ConversationID)
				case who == "seller@rta.test" && e.Type == "message.created" && e.Message != nil && e.Message.Text != "¡Hola!":
					t.Errorf("the seller got a customer message of a conversation before it was theirs: %+v", e.Message)
				case e.Type == "notification" && who != "seller@rta.test":
					t.Errorf("%s got someone else's notification", who)
				case e.Type == "typing" && who != "admin@rta.test":
					t.Errorf("%s got typing without watching the conversation", who)
				}
			}
		}
	}()

	wa := fmt.Sprintf("54911%08d", time.Now().UnixNano()%1e8)
	s.customer(t, "900000000000001", wa, "hola A")
	s.customer(t, "900000000000002", wa, "hola B")

	sees := func(who string, what string, typ string, conv func() string, ok func(event) bool) {
		t.Helper()
		eventually(t, who+" gets "+what, func() bool {
			for _, e := range clients[who].events() {
				if e.Type == typ && (conv == nil || e.ConversationID == conv()) && (ok == nil || ok(e)) {
					return true
				}
			}
			return false
		})
	}
	sees("sofia@rta.test", "message.created of A", "message.created", nil, func(e event) bool {
		if e.Message != nil && e.Message.Text == "hola A" {
			convA = e.ConversationID
			return e.Conversation != nil && e.Conversation.Badge == "unassigned"
		}
		return false
	})
	sees("sofia@rtb.test", "message.created of B", "message.created", nil, func(e event) bool {
		if e.Message != nil && e.Message.Text == "hola B" {
			convB = e.ConversationID
			return true
		}
		return false
	})
	cA, cB := func() string { return convA }, func() string { return convB }
	sees("admin@rta.test", "message.created of A", "message.created", cA, nil)
	sees("admin@rta.test", "the summary of A with its message", "message.created", cA, func(e event) bool { return e.Conversation != nil && e.Conversation.ID == convA })
	sees("admin@rtb.test", "message.created of B", "message.created", cB, nil)

	eventually(t, "the ghost connection deleted after its 410", func() bool {
		_, err := st.Connection(ctx, "rta", "u_sofia_at_rta_test", "ghost-"+fmt.Sprint(now))
		return errors.Is(err, store.ErrNotFound)
	})

	// Sofía claims, then the admin gives it to the seller: a notification for the seller, who
	// sees it from then on.
	p := "/v1/conversations/" + convA
	if status, b := s.do(t, "POST", p+"/claim", tokens["sofia@rta.test"], nil, nil); status != 200 {
		t.Fatalf("claim: %d %s", status, b)
	}
	sees("admin@rta.test", "the claim", "conversation.updated", cA, func(e event) bool {
		return e.Conversation.AssigneeID != nil && *e.Conversation.AssigneeID == "u_sofia_at_rta_test" && e.Conversation.Badge == "others"
	})
	sees("sofia@rta.test", "her claim", "conversation.updated", cA, func(e event) bool { return e.Conversation.Badge == "mine" })
	if status, b := s.do(t, "POST", p+"/assign", adminA, nil, []byte(`{"assignee_id":"u_seller_at_rta_test"}`)); status != 200 {
		t.Fatalf("assign: %d %s", status, b)
	}
	// The notification carries the summary too (a conversation.updated of the same frame is
	// left out as redundant).
	sees("seller@rta.test", "the assignment notification", "notification", cA, func(e event) bool {
		return e.Notification != nil && e.Notification.Kind == "assigned" && e.Conversation != nil && e.Conversation.Badge == "mine"
	})

	// A note, then the seller's reply with its delivery statuses.
	if status, b := s.do(t, "POST", p+"/notes", adminA, nil, []byte(`{"text":"cliente VIP"}`)); status != 201 {
		t.Fatalf("note: %d %s", status, b)
	}
	for _, who := range []string{"admin@rta.test", "sofia@rta.test", "seller@rta.test"} {
		sees(who, "the note", "note.created", cA, nil)
	}
	status, b = s.do(t, "POST", p+"/messages", tokens["seller@rta.test"], map[string]string{"Idempotency-Key": "rt-1"}, []byte(`{"type":"text","text":"¡Hola!"}`))
	if status != 202 {
		t.Fatalf("reply: %d %s", status, b)
	}
	sees("sofia@rta.test", "the reply", "message.created", cA, func(e event) bool { return e.Message != nil && e.Message.Direction == "out" })
	sees("seller@rta.test", "the reply read", "message.status", cA, func(e event) bool { return e.Message != nil && e.Message.Status == "read" })

	// Typing: the admin watches the conversation; the seller writes.
	clients["admin@rta.test"].send(t, `{"action":"subscribe","conversation_id":"`+convA+`","id":"s1"}`)
	sees("admin@rta.test", "subscribed", "subscribed", cA, nil)
	clients["seller@rta.test"].send(t, `{"action":"typing","conversation_id":"`+convA+`"}`)
	sees("admin@rta.test", "the seller typing", "typing", cA, func(e event) bool { return e.Typing != nil && e.Typing.UserName == "Sergio A" })
	// Diego cannot subscribe to a sales conversation.
	clients["diego@rta.test"].send(t, `{"action":"subscribe","conversation_id":"`+convA+`","id":"s2"}`)
	sees("diego@rta.test", "a refusal", "error", cA, nil)

	// Transfer to support: the seller and Sofía lose it, Diego gets it.
	if status, b := s.do(t, "POST", p+"/transfer", adminA, nil, []byte(`{"department_id":"support"}`)); status != 200 {
		t.Fatalf("transfer: %d %s", status, b)
	}
	sees("diego@rta.test", "the transferred conversation", "conversation.updated", cA, nil)
	sees("sofia@rta.test", "its removal", "conversation.removed", cA, nil)
	sees("seller@rta.test", "its removal", "conversation.removed", cA, nil)

	// Reconnect: Sofía's new socket gets the next sales message.
	clients["sofia@rta.test"].conn.Close(websocket.StatusNormalClosure, "bye")
	clients["sofia@rta.test"] = s.connect(t, "sofia again", tokens["sofia@rta.test"])
	wa2 := "54912" + wa[len("54911"):] // another customer, whatever wa's digits (wa's last digit was 9 in one run in ten)
	s.customer(t, "900000000000001", wa2, "otra vez")
	sees("sofia@rta.test", "the new message on the new socket", "message.created", nil, func(e event) bool { return e.Message != nil && e.Message.Text == "otra vez" })
	sees("admin@rta.test", "the new message", "message.created", nil, func(e event) bool { return e.Message != nil && e.Message.Text == "otra vez" })

	// Sofía leaves sales (her connection still has its sales item): the next sales message
	// reaches the admin, not her.
	sofia, err := st.User(ctx, "rta", "u_sofia_at_rta_test")
	if err != nil {
		t.Fatal(err)
	}
	sofia.Departments = []string{"support"}
	if err := st.PutUser(ctx, sofia); err != nil {
		t.Fatal(err)
	}
	s.customer(t, "900000000000001", wa2, "ya no es de Sofía")
	sees("admin@rta.test", "the message after Sofía left sales", "message.created", nil, func(e event) bool {
		return e.Message != nil && e.Message.Text == "ya no es de Sofía"
	})
	// A ping's answer comes after any post of that fan-out to her socket was written.
	clients["sofia@rta.test"].send(t, `{"action":"ping","id":"after-leave"}`)
	sees("sofia@rta.test", "the pong", "pong", nil, func(e event) bool { return e.ID == "after-leave" })
	for _, e := range clients["sofia@rta.test"].events() {
		if e.Message != nil && e.Message.Text == "ya no es de Sofía" {
			t.Error("Sofía got a sales message after she left sales")
		}
	}

	if clients["diego@rta.test"].has("conversation.updated", convA, func(e event) bool { return e.Conversation.Badge == "mine" }) {
		t.Error("diego got the conversation before it moved to support")
	}
}

// TestRealtimeStreamRedelivery plays the stream's at-least-once delivery (the local poller
// gives every batch to the fan-out twice): each copy of an event carries the same id and the
// same content, so a client that drops an id it has seen shows each change once.
func TestRealtimeStreamRedelivery(t *testing.T) {
	s := start(t, "SEED_FILE=e2e/testdata/realtime-seed.json", "LOCAL_JWT_KEY="+jwtKey, "STREAM_REDELIVER=1")
	c := s.connect(t, "admin@rta.test", s.token(t, "admin@rta.test"))
	wa := fmt.Sprintf("54911%08d", time.Now().UnixNano()%1e8)
	s.customer(t, "900000000000001", wa, "hola dos veces")

	created := func() []event {
		var out []event
		for _, e := range c.events() {
			if e.Type == "message.created" && e.Message != nil && e.Message.Text == "hola dos veces" {
				out = append(out, e)
			}
		}
		return out
	}
	eventually(t, "the message's event delivered twice", func() bool { return len(created()) >= 2 })
	evs := created()
	if len(evs) != 2 || evs[0].ID != evs[1].ID || evs[0].ID == "" {
		t.Fatalf("the redelivered message.created: %d copies, ids %v; want 2 copies of one id", len(evs), ids(evs))
	}
	a, _ := json.Marshal(evs[0])
	b, _ := json.Marshal(evs[1])
	if string(a) != string(b) {
		t.Errorf("the copies differ:\n%s\n%s", a, b)
	}
	// What a client shows, dropping ids it has seen: every change once.
	seen := map[string]event{}
	for _, e := range c.events() {
		if prev, ok := seen[e.ID]; ok {
			p, _ := json.Marshal(prev)
			q, _ := json.Marshal(e)
			if string(p) != string(q) {
				t.Errorf("event %s came twice with different content:\n%s\n%s", e.ID, p, q)
			}
		}
		seen[e.ID] = e
	}
	shown := 0
	for _, e := range seen {
		if e.Type == "message.created" && e.Message != nil && e.Message.Text == "hola dos veces" {
			shown++
		}
	}
	if shown != 1 {
		t.Errorf("after dropping seen ids the message is shown %d times, want 1", shown)
	}
}

func ids(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}
