package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/realtime"
)

func TestSupersede(t *testing.T) {
	t.Parallel()
	sum := &apijson.Conversation{ID: "c"}
	evs := []realtime.Event{
		{ID: "1", Type: realtime.ConversationUpdated, ConversationID: "c", Conversation: sum},
		{ID: "2", Type: realtime.MessageCreated, ConversationID: "c", Conversation: sum},
		{ID: "3", Type: realtime.ConversationUpdated, ConversationID: "d", Conversation: sum},
		{ID: "4", Type: realtime.ConversationUpdated, ConversationID: "c", Conversation: sum},
		{ID: "5", Type: realtime.ConversationRemoved, ConversationID: "d"},
	}
	var got []string
	for _, e := range supersede(evs) {
		got = append(got, e.ID)
	}
	// 1 is made redundant by 2; 3 is kept (5, a removal, carries no summary); 4 is the last.
	if diff := cmp.Diff([]string{"2", "3", "4", "5"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFrames(t *testing.T) {
	t.Parallel()
	var evs []realtime.Event
	for range 100 {
		evs = append(evs, realtime.Event{ID: strings.Repeat("x", 1000), Type: realtime.Pong})
	}
	fs := frames(evs)
	n := 0
	for _, f := range fs {
		if len(f) > frameBytes {
			t.Errorf("frame of %d bytes, over %d", len(f), frameBytes)
		}
		var got []realtime.Event
		if err := json.Unmarshal(f, &got); err != nil {
			t.Fatalf("frame is not a JSON array of events: %v", err)
		}
		n += len(got)
	}
	if n != 100 || len(fs) != 4 {
		t.Errorf("%d events in %d frames, want 100 in 4", n, len(fs))
	}
}
