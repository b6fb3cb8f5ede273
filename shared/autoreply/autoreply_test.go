package autoreply

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/hours"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// Friday 20 November 2026; Buenos Aires is UTC-3.
var (
	fri1000 = time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC) // 10:00 local, open
	fri2200 = time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)  // 22:00 local, closed
)

var weekdays = &hours.Spec{TimeZone: "America/Argentina/Buenos_Aires", Weekly: map[string][]string{
	"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"}, "thu": {"09:00-18:00"}, "fri": {"09:00-18:00"},
}}

// clock is the time the consumer runs at: each message is applied a second after it was sent.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// world is one line with auto-replies, the inbound processor with the replier as its hook,
// and an outbound queue of its own.
type world struct {
	st       *store.Store
	line     *inbox.Line
	proc     *ingest.Processor
	clock    *clock
	sqs      *sqs.Client
	outbound string
}

func newWorld(t *testing.T, replies []inbox.AutoReply, spec *hours.Spec) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: testenv.Store(t), clock: &clock{t: fri1000}, sqs: testenv.SQS(t)}
	w.outbound, _ = testenv.FIFOQueue(t, 5, 30)
	w.line = &inbox.Line{ID: "l1", OrgID: testenv.ID("org"), Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales",
		State: inbox.LineActive, Hours: spec, AutoReplies: replies}
	if err := w.st.PutLine(ctx, w.line); err != nil {
		t.Fatal(err)
	}
	w.proc = ingest.New(w.st, w.clock.now, nil)
	w.proc.OnReceived(New(w.st, queue.New(w.sqs, w.outbound), w.clock.now).Reply)
	return w
}

func (w *world) inbound(wa, id string, at time.Time) *events.Inbound {
	return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: id, Line: events.Line{Address: w.line.Address}, From: wa, ProfileName: "Cliente", Timestamp: at, Type: "text", Text: id}}
}

// customer sends a message at at, applied a second later.
func (w *world) customer(t *testing.T, wa, id string, at time.Time) {
	t.Helper()
	w.clock.set(at.Add(time.Second))
	if _, err := w.proc.Apply(context.Background(), w.inbound(wa, id, at)); err != nil {
		t.Fatal(err)
	}
}

// agent writes in the conversation at at (as the API stores an agent's message).
func (w *world) agent(t *testing.T, wa string, at time.Time) {
	t.Helper()
	m := inbox.NewOutboundMessage(inbox.NewID("m_"), inbox.ConversationID(w.line.OrgID, w.line.ID, wa), "ana", at)
	m.Type, m.Text = "text", "hola, soy Ana"
	if err := w.st.PutMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// queued drains the outbound queue: the messages the send function would get.
func (w *world) queued(t *testing.T) []events.Send {
	t.Helper()
	ctx := context.Background()
	var out []events.Send
	for {
		res, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.outbound), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var s events.Send
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
			if _, err := w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.outbound), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// replies lists the texts of the automatic messages of wa's thread, oldest first, checking
// each is queued and automatic.
func (w *world) replies(t *testing.T, wa string) []string {
	t.Helper()
	entries, _, err := w.st.Thread(context.Background(), inbox.ConversationID(w.line.OrgID, w.line.ID, wa), 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if m := e.Message; m != nil && m.Direction == inbox.Outbound && m.Automatic {
			if m.Status != inbox.DeliveryQueued || m.AgentID != "" || m.Type != "text" {
				t.Errorf("auto-reply %s: status %s, agent %q, type %s; want queued text from no agent", m.ID, m.Status, m.AgentID, m.Type)
			}
			out = append(out, m.Text)
		}
	}
	return out
}

func TestOutsideHoursOncePerWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []inbox.AutoReply{{Trigger: inbox.TriggerOutsideHours, Text: "Estamos cerrados"}}, weekdays)
	steps := []struct {
		name    string
		id      string
		at      time.Time
		replies int // auto-replies in the thread after the step
	}{
		{"inside hours: none", "w1", fri1000, 0},
		{"outside hours, same window: the first", "w2", fri2200, 1},
		{"outside hours again in the window: no second", "w3", fri2200.Add(5 * time.Minute), 1},
		{"Saturday, the window still open: no second", "w4", fri2200.Add(20 * time.Hour), 1},
		{"Monday 10:00 local, a new window but open: none", "w5", time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC), 1},
		{"Monday 20:00 local, outside hours in the new window: one more", "w6", time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), 2},
	}
	for _, s := range steps {
		w.customer(t, "5491100000001", s.id, s.at)
		if got := len(w.replies(t, "5491100000001")); got != s.replies {
			t.Fatalf("%s: %d auto-replies in the thread, want %d", s.name, got, s.replies)
		}
	}
	if got := w.queued(t); len(got) != 2 {
		t.Errorf("%d sends queued, want 2: %+v", len(got), got)
	}
	// A redelivery of a message that was answered does nothing more.
	w.clock.set(fri2200.Add(time.Minute))
	if res, err := w.proc.Apply(context.Background(), w.inbound("5491100000001", "w2", fri2200)); err != nil || res != ingest.Duplicate {
		t.Fatalf("redelivery: %v %v", res, err)
	}
	if got := w.queued(t); len(got) != 0 {
		t.Errorf("a redelivery queued %d sends, want none", len(got))
	}
}

func TestFirstContactOnlyForNewCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, []inbox.AutoReply{{Trigger: inbox.TriggerFirstContact, Text: "¡Hola! Gracias por escribir"}}, nil)
	w.customer(t, "5491100000002", "f1", fri1000)
	w.customer(t, "5491100000002", "f2", fri1000.Add(time.Minute))
	// Days later, after the conversation was closed: a known customer.
	_, err := w.st.UpdateConversation(ctx, w.line.OrgID, inbox.ConversationID(w.line.OrgID, w.line.ID, "5491100000002"), nil,
		func(c *inbox.Conversation) error { return c.Close("resuelto", fri1000.Add(time.Hour)) })
	if err != nil {
		t.Fatal(err)
	}
	w.customer(t, "5491100000002", "f3", fri1000.Add(72*time.Hour))
	if diff := cmp.Diff([]string{"¡Hola! Gracias por escribir"}, w.replies(t, "5491100000002")); diff != "" {
		t.Errorf("new customer (-want +got):\n%s", diff)
	}
	// A customer who answers a conversation an agent started (M4) is not a first contact.
	started := inbox.ConversationID(w.line.OrgID, w.line.ID, "5491100000003")
	_, err = w.st.UpdateConversation(ctx, w.line.OrgID, started,
		func() *inbox.Conversation {
			return inbox.NewConversation(w.line.OrgID, w.line.ID, inbox.ContactRef{WaID: "5491100000003"}, fri1000)
		},
		func(c *inbox.Conversation) error {
			if err := c.Open("sales"); err != nil {
				return err
			}
			c.ApplyOutbound(inbox.Preview{Text: "[template: promo]", Direction: inbox.Outbound, Type: "template", At: fri1000})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	w.customer(t, "5491100000003", "s1", fri1000.Add(time.Hour))
	if got := w.replies(t, "5491100000003"); len(got) != 0 {
		t.Errorf("answer to an agent's template got auto-replies %v, want none", got)
	}
	if got := w.queued(t); len(got) != 1 {
		t.Errorf("%d sends queued, want 1", len(got))
	}
}

func TestNotWhileAnAgentIsAnswering(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []inbox.AutoReply{{Trigger: inbox.TriggerAlways, Text: "Recibimos tu mensaje"}}, nil)
	const wa = "5491100000004"
	w.customer(t, wa, "a1", fri1000)
	w.agent(t, wa, fri1000.Add(time.Minute))
	// A day and a half later the window has closed; an agent writes (a template), and the
	// customer answers two minutes after: someone is there, no auto-reply, and none later in
	// that window either.
	later := fri1000.Add(36 * time.Hour)
	w.agent(t, wa, later)
	w.customer(t, wa, "a2", later.Add(2*time.Minute))
	w.customer(t, wa, "a3", later.Add(30*time.Minute))
	if diff := cmp.Diff([]string{"Recibimos tu mensaje"}, w.replies(t, wa)); diff != "" {
		t.Errorf("auto-replies (-want +got):\n%s", diff)
	}
}

// TestNoLoopWithAnotherBot: a customer who is itself a bot answers our auto-reply at once;
// we do not answer that, and the window's replies stay capped.
func TestNoLoopWithAnotherBot(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []inbox.AutoReply{
		{Trigger: inbox.TriggerFirstContact, Text: "Bienvenido"},
		{Trigger: inbox.TriggerOutsideHours, Text: "Estamos cerrados"},
		{Trigger: inbox.TriggerAlways, Text: "Recibimos tu mensaje"},
	}, weekdays)
	const wa = "5491100000005"
	at := fri2200
	w.customer(t, wa, "b1", at) // first contact (and outside hours): "Bienvenido"
	for i, gap := range []time.Duration{2 * time.Second, 3 * time.Second, 4 * time.Second} {
		at = at.Add(gap) // the bot answers within seconds, each time
		w.customer(t, wa, "bot"+string(rune('a'+i)), at)
	}
	if diff := cmp.Diff([]string{"Bienvenido"}, w.replies(t, wa)); diff != "" {
		t.Errorf("after the bot's instant answers (-want +got):\n%s", diff)
	}
	// Messages spaced out get the other triggers, each once, then nothing: three at most.
	for i := range 6 {
		at = at.Add(time.Minute)
		w.customer(t, wa, "late"+string(rune('a'+i)), at)
	}
	want := []string{"Bienvenido", "Estamos cerrados", "Recibimos tu mensaje"}
	if diff := cmp.Diff(want, w.replies(t, wa)); diff != "" {
		t.Errorf("auto-replies (-want +got):\n%s", diff)
	}
	if got := w.queued(t); len(got) != 3 {
		t.Errorf("%d sends queued, want 3", len(got))
	}
}

// TestResumesAfterACrash: a consumer that recorded the decision and stopped before storing
// the reply: the redelivered message stores and queues that very reply, once.
func TestResumesAfterACrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, []inbox.AutoReply{{Trigger: inbox.TriggerAlways, Text: "Recibimos tu mensaje"}}, nil)
	const wa = "5491100000006"
	convID := inbox.ConversationID(w.line.OrgID, w.line.ID, wa)
	at := fri1000
	mark := store.AutoReplyMark{Trigger: inbox.TriggerAlways, By: "c1", MessageID: inbox.AutoReplyID(convID, inbox.TriggerAlways, at),
		At: at.Add(time.Second), Outcome: "sent"}
	if err := w.st.PutAutoReplyMark(ctx, convID, at, mark, at); err != nil {
		t.Fatal(err)
	}
	w.customer(t, wa, "c1", at)
	w.customer(t, wa, "c2", at.Add(time.Hour))
	if diff := cmp.Diff([]string{"Recibimos tu mensaje"}, w.replies(t, wa)); diff != "" {
		t.Errorf("auto-replies (-want +got):\n%s", diff)
	}
	sends := w.queued(t)
	if len(sends) != 1 || sends[0].MessageID != mark.MessageID || !sends[0].MessageAt.Equal(mark.At) {
		t.Errorf("sends %+v, want the decided reply %s once", sends, mark.MessageID)
	}
}

// TestOldMessageGetsNoReply: a message applied long after it was sent (a backlog, a provider
// retry) is not answered: the customer has moved on.
func TestOldMessageGetsNoReply(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []inbox.AutoReply{{Trigger: inbox.TriggerAlways, Text: "Recibimos tu mensaje"}}, nil)
	w.clock.set(fri1000.Add(2 * time.Hour))
	if _, err := w.proc.Apply(context.Background(), w.inbound("5491100000007", "o1", fri1000)); err != nil {
		t.Fatal(err)
	}
	if got := w.replies(t, "5491100000007"); len(got) != 0 {
		t.Errorf("auto-replies %v to a two-hour-old message, want none", got)
	}
}
