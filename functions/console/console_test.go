package main

import (
	"context"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var local = origins{WebSocket: "ws://127.0.0.1:8081", Media: "http://127.0.0.1:9444/"}

func get(t *testing.T, s *site, path string, headers map[string]string) response {
	t.Helper()
	var req request
	req.RawPath = path
	req.RequestContext.HTTP.Method = "GET"
	req.Headers = headers
	r, err := s.serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestServesTheConsole(t *testing.T) {
	t.Parallel()
	s, err := newSite(web, local)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, contentType string
		status            int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/app.css", "text/css; charset=utf-8", 200},
		{"/js/app.js", "text/javascript; charset=utf-8", 200},
		{"/js/thread.js", "text/javascript; charset=utf-8", 200},
		{"/icon.svg", "image/svg+xml", 200},
		{"/config.json", "application/json", 200},
		{"/index.html", "text/plain; charset=utf-8", 404}, // one address for the page
		{"/js/missing.js", "text/plain; charset=utf-8", 404},
		{"/../console.go", "text/plain; charset=utf-8", 404},
		{"/webhooks/twilio", "text/plain; charset=utf-8", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := get(t, s, tt.path, nil)
			if r.StatusCode != tt.status || r.Headers["Content-Type"] != tt.contentType {
				t.Errorf("GET %s: %d %s, want %d %s", tt.path, r.StatusCode, r.Headers["Content-Type"], tt.status, tt.contentType)
			}
			for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
				if r.Headers[h] == "" {
					t.Errorf("GET %s: no %s", tt.path, h)
				}
			}
		})
	}
}

func TestRevalidatesWithETag(t *testing.T) {
	t.Parallel()
	s, err := newSite(web, local)
	if err != nil {
		t.Fatal(err)
	}
	first := get(t, s, "/js/app.js", nil)
	again := get(t, s, "/js/app.js", map[string]string{"if-none-match": first.Headers["ETag"]})
	if again.StatusCode != http.StatusNotModified || again.Body != "" {
		t.Errorf("with its ETag: %d (%d bytes), want 304 and no body", again.StatusCode, len(again.Body))
	}
	if r := get(t, s, "/js/app.js", map[string]string{"if-none-match": `"stale"`}); r.StatusCode != 200 {
		t.Errorf("with a stale ETag: %d, want 200", r.StatusCode)
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    origins
		want string
	}{
		{"local", local, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: http://127.0.0.1:9444; " +
			"media-src 'self' blob: http://127.0.0.1:9444; connect-src 'self' ws://127.0.0.1:8081 http://127.0.0.1:9444; " +
			"manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
		{"aws", origins{WebSocket: "wss://abc.execute-api.eu-west-1.amazonaws.com/live", Media: "https://media.s3.eu-west-1.amazonaws.com",
			CognitoDomain: "https://buzon-1.auth.eu-west-1.amazoncognito.com", CognitoClientID: "client"},
			"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: https://media.s3.eu-west-1.amazonaws.com; " +
				"media-src 'self' blob: https://media.s3.eu-west-1.amazonaws.com; " +
				"connect-src 'self' wss://abc.execute-api.eu-west-1.amazonaws.com https://media.s3.eu-west-1.amazonaws.com https://buzon-1.auth.eu-west-1.amazoncognito.com; " +
				"manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := newSite(web, origins{Media: "not a url"}); err == nil {
		t.Error("a MEDIA_ORIGIN that is not a URL was accepted")
	}
}

func TestSignInConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    origins
		want string
	}{
		{"local", local, `{"sign_in":"local"}`},
		{"cognito", origins{CognitoDomain: "https://buzon-1.auth.eu-west-1.amazoncognito.com/", CognitoClientID: "c1"},
			`{"sign_in":"cognito","cognito":{"domain":"https://buzon-1.auth.eu-west-1.amazoncognito.com","client_id":"c1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSite(web, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := get(t, s, "/config.json", nil).Body; got != tt.want {
				t.Errorf("config.json = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestNoMarkupFromData holds the console to its safety rules by reading its files: the page
// has no inline script or handler (the policy would refuse them anyway), and no script parses
// strings as HTML, so a customer's text or name can only ever be text.
func TestNoMarkupFromData(t *testing.T) {
	t.Parallel()
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	handlerAttr := regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	htmlSinks := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|DOMParser`)
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web, p)
		if err != nil {
			return err
		}
		src := string(b)
		switch {
		case strings.HasSuffix(p, ".html"):
			if inlineScript.MatchString(src) || handlerAttr.MatchString(src) {
				t.Errorf("%s has inline script", p)
			}
		case strings.HasSuffix(p, ".js"):
			for i, line := range strings.Split(src, "\n") {
				if htmlSinks.MatchString(line) {
					t.Errorf("%s:%d parses a string as HTML or code: %s", p, i+1, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusesFilesOfUnknownType(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{"web/index.html": {Data: []byte("<!doctype html>")}, "web/notes.txt": {Data: []byte("x")}}
	if _, err := newSite(files, local); err == nil {
		t.Error("a .txt file was accepted: it would be served with a guessed type")
	}
}

// TestEnglishNames pins the accessible names the issue asks for in English.
func TestEnglishNames(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(web, "web/js/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"signin.email": "Email", "signin.submit": "Sign in", "list.label": "Conversations", "composer.label": "Message",
		"composer.send": "Send", "act.claim": "Claim", "act.close": "Close conversation",
	} {
		if !strings.Contains(string(b), "'"+key+"': '"+want+"'") {
			t.Errorf("i18n.js: %s is not %q in English", key, want)
		}
	}
}
