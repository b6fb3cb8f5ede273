package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/buzon/buzon/infra/local/sandbox"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/testenv"
	"github.com/buzon/buzon/shared/twilio"
)

// An agent's upload, kept in the bucket, reaches each provider: the Cloud API by an upload to
// the line's number and a send by media id, Twilio by a presigned URL it fetches. The sandbox
// fetches what each send names and reports the sha256 of the bytes it got.
func TestUploadedFileIsSentThroughEachProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb := sandbox.New(sandbox.Options{WebhookURL: "http://127.0.0.1:1", MetaAccessToken: "tok", TwilioAuthToken: "tw", Log: quiet})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	bucket := media.NewBucket(testenv.S3(t), testenv.Bucket(t))

	doc := []byte("%PDF-1.7 the quote the customer asked for")
	sum := sha256.Sum256(doc)
	want := hex.EncodeToString(sum[:])
	if _, err := bucket.Put(ctx, "up/o_1/u_1", "application/pdf", "quote.pdf", bytes.NewReader(doc), media.MB, media.Expect{}); err != nil {
		t.Fatal(err)
	}
	mc := &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok"}
	tc := &twilio.Client{BaseURL: srv.URL, AuthToken: "tw"}
	for _, tc := range []struct {
		name   string
		sender Sender
		line   *inbox.Line
	}{
		{"cloud api", &uploads{next: mc, bucket: bucket, cloud: mc}, &inbox.Line{Provider: "meta", Address: "106540352242922"}},
		{"twilio", &uploads{next: tc, bucket: bucket}, &inbox.Line{Provider: "twilio", Address: "+14155238886", Account: "AC00000000000000000000000000000001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &inbox.Message{Type: "document", Text: "su presupuesto", Media: &inbox.Media{Key: "up/o_1/u_1", MimeType: "application/pdf", Filename: "quote.pdf"}}
			id, err := tc.sender.Send(ctx, tc.line, "5491155550001", m)
			if err != nil {
				t.Fatal(err)
			}
			if m.Media.ID != "" || m.Media.URL != "" {
				t.Errorf("the stored message was changed: %+v", m.Media)
			}
			res, err := http.Get(srv.URL + "/sandbox/messages")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out struct{ Messages []sandbox.Sent }
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			var sent *sandbox.Sent
			for i := range out.Messages {
				if out.Messages[i].ID == id {
					sent = &out.Messages[i]
				}
			}
			if sent == nil || len(sent.Media) != 1 {
				t.Fatalf("send %s with media not listed: %+v", id, out.Messages)
			}
			if got := sent.Media[0]; got.SHA256 != want || got.ContentType != "application/pdf" || got.Error != "" {
				t.Errorf("the provider got %+v, want the upload's bytes (sha256 %s)", got, want)
			}
		})
	}
}
