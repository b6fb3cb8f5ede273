package workflow

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// world is one organization with a sales department, agents ana and bea (available, one
// open conversation at most) and a Meta line routed to sales by least load, customers
// writing through the inbound processor with automatic assignment, and an outbound queue.
type world struct {
	st       *store.Store
	org      string
	line     *inbox.Line
	proc     *ingest.Processor
	routing  *routing.Router
	sqs      *sqs.Client
	outbound string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: testenv.Store(t), org: testenv.ID("org"), sqs: testenv.SQS(t)}
	w.outbound, _ = testenv.FIFOQueue(t, 3, 30)
	if err := w.st.PutDepartment(ctx, &inbox.Department{ID: "sales", OrgID: w.org, Name: "Ventas"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ana", "bea"} {
		u := &inbox.User{ID: id, OrgID: w.org, Email: id + "@" + w.org + ".test", Name: id, Role: inbox.RoleAgent, Departments: []string{"sales"}}
		if err := w.st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := w.st.SetAvailability(ctx, w.org, id, id == "ana", 1); err != nil {
			t.Fatal(err)
		}
	}
	w.line = &inbox.Line{ID: "l1", OrgID: w.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := w.st.PutLine(ctx, w.line); err != nil {
		t.Fatal(err)
	}
	rules := &inbox.AssignmentRules{Rules: []inbox.Rule{{Type: inbox.RuleLeastLoaded}}}
	if err := w.st.PutAssignmentRules(ctx, w.org, store.ScopeLine, "l1", rules); err != nil {
		t.Fatal(err)
	}
	w.routing = routing.New(w.st, time.Now)
	w.routing.CacheTTL = 0
	w.proc = ingest.New(w.st, time.Now, w.routing.Opened)
	return w
}

// service is the workflows over the world, sending to the queue at url.
func (w *world) service(url string) *Service {
	return New(w.st, queue.New(w.sqs, url), w.routing, time.Now)
}

// customer writes to the line now; it returns the conversation.
func (w *world) customer(t *testing.T, wa, id string) *inbox.Conversation {
	t.Helper()
	now := time.Now()
	_, err := w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: now,
		Message: &events.Message{ID: id, Line: events.Line{Address: w.line.Address}, From: wa, Timestamp: now, Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatal(err)
	}
	cv, err := w.st.Conversation(context.Background(), w.org, inbox.ConversationID(w.org, w.line.ID, wa))
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

func (w *world) user(t *testing.T, id string) *inbox.User {
	t.Helper()
	u, err := w.st.User(context.Background(), w.org, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// queued is how many messages wait on the queue at url.
func (w *world) queued(t *testing.T, url string) int {
	t.Helper()
	out, err := w.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// gone is a queue URL that names no queue: every send to it fails.
func gone(url string) string { return strings.TrimSuffix(url, ".fifo") + "-gone.fifo" }

// TestSendAutomatic: Buzón's own message is stored and queued once however often it is sent
// (a redelivered trigger); when the queue refuses, it stays queued for the retry.
func TestSendAutomatic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	cv := w.customer(t, "5491100000001", "wamid.1")
	m := inbox.NewAutoReply("m_auto_1", cv.ID, "Gracias, ya te respondemos", time.Now().UTC().Truncate(time.Millisecond))
	for range 2 {
		if err := w.service(w.outbound).SendAutomatic(ctx, w.org, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.queued(t, w.outbound); n != 1 {
		t.Errorf("%d sends queued, want 1", n)
	}

	m2 := inbox.NewAutoReply("m_auto_2", cv.ID, "Fuera de horario", m.At.Add(time.Second))
	err := w.service(gone(w.outbound)).SendAutomatic(ctx, w.org, m2)
	var nq *NotQueuedError
	if !errors.As(err, &nq) || !nq.Retry {
		t.Fatalf("SendAutomatic to a missing queue = %v, want a NotQueuedError to retry", err)
	}
	stored, err := w.st.Message(ctx, store.KeyOf(m2))
	if err != nil || stored.Status != inbox.DeliveryQueued {
		t.Errorf("stored reply = %+v, %v; want it kept queued for the retry", stored, err)
	}
}

// TestSendNotQueued: an agent's message the queue refuses is marked failed (send it again),
// unless the request has an Idempotency-Key to retry with: then it stays queued and the retry
// queues it.
func TestSendNotQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	cv := w.customer(t, "5491100000001", "wamid.1")
	by := Caller{User: w.user(t, "ana")}
	tests := []struct {
		name       string
		key        string
		wantRetry  bool
		wantStatus inbox.DeliveryStatus
	}{
		{"no key", "", false, inbox.DeliveryFailed},
		{"key", "k1", true, inbox.DeliveryQueued},
	}
	for _, tt := range tests {
		m, err := w.service(gone(w.outbound)).Send(ctx, by, cv.ID, &inbox.Message{Type: "text", Text: "hola " + tt.name}, "",
			Request{Key: tt.key, Fingerprint: tt.name})
		var nq *NotQueuedError
		if !errors.As(err, &nq) || nq.Retry != tt.wantRetry {
			t.Fatalf("%s: Send = %v, want a NotQueuedError with Retry %v", tt.name, err, tt.wantRetry)
		}
		if m != nil {
			t.Errorf("%s: Send returned a message with its error", tt.name)
		}
	}
	entries, _, err := w.st.Thread(ctx, cv.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]inbox.DeliveryStatus{}
	for _, e := range entries {
		if e.Message != nil && e.Message.Direction == inbox.Outbound {
			got[e.Message.Text] = e.Message.Status
		}
	}
	for _, tt := range tests {
		if got["hola "+tt.name] != tt.wantStatus {
			t.Errorf("%s: stored as %q, want %q", tt.name, got["hola "+tt.name], tt.wantStatus)
		}
	}
	// The retry with the key queues the stored message.
	m, err := w.service(w.outbound).Send(ctx, by, cv.ID, &inbox.Message{Type: "text", Text: "hola key"}, "", Request{Key: "k1", Fingerprint: "key"})
	if err != nil || m.Text != "hola key" || w.queued(t, w.outbound) != 1 {
		t.Errorf("retry = %+v, %v with %d queued; want the stored message queued", m, err, w.queued(t, w.outbound))
	}
}

// TestCloseIdleHandsOutWhatWaits: the window job's auto-close is an action like an agent's
// close: recorded once as Buzón's, and the agent who held the conversation takes the one
// waiting for room.
func TestCloseIdleHandsOutWhatWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	held := w.customer(t, "5491100000001", "wamid.1")
	waiting := w.customer(t, "5491100000002", "wamid.2")
	if held.AssigneeID != "ana" || waiting.AssigneeID != "" {
		t.Fatalf("holders %q and %q, want ana's and one waiting (ana full, bea away)", held.AssigneeID, waiting.AssigneeID)
	}
	s := w.service(w.outbound)
	at := time.Now()
	for i, want := range []bool{true, false} {
		closed, err := s.CloseIdle(ctx, held, at.Add(time.Minute), at, 48*time.Hour)
		if err != nil || closed != want {
			t.Fatalf("CloseIdle #%d = %v, %v; want %v", i+1, closed, err, want)
		}
	}
	cv, err := w.st.Conversation(ctx, w.org, waiting.ID)
	if err != nil || cv.AssigneeID != "ana" {
		t.Errorf("waiting conversation held by %q (%v), want ana's once she has room", cv.AssigneeID, err)
	}
	entries, _, err := w.st.Thread(ctx, held.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var closes []string
	for _, e := range entries {
		if e.Event != nil && e.Event.Type == inbox.EventClosed {
			closes = append(closes, e.Event.ID+" by "+e.Event.ActorID+"; "+e.Event.Details["reason"]+" "+e.Event.Details["assignee_id"])
		}
	}
	if want := "e_idle_1 by ; idle ana"; len(closes) != 1 || closes[0] != want {
		t.Errorf("closed events %q, want one: %q", closes, want)
	}
}
