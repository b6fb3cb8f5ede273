package queue

import lambdaevents "github.com/aws/aws-lambda-go/events"

// Batch keeps the partial-failure report of an SQS FIFO consumer. On a FIFO queue, once a
// record of a message group fails, every later record of that group in the batch must fail
// too, or the group would be processed out of order.
type Batch struct {
	failed map[string]bool
	resp   lambdaevents.SQSEventResponse
}

// NewBatch returns an empty report.
func NewBatch() *Batch { return &Batch{failed: map[string]bool{}} }

// Blocked reports whether an earlier record of the record's group failed; the caller must
// then Fail this record without processing it.
func (b *Batch) Blocked(r *lambdaevents.SQSMessage) bool {
	return b.failed[r.Attributes["MessageGroupId"]]
}

// Fail reports the record as failed: SQS will deliver it again (and, after the queue's
// maxReceiveCount, move it to the dead-letter queue).
func (b *Batch) Fail(r *lambdaevents.SQSMessage) {
	if g := r.Attributes["MessageGroupId"]; g != "" {
		b.failed[g] = true
	}
	b.resp.BatchItemFailures = append(b.resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
}

// Response is what the handler returns to the event source mapping.
func (b *Batch) Response() lambdaevents.SQSEventResponse { return b.resp }
