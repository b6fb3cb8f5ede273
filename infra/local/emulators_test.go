package main

// These tests pin down, against the SQS and S3 emulators `make test` starts (ElasticMQ,
// S3Proxy), every SQS and S3 behaviour Buzón relies on, so that a local run means what a
// deployed one does. moto 5.2.5's server and Adobe S3Mock 4.9.1 were tried for S3 first and
// fail TestS3Emulator: neither checks a presigned URL's signature or expiry.
//
// Known differences, none of which Buzón depends on:
//   - DeduplicationScope=messageGroup and FifoThroughputLimit=perMessageGroupId are accepted
//     but not reported back, and deduplication is queue-wide rather than per message group
//     (Buzón's deduplication ids are provider message ids, unique across groups).
//   - moto 5.2.1, tried first, shares those and also forgets a deduplication id once its
//     message is deleted, so a provider's retry after processing was enqueued again: the
//     "deduplication outlives the deleted message" case fails there.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/testenv"
)

// emulatorClients returns clients of the emulators `make test` starts (shared/testenv: -short
// skips the test; without the emulators it fails).
func emulatorClients(t *testing.T) awsClients {
	t.Helper()
	return awsClients{dynamo: testenv.DynamoDB(t), sqs: testenv.SQS(t)}
}

// testQueue creates a FIFO queue pair named after the test, unique per run.
func testQueue(t *testing.T, c *sqs.Client, visibility time.Duration, maxReceive int) fifoQueue {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name())
	name = fmt.Sprintf("%.40s-%d", name, time.Now().UnixNano()%1e9)
	q, err := createFIFOQueue(context.Background(), c, queueSpec{Name: name, VisibilityTimeout: visibility, MaxReceiveCount: maxReceive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)})
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q.DLQURL)})
	})
	return q
}

type msg struct{ group, dedup, body string }

func send(t *testing.T, c *sqs.Client, url string, msgs ...msg) {
	t.Helper()
	var entries []types.SendMessageBatchRequestEntry
	for i, m := range msgs {
		entries = append(entries, types.SendMessageBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.body),
			MessageGroupId: aws.String(m.group), MessageDeduplicationId: aws.String(m.dedup),
		})
	}
	out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(out.Failed) > 0 || len(out.Successful) != len(msgs) {
		t.Fatalf("SendMessageBatch: %d successful, failed %+v", len(out.Successful), out.Failed)
	}
}

// receive receives up to max messages without waiting.
func receive(t *testing.T, c *sqs.Client, url string, max int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func bodies(msgs []types.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}

func deleteMsg(t *testing.T, c *sqs.Client, url string, m types.Message) {
	t.Helper()
	if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
}

func TestSQSEmulator(t *testing.T) {
	t.Parallel()
	c := emulatorClients(t).sqs
	ctx := context.Background()

	t.Run("high-throughput FIFO queue with a FIFO DLQ", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		for _, url := range []string{q.URL, q.DLQURL} {
			out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
			})
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "false"} {
				if got := out.Attributes[k]; got != want {
					t.Errorf("%s: %s = %q, want %q", url, k, got, want)
				}
			}
			// The high-throughput settings were accepted (CreateQueue did not fail); an
			// emulator that reports them must report what was set.
			for k, want := range map[string]string{"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"} {
				if got, ok := out.Attributes[k]; !ok {
					t.Logf("%s: the emulator does not report %s", url, k)
				} else if got != want {
					t.Errorf("%s: %s = %q, want %q", url, k, got, want)
				}
			}
			if url != q.URL {
				continue
			}
			if got := out.Attributes["VisibilityTimeout"]; got != "30" {
				t.Errorf("VisibilityTimeout = %q, want 30", got)
			}
			var redrive struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &redrive); err != nil {
				t.Fatalf("RedrivePolicy %q: %v", out.Attributes["RedrivePolicy"], err)
			}
			if redrive.DeadLetterTargetArn != q.DLQARN || fmt.Sprint(redrive.MaxReceiveCount) != "5" {
				t.Errorf("RedrivePolicy = %+v, want DLQ %s after 5", redrive, q.DLQARN)
			}
		}
		// Creating the queues again (a reused emulator) keeps them as they are.
		again, err := createFIFOQueue(ctx, c, queueSpec{Name: strings.TrimSuffix(q.URL[strings.LastIndex(q.URL, "/")+1:], ".fifo"),
			VisibilityTimeout: 30 * time.Second, MaxReceiveCount: 5})
		if err != nil || again != q {
			t.Errorf("createFIFOQueue again = %+v, %v; want %+v", again, err, q)
		}
	})

	t.Run("deduplication by MessageDeduplicationId", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		send(t, c, q.URL, msg{"g1", "d1", "first"})
		send(t, c, q.URL, msg{"g1", "d1", "retry"}) // a provider's retry: dropped
		send(t, c, q.URL, msg{"g1", "d2", "other"}) // another id: kept
		send(t, c, q.URL, msg{"g2", "d3", "other group"})
		got := receive(t, c, q.URL, 10)
		got = append(got, receive(t, c, q.URL, 10)...)
		if diff := cmp.Diff([]string{"first", "other", "other group"}, bodies(got)); diff != "" {
			t.Errorf("received (-want +got):\n%s", diff)
		}
	})

	t.Run("deduplication outlives the deleted message", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		send(t, c, q.URL, msg{"g1", "d1", "first"})
		got := receive(t, c, q.URL, 10)
		if len(got) != 1 {
			t.Fatalf("received %v, want first", bodies(got))
		}
		deleteMsg(t, c, q.URL, got[0])
		// SQS remembers the id for five minutes, processed or not.
		send(t, c, q.URL, msg{"g1", "d1", "late retry"})
		if got := receive(t, c, q.URL, 10); len(got) != 0 {
			t.Errorf("received %v after the original was deleted, want nothing (deduplicated)", bodies(got))
		}
	})

	t.Run("a group is blocked while one of its messages is in flight", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		send(t, c, q.URL, msg{"A", "a1", "a1"}, msg{"A", "a2", "a2"}, msg{"B", "b1", "b1"})
		first := receive(t, c, q.URL, 1)
		if diff := cmp.Diff([]string{"a1"}, bodies(first)); diff != "" {
			t.Fatalf("first receive (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"b1"}, bodies(receive(t, c, q.URL, 10))); diff != "" {
			t.Errorf("while a1 is in flight (-want +got):\n%s", diff)
		}
		if got := receive(t, c, q.URL, 10); len(got) != 0 {
			t.Errorf("received %v, want nothing while a1 and b1 are in flight", bodies(got))
		}
		deleteMsg(t, c, q.URL, first[0])
		if diff := cmp.Diff([]string{"a2"}, bodies(receive(t, c, q.URL, 10))); diff != "" {
			t.Errorf("after a1 is deleted (-want +got):\n%s", diff)
		}
	})

	t.Run("redrive to the FIFO DLQ after maxReceiveCount", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 2)
		send(t, c, q.URL, msg{"A", "a1", "poison"}, msg{"A", "a2", "next"})
		for i := 1; i <= 2; i++ {
			got := receive(t, c, q.URL, 1)
			if len(got) != 1 || aws.ToString(got[0].Body) != "poison" {
				t.Fatalf("receive %d: %v, want poison", i, bodies(got))
			}
			if n := got[0].Attributes["ApproximateReceiveCount"]; n != strconv.Itoa(i) {
				t.Errorf("receive %d: ApproximateReceiveCount %s", i, n)
			}
			// Fail it: back to the queue at once.
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(q.URL), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0,
			}); err != nil {
				t.Fatal(err)
			}
		}
		// The third receive moves it to the DLQ and delivers the next message of its group.
		if diff := cmp.Diff([]string{"next"}, bodies(receive(t, c, q.URL, 10))); diff != "" {
			t.Errorf("third receive (-want +got):\n%s", diff)
		}
		dead := receive(t, c, q.DLQURL, 10)
		if diff := cmp.Diff([]string{"poison"}, bodies(dead)); diff != "" {
			t.Fatalf("DLQ (-want +got):\n%s", diff)
		}
		if g := dead[0].Attributes["MessageGroupId"]; g != "A" {
			t.Errorf("DLQ message group %q, want A", g)
		}
	})

	t.Run("SendMessageBatch keeps each group's order", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		var msgs []msg
		for i := range 10 {
			g := []string{"A", "B"}[i%2]
			msgs = append(msgs, msg{g, fmt.Sprint("d", i), fmt.Sprint(g, i)})
		}
		send(t, c, q.URL, msgs...)
		var got []string
		for range 5 {
			for _, m := range receive(t, c, q.URL, 10) {
				got = append(got, aws.ToString(m.Body))
				deleteMsg(t, c, q.URL, m)
			}
		}
		var a, b []string
		for _, s := range got {
			if s[0] == 'A' {
				a = append(a, s)
			} else {
				b = append(b, s)
			}
		}
		if diff := cmp.Diff([]string{"A0", "A2", "A4", "A6", "A8"}, a); diff != "" {
			t.Errorf("group A (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"B1", "B3", "B5", "B7", "B9"}, b); diff != "" {
			t.Errorf("group B (-want +got):\n%s", diff)
		}
	})

	t.Run("ChangeMessageVisibility", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		send(t, c, q.URL, msg{"A", "a1", "a1"})
		got := receive(t, c, q.URL, 1)
		if len(got) != 1 {
			t.Fatalf("received %v", bodies(got))
		}
		m := got[0]
		for k := range map[string]bool{"MessageGroupId": true, "MessageDeduplicationId": true, "SequenceNumber": true,
			"ApproximateReceiveCount": true, "SentTimestamp": true, "ApproximateFirstReceiveTimestamp": true, "SenderId": true} {
			if m.Attributes[k] == "" {
				t.Errorf("attribute %s missing: %v", k, m.Attributes)
			}
		}
		change := func(d int32) {
			t.Helper()
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: d,
			}); err != nil {
				t.Fatalf("ChangeMessageVisibility(%d): %v", d, err)
			}
		}
		change(0)
		again := receive(t, c, q.URL, 1)
		if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
			t.Fatalf("after visibility 0: %v %v, want a1 received twice", bodies(again), again)
		}
		m = again[0]
		// A backoff: hidden for 2 s, then back. A receive is early only if it came back
		// sooner than that (on a busy machine the first receive may already be late).
		changed := time.Now()
		change(2)
		if got := receive(t, c, q.URL, 1); len(got) != 0 && time.Since(changed) < 2*time.Second {
			t.Errorf("received %v during the backoff", bodies(got))
		}
		for deadline := time.Now().Add(60 * time.Second); ; {
			if got := receive(t, c, q.URL, 1); len(got) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a1 did not come back within 60 s of a 2 s backoff")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("long polling returns a message sent during the wait", func(t *testing.T) {
		t.Parallel()
		q := testQueue(t, c, 30*time.Second, 5)
		// The send comes half a second into a 20 s wait; the receive must return with it, not
		// at the end of the wait (the margin is for a busy machine).
		go func() {
			time.Sleep(500 * time.Millisecond)
			c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("late"),
				MessageGroupId: aws.String("A"), MessageDeduplicationId: aws.String("late")})
		}()
		start := time.Now()
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 20})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"late"}, bodies(out.Messages)); diff != "" {
			t.Errorf("long poll (-want +got):\n%s", diff)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("long poll returned after %s, want soon after the send", d)
		}
	})
}

// TestS3Emulator pins down every S3 behaviour the media path relies on: presigned GETs and
// PUTs whose expiry is honoured, a presigned PUT that pins the content type and length, an
// upload of unknown length streamed in parts by the SDK's upload manager, and GetObject
// streaming the exact bytes back.
func TestS3Emulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := testenv.S3(t)
	bucket := testenv.Bucket(t)
	presign := s3.NewPresignClient(client)

	do := func(t *testing.T, method, url string, body []byte, header http.Header) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}

	t.Run("presigned PUT pins content type and length, presigned GET returns the bytes", func(t *testing.T) {
		t.Parallel()
		body := []byte("%PDF-1.7 an invoice")
		put, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("uploads/a.pdf"),
			ContentType: aws.String("application/pdf"), ContentLength: aws.Int64(int64(len(body))),
		}, s3.WithPresignExpires(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name        string
			contentType string
			body        []byte
		}{
			{"another content type", "text/html", body},
			{"another length", "application/pdf", append(body, " and more"...)},
		} {
			if code, b := do(t, http.MethodPut, put.URL, tc.body, http.Header{"Content-Type": {tc.contentType}}); code != http.StatusForbidden {
				t.Errorf("PUT with %s: %d %s, want 403", tc.name, code, b)
			}
		}
		if code, b := do(t, http.MethodPut, put.URL, body, http.Header{"Content-Type": {"application/pdf"}}); code != http.StatusOK {
			t.Fatalf("PUT as signed: %d %s", code, b)
		}
		get, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("uploads/a.pdf")},
			s3.WithPresignExpires(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		code, got := do(t, http.MethodGet, get.URL, nil, nil)
		if code != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("presigned GET: %d %q, want 200 %q", code, got, body)
		}
		tampered := strings.Replace(get.URL, "uploads%2Fa.pdf", "uploads%2Fb.pdf", 1)
		tampered = strings.Replace(tampered, "uploads/a.pdf", "uploads/b.pdf", 1)
		if code, _ := do(t, http.MethodGet, tampered, nil, nil); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("GET of another key with the same signature: %d, want 403", code)
		}
	})

	t.Run("a presigned URL stops working after its expiry", func(t *testing.T) {
		t.Parallel()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("x"), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
		get, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("x")},
			s3.WithPresignExpires(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if code, b := do(t, http.MethodGet, get.URL, nil, nil); code != http.StatusOK {
			t.Fatalf("GET before expiry: %d %s", code, b)
		}
		put, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("y")},
			s3.WithPresignExpires(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			getCode, _ := do(t, http.MethodGet, get.URL, nil, nil)
			putCode, _ := do(t, http.MethodPut, put.URL, []byte("y"), nil)
			if getCode == http.StatusForbidden && putCode == http.StatusForbidden {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("30 s after a 2 s expiry: GET %d, PUT %d, want 403 for both", getCode, putCode)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("upload manager streams an unknown length in parts; GetObject streams it back", func(t *testing.T) {
		t.Parallel()
		const size = 12<<20 + 123 // three parts of 5 MB, the last one short
		src := io.LimitReader(rand.NewChaCha8([32]byte{1}), size)
		want := sha256.New()
		up := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 2 })
		// A reader that is not a ReadSeeker: the uploader cannot know the length in advance.
		out, err := up.Upload(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("big"), ContentType: aws.String("application/pdf"),
			Body: struct{ io.Reader }{io.TeeReader(src, want)},
		})
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		if out.UploadID == "" {
			t.Errorf("the upload went as one PUT, want a multipart upload")
		}
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Body.Close()
		got := sha256.New()
		n, err := io.CopyBuffer(got, obj.Body, make([]byte, 32<<10))
		if err != nil {
			t.Fatal(err)
		}
		if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Errorf("GetObject: %d bytes, sha256 %x; want %d, %x", n, got.Sum(nil), size, want.Sum(nil))
		}
		if aws.ToString(obj.ContentType) != "application/pdf" {
			t.Errorf("content type %q, want application/pdf", aws.ToString(obj.ContentType))
		}
	})
}
