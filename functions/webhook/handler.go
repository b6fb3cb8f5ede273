package main

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/twilio"
)

// handler serves the webhook routes. It keeps no state between requests.
type handler struct {
	metaSecrets [][]byte
	verifyToken string
	twilioToken string
	publicBase  string
	maxBytes    int
	q           *queue.Queue
	now         func() time.Time
}

func newHandler(cfg config.Config, q *queue.Queue, now func() time.Time) *handler {
	h := &handler{
		verifyToken: cfg.MetaVerifyToken,
		twilioToken: cfg.TwilioAuthToken,
		publicBase:  cfg.PublicBaseURL,
		maxBytes:    cfg.MaxWebhookBytes,
		q:           q,
		now:         now,
	}
	for _, s := range cfg.MetaAppSecrets {
		h.metaSecrets = append(h.metaSecrets, []byte(s))
	}
	return h
}

type response = lambdaevents.APIGatewayV2HTTPResponse

func (h *handler) handle(ctx context.Context, req lambdaevents.APIGatewayV2HTTPRequest) (response, error) {
	log := slog.With("request_id", req.RequestContext.RequestID, "path", req.RawPath)
	method := req.RequestContext.HTTP.Method
	switch {
	case req.RawPath == "/webhooks/meta" && method == http.MethodGet:
		return h.metaHandshake(req), nil
	case req.RawPath == "/webhooks/meta" && method == http.MethodPost:
		return h.meta(ctx, log, req), nil
	case req.RawPath == "/webhooks/twilio" && method == http.MethodPost:
		return h.twilio(ctx, log, req), nil
	}
	return text(http.StatusNotFound, "no such webhook route"), nil
}

func (h *handler) metaHandshake(req lambdaevents.APIGatewayV2HTTPRequest) response {
	q, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return text(http.StatusBadRequest, "query string is not valid")
	}
	if h.verifyToken == "" {
		return text(http.StatusServiceUnavailable, "meta webhook is not configured")
	}
	challenge, ok := meta.Handshake(q, h.verifyToken)
	if !ok {
		return text(http.StatusForbidden, "verification failed: hub.mode must be subscribe and hub.verify_token must match")
	}
	return text(http.StatusOK, challenge)
}

func (h *handler) meta(ctx context.Context, log *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest) response {
	body, bad := h.body(req)
	if bad != nil {
		return *bad
	}
	err := meta.VerifySignature(body, header(req.Headers, "x-hub-signature-256"), h.metaSecrets...)
	if errors.Is(err, meta.ErrNoSecret) {
		log.ErrorContext(ctx, "META_APP_SECRET is not configured")
		return text(http.StatusServiceUnavailable, "meta webhook is not configured")
	}
	if err != nil {
		log.WarnContext(ctx, "meta signature rejected", "error", err)
		return text(http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
	}
	items, err := meta.Parse(body, h.now().UTC())
	if err != nil {
		log.WarnContext(ctx, "meta delivery rejected", "error", err)
		return text(http.StatusBadRequest, err.Error())
	}
	return h.enqueue(ctx, log, req, items, events.ProviderMeta, text(http.StatusOK, "ok"))
}

func (h *handler) twilio(ctx context.Context, log *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest) response {
	body, bad := h.body(req)
	if bad != nil {
		return *bad
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return text(http.StatusBadRequest, "body is not application/x-www-form-urlencoded")
	}
	u := h.publicBase + req.RawPath
	if req.RawQueryString != "" {
		u += "?" + req.RawQueryString
	}
	err = twilio.VerifySignature(u, form, header(req.Headers, "x-twilio-signature"), h.twilioToken)
	if errors.Is(err, twilio.ErrNoAuthToken) {
		log.ErrorContext(ctx, "TWILIO_AUTH_TOKEN is not configured")
		return text(http.StatusServiceUnavailable, "twilio webhook is not configured")
	}
	if err != nil {
		log.WarnContext(ctx, "twilio signature rejected", "error", err)
		return text(http.StatusUnauthorized, "invalid or missing X-Twilio-Signature")
	}
	item := twilio.Parse(form, h.now().UTC())
	if item.Kind == events.KindStatus {
		// Our reference of the message, in the query of the StatusCallback URL we gave with
		// the send: covered by the signature just checked.
		if q, err := url.ParseQuery(req.RawQueryString); err == nil {
			item.Status.Ref = q.Get(twilio.RefParam)
		}
	}
	ok := response{StatusCode: http.StatusOK, Headers: map[string]string{"content-type": "text/xml"}, Body: "<Response/>"}
	return h.enqueue(ctx, log, req, []events.Inbound{item}, events.ProviderTwilio, ok)
}

// enqueue puts every item on the inbound queue; the provider gets ok only if SQS took them all,
// and a 5xx otherwise so that it retries the whole delivery (the copies are deduplicated).
// Malformed items travel too: the consumer moves them to the dead-letter queue with their
// reason, so a bad part of a signed delivery is recorded where an operator looks (make dlq)
// while its valid siblings are applied, and the provider, answered 200, does not retry the
// delivery for days.
func (h *handler) enqueue(ctx context.Context, log *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest, items []events.Inbound, p events.Provider, ok response) response {
	batch := make([]queue.Item, len(items))
	malformed := 0
	for i := range items {
		ev := &items[i]
		ev.RequestID = req.RequestContext.RequestID
		batch[i] = queue.Item{Group: ev.GroupID(), Dedup: ev.DedupID(), Body: ev}
		if ev.Kind == events.KindMalformed {
			malformed++
			log.WarnContext(ctx, "malformed item recorded", "provider", p, "path", ev.Malformed.Path, "reason", ev.Malformed.Reason)
		}
	}
	if err := h.q.Send(ctx, batch); err != nil {
		log.ErrorContext(ctx, "enqueue failed; provider will retry", "provider", p, "items", len(items), "error", err)
		return text(http.StatusServiceUnavailable, "temporarily unable to accept the delivery; retry later")
	}
	log.InfoContext(ctx, "delivery accepted", "provider", p, "items", len(items), "malformed", malformed)
	return ok
}

// body returns the request body as received, decoding API Gateway's base64, or the response
// to send when it is too large or undecodable.
func (h *handler) body(req lambdaevents.APIGatewayV2HTTPRequest) ([]byte, *response) {
	raw := req.Body
	if req.IsBase64Encoded && base64.StdEncoding.DecodedLen(len(raw)) > h.maxBytes+3 ||
		!req.IsBase64Encoded && len(raw) > h.maxBytes {
		r := text(http.StatusRequestEntityTooLarge, "body larger than the 3 MB webhook limit")
		return nil, &r
	}
	if !req.IsBase64Encoded {
		return []byte(raw), nil
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		r := text(http.StatusBadRequest, "body is not valid base64")
		return nil, &r
	}
	if len(b) > h.maxBytes {
		r := text(http.StatusRequestEntityTooLarge, "body larger than the 3 MB webhook limit")
		return nil, &r
	}
	return b, nil
}

// header looks a header up case-insensitively (HTTP API v2 lower-cases them; other callers
// may not).
func header(hs map[string]string, name string) string {
	if v, ok := hs[name]; ok {
		return v
	}
	for k, v := range hs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func text(status int, body string) response {
	return response{StatusCode: status, Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}, Body: body}
}
