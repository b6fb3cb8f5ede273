package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// invokeFunc calls a function synchronously: Function.Invoke.
type invokeFunc func(ctx context.Context, payload []byte) ([]byte, error)

const (
	// integrationTimeout is how long an HTTP API waits for a Lambda integration.
	integrationTimeout = 30 * time.Second
	// maxRequestBytes is the HTTP API's payload limit.
	maxRequestBytes = 10 << 20
)

// gateway plays the stack's HTTP API: it routes requests to the webhook and api functions as
// API Gateway events, checks bearer tokens as the JWT authorizer does, and answers CORS
// preflights. It also serves two local-only routes: POST /local/token and GET /healthz.
type gateway struct {
	functions   map[string]invokeFunc // by function name; a missing one is not built
	tokens      *tokens
	userByEmail func(ctx context.Context, email string) (*inbox.User, error)
	log         *slog.Logger
	now         func() time.Time
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	g.serve(rec, r)
	g.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"ms", g.now().Sub(start).Milliseconds())
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	requestID := newAPIRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	if r.Header.Get("Origin") != "" {
		// The stack allows any origin unless CORS origins are configured.
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Headers", "authorization,content-type,idempotency-key")
			h.Set("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE")
			h.Set("Access-Control-Max-Age", "3600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	switch {
	case r.URL.Path == "/healthz" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case r.URL.Path == "/local/token" && r.Method == http.MethodPost:
		g.issueToken(w, r)
		return
	case r.URL.Path == jwksPath && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, g.tokens.JWKS())
		return
	}
	rt, ok := matchRoute(r.Method, r.URL.Path)
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	var auth *authorization
	if rt.Auth {
		a, err := g.tokens.Check(r.Header.Get("Authorization"))
		if err != nil {
			g.log.Debug("unauthorized", "path", r.URL.Path, "reason", err)
			w.Header().Set("Www-Authenticate", "Bearer")
			writeMessage(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		auth = &a
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	invoke := g.functions[rt.Function]
	if invoke == nil {
		g.log.Error("route to a function that is not running", "route", rt.Key, "function", rt.Function,
			"hint", "functions/"+rt.Function+" does not exist yet")
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	event, err := json.Marshal(httpEvent(r, body, rt, auth, requestID, g.now()))
	if err != nil {
		g.log.Error("encode event", "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), integrationTimeout)
	defer cancel()
	payload, err := invoke(ctx, event)
	if err != nil {
		var fe *FunctionError
		switch {
		case errors.As(err, &fe):
			g.log.Warn("function failed", "route", rt.Key, "function", rt.Function, "error_type", fe.Type, "error", fe.Message)
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrStopped):
			g.log.Warn("function did not answer", "route", rt.Key, "function", rt.Function, "error", err)
			writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		default:
			g.log.Error("invoke", "route", rt.Key, "function", rt.Function, "error", err)
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		}
		return
	}
	resp, err := toHTTPResponse(payload)
	if err != nil {
		g.log.Warn("bad function response", "route", rt.Key, "function", rt.Function, "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	for k, v := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") && w.Header().Get("Access-Control-Allow-Origin") != "" {
			continue // API Gateway's CORS headers win over the integration's
		}
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// issueToken answers POST /local/token {"email": "..."} with a token for that user, in place
// of signing in to Cognito.
func (g *gateway) issueToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || strings.TrimSpace(req.Email) == "" {
		writeMessage(w, http.StatusBadRequest, `want {"email": "..."}`)
		return
	}
	u, err := g.userByEmail(r.Context(), strings.TrimSpace(req.Email))
	if errors.Is(err, store.ErrNotFound) {
		writeMessage(w, http.StatusNotFound, "no user with that email")
		return
	}
	if err != nil {
		g.log.Error("find user", "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	tok, err := g.tokens.Issue(u)
	if err != nil {
		g.log.Error("issue token", "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// writeMessage answers the way API Gateway itself does: {"message": "..."}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
