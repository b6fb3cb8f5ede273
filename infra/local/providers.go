package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/buzon/buzon/infra/local/sandbox"
)

func providerSandbox(s settings, log *slog.Logger) http.Handler {
	f, err := sandbox.ParseFail(s.SandboxFail)
	if err != nil {
		log.Error("PROVIDER_SANDBOX_FAIL ignored", "error", err)
	}
	return sandbox.New(sandbox.Options{
		WebhookURL:      fmt.Sprintf("http://127.0.0.1:%d", s.Port),
		PublicBaseURL:   s.PublicBaseURL,
		MetaAppSecret:   s.MetaAppSecret,
		MetaAccessToken: s.MetaAccessToken,
		TwilioAuthToken: s.TwilioAuthToken,
		Fail:            f,
		Log:             log,
	})
}
