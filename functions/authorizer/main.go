// Command authorizer is the WebSocket API's $connect Lambda authorizer. Browsers cannot set
// headers on a WebSocket, so the user pool's token comes in the `token` query parameter; it is
// checked as the HTTP API's JWT authorizer checks it (shared/idtoken) and the connection is
// allowed with the user and organization as its context. The token is never logged.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/idtoken"
)

func main() {
	boot.Main("authorizer", func(_ context.Context, e *boot.Env) (any, error) {
		cfg := e.Config
		a := &authorizer{verify: idtoken.New(cfg.JWTIssuer, cfg.JWTClientID, cfg.JWKSURL, &http.Client{Timeout: 5 * time.Second}, time.Now).Verify}
		return a.handle, nil
	})
}
