// Command authorizer is the WebSocket API's $connect Lambda authorizer. Browsers cannot set
// headers on a WebSocket, so the user pool's token comes in the `token` query parameter; it is
// checked as the HTTP API's JWT authorizer checks it (shared/idtoken) and the connection is
// allowed with the user and organization as its context. The token is never logged.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/idtoken"
)

func main() {
	ctx := context.Background()
	cfg, _, err := boot.Setup(ctx, "authorizer")
	if err != nil {
		slog.Error("authorizer init failed", "error", err)
		os.Exit(1)
	}
	a := &authorizer{verify: idtoken.New(cfg.JWTIssuer, cfg.JWTClientID, cfg.JWKSURL, &http.Client{Timeout: 5 * time.Second}, time.Now).Verify}
	lambda.Start(a.handle)
}
