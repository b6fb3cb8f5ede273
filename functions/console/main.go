// Command console serves the agent console: plain ES modules, a stylesheet and one HTML page,
// embedded in this binary, at / of the same HTTP API as the agent API (one origin: the console
// calls /v1/... without CORS, and its Content Security Policy can say 'self'). It reads no
// table and holds no grant: what it serves is the same for everyone until sign-in, and its
// small /config.json tells the page how to sign in (the local token issuer, or Cognito's
// hosted sign-in with its domain and app client).
package main

import (
	"context"

	"github.com/buzon/buzon/shared/boot"
)

func main() {
	boot.Main("console", func(_ context.Context, e *boot.Env) (any, error) {
		s, err := newSite(web, origins{
			WebSocket: e.Config.WebSocketURL, Media: e.Config.MediaOrigin,
			CognitoDomain: e.Config.CognitoDomain, CognitoClientID: e.Config.CognitoClientID,
		})
		if err != nil {
			return nil, err
		}
		return s.serve, nil
	})
}
