package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// fixture is one organization with a Meta line and a Twilio line, of one test.
type fixture struct {
	st    *store.Store
	p     *ingest.Processor
	org   string
	meta  *inbox.Line
	twil  *inbox.Line
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: testenv.Store(t), org: testenv.ID("org"), clock: t0}
	f.meta = &inbox.Line{ID: "lm", OrgID: f.org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	f.twil = &inbox.Line{ID: "lt", OrgID: f.org, Provider: "twilio", Address: "+1" + testenv.ID(""), DepartmentID: "support", State: inbox.LineActive}
	for _, l := range []*inbox.Line{f.meta, f.twil} {
		if err := f.st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	f.p = ingest.New(f.st, func() time.Time { return f.clock }, nil)
	return f
}

func (f *fixture) msg(id, from string, at time.Time, text string) *events.Inbound {
	return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at.Add(time.Second),
		Message: &events.Message{ID: id, Line: events.Line{Address: f.meta.Address}, From: from, ProfileName: "Ana",
			Timestamp: at, Type: "text", Text: text}}
}

func (f *fixture) apply(t *testing.T, ev *events.Inbound) ingest.Result {
	t.Helper()
	r, err := f.p.Apply(context.Background(), ev)
	if err != nil {
		t.Fatalf("apply %s: %v", ev.Kind, err)
	}
	return r
}

func (f *fixture) conv(t *testing.T, line *inbox.Line, wa string) *inbox.Conversation {
	t.Helper()
	c, err := f.st.Conversation(context.Background(), f.org, inbox.ConversationID(f.org, line.ID, wa))
	if err != nil {
		t.Fatalf("conversation: %v", err)
	}
	return c
}

func (f *fixture) texts(t *testing.T, c *inbox.Conversation) []string {
	t.Helper()
	entries, _, err := f.st.Thread(context.Background(), c.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Message != nil {
			out = append(out, e.Message.Text)
		}
	}
	return out
}

func TestDuplicatesLeaveOneMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.msg("wamid.A", "5491100000001", t0, "hola")
	b := f.msg("wamid.B", "5491100000001", t0.Add(time.Second), "necesito ayuda")
	// Ten copies of A interleaved with B, as provider retries over days would bring them.
	for i := 0; i < 10; i++ {
		f.clock = t0.Add(time.Duration(i) * 24 * time.Hour)
		f.apply(t, a)
		if i%3 == 0 {
			f.apply(t, b)
		}
	}
	c := f.conv(t, f.meta, "5491100000001")
	if diff := cmp.Diff([]string{"hola", "necesito ayuda"}, f.texts(t, c)); diff != "" {
		t.Errorf("thread (-want +got):\n%s", diff)
	}
	if c.UnreadCount != 2 {
		t.Errorf("unread = %d, want 2", c.UnreadCount)
	}
	if c.Cycle != 1 || c.Status != inbox.StatusOpen || c.DepartmentID != "sales" {
		t.Errorf("conversation = cycle %d %s dept %q, want cycle 1 open sales", c.Cycle, c.Status, c.DepartmentID)
	}
}

func TestOutOfOrderMessagesKeepNewestActivityAndWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	late := f.msg("wamid.2", "5491100000002", t0.Add(time.Minute), "second")
	early := f.msg("wamid.1", "5491100000002", t0, "first")
	f.apply(t, late)
	f.apply(t, early)
	c := f.conv(t, f.meta, "5491100000002")
	if diff := cmp.Diff([]string{"first", "second"}, f.texts(t, c)); diff != "" {
		t.Errorf("thread order (-want +got):\n%s", diff)
	}
	if !c.LastActivityAt.Equal(t0.Add(time.Minute)) || c.Preview.Text != "second" {
		t.Errorf("last activity %v %q, want %v second", c.LastActivityAt, c.Preview.Text, t0.Add(time.Minute))
	}
	if want := t0.Add(time.Minute + 24*time.Hour); !c.WindowExpiresAt.Equal(want) {
		t.Errorf("window = %v, want %v", c.WindowExpiresAt, want)
	}
}

func TestMessageOnDoneConversationOpensNewCycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.apply(t, f.msg("wamid.c1", "5491100000003", t0, "hi"))
	c := f.conv(t, f.meta, "5491100000003")
	_, err := f.st.UpdateConversation(ctx, f.org, c.ID, nil, func(c *inbox.Conversation) error {
		if err := c.Assign("u1", "test"); err != nil {
			return err
		}
		return c.Close("resolved", t0.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, f.msg("wamid.c2", "5491100000003", t0.Add(2*time.Hour), "again"))
	c = f.conv(t, f.meta, "5491100000003")
	if c.Status != inbox.StatusOpen || c.Cycle != 2 || c.AssigneeID != "" || c.CloseReason != "" {
		t.Errorf("after new message: status %s cycle %d assignee %q reason %q; want open, 2, unassigned", c.Status, c.Cycle, c.AssigneeID, c.CloseReason)
	}
	entries, _, err := f.st.Thread(ctx, c.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var opened int
	for _, e := range entries {
		if e.Event != nil && e.Event.Type == inbox.EventOpened {
			opened++
		}
	}
	if opened != 2 {
		t.Errorf("opened events = %d, want 2 (one per cycle)", opened)
	}
}

func TestConsumerDiedAfterConversationUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ev := f.msg("wamid.crash", "5491100000004", t0, "x")
	// Play a consumer that updated the conversation and died before storing the message.
	convID := inbox.ConversationID(f.org, f.meta.ID, "5491100000004")
	_, err := f.st.UpdateConversation(ctx, f.org, convID,
		func() *inbox.Conversation {
			return inbox.NewConversation(f.org, f.meta.ID, inbox.ContactRef{WaID: "5491100000004"}, t0)
		},
		func(c *inbox.Conversation) error {
			c.ApplyInbound(inbox.CustomerMessage{ProviderID: "wamid.crash", At: t0}, "sales")
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, ev) // the redelivery
	c := f.conv(t, f.meta, "5491100000004")
	if c.UnreadCount != 1 {
		t.Errorf("unread = %d, want 1", c.UnreadCount)
	}
	if diff := cmp.Diff([]string{"x"}, f.texts(t, c)); diff != "" {
		t.Errorf("thread (-want +got):\n%s", diff)
	}
}

func TestTwilioRetryWithoutTimestamp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := func(received time.Time) *events.Inbound {
		return &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderTwilio, ReceivedAt: received,
			Message: &events.Message{ID: "SM123", Line: events.Line{Address: f.twil.Address}, From: "5215512345678", Type: "text", Text: "hola"}}
	}
	f.apply(t, ev(t0))
	if r := f.apply(t, ev(t0.Add(time.Hour))); r != ingest.Duplicate {
		t.Errorf("retry an hour later = %s, want duplicate", r)
	}
	c := f.conv(t, f.twil, "525512345678") // Mexico's old mobile "1" is dropped: one contact
	if diff := cmp.Diff([]string{"hola"}, f.texts(t, c)); diff != "" {
		t.Errorf("thread (-want +got):\n%s", diff)
	}
	if c.DepartmentID != "support" {
		t.Errorf("department = %q, want support", c.DepartmentID)
	}
}

func TestUnknownLineIsKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := f.msg("wamid.x", "5491100000005", t0, "hello?")
	ev.Message.Line.Address = testenv.ID("unknown")
	if r := f.apply(t, ev); r != ingest.Unrouted {
		t.Errorf("result = %s, want unrouted", r)
	}
}

func TestStatusesMoveForwardOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		statuses []string
		want     inbox.DeliveryStatus
	}{
		{"in order", []string{"sent", "delivered", "read"}, inbox.DeliveryRead},
		{"reversed", []string{"read", "delivered", "sent"}, inbox.DeliveryRead},
		{"read without delivered", []string{"sent", "read"}, inbox.DeliveryRead},
		{"failed after sent", []string{"sent", "failed"}, inbox.DeliveryFailed},
		{"failed after delivered is ignored", []string{"delivered", "failed"}, inbox.DeliveryDelivered},
		// A delivery receipt is the stronger fact: the message reached the phone.
		{"delivered after failed", []string{"failed", "delivered"}, inbox.DeliveryDelivered},
		{"duplicates", []string{"sent", "sent", "delivered", "delivered"}, inbox.DeliveryDelivered},
	}
	f := newFixture(t)
	for i, tc := range tests {
		wa := fmt.Sprintf("54911000001%02d", i)
		convID := inbox.ConversationID(f.org, f.meta.ID, wa)
		m := &inbox.Message{ID: fmt.Sprintf("m_out%d", i), ConversationID: convID, Direction: inbox.Outbound, Type: "text",
			Text: "hello", Status: inbox.DeliveryQueued, At: t0, CreatedAt: t0,
			StatusAt: map[inbox.DeliveryStatus]time.Time{inbox.DeliveryQueued: t0}}
		if err := f.st.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		pid := fmt.Sprintf("wamid.out%d", i)
		if err := f.st.PutPointer(ctx, pid, store.KeyOf(m)); err != nil {
			t.Fatal(err)
		}
		for j, s := range tc.statuses {
			ev := &events.Inbound{Kind: events.KindStatus, Provider: events.ProviderMeta, ReceivedAt: t0,
				Status: &events.Status{MessageID: pid, Line: events.Line{Address: f.meta.Address}, RecipientID: wa,
					Status: s, Timestamp: t0.Add(time.Duration(j) * time.Second)}}
			if s == "failed" {
				ev.Status.Errors = []events.ProviderError{{Code: 131026, Title: "Message undeliverable"}}
			}
			f.apply(t, ev)
		}
		got, err := f.st.Message(ctx, store.KeyOf(m))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.want {
			t.Errorf("%s: status = %s, want %s", tc.name, got.Status, tc.want)
		}
	}
}

func TestStatusBeforeItsMessageIsParked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := &events.Inbound{Kind: events.KindStatus, Provider: events.ProviderMeta, ReceivedAt: t0,
		Status: &events.Status{MessageID: "wamid.early", Line: events.Line{Address: f.meta.Address}, RecipientID: "5491100000009", Status: "delivered", Timestamp: t0}}
	if r := f.apply(t, ev); r != ingest.Parked {
		t.Fatalf("result = %s, want parked", r)
	}
	parked, err := f.st.Parked(context.Background(), inbox.ConversationID(f.org, f.meta.ID, "5491100000009"), "wamid.early")
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Status != "delivered" {
		t.Errorf("parked = %+v, want the delivered status", parked)
	}
}

func TestBrazilNinthDigitIsOneContact(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.apply(t, f.msg("wamid.br1", "551187654321", t0, "oi"))                          // wa_id without the 9
	f.apply(t, f.msg("wamid.br2", "5511987654321", t0.Add(time.Second), "tudo bem?")) // with it
	c := f.conv(t, f.meta, "5511987654321")
	if diff := cmp.Diff([]string{"oi", "tudo bem?"}, f.texts(t, c)); diff != "" {
		t.Errorf("one conversation expected (-want +got):\n%s", diff)
	}
}

// TestMalformedGoesToTheDeadLetterQueue: a part of a delivery the webhook could not read is
// never applied; it fails as ErrMalformed, so the consumer buries it with a reason that says
// where it was and what was wrong.
func TestMalformedGoesToTheDeadLetterQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := &events.Inbound{Kind: events.KindMalformed, Provider: events.ProviderMeta, ReceivedAt: t0,
		Malformed: &events.Malformed{Reason: "meta: invalid webhook delivery: id missing", Path: "entry[0].changes[0].value.messages[1]", Raw: []byte(`{"from":"1"}`)}}
	_, err := f.p.Apply(context.Background(), ev)
	if !errors.Is(err, ingest.ErrMalformed) {
		t.Fatalf("Apply() error = %v, want ErrMalformed", err)
	}
	for _, want := range []string{"meta", ev.Malformed.Path, "id missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reason %q does not give %q", err, want)
		}
	}
}

// TestHistoryStatusesAreKept: provider statuses that are not steps on the delivery scale
// (Twilio's queued, accepted, sending, scheduled; Meta's deleted, warning) are recorded in the
// message's status times, once, and never move its status, in any order.
func TestHistoryStatusesAreKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		twilio   bool
		statuses []string
		want     inbox.DeliveryStatus
		times    []string // the message's status times after them
	}{
		{"twilio before sent", true, []string{"accepted", "scheduled", "queued", "sending", "sent"}, inbox.DeliverySent,
			[]string{"provider:accepted", "provider:queued", "provider:scheduled", "provider:sending", "queued", "sent"}},
		{"twilio late, after read", true, []string{"read", "queued", "sending", "queued"}, inbox.DeliveryRead,
			[]string{"provider:queued", "provider:sending", "queued", "read"}},
		{"meta warning and deleted", false, []string{"delivered", "warning", "deleted", "warning"}, inbox.DeliveryDelivered,
			[]string{"delivered", "provider:deleted", "provider:warning", "queued"}},
		{"history only", false, []string{"warning"}, inbox.DeliveryQueued, []string{"provider:warning", "queued"}},
	}
	f := newFixture(t)
	for i, tc := range tests {
		line, provider, wa := f.meta, events.ProviderMeta, fmt.Sprintf("54911000002%02d", i)
		if tc.twilio {
			line, provider = f.twil, events.ProviderTwilio
		}
		convID := inbox.ConversationID(f.org, line.ID, wa)
		m := inbox.NewOutboundMessage(fmt.Sprintf("m_hist%d", i), convID, "u1", t0)
		if err := f.st.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		pid := fmt.Sprintf("pid.hist%d", i)
		if err := f.st.PutPointer(ctx, pid, store.KeyOf(m)); err != nil {
			t.Fatal(err)
		}
		for j, s := range tc.statuses {
			f.apply(t, &events.Inbound{Kind: events.KindStatus, Provider: provider, ReceivedAt: t0.Add(time.Duration(j+1) * time.Second),
				Status: &events.Status{MessageID: pid, Line: events.Line{Address: line.Address}, RecipientID: wa, Status: s}})
		}
		got, err := f.st.Message(ctx, store.KeyOf(m))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.want {
			t.Errorf("%s: status = %s, want %s", tc.name, got.Status, tc.want)
		}
		var times []string
		for k := range got.StatusAt {
			times = append(times, string(k))
		}
		sort.Strings(times)
		if diff := cmp.Diff(tc.times, times); diff != "" {
			t.Errorf("%s: status times (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestStatusNamingOurMessageLinksIt: when the send path never learnt the provider id (its
// answer was lost), a status that carries our reference links the id to the message and
// applies itself and what was parked before; a reference to another conversation's message
// is not trusted, and the status is parked.
func TestStatusNamingOurMessageLinksIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	wa := "5491100000031"
	convID := inbox.ConversationID(f.org, f.meta.ID, wa)
	m := inbox.NewOutboundMessage("m_lost", convID, "u1", t0)
	if err := f.st.PutMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkSending(ctx, store.KeyOf(m), 1, t0); err != nil {
		t.Fatal(err)
	}
	status := func(s, ref string) *events.Inbound {
		return &events.Inbound{Kind: events.KindStatus, Provider: events.ProviderMeta, ReceivedAt: t0.Add(time.Second),
			Status: &events.Status{MessageID: "wamid.lost", Line: events.Line{Address: f.meta.Address}, RecipientID: wa, Status: s, Ref: ref}}
	}
	other := inbox.NewOutboundMessage("m_lost", inbox.ConversationID(f.org, f.meta.ID, "5491100000032"), "u1", t0)
	if r := f.apply(t, status("sent", other.Ref())); r != ingest.Parked {
		t.Errorf("status naming another conversation's message: %s, want parked", r)
	}
	if r := f.apply(t, status("delivered", m.Ref())); r != ingest.Stored {
		t.Errorf("status naming our message: %s, want stored", r)
	}
	got, err := f.st.Message(ctx, store.KeyOf(m))
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderID != "wamid.lost" || got.Status != inbox.DeliveryDelivered || got.StatusAt[inbox.DeliverySent].IsZero() {
		t.Errorf("message = %s %s %v, want wamid.lost delivered, with the parked sent applied", got.ProviderID, got.Status, got.StatusAt)
	}
	if k, err := f.st.Pointer(ctx, convID, "wamid.lost"); err != nil || k != store.KeyOf(m) {
		t.Errorf("pointer = %v, %v; want the message", k, err)
	}
	// The send path can no longer mark it sending: it left.
	if err := f.st.MarkSending(ctx, store.KeyOf(m), 2, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("MarkSending after the link = %v, want ErrConflict", err)
	}
}
