package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sandboxPost posts to the provider sandbox and decodes its JSON answer into out.
func (s *stack) sandboxPost(t *testing.T, path, contentType string, body []byte, out any) {
	t.Helper()
	res, err := s.http.Post(s.sandbox+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %s", path, b)
		}
	}
}

type threadMedia struct {
	ID, URL, Status, Reason, MimeType string
	SHA256                            string `json:"sha256"`
}

// mediaOf polls the thread until every attachment of the conversation's message with media
// is no longer pending, and returns them.
func (s *stack) mediaOf(t *testing.T, token, wa string, want int) []threadMedia {
	t.Helper()
	var got []threadMedia
	eventually(t, fmt.Sprintf("%d kept attachments from %s", want, wa), func() bool {
		status, b := s.do(t, "GET", "/v1/conversations", token, nil, nil)
		if status != 200 {
			return false
		}
		var page struct {
			Items []conversation
		}
		_ = json.Unmarshal(b, &page)
		for _, c := range page.Items {
			if c.Contact.WaID != wa {
				continue
			}
			_, b := s.do(t, "GET", "/v1/conversations/"+c.ID+"/messages", token, nil, nil)
			var thread struct {
				Items []struct {
					Media     *threadMedia  `json:"media"`
					MoreMedia []threadMedia `json:"more_media"`
				}
			}
			_ = json.Unmarshal(b, &thread)
			for _, it := range thread.Items {
				if it.Media == nil {
					continue
				}
				all := append([]threadMedia{*it.Media}, it.MoreMedia...)
				for _, m := range all {
					if m.Status == "pending" {
						return false
					}
				}
				got = all
				return len(all) == want
			}
		}
		return false
	})
	return got
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (s *stack) fetchBytes(t *testing.T, url string) []byte {
	t.Helper()
	res, err := s.http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return b
}

// A customer's photo on the Meta line and three attachments on the Twilio line are kept and
// opened by agents; an agent's upload reaches the customer through each provider.
func TestMediaThroughTheLocalStack(t *testing.T) {
	s := start(t)
	sofia := s.token(t, "sofia@acme.test") // sales: the Meta line
	diego := s.token(t, "diego@acme.test") // support: the Twilio line
	stamp := time.Now().UnixNano() % 1e8

	photo := []byte("\xff\xd8\xff a photo of the broken part " + fmt.Sprint(stamp))
	var up struct{ ID string }
	s.sandboxPost(t, "/sandbox/media", "image/jpeg", photo, &up)
	wa := fmt.Sprintf("54911%08d", stamp)
	s.sandboxPost(t, "/sandbox/customer", "application/json",
		[]byte(`{"line":"meta","phone_number_id":"106540352242922","from":"`+wa+`","name":"Lucía","media":{"type":"image","id":"`+up.ID+`","caption":"esta pieza"}}`), nil)
	got := s.mediaOf(t, sofia, wa, 1)
	if got[0].Status != "ready" || got[0].SHA256 != hexSum(photo) {
		t.Fatalf("the photo: %+v", got[0])
	}
	if b := s.fetchBytes(t, got[0].URL); !bytes.Equal(b, photo) {
		t.Errorf("the photo's URL returns %q", b)
	}

	files := [][]byte{[]byte("\xff\xd8 one"), []byte("\x89PNG two"), []byte("%PDF three")}
	types := []string{"image/jpeg", "image/png", "application/pdf"}
	var ids []string
	for i := range files {
		s.sandboxPost(t, "/sandbox/media", types[i], files[i], &up)
		ids = append(ids, up.ID)
	}
	wa2 := fmt.Sprintf("54922%08d", stamp)
	s.sandboxPost(t, "/sandbox/customer", "application/json",
		[]byte(`{"line":"twilio","to":"+14155238886","account_sid":"AC00000000000000000000000000000000","from":"`+wa2+`","text":"tres archivos","attachments":["`+strings.Join(ids, `","`)+`"]}`), nil)
	got = s.mediaOf(t, diego, wa2, 3)
	for i, m := range got {
		if m.Status != "ready" || m.SHA256 != hexSum(files[i]) {
			t.Errorf("attachment %d: %+v", i, m)
		}
	}

	// Sofía answers the photo with a document she uploads.
	var conv string
	_, b := s.do(t, "GET", "/v1/conversations", sofia, nil, nil)
	var page struct{ Items []conversation }
	_ = json.Unmarshal(b, &page)
	for _, c := range page.Items {
		if c.Contact.WaID == wa {
			conv = c.ID
		}
	}
	doc := []byte("%PDF-1.7 presupuesto " + fmt.Sprint(stamp))
	status, b := s.do(t, "POST", "/v1/uploads", sofia, nil,
		[]byte(fmt.Sprintf(`{"conversation_id":%q,"kind":"document","mime_type":"application/pdf","size":%d}`, conv, len(doc))))
	if status != 201 {
		t.Fatalf("upload: %d %s", status, b)
	}
	var u struct {
		UploadID string            `json:"upload_id"`
		URL      string            `json:"url"`
		Method   string            `json:"method"`
		Headers  map[string]string `json:"headers"`
	}
	_ = json.Unmarshal(b, &u)
	req, _ := http.NewRequest(u.Method, u.URL, bytes.NewReader(doc))
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	res, err := s.http.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT the upload: %v %v", res, err)
	}
	res.Body.Close()
	if status, b := s.do(t, "POST", "/v1/conversations/"+conv+"/messages", sofia, nil,
		[]byte(`{"type":"document","media":{"upload_id":"`+u.UploadID+`","caption":"su presupuesto","filename":"presupuesto.pdf"}}`)); status != 202 {
		t.Fatalf("send: %d %s", status, b)
	}
	eventually(t, "the sandbox to fetch the uploaded document", func() bool {
		res, err := s.http.Get(s.sandbox + "/sandbox/messages")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var sent struct {
			Messages []struct {
				To    string
				Media []struct{ SHA256 string }
			}
		}
		_ = json.NewDecoder(res.Body).Decode(&sent)
		for _, m := range sent.Messages {
			if m.To == wa && len(m.Media) == 1 && m.Media[0].SHA256 == hexSum(doc) {
				return true
			}
		}
		return false
	})
}
