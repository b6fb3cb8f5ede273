package testenv

import (
	"context"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Deliver plays Lambda's SQS event source mapping (ReportBatchItemFailures on) once: it
// receives up to ten messages of the queue at url (waiting up to a second), hands them to
// handle as an SQS event, and deletes those handle did not report failed. It returns the
// records it handed over; none when the queue had nothing visible.
func Deliver(t testing.TB, client *sqs.Client, url string,
	handle func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error)) []lambdaevents.SQSMessage {
	t.Helper()
	ctx := context.Background()
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	var ev lambdaevents.SQSEvent
	for _, m := range out.Messages {
		rec := lambdaevents.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{}}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
		}
		ev.Records = append(ev.Records, rec)
	}
	if len(ev.Records) == 0 {
		return nil
	}
	resp, err := handle(ctx, ev)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, rec := range ev.Records {
		if failed[rec.MessageId] {
			continue
		}
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(rec.ReceiptHandle)}); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	return ev.Records
}
