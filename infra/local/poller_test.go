package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// batch is a FIFO batch of records "<id>" in groups "<group>".
func batch(recs ...[2]string) lambdaevents.SQSEvent {
	var ev lambdaevents.SQSEvent
	for _, r := range recs {
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{
			MessageId: r[0], ReceiptHandle: "rh-" + r[0],
			Attributes: map[string]string{"MessageGroupId": r[1]},
		})
	}
	return ev
}

func TestSettleBatch(t *testing.T) {
	t.Parallel()
	ev := batch([2]string{"a1", "A"}, [2]string{"b1", "B"}, [2]string{"a2", "A"}, [2]string{"a3", "A"})
	ids := func(recs []lambdaevents.SQSMessage) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.MessageId)
		}
		return out
	}
	all := []string{"a1", "b1", "a2", "a3"}
	tests := []struct {
		name          string
		resp          string
		invokeErr     error
		wantDelete    []string
		wantFailed    []string
		wantOutOfOrdr []string
		wantErr       error
	}{
		{name: "function error: nothing deleted", invokeErr: &FunctionError{Type: "Runtime.ExitError"}, wantFailed: all, wantErr: ErrBatchFailed},
		{name: "null response: all deleted", resp: `null`, wantDelete: all},
		{name: "empty response: all deleted", resp: ``, wantDelete: all},
		{name: "empty object: all deleted", resp: `{}`, wantDelete: all},
		{name: "empty failures: all deleted", resp: `{"batchItemFailures":[]}`, wantDelete: all},
		{name: "null failures: all deleted", resp: `{"batchItemFailures":null}`, wantDelete: all},
		{
			name:       "failed record and the rest of its group kept",
			resp:       `{"batchItemFailures":[{"itemIdentifier":"a2"},{"itemIdentifier":"a3"}]}`,
			wantDelete: []string{"a1", "b1"}, wantFailed: []string{"a2", "a3"},
		},
		{
			name:       "a later record of a failed group acknowledged: deleted as Lambda does, flagged",
			resp:       `{"batchItemFailures":[{"itemIdentifier":"a2"}]}`,
			wantDelete: []string{"a1", "b1", "a3"}, wantFailed: []string{"a2"}, wantOutOfOrdr: []string{"a3"},
		},
		{name: "unknown itemIdentifier fails the batch", resp: `{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, wantFailed: all, wantErr: ErrBatchFailed},
		{name: "empty itemIdentifier fails the batch", resp: `{"batchItemFailures":[{"itemIdentifier":""}]}`, wantFailed: all, wantErr: ErrBatchFailed},
		{name: "null itemIdentifier fails the batch", resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, wantFailed: all, wantErr: ErrBatchFailed},
		{name: "misspelt key fails the batch", resp: `{"batchItemFailures":[{"itemId":"a1"}]}`, wantFailed: all, wantErr: ErrBatchFailed},
		{name: "not JSON fails the batch", resp: `oops`, wantFailed: all, wantErr: ErrBatchFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := settleBatch(ev, []byte(tt.resp), tt.invokeErr)
			if !errors.Is(got.Err, tt.wantErr) {
				t.Errorf("Err = %v, want %v", got.Err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantDelete, ids(got.Delete)); diff != "" {
				t.Errorf("Delete (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFailed, got.Failed); diff != "" {
				t.Errorf("Failed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOutOfOrdr, got.OutOfOrder); diff != "" {
				t.Errorf("OutOfOrder (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSQSEvent(t *testing.T) {
	t.Parallel()
	msgs := []types.Message{{
		MessageId:     aws.String("059f36b4-87a3-44ab-83d2-661975830a7d"),
		ReceiptHandle: aws.String("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a"),
		Body:          aws.String(`{"kind":"message"}`),
		MD5OfBody:     aws.String("e4e68fb7bd0e697a0ae8f1bb342846b3"),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    "1573251510774",
			"SequenceNumber":                   "18849496460467696128",
			"MessageGroupId":                   "meta:106540352242922:5215512345678",
			"SenderId":                         "AIDAIO23YVJENQZJOL4VO",
			"MessageDeduplicationId":           "m:wamid.1",
			"ApproximateFirstReceiveTimestamp": "1573251510774",
		},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"trace": {DataType: aws.String("String"), StringValue: aws.String("t1")},
		},
		MD5OfMessageAttributes: aws.String("3f2a"),
	}}
	got := sqsEvent(msgs, "arn:aws:sqs:us-east-1:123456789012:inbound.fifo")
	b, err := os.ReadFile(filepath.Join("testdata", "sqs-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want lambdaevents.SQSEvent
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sqsEvent (-want +got):\n%s", diff)
	}
	// Lambda sends both attribute lists, empty, never null.
	enc, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Records []struct {
			MessageAttributes map[string]map[string]any `json:"messageAttributes"`
		}
	}
	if err := json.Unmarshal(enc, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"stringListValues", "binaryListValues"} {
		if v, ok := raw.Records[0].MessageAttributes["trace"][k].([]any); !ok || len(v) != 0 {
			t.Errorf("messageAttributes.trace.%s = %v, want []", k, raw.Records[0].MessageAttributes["trace"][k])
		}
	}
}

// TestPollerIntegration runs the echo function as the consumer of a real FIFO queue: records
// it reports failed, with the rest of their group, come back and end in the DLQ; the others
// are deleted; a crash fails the whole batch.
func TestPollerIntegration(t *testing.T) {
	c := emulatorClients(t).sqs
	t.Parallel()
	bin := buildEcho(t)
	f := startEcho(t, bin, functionSpec{Name: "assign", MemoryMB: 512, Timeout: 5 * time.Second, Pool: 2})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	tests := []struct {
		name     string
		msgs     []msg
		wantDead []string
		// mayDie may end in the DLQ too: a record held behind a failed one is reported with it
		// (group order), so it comes back with it; whether SQS hands them back in one batch (and
		// a3 reaches the receive limit with a2) or a2 alone (and a3 is handled once a2 is dead)
		// is up to the queue.
		mayDie []string
	}{
		{
			name:     "partial failure",
			msgs:     []msg{{"A", "a1", `"ok a1"`}, {"A", "a2", `"fail"`}, {"A", "a3", `"ok a3"`}, {"B", "b1", `"ok b1"`}},
			wantDead: []string{`"fail"`},
			mayDie:   []string{`"ok a3"`},
		},
		{
			name:     "crash fails the whole batch",
			msgs:     []msg{{"C", "c1", `"crash"`}},
			wantDead: []string{`"crash"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := testQueue(t, c, time.Second, 2)
			logOut := &testLog{t: t}
			p := &poller{sqs: c, queueURL: q.URL, queueARN: q.ARN, function: "assign", invoke: f.Invoke,
				log: slog.New(slog.NewTextHandler(logOut, nil))}
			pctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				p.run(pctx)
			}()
			defer func() {
				stop()
				<-done
			}()
			send(t, c, q.URL, tt.msgs...)

			var dead []string
			drainDLQ := func() {
				out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
					QueueUrl: aws.String(q.DLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range out.Messages {
					dead = append(dead, aws.ToString(m.Body))
					c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.DLQURL), ReceiptHandle: m.ReceiptHandle})
				}
			}
			for deadline := time.Now().Add(90 * time.Second); len(dead) < len(tt.wantDead) && time.Now().Before(deadline); {
				drainDLQ()
			}
			// Nothing is left: the successful records were deleted. On a busy machine the last
			// batch may still be in flight when the DLQ is full, so wait for it a little.
			var left map[string]string
			for wait := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				attrs, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
					QueueUrl: aws.String(q.URL),
					AttributeNames: []types.QueueAttributeName{
						types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				left = map[string]string{}
				for k, v := range attrs.Attributes {
					if v != "0" {
						left[k] = v
					}
				}
				if len(left) == 0 || time.Now().After(wait) {
					break
				}
			}
			for k, v := range left {
				t.Errorf("queue %s = %s, want 0", k, v)
			}
			drainDLQ() // a record that died after the first look
			var got []string
			for _, d := range dead {
				if !slices.Contains(tt.mayDie, d) {
					got = append(got, d)
				}
			}
			if diff := cmp.Diff(tt.wantDead, got); diff != "" {
				t.Errorf("DLQ (-want +got), besides %v:\n%s", tt.mayDie, diff)
			}
		})
	}
}
