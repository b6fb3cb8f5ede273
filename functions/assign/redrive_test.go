package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/testenv"
)

// TestRedrivenMessageLandsOnce: a message that keeps failing reaches the DLQ after the
// queue's maxReceiveCount; once the fault is fixed, a redrive (run twice, as an operator
// might) lands it exactly once.
func TestRedrivenMessageLandsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	proc := ingest.New(st, time.Now, func(context.Context, *inbox.Conversation, *inbox.Line) error {
		if broken.Load() {
			return errors.New("routing unavailable")
		}
		return nil
	})
	client := testenv.SQS(t)
	url, dlqURL := testenv.FIFOQueue(t, 2, 1)
	main, dlq := queue.New(client, url), queue.New(client, dlqURL)
	h := (&handler{proc: proc}).runner(main, dlq, nil)
	h.Backoff = func(int) time.Duration { return time.Second } // the queue's visibility timeout

	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ev := &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: "wamid.redrive", Line: events.Line{Address: line.Address}, From: "5491100000777", Timestamp: at, Type: "text", Text: "hola"}}
	if err := main.Send(ctx, []queue.Item{{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second) // a busy machine
	for {
		testenv.Deliver(t, client, url, h.Run)
		d, err := dlq.Peek(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) == 1 {
			if d[0].Receives < 2 {
				t.Errorf("dead letter receives = %d, want ≥ 2 (maxReceiveCount)", d[0].Receives)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failing message never reached the dead-letter queue")
		}
		time.Sleep(1100 * time.Millisecond)
	}

	broken.Store(false)
	moved, err := dlq.Redrive(ctx, main)
	if err != nil || moved != 1 {
		t.Fatalf("redrive moved %d, %v; want 1", moved, err)
	}
	if moved, err := dlq.Redrive(ctx, main); err != nil || moved != 0 {
		t.Fatalf("second redrive moved %d, %v; want 0", moved, err)
	}
	for len(testenv.Deliver(t, client, url, h.Run)) > 0 {
	}
	c, err := st.Conversation(ctx, org, inbox.ConversationID(org, "l1", "5491100000777"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := st.Thread(ctx, c.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for _, e := range entries {
		if e.Message != nil {
			msgs++
		}
	}
	if msgs != 1 || c.UnreadCount != 1 {
		t.Errorf("after redrive: %d messages, unread %d; want exactly 1 and 1", msgs, c.UnreadCount)
	}
	if d, _ := dlq.Peek(ctx, 10); len(d) != 0 {
		t.Errorf("dead-letter queue still holds %d messages", len(d))
	}
}
