package ingest

import (
	"context"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// MediaQueue takes the media jobs of stored messages (the media FIFO queue; *queue.Queue).
// Send must be safe for concurrent use; an error means the jobs may not all be queued and the
// event is retried.
type MediaQueue interface {
	Send(ctx context.Context, items []queue.Item) error
}

// QueueMedia makes the processor queue one job per attachment of each customer message it
// stores; call it before Apply. Without it attachments stay pending.
func (p *Processor) QueueMedia(q MediaQueue) { p.media = q }

// MediaJobs returns the jobs for the attachments of a stored customer message that are still
// pending: one per attachment, in order.
func MediaJobs(line *inbox.Line, msg *inbox.Message, requestID string) []events.MediaJob {
	all := msg.MoreMedia
	if msg.Media != nil {
		all = append([]inbox.Media{*msg.Media}, all...)
	}
	var jobs []events.MediaJob
	for i, md := range all {
		if md.Status != inbox.MediaPending {
			continue
		}
		kind := msg.Type
		if line.Provider == string(events.ProviderTwilio) || i > 0 {
			kind = media.KindOf(md.MimeType)
		}
		jobs = append(jobs, events.MediaJob{
			Provider: events.Provider(line.Provider), OrgID: line.OrgID, ConversationID: msg.ConversationID,
			MessageID: msg.ID, MessageSK: store.KeyOf(msg).SK, Index: i, Kind: kind, Account: line.Account,
			RequestID: requestID,
		})
	}
	return jobs
}

// queueMedia sends the jobs of msg's pending attachments. It runs after the message is stored
// and again on a redelivery of an already stored message (the consumer may have died between
// the two): FIFO deduplication and the media function's own check drop the copies.
func (p *Processor) queueMedia(ctx context.Context, line *inbox.Line, msg *inbox.Message, requestID string) error {
	if p.media == nil {
		return nil
	}
	jobs := MediaJobs(line, msg, requestID)
	if len(jobs) == 0 {
		return nil
	}
	items := make([]queue.Item, 0, len(jobs))
	for i := range jobs {
		items = append(items, queue.Item{Group: jobs[i].GroupID(), Dedup: jobs[i].DedupID(), Body: &jobs[i]})
	}
	return p.media.Send(ctx, items)
}
