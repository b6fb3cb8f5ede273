package consume

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/testenv"
)

// send puts bodies on the FIFO queue at url, in order, as group g.
func send(t *testing.T, client *sqs.Client, url, g string, bodies ...string) {
	t.Helper()
	items := make([]queue.Item, len(bodies))
	for i, b := range bodies {
		items[i] = queue.Item{Group: g, Dedup: testenv.ID("d"), Body: b}
	}
	if err := queue.New(client, url).Send(context.Background(), items); err != nil {
		t.Fatal(err)
	}
}

// bodyOf decodes a record's JSON string body.
func bodyOf(t *testing.T, r *lambdaevents.SQSMessage) string {
	var s string
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
		t.Errorf("body %q: %v", r.Body, err)
	}
	return s
}

// drain takes every message of url, returning their bodies and reasons.
func drain(t *testing.T, client *sqs.Client, url string) []string {
	t.Helper()
	var got []string
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameMessageGroupId},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			got = append(got, fmt.Sprintf("%s %s | %s", m.Attributes["MessageGroupId"], aws.ToString(m.Body), aws.ToString(m.MessageAttributes["reason"].StringValue)))
			if _, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// batchLine decodes the runner's last "batch applied" line from buf.
func batchLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var last map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "batch applied" {
			last = m
		}
	}
	if last == nil {
		t.Fatal("no batch line")
	}
	return last
}

// syncBuffer is a bytes.Buffer the runner's goroutines may log into at once.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func TestPoisonGoesToTheDeadLetterQueue(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	tests := []struct {
		name       string
		dlqMissing bool // burying fails
		wantFailed []string
		wantSeen   []string
		wantDead   []string
		wantCounts map[string]any
	}{
		{
			name:     "buried with its reason and acknowledged; its group goes on",
			wantSeen: []string{"poison", "ok a2"},
			wantDead: []string{`A "poison" | not an event: bad JSON`},
			wantCounts: map[string]any{"Records": 3.0, "RecordFailures": 1.0, "RecordsRetried": 0.0, "RecordsDeadLettered": 1.0,
				"level": "WARN", "Function": "test"},
		},
		{
			name:       "not buried: retried with its group",
			dlqMissing: true,
			wantFailed: []string{"poison", "ok a2"},
			wantSeen:   []string{"poison"},
			wantCounts: map[string]any{"Records": 3.0, "RecordFailures": 1.0, "RecordsRetried": 2.0, "RecordsDeadLettered": 0.0,
				"level": "WARN", "Function": "test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, dlqURL := testenv.FIFOQueue(t, MaxReceives, 30)
			dlq := queue.New(client, dlqURL)
			if tt.dlqMissing {
				dlq = queue.New(client, dlqURL+"-missing.fifo")
			}
			var mu sync.Mutex
			var seen []string
			buf := &syncBuffer{}
			r := &Runner{Name: "test", Queue: queue.New(client, url), DLQ: dlq, Log: slog.New(slog.NewJSONHandler(buf, nil)),
				Handle: func(_ context.Context, r *lambdaevents.SQSMessage) error {
					b := bodyOf(t, r)
					if r.Attributes["MessageGroupId"] == "A" {
						mu.Lock()
						seen = append(seen, b)
						mu.Unlock()
					}
					if b == "poison" {
						return Poisonf("not an event: %w", errors.New("bad JSON"))
					}
					return nil
				}}
			send(t, client, url, "A", "poison", "ok a2")
			send(t, client, url, "B", "ok b1")
			pending := slices.Clone(tt.wantFailed) // each reported failed once
			var handed []lambdaevents.SQSMessage
			for deadline := time.Now().Add(20 * time.Second); len(handed) < 3 && time.Now().Before(deadline); {
				handed = append(handed, testenv.Deliver(t, client, url, func(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
					resp, err := r.Run(ctx, ev)
					for _, f := range resp.BatchItemFailures {
						for _, rec := range ev.Records {
							if rec.MessageId == f.ItemIdentifier {
								pending = remove(t, pending, bodyOf(t, &rec))
							}
						}
					}
					return resp, err
				})...)
			}
			if len(pending) != 0 {
				t.Errorf("records not reported failed: %v", pending)
			}
			if diff := cmp.Diff(tt.wantSeen, seen); diff != "" {
				t.Errorf("group A handled (-want +got):\n%s", diff)
			}
			if !tt.dlqMissing {
				if diff := cmp.Diff(tt.wantDead, drain(t, client, dlqURL)); diff != "" {
					t.Errorf("dead letters (-want +got):\n%s", diff)
				}
			}
			line := batchLine(t, &buf.Buffer)
			for k, want := range tt.wantCounts {
				if line[k] != want {
					t.Errorf("batch line %s = %v, want %v", k, line[k], want)
				}
			}
		})
	}
}

// visible is how many messages wait on the queue at url.
func visible(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// remove takes one s out of list, failing the test if it is not there.
func remove(t *testing.T, list []string, s string) []string {
	for i, x := range list {
		if x == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	t.Errorf("%q reported failed, not expected", s)
	return list
}

// TestRetriesComeBackAfterTheirDelay: a failed record's visibility is changed to its delay. B
// asks to come back at once and does; A asks for an hour and stays away well past the queue's
// own visibility timeout (1 s).
func TestRetriesComeBackAfterTheirDelay(t *testing.T) {
	t.Parallel()
	client := testenv.SQS(t)
	url, dlqURL := testenv.FIFOQueue(t, MaxReceives, 1)
	var failed atomic.Bool
	handed := map[string]int{}
	r := &Runner{Name: "test", Queue: queue.New(client, url), DLQ: queue.New(client, dlqURL), Log: quiet,
		Handle: func(_ context.Context, r *lambdaevents.SQSMessage) error {
			switch bodyOf(t, r) {
			case "later":
				return RetryAfter(time.Hour, errors.New("come back in an hour"))
			case "now":
				if !failed.Swap(true) {
					return RetryAfter(0, errors.New("come back at once"))
				}
			}
			return nil
		}}
	send(t, client, url, "A", "later")
	send(t, client, url, "B", "now")
	start := time.Now()
	for handed["now"] < 2 || time.Since(start) < 3*time.Second {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("after 30 s: handed %v, want B twice", handed)
		}
		for _, rec := range testenv.Deliver(t, client, url, r.Run) {
			handed[bodyOf(t, &rec)]++
		}
	}
	if want := map[string]int{"later": 1, "now": 2}; !cmp.Equal(want, handed) {
		t.Errorf("handed %v, want %v: A must stay postponed past the queue's visibility timeout", handed, want)
	}
}

// TestLongOutage plays an outage of the table longer than the old receive limit allowed: three
// conversations of four messages each fail on every receive until each conversation's first
// message was received outageReceives times (the old limit was 5), with the queue's real
// maxReceiveCount (MaxReceives) and the backoff shortened to a second. Then the table is back:
// every message is applied exactly once, in its conversation's order, and nothing is
// dead-lettered.
func TestLongOutage(t *testing.T) {
	t.Parallel()
	const outageReceives = 8
	client := testenv.SQS(t)
	url, dlqURL := testenv.FIFOQueue(t, MaxReceives, 2)
	groups := []string{"conv-a", "conv-b", "conv-c"}
	var mu sync.Mutex
	applied := map[string][]string{}
	headReceives := map[string]int{}
	var down atomic.Bool
	down.Store(true)
	r := &Runner{Name: "test", Queue: queue.New(client, url), DLQ: queue.New(client, dlqURL), Log: quiet,
		Backoff: func(int) time.Duration { return time.Second },
		Handle: func(_ context.Context, r *lambdaevents.SQSMessage) error {
			g := r.Attributes["MessageGroupId"]
			mu.Lock()
			defer mu.Unlock()
			if down.Load() {
				headReceives[g] = max(headReceives[g], receiveCount(r))
				return errors.New("table unavailable")
			}
			applied[g] = append(applied[g], bodyOf(t, r))
			return nil
		}}
	want := map[string][]string{}
	for _, g := range groups {
		for i := range 4 {
			want[g] = append(want[g], fmt.Sprintf("%s-%d", g, i))
		}
		send(t, client, url, g, want[g]...)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; {
		mu.Lock()
		if down.Load() {
			back := true // once every conversation failed more receives than the old limit
			for _, g := range groups {
				back = back && headReceives[g] >= outageReceives
			}
			down.Store(!back)
		}
		n := 0
		for _, g := range groups {
			n += len(applied[g])
		}
		mu.Unlock()
		if n >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: applied %v (receives during the outage %v)", applied, headReceives)
		}
		if n := visible(t, client, dlqURL); n > 0 {
			t.Fatalf("%d messages dead-lettered (receives during the outage %v)", n, headReceives)
		}
		testenv.Deliver(t, client, url, r.Run)
	}
	if diff := cmp.Diff(want, applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if dead := drain(t, client, dlqURL); len(dead) != 0 {
		t.Errorf("dead letters: %v, want none", dead)
	}
	if left := drain(t, client, url); len(left) != 0 {
		t.Errorf("left on the queue: %v, want nothing", left)
	}
	for _, g := range groups {
		if headReceives[g] <= 5 {
			t.Errorf("%s failed %d receives, want more than the old limit of 5", g, headReceives[g])
		}
	}
}
