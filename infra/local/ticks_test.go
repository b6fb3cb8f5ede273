package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func TestScheduledEvent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)
	b, err := json.Marshal(scheduledEvent("WindowSchedule", now))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if id, _ := got["id"].(string); len(id) != 36 {
		t.Errorf("id = %v, want a UUID", got["id"])
	}
	delete(got, "id")
	want := map[string]any{
		"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": accountID,
		"time": "2026-11-22T10:00:00Z", "region": region,
		"resources": []any{"arn:aws:events:us-east-1:123456789012:rule/WindowSchedule"}, "detail": map[string]any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scheduled event (-want +got):\n%s", diff)
	}
}

func TestScheduleRun(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []lambdaevents.EventBridgeEvent
	invoke := func(_ context.Context, payload []byte) ([]byte, error) {
		var ev lambdaevents.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Errorf("payload %s: %v", payload, err)
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		return []byte("null"), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &schedule{rule: "TemplatesSchedule", function: "templates", every: time.Hour, atStart: true,
		timeout: time.Second, invoke: invoke, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() {
		s.run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(60 * time.Second) // room for a busy machine
	for {
		mu.Lock()
		n := len(events)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(events) != 1 || events[0].DetailType != "Scheduled Event" {
		t.Errorf("events = %+v, want one scheduled event at start", events)
	}

	// A short period ticks repeatedly: a second tick comes, without waiting on a fixed
	// window of time a busy machine may overrun (the limit only ends a broken run).
	events = nil
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	twice := func(c context.Context, payload []byte) ([]byte, error) {
		out, err := invoke(c, payload)
		mu.Lock()
		if len(events) >= 2 {
			cancel()
		}
		mu.Unlock()
		return out, err
	}
	s = &schedule{rule: "WindowSchedule", function: "window", every: 100 * time.Millisecond,
		timeout: time.Second, invoke: twice, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.run(ctx)
	if len(events) < 2 {
		t.Errorf("%d ticks in 60 s every 100ms, want at least 2", len(events))
	}
}
