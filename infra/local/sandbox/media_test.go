package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/twilio"
)

func (f *fixture) upload(t *testing.T, contentType string, body []byte, query string) string {
	t.Helper()
	res, err := http.Post(f.srv.URL+"/sandbox/media"+query, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.ID == "" {
		t.Fatalf("POST /sandbox/media: %d %v %+v", res.StatusCode, err, out)
	}
	return out.ID
}

func (f *fixture) customer(t *testing.T, body string) {
	t.Helper()
	res, err := http.Post(f.srv.URL+"/sandbox/customer", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /sandbox/customer: %d %s", res.StatusCode, b)
	}
}

func (rc *receiver) messages() []*events.Message {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*events.Message
	for _, e := range rc.events {
		if e.Message != nil {
			out = append(out, e.Message)
		}
	}
	return out
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestMetaCustomerMediaDownloadsAsFromMeta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx := context.Background()
	voice := []byte("OggS a voice note")
	id := f.upload(t, "audio/ogg; codecs=opus", voice, "")
	f.customer(t, `{"line":"meta","phone_number_id":"106540352242922","from":"5491155550001","media":{"type":"audio","id":"`+id+`","voice":true}}`)
	msgs := f.rc.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages posted", len(msgs))
	}
	want := &events.Media{ID: id, MimeType: "audio/ogg; codecs=opus", SHA256: hexSum(voice), Voice: true}
	if diff := cmp.Diff(want, msgs[0].Media); msgs[0].Type != "audio" || diff != "" {
		t.Fatalf("type %q, media (-want +got):\n%s", msgs[0].Type, diff)
	}

	info, err := f.meta.Media(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 != hexSum(voice) || info.Size != int64(len(voice)) || info.MimeType != "audio/ogg; codecs=opus" {
		t.Errorf("Media = %+v", info)
	}
	// The URL needs the token.
	res, err := http.Get(info.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without the token: %d, want 401", res.StatusCode)
	}
	body, err := f.meta.Download(ctx, info.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, voice) {
		t.Errorf("downloaded %q", got)
	}
	// Without the token the Graph API refuses.
	anon := &meta.Client{BaseURL: f.srv.URL, Version: "v23.0", Token: "wrong"}
	if _, err := anon.Media(ctx, id); err == nil {
		t.Error("Media with a wrong token succeeded")
	}
}

func TestMetaMediaURLExpiresAndMediaCanBeDeleted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx := context.Background()
	id := f.upload(t, "image/jpeg", []byte("\xff\xd8 jpeg"), "?expired_urls=1")
	info, err := f.meta.Media(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.meta.Download(ctx, info.URL); !errors.Is(err, meta.ErrMediaGone) {
		t.Fatalf("Download of an expired URL = %v, want ErrMediaGone", err)
	}
	info, err = f.meta.Media(ctx, id) // a fresh URL works
	if err != nil {
		t.Fatal(err)
	}
	body, err := f.meta.Download(ctx, info.URL)
	if err != nil {
		t.Fatalf("Download of a fresh URL: %v", err)
	}
	body.Close()

	req, _ := http.NewRequest(http.MethodDelete, f.srv.URL+"/sandbox/media/"+id, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	if _, err := f.meta.Media(ctx, id); !errors.Is(err, meta.ErrMediaGone) {
		t.Errorf("Media of a deleted id = %v, want ErrMediaGone", err)
	}
	if _, err := f.meta.Download(ctx, info.URL); !errors.Is(err, meta.ErrMediaGone) {
		t.Errorf("Download of a deleted media = %v, want ErrMediaGone", err)
	}
}

func TestMetaMediaAnnouncedDigest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	id := f.upload(t, "image/png", []byte("png"), "?sha256="+strings.Repeat("0", 64))
	info, err := f.meta.Media(context.Background(), id)
	if err != nil || info.SHA256 != strings.Repeat("0", 64) {
		t.Fatalf("Media = %+v, %v; want the announced digest", info, err)
	}
}

func TestTwilioCustomerSendsEveryAttachment(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	files := [][]byte{[]byte("\xff\xd8 one"), []byte("\x89PNG two"), []byte("%PDF three")}
	types := []string{"image/jpeg", "image/png", "application/pdf"}
	var ids []string
	for i := range files {
		ids = append(ids, f.upload(t, types[i], files[i], ""))
	}
	f.customer(t, `{"line":"twilio","to":"+14155238886","account_sid":"`+account+`","from":"5491155550002","text":"tres fotos","attachments":["`+strings.Join(ids, `","`)+`"]}`)
	msgs := f.rc.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages posted", len(msgs))
	}
	m := msgs[0]
	all := append([]events.Media{*m.Media}, m.MoreMedia...)
	if len(all) != 3 || m.Type != "image" || !strings.HasPrefix(m.ID, "MM") {
		t.Fatalf("message %s of type %s with %d attachments, want an MM… image with 3", m.ID, m.Type, len(all))
	}
	for i, md := range all {
		if md.MimeType != types[i] {
			t.Errorf("attachment %d: type %q, want %q", i, md.MimeType, types[i])
		}
		body, ct, err := f.tw.Download(context.Background(), account, md.URL)
		if err != nil {
			t.Fatalf("attachment %d: %v", i, err)
		}
		got, _ := io.ReadAll(body)
		body.Close()
		if !bytes.Equal(got, files[i]) || ct != types[i] {
			t.Errorf("attachment %d: %q %q", i, ct, got)
		}
	}
	wrong := &twilio.Client{BaseURL: f.srv.URL, AuthToken: "wrong"}
	if _, _, err := wrong.Download(context.Background(), account, all[0].URL); err == nil {
		t.Error("download with a wrong token succeeded")
	}
}

func TestCloudAPIUploadThenSendByID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx := context.Background()
	doc := []byte("%PDF-1.7 la factura")
	mid, err := f.meta.Upload(ctx, metaLine.Address, "application/pdf", "factura.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.meta.Send(ctx, metaLine, "5491155550003", &inbox.Message{Type: "document", Text: "su factura",
		Media: &inbox.Media{ID: mid, Filename: "factura.pdf"}}); err != nil {
		t.Fatal(err)
	}
	sent := f.sb.sentCopy()
	last := sent[len(sent)-1]
	want := []SentMedia{{Ref: mid, ContentType: "application/pdf", Size: len(doc), SHA256: hexSum(doc)}}
	if diff := cmp.Diff(want, last.Media); diff != "" {
		t.Errorf("sent media (-want +got):\n%s", diff)
	}
}

func TestTwilioMediaSendIsFetched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	img := []byte("\xff\xd8 a photo")
	files := newFileServer(t, "image/jpeg", img)
	if _, err := f.tw.Send(context.Background(), twilioLine, "5491155550004", &inbox.Message{Type: "image",
		Media: &inbox.Media{URL: files + "/photo.jpg"}}); err != nil {
		t.Fatal(err)
	}
	sent := f.sb.sentCopy()
	last := sent[len(sent)-1]
	want := []SentMedia{{Ref: files + "/photo.jpg", ContentType: "image/jpeg", Size: len(img), SHA256: hexSum(img)}}
	if diff := cmp.Diff(want, last.Media); diff != "" {
		t.Errorf("sent media (-want +got):\n%s", diff)
	}
}

func newFileServer(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
