package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/provider"
)

// twilioFetchTTL is how long the presigned URL Twilio fetches an agent's upload from stays
// valid: Twilio queues a send for up to 4 hours before it fails. A URL signed with a Lambda
// role's session credentials ends with them, usually within an hour: a send whose URL expired
// before Twilio fetched it fails with Twilio's media error and is retried with a new one.
const twilioFetchTTL = 4 * time.Hour

// cloudUploader uploads a file to the Cloud API (POST /{phone-number-id}/media): *meta.Client.
type cloudUploader interface {
	Upload(ctx context.Context, phoneNumberID, contentType, filename string, body io.Reader) (string, error)
}

// uploads makes an agent's uploaded file (Media.Key: an object in the media bucket) reachable
// by the provider before the provider's sender sends the message: the Cloud API gets the file
// uploaded to the line's number and the message names the media id; Twilio gets a presigned
// GET URL. Messages with an id or a link already, or without media, go through untouched.
type uploads struct {
	next   Sender
	bucket *media.Bucket
	cloud  cloudUploader // nil for Twilio
}

func (u *uploads) Send(ctx context.Context, line *inbox.Line, to string, m *inbox.Message) (string, error) {
	if m.Media == nil || m.Media.Key == "" || m.Media.ID != "" {
		return u.next.Send(ctx, line, to, m)
	}
	sent := *m
	md := *m.Media
	sent.Media = &md
	if u.cloud != nil {
		body, err := u.bucket.Open(ctx, md.Key)
		if errors.Is(err, media.ErrNotFound) {
			return "", &provider.SendError{Provider: line.Provider, Title: "upload missing",
				Reason: "The uploaded file is not in storage any more: attach it again", Message: err.Error()}
		}
		if err != nil {
			return "", &provider.SendError{Provider: line.Provider, Title: "storage unavailable", Retryable: true, Message: err.Error(), Err: err}
		}
		defer body.Close()
		id, err := u.cloud.Upload(ctx, line.Address, md.MimeType, md.Filename, body)
		if err != nil {
			var se *provider.SendError
			if errors.As(err, &se) {
				return "", err
			}
			return "", &provider.SendError{Provider: line.Provider, Title: "media upload failed", Retryable: true, Message: err.Error(), Err: err}
		}
		md.ID = id
	} else {
		url, err := u.bucket.FetchURL(ctx, md.Key, twilioFetchTTL)
		if err != nil {
			return "", &provider.SendError{Provider: line.Provider, Title: "storage unavailable", Retryable: true, Message: err.Error(), Err: err}
		}
		md.URL = url
	}
	return u.next.Send(ctx, line, to, &sent)
}

// withUploads wraps the senders so that agents' uploads reach the provider; a nil bucket
// leaves them as they are.
func withUploads(senders staticSenders, bucket *media.Bucket) staticSenders {
	if bucket == nil {
		return senders
	}
	if mc, ok := senders["meta"].(cloudSender); ok {
		senders["meta"] = &uploads{next: mc, bucket: bucket, cloud: mc}
	}
	if tc, ok := senders["twilio"]; ok {
		senders["twilio"] = &uploads{next: tc, bucket: bucket}
	}
	return senders
}

// cloudSender is the Cloud API client: it sends and uploads.
type cloudSender interface {
	Sender
	cloudUploader
}
