package main

import (
	"log/slog"
	"net/http"
)

// providerSandbox returns the local stand-in for Meta's Graph API and Twilio's REST API, which
// the functions reach at META_GRAPH_URL and TWILIO_API_URL (http://127.0.0.1:SANDBOX_PORT).
// It is not written yet: while this returns nil nothing listens there, and the functions'
// calls to the providers fail to connect.
func providerSandbox(log *slog.Logger) http.Handler {
	return nil
}
