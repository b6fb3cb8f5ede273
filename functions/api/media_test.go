package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// withBucket gives the world's API a media bucket of its own.
func (w *world) withBucket(t *testing.T) *media.Bucket {
	t.Helper()
	b := media.NewBucket(testenv.S3(t), testenv.Bucket(t))
	w.api.bucket = b
	return b
}

// photo has a customer send an image and the media function keep it; it returns the
// conversation, the message and the bytes.
func (w *world) photo(t *testing.T, b *media.Bucket, wa string, keep bool) (string, *inbox.Message, []byte) {
	t.Helper()
	ctx := context.Background()
	at := t0.Add(time.Minute)
	_, err := w.proc.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: "wamid.p" + wa, Line: events.Line{Address: w.line.Address}, From: wa, ProfileName: "Cliente",
			Timestamp: at, Type: "image", Text: "la factura", Media: &events.Media{ID: "1013859600285441", MimeType: "image/jpeg"}}})
	if err != nil {
		t.Fatal(err)
	}
	conv := inbox.ConversationID(w.org, w.line.ID, wa)
	entries, _, err := w.st.Thread(ctx, conv, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var m *inbox.Message
	for _, e := range entries {
		if e.Message != nil {
			m = e.Message
		}
	}
	if m == nil {
		t.Fatal("the message is not on the thread")
	}
	body := []byte("\xff\xd8\xff the photo " + wa)
	if keep {
		key := "in/" + w.org + "/" + conv + "/" + m.ID + "/0"
		obj, err := b.Put(ctx, key, "image/jpeg", "", bytes.NewReader(body), media.MB, media.Expect{})
		if err != nil {
			t.Fatal(err)
		}
		md := *m.Media
		md.Status, md.Key, md.Size, md.SHA256 = inbox.MediaReady, key, obj.Size, obj.SHA256
		if err := w.st.SetMedia(ctx, store.KeyOf(m), 0, md); err != nil {
			t.Fatal(err)
		}
	}
	return conv, m, body
}

// serve calls the API and returns the raw response (a redirect has no JSON body).
func (w *world) raw(t *testing.T, user, method, path, body string) response {
	t.Helper()
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: path, Body: body}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": user, orgClaim: w.org}},
	}
	resp, err := w.r.serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func fetch(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

func TestMessageMediaIsServedOnlyToThoseWhoSeeTheConversation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.withBucket(t)
	conv, m, body := w.photo(t, b, "5491100000101", true)

	code, out := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	if code != 200 {
		t.Fatalf("GET messages: %d %v", code, out)
	}
	md := firstMedia(t, out)
	if md["status"] != "ready" || md["mime_type"] != "image/jpeg" || md["caption"] != "la factura" || md["size"] != float64(len(body)) {
		t.Fatalf("media = %v", md)
	}
	if code, got, h := fetch(t, md["url"].(string)); code != 200 || !bytes.Equal(got, body) || h.Get("Content-Disposition") != "inline" {
		t.Errorf("the message's URL: %d %q %v", code, got, h)
	}
	if !strings.Contains(md["url"].(string), "X-Amz-Expires=300") {
		t.Errorf("url %s does not expire within 5 minutes", md["url"])
	}

	redirect := fmt.Sprintf("/v1/conversations/%s/messages/%s/media/%s", conv, m.ID, md["id"])
	resp := w.raw(t, "ana", "GET", redirect, "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %d %s", resp.StatusCode, resp.Body)
	}
	if code, got, _ := fetch(t, resp.Headers["Location"]); code != 200 || !bytes.Equal(got, body) {
		t.Errorf("the redirect's URL: %d %q", code, got)
	}

	// Another department's agent and a seller who does not hold the conversation get 404,
	// for the thread and for the file.
	for _, user := range []string{"carl", "sam"} {
		if code, _ := w.call(t, user, "GET", "/v1/conversations/"+conv+"/messages", ""); code != 404 {
			t.Errorf("%s: GET messages = %d, want 404", user, code)
		}
		if resp := w.raw(t, user, "GET", redirect, ""); resp.StatusCode != 404 || resp.Headers["Location"] != "" {
			t.Errorf("%s: GET media = %d %v, want 404", user, resp.StatusCode, resp.Headers)
		}
	}
	// A made-up media id is 404 too.
	if resp := w.raw(t, "ana", "GET", fmt.Sprintf("/v1/conversations/%s/messages/%s/media/%s", conv, m.ID, "bm90LWFuLWlk"), ""); resp.StatusCode != 404 {
		t.Errorf("made-up media id: %d", resp.StatusCode)
	}
}

func TestPendingMediaHasNoURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.withBucket(t)
	conv, m, _ := w.photo(t, b, "5491100000102", false)
	_, out := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	md := firstMedia(t, out)
	if md["status"] != "pending" || md["url"] != nil {
		t.Fatalf("media = %v, want pending without a url", md)
	}
	resp := w.raw(t, "ana", "GET", fmt.Sprintf("/v1/conversations/%s/messages/%s/media/%s", conv, m.ID, md["id"]), "")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Body, "pending") {
		t.Errorf("redirect of a pending file: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestUploadThenSend(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.withBucket(t)
	conv := w.customer(t, "5491100000103", "wamid.u1", "me manda el presupuesto?", t0.Add(time.Minute))
	doc := []byte("%PDF-1.7 presupuesto")

	for _, tc := range []struct {
		name, body, code string
	}{
		{"a type the provider refuses", `{"conversation_id":"` + conv + `","kind":"document","mime_type":"text/html","size":10}`, "media_limit"},
		{"over the limit", `{"conversation_id":"` + conv + `","kind":"image","mime_type":"image/png","size":6000000}`, "media_limit"},
		{"no size", `{"conversation_id":"` + conv + `","kind":"image","mime_type":"image/png"}`, "bad_upload"},
	} {
		code, out := w.call(t, "ana", "POST", "/v1/uploads", tc.body)
		if code != 422 || out["error"].(map[string]any)["code"] != tc.code {
			t.Errorf("%s: %d %v, want 422 %s", tc.name, code, out, tc.code)
		}
	}
	code, out := w.call(t, "ana", "POST", "/v1/uploads", `{"conversation_id":"`+conv+`","kind":"image","mime_type":"image/png","size":6000000}`)
	if msg := out["error"].(map[string]any)["message"].(string); code != 422 || !strings.Contains(msg, "up to 5 MB") {
		t.Errorf("the limit is not named: %s", msg)
	}
	if code, _ := w.call(t, "carl", "POST", "/v1/uploads", `{"conversation_id":"`+conv+`","kind":"document","mime_type":"application/pdf","size":20}`); code != 404 {
		t.Errorf("an upload for a conversation carl cannot see: %d, want 404", code)
	}

	code, out = w.call(t, "ana", "POST", "/v1/uploads", fmt.Sprintf(`{"conversation_id":%q,"kind":"document","mime_type":"application/pdf","size":%d,"filename":"presupuesto.pdf"}`, conv, len(doc)))
	if code != 201 {
		t.Fatalf("upload: %d %v", code, out)
	}
	uploadID := out["upload_id"].(string)
	send := fmt.Sprintf(`{"type":"document","media":{"upload_id":%q,"caption":"aquí está","filename":"presupuesto.pdf"}}`, uploadID)
	if code, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/messages", send); code != 422 || out["error"].(map[string]any)["code"] != "upload_missing" {
		t.Errorf("send before the PUT: %d %v, want 422 upload_missing", code, out)
	}
	req, _ := http.NewRequest(out["method"].(string), out["url"].(string), bytes.NewReader(doc))
	for k, v := range out["headers"].(map[string]any) {
		req.Header.Set(k, v.(string))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT the upload: %v %v", res, err)
	}
	res.Body.Close()

	code, out = w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/messages", send)
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	entries, _, err := w.st.Thread(context.Background(), conv, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var sent *inbox.Message
	for _, e := range entries {
		if e.Message != nil && e.Message.Direction == inbox.Outbound {
			sent = e.Message
		}
	}
	if sent == nil || sent.Media == nil || sent.Media.Key != media.UploadKey(w.org, uploadID) || sent.Media.MimeType != "application/pdf" ||
		sent.Media.Size != int64(len(doc)) || sent.Text != "aquí está" {
		t.Fatalf("stored message %+v media %+v", sent, sent.Media)
	}
	if _, got, _ := fetch(t, mustURL(t, b, sent.Media.Key)); !bytes.Equal(got, doc) {
		t.Errorf("the upload holds %q", got)
	}
	// Another organization's upload id, or a made-up one, is refused.
	if code, _ := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/messages", `{"type":"document","media":{"upload_id":"../../in/x"}}`); code != 422 {
		t.Errorf("made-up upload id: %d", code)
	}
}

func mustURL(t *testing.T, b *media.Bucket, key string) string {
	t.Helper()
	u, err := b.URL(context.Background(), key, "application/pdf", "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// firstMedia is the media of the first message of a page of the thread.
func firstMedia(t *testing.T, page map[string]any) map[string]any {
	t.Helper()
	for _, it := range page["items"].([]any) {
		if md, ok := it.(map[string]any)["media"].(map[string]any); ok {
			return md
		}
	}
	t.Fatalf("no message with media on the page: %v", page)
	return nil
}

// FuzzMediaID: a media id from a client never panics the parser, and an id the API made reads
// back to the message's key and index.
func FuzzMediaID(f *testing.F) {
	for _, s := range []string{"MTc5NTE2ODgwMDAwMC4w", "bm90LWFuLWlk", "", "LS0u", "MC4xMQ", "\xff"} {
		f.Add(s, int64(1795168800000), 2)
	}
	f.Fuzz(func(t *testing.T, id string, ms int64, index int) {
		parseMediaID("c_1", "m_1", id)
		if index < 0 || index > 10 || ms < 0 || ms > 1<<45 {
			return
		}
		m := &inbox.Message{ID: "m_1", ConversationID: "c_1", At: time.UnixMilli(ms).UTC()}
		k, i, ok := parseMediaID("c_1", "m_1", apijson.MediaID(m, index))
		if !ok || i != index || k != store.KeyOf(m) {
			t.Fatalf("MediaID(%d, %d) reads back as %v %d %v", ms, index, k, i, ok)
		}
	})
}
