package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/infra/local/sandbox"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
	"github.com/buzon/buzon/shared/twilio"
)

const (
	token       = "meta-token"
	twilioToken = "twilio-token"
	account     = "AC00000000000000000000000000000009"
)

type fixture struct {
	h       *handler
	st      *store.Store
	sandbox string
	org     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb := sandbox.New(sandbox.Options{WebhookURL: "http://127.0.0.1:1", MetaAccessToken: token, TwilioAuthToken: twilioToken, Log: quiet})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	st := testenv.Store(t)
	return &fixture{
		h: &handler{
			st:     st,
			bucket: media.NewBucket(testenv.S3(t), testenv.Bucket(t)),
			meta:   &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: token},
			twilio: &twilio.Client{BaseURL: srv.URL, AuthToken: twilioToken},
			log:    quiet,
		},
		st: st, sandbox: srv.URL, org: testenv.ID("o_"),
	}
}

// upload gives the sandbox a file as if a customer had sent it; query tells it to lie about
// the digest or hand out expired URLs.
func (f *fixture) upload(t *testing.T, contentType string, body io.Reader, query string) string {
	t.Helper()
	res, err := http.Post(f.sandbox+"/sandbox/media"+query, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.ID == "" {
		t.Fatalf("upload: %d %v", res.StatusCode, err)
	}
	return out.ID
}

// store keeps a customer message with its attachments, as assign does, and returns the jobs
// assign queues for it.
func (f *fixture) store(t *testing.T, provider events.Provider, typ string, attachments ...events.Media) []events.MediaJob {
	t.Helper()
	conv := testenv.ID("c_")
	m := &events.Message{ID: testenv.ID("wamid."), Line: events.Line{Address: "106540352242922"}, From: "5491155550001", Type: typ,
		Media: &attachments[0], MoreMedia: attachments[1:]}
	msg := inbox.InboundMessage(conv, m, time.Now(), time.Now())
	if err := f.st.PutMessage(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	var jobs []events.MediaJob
	for i, md := range attachments {
		kind := typ
		if i > 0 || provider == events.ProviderTwilio {
			kind = media.KindOf(md.MimeType)
		}
		jobs = append(jobs, events.MediaJob{Provider: provider, OrgID: f.org, ConversationID: conv, MessageID: msg.ID,
			MessageSK: store.KeyOf(msg).SK, Index: i, Kind: kind, Account: account})
	}
	return jobs
}

// deliver hands the job to the function as its tries-th receive and reports whether the job
// was acknowledged.
func (f *fixture) deliver(t *testing.T, job events.MediaJob, tries int) bool {
	t.Helper()
	body, _ := json.Marshal(job)
	resp, err := f.h.runner(nil, nil).Run(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{{
		MessageId: "r1", Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(tries),
			"MessageGroupId": job.GroupID()},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.BatchItemFailures) == 0
}

// kept reads the attachment as the message now holds it.
func (f *fixture) kept(t *testing.T, job events.MediaJob) inbox.Media {
	t.Helper()
	md, err := f.h.current(context.Background(), store.MessageKey{ConversationID: job.ConversationID, SK: job.MessageSK}, job.Index)
	if err != nil {
		t.Fatal(err)
	}
	return *md
}

// bytesAt fetches a kept attachment through a presigned URL, as an agent's browser would.
func (f *fixture) bytesAt(t *testing.T, md inbox.Media) []byte {
	t.Helper()
	url, err := f.h.bucket.URL(context.Background(), md.Key, md.MimeType, md.Filename, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET the kept file: %d %s", res.StatusCode, b)
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestMetaImageAndVoiceNoteAreKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name, typ, ctype string
		body             []byte
	}{
		{"image", "image", "image/jpeg", []byte("\xff\xd8\xff a photo of the invoice")},
		{"voice note", "audio", "audio/ogg; codecs=opus", []byte("OggS a voice note")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := f.upload(t, tc.ctype, bytes.NewReader(tc.body), "")
			jobs := f.store(t, events.ProviderMeta, tc.typ, events.Media{ID: id, MimeType: tc.ctype, SHA256: sum(tc.body), Voice: tc.typ == "audio"})
			if got := f.kept(t, jobs[0]).Status; got != inbox.MediaPending {
				t.Fatalf("status before the job = %q, want pending", got)
			}
			if !f.deliver(t, jobs[0], 1) {
				t.Fatal("job not acknowledged")
			}
			md := f.kept(t, jobs[0])
			if md.Status != inbox.MediaReady || md.Size != int64(len(tc.body)) || md.SHA256 != sum(tc.body) || md.MimeType != tc.ctype || md.Key != Key(jobs[0]) {
				t.Fatalf("kept %+v", md)
			}
			if got := f.bytesAt(t, md); !bytes.Equal(got, tc.body) {
				t.Errorf("the URL returns %q", got)
			}
		})
	}
}

func TestRedeliveredJobIsANoOp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := []byte("\x89PNG once")
	id := f.upload(t, "image/png", bytes.NewReader(body), "")
	jobs := f.store(t, events.ProviderMeta, "image", events.Media{ID: id, MimeType: "image/png"})
	if !f.deliver(t, jobs[0], 1) {
		t.Fatal("not acknowledged")
	}
	f.h.meta = &meta.Client{BaseURL: "http://127.0.0.1:1", Version: "v23.0", Token: token} // would fail if asked
	if !f.deliver(t, jobs[0], 2) {
		t.Fatal("a redelivery of a kept attachment was not acknowledged")
	}
	if md := f.kept(t, jobs[0]); md.Status != inbox.MediaReady {
		t.Errorf("status %q after a redelivery", md.Status)
	}
}

func TestTwilioThreeAttachmentsAreEachKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	files := [][]byte{[]byte("\xff\xd8 one"), []byte("\x89PNG two"), []byte("%PDF three")}
	types := []string{"image/jpeg", "image/png", "application/pdf"}
	var atts []events.Media
	for i := range files {
		id := f.upload(t, types[i], bytes.NewReader(files[i]), "")
		atts = append(atts, events.Media{URL: f.sandbox + "/2010-04-01/Accounts/" + account + "/Messages/MM1/Media/" + id, MimeType: types[i]})
	}
	jobs := f.store(t, events.ProviderTwilio, "image", atts...)
	if len(jobs) != 3 {
		t.Fatalf("%d jobs", len(jobs))
	}
	for i, job := range jobs {
		if !f.deliver(t, job, 1) {
			t.Fatalf("job %d not acknowledged", i)
		}
	}
	for i, job := range jobs {
		md := f.kept(t, job)
		if md.Status != inbox.MediaReady || md.SHA256 != sum(files[i]) || md.MimeType != types[i] {
			t.Errorf("attachment %d: %+v", i, md)
		}
		if got := f.bytesAt(t, md); !bytes.Equal(got, files[i]) {
			t.Errorf("attachment %d: the URL returns %q", i, got)
		}
	}
}

func TestMediaDeletedAtTheProviderIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.upload(t, "image/jpeg", strings.NewReader("\xff\xd8 gone soon"), "")
	jobs := f.store(t, events.ProviderMeta, "image", events.Media{ID: id, MimeType: "image/jpeg"})
	req, _ := http.NewRequest(http.MethodDelete, f.sandbox+"/sandbox/media/"+id, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("delete at the provider: %v %v", res, err)
	}
	if !f.deliver(t, jobs[0], 1) {
		t.Fatal("a media the provider no longer has must not be retried")
	}
	md := f.kept(t, jobs[0])
	if md.Status != inbox.MediaUnavailable || !strings.Contains(md.Reason, "WhatsApp no longer has this file") || md.Key != "" {
		t.Errorf("kept %+v, want unavailable with a reason", md)
	}
}

func TestURLExpiredBetweenTheTwoCallsIsRetriedWithAFreshOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := []byte("%PDF a document")
	id := f.upload(t, "application/pdf", bytes.NewReader(body), "?expired_urls=1")
	jobs := f.store(t, events.ProviderMeta, "document", events.Media{ID: id, MimeType: "application/pdf", Filename: "f.pdf"})
	if f.deliver(t, jobs[0], 1) {
		t.Fatal("the first try met an expired URL and was acknowledged; want a retry")
	}
	if md := f.kept(t, jobs[0]); md.Status != inbox.MediaPending {
		t.Fatalf("after the first try: %+v, want pending", md)
	}
	if !f.deliver(t, jobs[0], 2) {
		t.Fatal("the second try was not acknowledged")
	}
	if md := f.kept(t, jobs[0]); md.Status != inbox.MediaReady || md.SHA256 != sum(body) {
		t.Errorf("after the second try: %+v", md)
	}
}

func TestSHA256MismatchIsRetriedThenFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.upload(t, "image/png", strings.NewReader("\x89PNG corrupted"), "?sha256="+strings.Repeat("ab", 32))
	jobs := f.store(t, events.ProviderMeta, "image", events.Media{ID: id, MimeType: "image/png"})
	for try := 1; try < MaxTries; try++ {
		if f.deliver(t, jobs[0], try) {
			t.Fatalf("try %d: a mismatch was acknowledged before the last try", try)
		}
	}
	if !f.deliver(t, jobs[0], MaxTries) {
		t.Fatal("the last try must record the failure and acknowledge")
	}
	md := f.kept(t, jobs[0])
	if md.Status != inbox.MediaFailed || !strings.Contains(md.Reason, "sha256") || md.Key != "" {
		t.Errorf("kept %+v, want failed naming the sha256", md)
	}
	if _, _, err := f.h.bucket.Head(context.Background(), Key(jobs[0])); err == nil {
		t.Error("the mismatching bytes were kept in the bucket")
	}
}

func TestLargerThanTheLimitFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.upload(t, "image/jpeg", io.LimitReader(rand.NewChaCha8([32]byte{3}), 6*media.MB), "")
	jobs := f.store(t, events.ProviderMeta, "image", events.Media{ID: id, MimeType: "image/jpeg"})
	if !f.deliver(t, jobs[0], 1) {
		t.Fatal("a file over the limit must not be retried")
	}
	if md := f.kept(t, jobs[0]); md.Status != inbox.MediaFailed || !strings.Contains(md.Reason, "5 MB limit") {
		t.Errorf("kept %+v", md)
	}
}

// The 100 MB document goes through the function with a bounded heap. Not parallel: the heap
// is the process's. The function runs at the stack's 512 MB; the bound asserted is far below.
func TestHundredMegabyteDocumentWithBoundedMemory(t *testing.T) {
	f := newFixture(t)
	const size = 100 * media.MB
	h := sha256.New()
	io.Copy(h, io.LimitReader(rand.NewChaCha8([32]byte{9}), size))
	want := hex.EncodeToString(h.Sum(nil))
	id := f.upload(t, "application/pdf", io.LimitReader(rand.NewChaCha8([32]byte{9}), size), "")
	jobs := f.store(t, events.ProviderMeta, "document", events.Media{ID: id, MimeType: "application/pdf", Filename: "big.pdf"})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base {
				peak = max(peak, ms.HeapInuse-base)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	ok := f.deliver(t, jobs[0], 1)
	close(done)
	wg.Wait()
	if !ok {
		t.Fatal("not acknowledged")
	}
	md := f.kept(t, jobs[0])
	if md.Status != inbox.MediaReady || md.Size != size || md.SHA256 != want {
		t.Fatalf("kept %+v", md)
	}
	t.Logf("peak heap above the start while keeping a 100 MB document: %.1f MB", float64(peak)/media.MB)
	if peak > 32*media.MB {
		t.Errorf("peak heap %.1f MB above the start, want under 32 MB for a 100 MB file", float64(peak)/media.MB)
	}
}
