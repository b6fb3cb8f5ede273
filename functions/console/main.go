// Command console serves the agent console: plain ES modules, a stylesheet and one HTML page,
// embedded in this binary, at / of the same HTTP API as the agent API (one origin: the console
// calls /v1/... without CORS, and its Content Security Policy can say 'self'). It reads no
// table and holds no grant: what it serves is the same for everyone until sign-in, and its
// small /config.json tells the page how to sign in (the local token issuer, or Cognito's
// hosted sign-in with its domain and app client).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/buzon/buzon/shared/boot"
)

func main() {
	cfg, _, err := boot.Setup(context.Background(), "console")
	if err != nil {
		slog.Error("console init failed", "error", err)
		os.Exit(1)
	}
	s, err := newSite(web, origins{
		WebSocket: cfg.WebSocketURL, Media: cfg.MediaOrigin,
		CognitoDomain: cfg.CognitoDomain, CognitoClientID: cfg.CognitoClientID,
	})
	if err != nil {
		slog.Error("console init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(s.serve)
}
