package main

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

// web is the console's files: index.html, app.css and the ES modules under js/.
//
//go:embed web
var web embed.FS

type (
	request  = lambdaevents.APIGatewayV2HTTPRequest
	response = lambdaevents.APIGatewayV2HTTPResponse
)

// origins are the places the page talks to besides its own origin: they go into the Content
// Security Policy (and, for Cognito, into /config.json).
type origins struct {
	WebSocket       string // WEBSOCKET_URL: live updates
	Media           string // MEDIA_ORIGIN: presigned media GETs (images, players) and upload PUTs
	CognitoDomain   string // COGNITO_DOMAIN: the hosted sign-in and its token endpoint; empty: local sign-in
	CognitoClientID string // COGNITO_CLIENT_ID: the console's app client (public: no secret)
}

// file is one served file, with what its headers need computed once at init.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// site serves the embedded files.
type site struct {
	files map[string]file // by URL path: "/", "/app.css", "/js/app.js", "/config.json"
	csp   string
}

// served are the file types the console has; anything else in web/ is refused at init, so a
// stray file cannot be served with a type a browser guesses.
var served = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

func newSite(root fs.FS, o origins) (*site, error) {
	s := &site{files: map[string]file{}}
	sub, err := fs.Sub(root, "web")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := served[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console: web/%s: no content type for %q", p, path.Ext(p))
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		s.files["/"+p] = newFile(b, ct)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read files: %w", err)
	}
	index, ok := s.files["/index.html"]
	if !ok {
		return nil, fmt.Errorf("console: web/index.html missing")
	}
	s.files["/"] = index
	cfg, err := json.Marshal(signIn(o))
	if err != nil {
		return nil, err
	}
	s.files["/config.json"] = newFile(cfg, served[".json"])
	if s.csp, err = policy(o); err != nil {
		return nil, err
	}
	return s, nil
}

func newFile(b []byte, ct string) file {
	sum := sha256.Sum256(b)
	return file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// signInConfig is /config.json: how the page signs its user in.
type signInConfig struct {
	SignIn  string         `json:"sign_in"` // "local" (POST /local/token) or "cognito"
	Cognito *cognitoConfig `json:"cognito,omitempty"`
}

type cognitoConfig struct {
	Domain   string `json:"domain"`    // https://<prefix>.auth.<region>.amazoncognito.com
	ClientID string `json:"client_id"` // the public app client: authorization code with PKCE
}

func signIn(o origins) signInConfig {
	if o.CognitoDomain == "" {
		return signInConfig{SignIn: "local"}
	}
	return signInConfig{SignIn: "cognito", Cognito: &cognitoConfig{Domain: strings.TrimRight(o.CognitoDomain, "/"), ClientID: o.CognitoClientID}}
}

// policy is the Content Security Policy of every answer: scripts and styles from this origin
// only (no inline script, no eval), connections to this origin, the WebSocket API, the media
// bucket (uploads) and Cognito's token endpoint, media from the bucket, no frames, no plugins.
func policy(o origins) (string, error) {
	media, err := origin(o.Media, "MEDIA_ORIGIN")
	if err != nil {
		return "", err
	}
	ws, err := origin(o.WebSocket, "WEBSOCKET_URL")
	if err != nil {
		return "", err
	}
	cognito, err := origin(o.CognitoDomain, "COGNITO_DOMAIN")
	if err != nil {
		return "", err
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " ")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		join("img-src 'self' blob:", media),
		join("media-src 'self' blob:", media),
		join("connect-src 'self'", ws, media, cognito),
		"manifest-src 'self'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; "), nil
}

// origin is a URL's scheme://host[:port], the form a CSP source takes; "" for "".
func origin(raw, setting string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return "", fmt.Errorf("console: %s %q is not an absolute URL", setting, raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (s *site) serve(_ context.Context, req request) (response, error) {
	p := req.RawPath
	if p == "" {
		p = "/"
	}
	f, ok := s.files[p]
	if !ok || p == "/index.html" {
		return s.answer(http.StatusNotFound, file{body: []byte("not found\n"), contentType: "text/plain; charset=utf-8"}), nil
	}
	if inm := req.Headers["if-none-match"]; inm != "" && inm == f.etag {
		r := s.answer(http.StatusNotModified, f)
		r.Body = ""
		return r, nil
	}
	return s.answer(http.StatusOK, f), nil
}

func (s *site) answer(status int, f file) response {
	h := map[string]string{
		"Content-Type":            f.contentType,
		"Content-Security-Policy": s.csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Permissions-Policy":      "camera=(), microphone=(), geolocation=()",
		// Revalidated on every load (a 304 is cheap), so a deploy is seen at once.
		"Cache-Control": "no-cache",
	}
	if f.etag != "" {
		h["ETag"] = f.etag
	}
	return response{StatusCode: status, Headers: h, Body: string(f.body)}
}
