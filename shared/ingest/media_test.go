package ingest_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/testenv"
)

// received drains the media queue (the emulator) and returns the jobs on it.
func received(t *testing.T, url string) []events.MediaJob {
	t.Helper()
	c := testenv.SQS(t)
	var jobs []events.MediaJob
	for {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return jobs
		}
		for _, m := range out.Messages {
			var j events.MediaJob
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &j); err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
			c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func TestStoredMessageQueuesOneJobPerAttachment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, _ := testenv.FIFOQueue(t, 5, 30)
	f.p.QueueMedia(queue.New(testenv.SQS(t), url))

	// A Twilio message with three attachments.
	ev := f.msg("MM1", "5491155550001", t0, "tres fotos")
	ev.Provider = events.ProviderTwilio
	ev.Message.Line.Address = f.twil.Address
	ev.Message.Type = "image"
	ev.Message.Media = &events.Media{URL: "https://api.twilio.com/m/ME0", MimeType: "image/jpeg"}
	ev.Message.MoreMedia = []events.Media{{URL: "https://api.twilio.com/m/ME1", MimeType: "image/png"}, {URL: "https://api.twilio.com/m/ME2", MimeType: "application/pdf"}}
	if r := f.apply(t, ev); r != "stored" {
		t.Fatalf("apply = %s", r)
	}
	jobs := received(t, url)
	// Each job is its own message group, so they come back in any order.
	slices.SortFunc(jobs, func(a, b events.MediaJob) int { return a.Index - b.Index })
	var got []string
	for _, j := range jobs {
		got = append(got, j.Kind+" "+strconv.Itoa(j.Index))
		if j.Provider != events.ProviderTwilio || j.OrgID != f.org || j.MessageSK == "" || j.ConversationID == "" {
			t.Errorf("job %+v", j)
		}
	}
	want := []string{"image 0", "image 1", "document 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}

	// A redelivery of the stored message queues the pending attachments again (the consumer
	// may have died before queueing them); the media function drops what it already kept.
	if r := f.apply(t, ev); r != "duplicate" {
		t.Fatalf("redelivery = %s", r)
	}
	if n := len(received(t, url)); n != 0 {
		// Within five minutes FIFO deduplication drops the copies.
		t.Errorf("%d jobs queued again within the deduplication window", n)
	}

	// A text message queues nothing.
	f.apply(t, f.msg("wamid.text", "5491155550002", t0, "hola"))
	if n := len(received(t, url)); n != 0 {
		t.Errorf("a text message queued %d jobs", n)
	}
}

// A consumer that stored the message but could not queue its attachments fails the event; the
// redelivery finds the message stored and queues them then.
func TestAttachmentsQueuedOnTheRedeliveryAfterAFailedQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, _ := testenv.FIFOQueue(t, 5, 30)
	ev := f.msg("wamid.doc", "5491155550003", t0, "")
	ev.Message.Type = "document"
	ev.Message.Media = &events.Media{ID: "1013859600285441", MimeType: "application/pdf", Filename: "f.pdf"}

	f.p.QueueMedia(queue.New(testenv.SQS(t), url+"-no-such-queue"))
	if _, err := f.p.Apply(context.Background(), ev); err == nil {
		t.Fatal("apply succeeded although its jobs could not be queued")
	}
	f.p.QueueMedia(queue.New(testenv.SQS(t), url))
	if r := f.apply(t, ev); r != "duplicate" {
		t.Fatalf("redelivery = %s, want duplicate (the message was stored)", r)
	}
	jobs := received(t, url)
	if len(jobs) != 1 || jobs[0].Kind != "document" || jobs[0].Index != 0 || jobs[0].MessageSK == "" {
		t.Fatalf("jobs after the redelivery: %+v", jobs)
	}
}
