package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/provider"
)

// templateGraph serves GET /{version}/{waba}/message_templates from pages keyed by the after
// cursor they answer, and records each request's path and query.
type templateGraph struct {
	mu    sync.Mutex
	reqs  []string
	auth  []string
	pages map[string]string // after cursor ("" for the first page) → body
	fail  string            // an error body answered with 401 instead, when set
}

func (g *templateGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.reqs = append(g.reqs, r.URL.Path+"?"+r.URL.RawQuery)
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	body, ok := g.pages[r.URL.Query().Get("after")]
	fail := g.fail
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case fail != "":
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, fail)
	case !ok:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"(#100) Invalid parameter","code":100}}`)
	default:
		io.WriteString(w, body)
	}
}

func TestTemplatesFollowsCursors(t *testing.T) {
	t.Parallel()
	g := &templateGraph{pages: map[string]string{
		// paging.next points elsewhere: the client must build its own URL from the cursor.
		"": `{"data":[{"id":"1","name":"order_update","language":"es_AR","status":"APPROVED","category":"UTILITY","parameter_format":"POSITIONAL",
			"components":[{"type":"BODY","text":"Hola {{1}}"}]}],
			"paging":{"cursors":{"before":"QVFIUb","after":"QVFIUa"},"next":"https://evil.example/v23.0/123/message_templates?after=QVFIUa&access_token=leak"}}`,
		"QVFIUa": `{"data":[{"id":"2","name":"promo","language":"es","status":"REJECTED","category":"marketing","rejected_reason":"PROMOTIONAL",
			"components":[{"type":"BODY","text":"50% OFF"}]},
			{"id":"3","name":"welcome","language":"en_US","status":"PAUSED","category":"MARKETING","parameter_format":"NAMED","rejected_reason":"NONE",
			"components":[{"type":"BODY","text":"Hi {{first_name}}"}]}],
			"paging":{"cursors":{"before":"QVFIUa","after":"QVFIUc"}}}`,
	}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/", Version: "v23.0", Token: "tok", HTTP: srv.Client()}

	got, err := c.Templates(context.Background(), "123")
	if err != nil {
		t.Fatal(err)
	}
	comp := func(s string) json.RawMessage { return json.RawMessage(s) }
	want := []*inbox.Template{
		{Account: "123", ID: "1", Name: "order_update", Language: "es_AR", Status: "APPROVED", Category: "UTILITY",
			ParameterFormat: "POSITIONAL", Components: comp(`[{"type":"BODY","text":"Hola {{1}}"}]`)},
		{Account: "123", ID: "2", Name: "promo", Language: "es", Status: "REJECTED", Category: "MARKETING", Reason: "PROMOTIONAL",
			ParameterFormat: "POSITIONAL", Components: comp(`[{"type":"BODY","text":"50% OFF"}]`)},
		{Account: "123", ID: "3", Name: "welcome", Language: "en_US", Status: "PAUSED", Category: "MARKETING",
			ParameterFormat: "NAMED", Components: comp(`[{"type":"BODY","text":"Hi {{first_name}}"}]`)},
	}
	for _, tp := range got { // compare components by content, not spacing
		var b bytes.Buffer
		if err := json.Compact(&b, tp.Components); err != nil {
			t.Fatal(err)
		}
		tp.Components = b.Bytes()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	fields := "fields=id%2Cname%2Clanguage%2Cstatus%2Ccategory%2Ccomponents%2Cparameter_format%2Crejected_reason"
	wantReqs := []string{
		"/v23.0/123/message_templates?" + fields + "&limit=100",
		"/v23.0/123/message_templates?after=QVFIUa&" + fields + "&limit=100",
	}
	if diff := cmp.Diff(wantReqs, g.reqs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, a := range g.auth {
		if a != "Bearer tok" {
			t.Errorf("Authorization %q, want the bearer token", a)
		}
	}
}

func TestTemplatesErrors(t *testing.T) {
	t.Parallel()
	t.Run("token refused", func(t *testing.T) {
		t.Parallel()
		g := &templateGraph{fail: `{"error":{"message":"(#190) Invalid OAuth access token","type":"OAuthException","code":190}}`}
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		c := &Client{BaseURL: srv.URL, Version: "v23.0", Token: "bad", HTTP: srv.Client()}
		_, err := c.Templates(context.Background(), "123")
		var se *provider.SendError
		if !errors.As(err, &se) || se.Code != 190 || se.Retryable || !strings.Contains(se.Reason, "access token") {
			t.Fatalf("error = %v, want a permanent 190 with its reason", err)
		}
	})
	t.Run("cursor that does not move", func(t *testing.T) {
		t.Parallel()
		loop := `{"data":[],"paging":{"cursors":{"after":"A"},"next":"https://graph.facebook.com/x"}}`
		g := &templateGraph{pages: map[string]string{"": loop, "A": loop}}
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		c := &Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok", HTTP: srv.Client()}
		if _, err := c.Templates(context.Background(), "123"); err == nil || !strings.Contains(err.Error(), "cursor did not move") {
			t.Fatalf("error = %v, want the cursor loop caught", err)
		}
		if len(g.reqs) != 2 {
			t.Errorf("%d requests, want 2", len(g.reqs))
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		t.Parallel()
		g := &templateGraph{pages: map[string]string{"": `<html>`}}
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		c := &Client{BaseURL: srv.URL, Version: "v23.0", Token: "tok", HTTP: srv.Client()}
		var se *provider.SendError
		if _, err := c.Templates(context.Background(), "123"); !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("error = %v, want a retryable unexpected response", err)
		}
	})
}
