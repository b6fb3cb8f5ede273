package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/twilio"
)

// MaxTries is how many times a job is tried before its media is marked failed, with the
// runner's backoff between tries (5 s, 10 s, 20 s, 40 s). It is well below the queue's
// consume.MaxReceives, which is sized for an outage of the table: the last try records the
// failure and acknowledges the job, so the DLQ only ever holds jobs that could not even be
// decoded or recorded.
const MaxTries = 5

// handler keeps attachments in the bucket. One job per attachment, each its own FIFO group:
// a slow download holds up nothing but itself.
type handler struct {
	st     *store.Store
	bucket *media.Bucket
	meta   *meta.Client   // nil: no Meta token configured
	twilio *twilio.Client // nil: no Twilio token configured
	log    *slog.Logger
}

// errGone is a file the provider no longer has: unavailable, no retry.
var errGone = errors.New("media: gone at the provider")

// errRefused is a file Buzón will never keep (over the limit): failed, no retry.
var errRefused = errors.New("media: refused")

// runner consumes the media queue: each job is its own message group, so the runner handles
// a batch's jobs concurrently; a failed one comes back after the runner's backoff.
func (h *handler) runner(q, dlq *queue.Queue) *consume.Runner {
	return &consume.Runner{Name: "media", Handle: h.process, Queue: q, DLQ: dlq, Log: h.log}
}

// process handles one job; an error leaves it on the queue for another try, a poison one
// goes to the DLQ with its reason.
func (h *handler) process(ctx context.Context, r *lambdaevents.SQSMessage) error {
	var job events.MediaJob
	if err := json.Unmarshal([]byte(r.Body), &job); err != nil {
		return consume.Poisonf("not a media job: %w", err)
	}
	log := h.log.With("conversation_id", job.ConversationID, "message_id", job.MessageID, "index", job.Index, "request_id", job.RequestID)
	tries, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	k := store.MessageKey{ConversationID: job.ConversationID, SK: job.MessageSK}
	current, err := h.current(ctx, k, job.Index)
	if errors.Is(err, store.ErrNotFound) {
		// assign queues a job only once its message is stored.
		return consume.Poisonf("no attachment %d on message %s", job.Index, job.MessageID)
	}
	if err != nil {
		return err
	}
	if current.Status != "" && current.Status != inbox.MediaPending {
		return nil // done by an earlier delivery of the same job
	}
	md := *current
	obj, err := h.fetch(ctx, job, current)
	switch {
	case err == nil:
		md.Status, md.Reason, md.Key, md.Size, md.SHA256 = inbox.MediaReady, "", obj.Key, obj.Size, obj.SHA256
	case errors.Is(err, errGone):
		md.Status, md.Reason = inbox.MediaUnavailable, reason(err)
	case errors.Is(err, errRefused):
		md.Status, md.Reason = inbox.MediaFailed, reason(err)
	case tries >= MaxTries:
		md.Status, md.Reason = inbox.MediaFailed, fmt.Sprintf("not downloaded after %d tries: %s", tries, reason(err))
	default:
		log.WarnContext(ctx, "media download failed; will retry", "try", tries, "error", err)
		return err
	}
	if err := h.st.SetMedia(ctx, k, job.Index, md); err != nil {
		return err
	}
	log.InfoContext(ctx, "media kept", "status", md.Status, "size", md.Size, "reason", md.Reason)
	return nil
}

// current reads the attachment as the message holds it now.
func (h *handler) current(ctx context.Context, k store.MessageKey, index int) (*inbox.Media, error) {
	m, err := h.st.Message(ctx, k)
	if err != nil {
		return nil, err
	}
	switch {
	case index == 0 && m.Media != nil:
		return m.Media, nil
	case index > 0 && index <= len(m.MoreMedia):
		return &m.MoreMedia[index-1], nil
	}
	return nil, fmt.Errorf("%w: attachment %d", store.ErrNotFound, index)
}

// Key is where an attachment is kept: under media.InboundPrefix, which only this function
// writes.
func Key(job events.MediaJob) string {
	return media.InboundKey(job.OrgID, job.ConversationID, job.MessageID, job.Index)
}

// fetch downloads the attachment from its provider and streams it into the bucket.
func (h *handler) fetch(ctx context.Context, job events.MediaJob, md *inbox.Media) (media.Object, error) {
	var (
		body   io.ReadCloser
		ctype  = md.MimeType
		expect media.Expect
	)
	max := media.MaxReceive(job.Provider, job.Kind)
	switch job.Provider {
	case events.ProviderMeta:
		if h.meta == nil {
			return media.Object{}, fmt.Errorf("%w: no Meta access token is configured", errRefused)
		}
		// A fresh URL on every try: they work for five minutes.
		info, err := h.meta.Media(ctx, md.ID)
		if errors.Is(err, meta.ErrMediaGone) {
			return media.Object{}, fmt.Errorf("%w: WhatsApp no longer has this file (deleted, or past the time Meta keeps media)", errGone)
		}
		if err != nil {
			return media.Object{}, err
		}
		if info.Size > max {
			return media.Object{}, fmt.Errorf("%w: %s is larger than the %s limit for %s", errRefused, media.Size(info.Size), media.Size(max), job.Kind)
		}
		expect = media.Expect{Size: info.Size, SHA256: firstNonEmpty(info.SHA256, md.SHA256)}
		ctype = firstNonEmpty(info.MimeType, ctype)
		// A 404 here is a URL that expired between the two calls: the next try asks again.
		if body, err = h.meta.Download(ctx, info.URL); err != nil {
			return media.Object{}, err
		}
	case events.ProviderTwilio:
		if h.twilio == nil {
			return media.Object{}, fmt.Errorf("%w: no Twilio auth token is configured", errRefused)
		}
		b, ct, err := h.twilio.Download(ctx, job.Account, md.URL)
		if errors.Is(err, twilio.ErrMediaGone) {
			return media.Object{}, fmt.Errorf("%w: Twilio no longer has this file (deleted from the message)", errGone)
		}
		if err != nil {
			return media.Object{}, err
		}
		body, ctype = b, firstNonEmpty(ctype, ct)
	default:
		return media.Object{}, fmt.Errorf("%w: unknown provider %q", errRefused, job.Provider)
	}
	defer body.Close()
	obj, err := h.bucket.Put(ctx, Key(job), firstNonEmpty(ctype, "application/octet-stream"), md.Filename, body, max, expect)
	var lim *media.LimitError
	if errors.As(err, &lim) {
		return media.Object{}, fmt.Errorf("%w: larger than the %s limit for %s", errRefused, media.Size(max), job.Kind)
	}
	return obj, err
}

// reason is the text an agent sees: the error without the sentinel's prefix.
func reason(err error) string {
	s := err.Error()
	for _, p := range []string{errGone.Error() + ": ", errRefused.Error() + ": "} {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
