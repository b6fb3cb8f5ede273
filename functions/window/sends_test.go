package main

import (
	"context"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// TestStaleSendsAreFailed: outbound messages left queued or sending for more than staleAfter
// (their send record lost) are failed by the window job's sweep, each with the reason an agent
// sees; sent and recent ones are left alone, a tick fired twice fails nothing more, and no
// table scan is made.
func TestStaleSendsAreFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, rec, _ := recordingStore(t)
	at := func(d time.Duration) time.Time { return t0.Add(-d) }
	put := func(id string, written time.Time, status inbox.DeliveryStatus) *inbox.Message {
		t.Helper()
		m := inbox.NewOutboundMessage(id, "c_sweep", "u_1", written)
		m.Type, m.Text = "text", id
		if err := st.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		switch status {
		case inbox.DeliverySending:
			if err := st.MarkSending(ctx, store.KeyOf(m), 1, written); err != nil {
				t.Fatal(err)
			}
		case inbox.DeliverySent:
			if _, err := st.ApplyStatus(ctx, store.KeyOf(m), store.StatusUpdate{Status: inbox.DeliverySent, At: written, ProviderID: "wamid." + id}); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	lostQueued := put("m_lost_queued", at(2*time.Hour+40*time.Minute), inbox.DeliveryQueued)
	lostSending := put("m_lost_sending", at(2*time.Hour+40*time.Minute), inbox.DeliverySending)
	sent := put("m_sent", at(2*time.Hour+40*time.Minute), inbox.DeliverySent)
	recent := put("m_recent", at(90*time.Minute), inbox.DeliveryQueued)

	j := newJob(st, time.Hour, time.Now)
	status := func(m *inbox.Message) (inbox.DeliveryStatus, string) {
		got, err := st.Message(ctx, store.KeyOf(m))
		if err != nil {
			t.Fatal(err)
		}
		if got.Error == nil {
			return got.Status, ""
		}
		return got.Status, got.Error.Title
	}
	rec.reset()
	rep, err := j.run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m      *inbox.Message
		status inbox.DeliveryStatus
		title  string
	}{
		{lostQueued, inbox.DeliveryFailed, "not sent"},
		{lostSending, inbox.DeliveryFailed, "delivery uncertain, not resent"},
		{sent, inbox.DeliverySent, ""},
		{recent, inbox.DeliveryQueued, ""},
	} {
		if s, title := status(c.m); s != c.status || title != c.title {
			t.Errorf("%s: %s %q, want %s %q", c.m.ID, s, title, c.status, c.title)
		}
	}
	if rep.StaleSends != 2 || rec.get()["Scan"] > 0 {
		t.Errorf("first tick failed %d stale sends (want 2), calls %v", rep.StaleSends, rec.get())
	}
	if again, err := j.run(ctx, t0); err != nil || again.StaleSends != 0 || again.Buckets != 0 {
		t.Errorf("the tick again: %+v, %v; want nothing read or failed", again, err)
	}
	// An hour later the recent one is two and a half hours old: its turn.
	if later, err := j.run(ctx, t0.Add(time.Hour)); err != nil || later.StaleSends != 1 {
		t.Errorf("an hour later: %+v, %v; want the recent one failed", later, err)
	}
	if s, title := status(recent); s != inbox.DeliveryFailed || title != "not sent" {
		t.Errorf("%s: %s %q, want failed, not sent", recent.ID, s, title)
	}
}
