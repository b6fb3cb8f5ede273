package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

func TestReserveIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	first := store.Idempotency{ConversationID: "c1", MessageID: "m1", MessageAt: now, Fingerprint: "f1"}
	second := store.Idempotency{ConversationID: "c1", MessageID: "m2", MessageAt: now.Add(time.Second), Fingerprint: "f2"}

	steps := []struct {
		name      string
		user, key string
		rec       store.Idempotency
		at        time.Time
		want      store.Idempotency
		wantFresh bool
	}{
		{"first use reserves", "ana", "k", first, now, first, true},
		{"retry finds the first", "ana", "k", second, now.Add(time.Hour), first, false},
		{"other user, same key", "bea", "k", second, now, second, true},
		{"expired key is reserved again", "ana", "k", second, now.Add(store.IdempotencyTTL + time.Minute), second, true},
	}
	for _, s := range steps {
		got, fresh, err := st.ReserveIdempotency(ctx, org, s.user, s.key, s.rec, s.at)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if fresh != s.wantFresh {
			t.Errorf("%s: fresh = %v, want %v", s.name, fresh, s.wantFresh)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestFindMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	conv := testenv.ID("c_")
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	in := inbox.InboundMessage(conv, &events.Message{ID: "wamid.in1", Line: events.Line{Address: "pn"}, From: "549", Type: "text", Text: "hola"}, t0, t0)
	out := inbox.NewOutboundMessage("m_out1", conv, "ana", t0.Add(time.Minute))
	out.ProviderID = "wamid.out1"
	for _, m := range []*inbox.Message{in, out} {
		if err := st.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutPointer(ctx, out.ProviderID, store.KeyOf(out)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ { // later traffic the lookup walks past
		m := inbox.NewOutboundMessage(inbox.NewID("m_"), conv, "ana", t0.Add(time.Hour+time.Duration(i)*time.Second))
		if err := st.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, id string
		want     string // message id; empty: not found
	}{
		{"inbound by our id", in.ID, in.ID},
		{"inbound by provider id", "wamid.in1", in.ID},
		{"outbound by pointer", "wamid.out1", out.ID},
		{"outbound by our id", "m_out1", out.ID},
		{"unknown", "wamid.nope", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := st.FindMessage(ctx, conv, tc.id)
			if tc.want == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("FindMessage = %v, %v; want ErrNotFound", m, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != tc.want {
				t.Errorf("FindMessage(%q) = %s, want %s", tc.id, m.ID, tc.want)
			}
		})
	}
}
