package consume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// quiet keeps the runner's lines out of the test output.
var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// rec is a record of group g whose body tells the scripted handler what to do: "ok", "fail",
// "poison", "panic", "after:<duration>" (RetryAfter).
func rec(id, g, body string, receives int) lambdaevents.SQSMessage {
	attrs := map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives)}
	if g != "" {
		attrs["MessageGroupId"] = g
	}
	return lambdaevents.SQSMessage{MessageId: id, Body: body, Attributes: attrs}
}

// script handles records by their body and remembers, per group (a record without one is
// its own), the order it saw them in.
type script struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (s *script) handle(_ context.Context, r *lambdaevents.SQSMessage) error {
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[string][]string{}
	}
	g := r.Attributes["MessageGroupId"]
	if g == "" {
		g = r.MessageId // a group of its own
	}
	s.seen[g] = append(s.seen[g], r.MessageId)
	s.mu.Unlock()
	switch {
	case r.Body == "fail":
		return errors.New("table unavailable")
	case r.Body == "poison":
		return Poisonf("not an event")
	case r.Body == "panic":
		panic("handler bug")
	case strings.HasPrefix(r.Body, "after:"):
		d, _ := time.ParseDuration(strings.TrimPrefix(r.Body, "after:"))
		return RetryAfter(d, errors.New("throttled"))
	}
	return nil
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		recs        []lambdaevents.SQSMessage
		backoff     func(int) time.Duration
		wantResults []result
		wantFailed  []string
		wantSeen    map[string][]string // per group, the records the handler saw, in order
	}{
		{
			name:        "every record handled",
			recs:        []lambdaevents.SQSMessage{rec("a1", "A", "ok", 1), rec("b1", "B", "ok", 1), rec("a2", "A", "ok", 1)},
			wantResults: []result{{acked, 0}, {acked, 0}, {acked, 0}},
			wantSeen:    map[string][]string{"A": {"a1", "a2"}, "B": {"b1"}},
		},
		{
			name: "a failure fails the later records of its group only, unhandled",
			recs: []lambdaevents.SQSMessage{rec("a1", "A", "ok", 1), rec("a2", "A", "fail", 3), rec("b1", "B", "ok", 1),
				rec("a3", "A", "ok", 1), rec("b2", "B", "ok", 1)},
			wantResults: []result{{acked, 0}, {retried, 20 * time.Second}, {acked, 0}, {blocked, 20 * time.Second}, {acked, 0}},
			wantFailed:  []string{"a2", "a3"},
			wantSeen:    map[string][]string{"A": {"a1", "a2"}, "B": {"b1", "b2"}},
		},
		{
			name:        "records without a group do not hold each other",
			recs:        []lambdaevents.SQSMessage{rec("s1", "", "fail", 1), rec("s2", "", "ok", 1)},
			wantResults: []result{{retried, 5 * time.Second}, {acked, 0}},
			wantFailed:  []string{"s1"},
			wantSeen:    map[string][]string{"s1": {"s1"}, "s2": {"s2"}},
		},
		{
			name:        "the handler's own delay wins over the backoff",
			recs:        []lambdaevents.SQSMessage{rec("a1", "A", "after:1s", 9), rec("a2", "A", "ok", 9)},
			wantResults: []result{{retried, time.Second}, {blocked, time.Second}},
			wantFailed:  []string{"a1", "a2"},
			wantSeen:    map[string][]string{"A": {"a1"}},
		},
		{
			name:        "a panic fails its record and group, not the batch",
			recs:        []lambdaevents.SQSMessage{rec("a1", "A", "panic", 1), rec("a2", "A", "ok", 1), rec("b1", "B", "ok", 1)},
			wantResults: []result{{retried, 5 * time.Second}, {blocked, 5 * time.Second}, {acked, 0}},
			wantFailed:  []string{"a1", "a2"},
			wantSeen:    map[string][]string{"A": {"a1"}, "B": {"b1"}},
		},
		{
			name:        "without a dead-letter queue poison is retried",
			recs:        []lambdaevents.SQSMessage{rec("a1", "A", "poison", 2), rec("a2", "A", "ok", 2)},
			wantResults: []result{{retried, 10 * time.Second}, {blocked, 10 * time.Second}},
			wantFailed:  []string{"a1", "a2"},
			wantSeen:    map[string][]string{"A": {"a1"}},
		},
		{
			name:        "a consumer's own backoff",
			recs:        []lambdaevents.SQSMessage{rec("a1", "A", "fail", 4)},
			backoff:     func(n int) time.Duration { return time.Duration(n) * time.Minute },
			wantResults: []result{{retried, 4 * time.Minute}},
			wantFailed:  []string{"a1"},
			wantSeen:    map[string][]string{"A": {"a1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &script{}
			r := &Runner{Name: "test", Handle: s.handle, Backoff: tt.backoff, Log: quiet}
			got := r.handle(context.Background(), tt.recs)
			if diff := cmp.Diff(tt.wantResults, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSeen, s.seen); diff != "" {
				t.Errorf("handled, per group (-want +got):\n%s", diff)
			}
			resp, err := r.Run(context.Background(), lambdaevents.SQSEvent{Records: tt.recs})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if diff := cmp.Diff(tt.wantFailed, failed); diff != "" {
				t.Errorf("batch item failures (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGroupsRunConcurrently: the handlers of two groups of one batch are running at the same
// time. Each waits at a barrier for the other; run one after the other, the first would give
// up waiting and fail.
func TestGroupsRunConcurrently(t *testing.T) {
	t.Parallel()
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	handle := func(_ context.Context, r *lambdaevents.SQSMessage) error {
		if r.Body != "barrier" {
			return nil
		}
		arrived.Done()
		select {
		case <-both:
			return nil
		case <-time.After(20 * time.Second):
			return errors.New("the other group never ran alongside")
		}
	}
	r := &Runner{Name: "test", Handle: handle, Log: quiet}
	resp, err := r.Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		rec("a1", "A", "barrier", 1), rec("a2", "A", "ok", 1), rec("b1", "B", "barrier", 1)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("Run = %+v, %v; want both groups handled side by side", resp, err)
	}
}

// TestGroupRecordsNeverOverlap: a group's records are handled one at a time, in order, while
// other groups run alongside.
func TestGroupRecordsNeverOverlap(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running := map[string]int{}
	var overlaps []string
	var order []string
	handle := func(_ context.Context, r *lambdaevents.SQSMessage) error {
		g := r.Attributes["MessageGroupId"]
		mu.Lock()
		running[g]++
		if running[g] > 1 {
			overlaps = append(overlaps, r.MessageId)
		}
		if g == "A" {
			order = append(order, r.MessageId)
		}
		mu.Unlock()
		time.Sleep(time.Millisecond) // give an overlapping call the chance to show
		mu.Lock()
		running[g]--
		mu.Unlock()
		return nil
	}
	var recs []lambdaevents.SQSMessage
	for i := range 10 {
		recs = append(recs, rec(fmt.Sprint("a", i), "A", "ok", 1), rec(fmt.Sprint("b", i), "B", "ok", 1))
	}
	r := &Runner{Name: "test", Handle: handle, Log: quiet}
	if _, err := r.Run(context.Background(), lambdaevents.SQSEvent{Records: recs}); err != nil {
		t.Fatal(err)
	}
	if len(overlaps) != 0 {
		t.Errorf("records handled while another of their group was running: %v", overlaps)
	}
	want := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("group A's order (-want +got):\n%s", diff)
	}
}

// TestHandlersStopBeforeTheDeadline: the handlers' context ends settleReserve before the
// invocation's, so the runner still has time to postpone what failed.
func TestHandlersStopBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var got time.Time
	r := &Runner{Name: "test", Log: quiet, Handle: func(ctx context.Context, _ *lambdaevents.SQSMessage) error {
		got, _ = ctx.Deadline()
		return nil
	}}
	if _, err := r.Run(ctx, lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{rec("a1", "A", "ok", 1)}}); err != nil {
		t.Fatal(err)
	}
	if want := deadline.Add(-settleReserve); !got.Equal(want) {
		t.Errorf("handler deadline = %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	base := errors.New("no such message")
	tests := []struct {
		name       string
		err        error
		wantPoison bool
		wantMsg    string
	}{
		{"poison keeps its reason and what it wraps", Poison(base), true, "no such message"},
		{"poisonf", Poisonf("not a send event: %w", base), true, "not a send event: no such message"},
		{"wrapped poison", fmt.Errorf("apply: %w", Poison(base)), true, "apply: no such message"},
		{"retry after", RetryAfter(time.Second, base), false, "no such message"},
		{"plain", base, false, "no such message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tt.err, ErrPoison); got != tt.wantPoison {
				t.Errorf("errors.Is(err, ErrPoison) = %v, want %v", got, tt.wantPoison)
			}
			if !errors.Is(tt.err, base) {
				t.Errorf("errors.Is(err, base) = false: the cause is lost")
			}
			if tt.err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", tt.err.Error(), tt.wantMsg)
			}
		})
	}
}

// TestBatchLineIsEmbeddedMetricFormat: the batch's line is a CloudWatch EMF document: an "_aws"
// directive naming every metric and the Function dimension, each with a top-level value.
func TestBatchLineIsEmbeddedMetricFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		recs      []lambdaevents.SQSMessage
		wantLevel string
		wantVals  map[string]any
	}{
		{"all handled", []lambdaevents.SQSMessage{rec("a1", "A", "ok", 1), rec("b1", "B", "ok", 1)}, "INFO",
			map[string]any{"Records": 2.0, "RecordFailures": 0.0, "RecordsRetried": 0.0, "RecordsDeadLettered": 0.0}},
		{"a failure and the record behind it", []lambdaevents.SQSMessage{rec("a1", "A", "fail", 1), rec("a2", "A", "ok", 1), rec("b1", "B", "ok", 1)}, "WARN",
			map[string]any{"Records": 3.0, "RecordFailures": 1.0, "RecordsRetried": 2.0, "RecordsDeadLettered": 0.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			r := &Runner{Name: "assign", Handle: (&script{}).handle, Log: slog.New(slog.NewJSONHandler(&buf, nil)),
				Report: func() []slog.Attr { return []slog.Attr{slog.Float64("write_units", 4)} }}
			if _, err := r.Run(context.Background(), lambdaevents.SQSEvent{Records: tt.recs}); err != nil {
				t.Fatal(err)
			}
			line := batchLine(t, &buf.Buffer)
			aws, _ := line["_aws"].(map[string]any)
			if ts, ok := aws["Timestamp"].(float64); !ok || ts < float64(time.Now().Add(-time.Minute).UnixMilli()) {
				t.Errorf("_aws.Timestamp = %v, want epoch milliseconds", aws["Timestamp"])
			}
			wantDirective := []any{map[string]any{
				"Namespace":  "Buzon",
				"Dimensions": []any{[]any{"Function"}},
				"Metrics": []any{
					map[string]any{"Name": "Records", "Unit": "Count"}, map[string]any{"Name": "RecordFailures", "Unit": "Count"},
					map[string]any{"Name": "RecordsRetried", "Unit": "Count"}, map[string]any{"Name": "RecordsDeadLettered", "Unit": "Count"},
				},
			}}
			if diff := cmp.Diff(wantDirective, aws["CloudWatchMetrics"]); diff != "" {
				t.Errorf("_aws.CloudWatchMetrics (-want +got):\n%s", diff)
			}
			want := map[string]any{"Function": "assign", "level": tt.wantLevel, "write_units": 4.0}
			for k, v := range tt.wantVals {
				want[k] = v
			}
			got := map[string]any{}
			for k := range want {
				got[k] = line[k]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch line (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrencyIsBounded: a batch of many groups (a standard queue's, each record its own)
// never has more than maxGroups handlers running.
func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running, most := 0, 0
	handle := func(_ context.Context, _ *lambdaevents.SQSMessage) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	var recs []lambdaevents.SQSMessage
	for i := range 100 {
		recs = append(recs, rec(fmt.Sprint("s", i), "", "ok", 1))
	}
	r := &Runner{Name: "test", Handle: handle, Log: quiet}
	resp, err := r.Run(context.Background(), lambdaevents.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Run = %+v, %v", resp, err)
	}
	if most > maxGroups {
		t.Errorf("%d handlers ran at once, want at most %d", most, maxGroups)
	}
}
