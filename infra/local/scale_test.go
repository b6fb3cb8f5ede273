package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFunctionScalesOnDemand: invocations that find every process busy start more, up to the
// cap, as Lambda starts execution environments; those processes stop once idle and the warm
// one stays.
func TestFunctionScalesOnDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds and runs a function")
	}
	t.Parallel()
	bin := buildEcho(t)
	f := startEcho(t, bin, functionSpec{Name: "api", MemoryMB: 512, Timeout: 60 * time.Second, Pool: 1, MaxPool: 3, IdleTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := f.Settled(ctx); err != nil {
		t.Fatalf("echo did not initialize: %v", err)
	}
	pause := []byte(`{"version":"2.0","routeKey":"GET /v1/pause","rawPath":"/v1/pause","requestContext":{"http":{"method":"GET","path":"/v1/pause"}}}`)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 6 {
		wg.Go(func() {
			if _, err := f.Invoke(ctx, pause); err != nil {
				t.Errorf("invoke: %v", err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if _, peak, started := f.Scale(); peak != 3 || started != 2 {
		t.Errorf("6 concurrent invocations: peak %d processes, %d started on demand; want 3 (the cap) and 2", peak, started)
	}
	// The processes started on demand stop after a second without work.
	for {
		size, _, _ := f.Scale()
		if size == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d processes still running, want the warm one only", size)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := f.Invoke(ctx, pause); err != nil {
		t.Errorf("invoke after scaling in: %v", err)
	}
}

// TestFleetFollowsDistinctGroups plays the FIFO event source mapping's scaling against
// ElasticMQ: pollers are added while messages of distinct groups wait, never beyond the cap,
// and one conversation's backlog (a single group) never runs two batches at once; the extra
// pollers leave once the queue is empty.
func TestFleetFollowsDistinctGroups(t *testing.T) {
	c := emulatorClients(t).sqs
	t.Parallel()
	tests := []struct {
		name     string
		groups   int
		messages int
		want     int // batches in flight at most
	}{
		{"a hundred conversations", 100, 200, 4},
		{"one conversation", 1, 30, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := testQueue(t, c, 30*time.Second, 5)
			var msgs []msg
			for i := range tt.messages {
				msgs = append(msgs, msg{group: fmt.Sprintf("g%d", i%tt.groups), dedup: fmt.Sprint(i), body: fmt.Sprintf(`"m%d"`, i)})
			}
			for start := 0; start < len(msgs); start += 10 {
				send(t, c, q.URL, msgs[start:min(start+10, len(msgs))]...)
			}
			var inFlight, most, handled atomic.Int32
			invoke := func(_ context.Context, payload []byte) ([]byte, error) {
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(300 * time.Millisecond)
				var ev struct{ Records []json.RawMessage }
				if err := json.Unmarshal(payload, &ev); err != nil {
					return nil, err
				}
				handled.Add(int32(len(ev.Records)))
				inFlight.Add(-1)
				return nil, nil
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() {
				cancel()
				wg.Wait()
			}()
			template := poller{sqs: c, queueURL: q.URL, queueARN: q.ARN, function: "assign", invoke: invoke, log: slog.New(slog.NewTextHandler(&testLog{t: t}, nil))}
			fl := newFleet(template, 1, 4, func(p *poller) { wg.Go(func() { p.run(ctx) }) })
			fl.run(ctx)

			deadline := time.Now().Add(120 * time.Second)
			for handled.Load() < int32(tt.messages) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d messages handled", handled.Load(), tt.messages)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got := most.Load(); got != int32(tt.want) {
				t.Errorf("batches in flight at most = %d, want %d", got, tt.want)
			}
			// An extra poller leaves after a receive (a 20 s long poll) that finds nothing.
			for {
				n, _ := fl.size()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d pollers still running on an empty queue, want 1", n)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestFleetLimits: pollers are added at most every f.every and up to max; only those above min
// leave.
func TestFleetLimits(t *testing.T) {
	t.Parallel()
	started := 0
	f := newFleet(poller{}, 2, 3, func(*poller) { started++ })
	ctx := context.Background()
	f.run(ctx)
	f.grow(ctx) // too soon after the last start
	if n, _ := f.size(); n != 2 || started != 2 {
		t.Fatalf("after run and an early grow: %d pollers (%d started), want 2", n, started)
	}
	f.last = time.Now().Add(-f.every)
	f.grow(ctx)
	f.last = time.Now().Add(-f.every)
	f.grow(ctx) // at the cap
	if n, peak := f.size(); n != 3 || peak != 3 || started != 3 {
		t.Fatalf("after growing: %d pollers, peak %d, %d started; want 3, 3, 3", n, peak, started)
	}
	if !f.leave() || f.leave() {
		t.Errorf("leave: one poller above the minimum of 2 should leave, then none")
	}
	if n, _ := f.size(); n != 2 {
		t.Errorf("after leaving: %d pollers, want 2", n)
	}
}
