package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

type (
	request  = lambdaevents.APIGatewayV2HTTPRequest
	response = lambdaevents.APIGatewayV2HTTPResponse
)

// call is one request with its authenticated user and path parameters.
type call struct {
	req    request
	user   *inbox.User
	params map[string]string
	log    *slog.Logger
}

type handlerFunc func(ctx context.Context, c *call) (any, error)

type route struct {
	method string
	parts  []string // "{id}" segments capture
	// guard is the role rule checked before the handler runs. Routes on one conversation
	// name access.Anyone: their action is checked on the conversation, inside its write.
	guard  access.Rule
	h      handlerFunc
	status int // success status
}

type router struct {
	a      *api
	routes []route
}

func (r *router) add(method, pattern string, status int, guard access.Rule, h handlerFunc) {
	r.routes = append(r.routes, route{method: method, parts: strings.Split(strings.Trim(pattern, "/"), "/"), guard: guard, h: h, status: status})
}

// match finds the route of a method and path; allowed lists the methods of a path that matched
// with another method.
func (r *router) match(method, path string) (*route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	pathFound := false
	for i := range r.routes {
		rt := &r.routes[i]
		if len(rt.parts) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, p := range rt.parts {
			if strings.HasPrefix(p, "{") {
				params[strings.Trim(p, "{}")] = segs[j]
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathFound = true
		if rt.method == method {
			return rt, params, true
		}
	}
	return nil, nil, pathFound
}

func (r *router) serve(ctx context.Context, req request) (response, error) {
	log := slog.With("request_id", req.RequestContext.RequestID, "method", req.RequestContext.HTTP.Method, "path", req.RawPath)
	rt, params, pathFound := r.match(req.RequestContext.HTTP.Method, req.RawPath)
	if rt == nil {
		if pathFound {
			return errorResponse(http.StatusMethodNotAllowed, "method_not_allowed", "this path does not take "+req.RequestContext.HTTP.Method), nil
		}
		return errorResponse(http.StatusNotFound, "not_found", "no such route"), nil
	}
	user, err := r.a.caller(ctx, req)
	if err != nil {
		return r.fail(ctx, log, err), nil
	}
	log = log.With("user_id", user.ID, "org_id", user.OrgID)
	if id := params["id"]; id != "" {
		log = log.With("conversation_id", id)
	}
	if err := rt.guard(user); err != nil {
		return r.fail(ctx, log, err), nil
	}
	out, err := rt.h(ctx, &call{req: req, user: user, params: params, log: log})
	if err != nil {
		return r.fail(ctx, log, err), nil
	}
	return jsonResponse(rt.status, out), nil
}

// apiError is an error with the status and code the client gets.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// detailedError is an apiError whose error object carries fields besides code and message:
// what a client acts on without parsing the message (window_expires_at, conversation_id).
type detailedError struct {
	*apiError
	details map[string]any
}

func (e *detailedError) Unwrap() error { return e.apiError }

// withDetails adds details to e's error object.
func withDetails(e *apiError, details map[string]any) error { return &detailedError{e, details} }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, "bad_request", msg} }

func unprocessable(code, msg string) error {
	return &apiError{http.StatusUnprocessableEntity, code, msg}
}

// fail maps an error to its response: the one table of error → status of the API.
func (r *router) fail(ctx context.Context, log *slog.Logger, err error) response {
	var (
		de     *detailedError
		ae     *apiError
		denial *access.Denial
		nf     *store.NotFoundError
	)
	switch {
	case errors.As(err, &de):
		return errorDetails(de.status, de.code, de.message, de.details)
	case errors.As(err, &ae):
		return errorResponse(ae.status, ae.code, ae.message)
	case errors.Is(err, errUnauthenticated):
		return errorResponse(http.StatusUnauthorized, "unauthenticated", "no valid identity in the token")
	case errors.Is(err, errNoUser):
		return errorResponse(http.StatusForbidden, "no_user", "this identity is not a user of the organization")
	case errors.Is(err, access.ErrInvisible):
		return errorResponse(http.StatusNotFound, "not_found", "conversation not found")
	case errors.As(err, &nf):
		return errorResponse(http.StatusNotFound, "not_found", nf.Entity+" not found")
	case errors.Is(err, store.ErrNotFound):
		return errorResponse(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, access.ErrNotYourContact):
		return errorResponse(http.StatusForbidden, "not_your_contact", denialReason(err))
	case errors.As(err, &denial):
		return errorResponse(http.StatusForbidden, "forbidden", denial.Reason)
	case errors.Is(err, inbox.ErrAlreadyAssigned):
		return errorResponse(http.StatusConflict, "already_assigned", "someone else already holds this conversation")
	case errors.Is(err, inbox.ErrClosed):
		return errorResponse(http.StatusConflict, "conversation_done", "the conversation is done; reopen it first")
	case errors.Is(err, inbox.ErrOpen):
		return errorResponse(http.StatusConflict, "conversation_open", "the conversation is already open")
	case errors.Is(err, inbox.ErrNotAssigned):
		return errorResponse(http.StatusConflict, "not_assigned", "the conversation is not assigned")
	case errors.Is(err, inbox.ErrSameTarget):
		return errorResponse(http.StatusConflict, "no_change", "the conversation is already there")
	case errors.Is(err, inbox.ErrTooManyLabels):
		return errorResponse(http.StatusUnprocessableEntity, "too_many_labels", fmt.Sprintf("a conversation has at most %d labels", inbox.MaxConversationLabels))
	case errors.Is(err, store.ErrConflict):
		return errorResponse(http.StatusConflict, "conflict", "the conversation changed meanwhile; try again")
	}
	log.ErrorContext(ctx, "request failed", "error", err)
	return errorResponse(http.StatusInternalServerError, "internal", "something went wrong on our side; try again")
}

// denialReason is the reason of the access.Denial in err.
func denialReason(err error) string {
	var d *access.Denial
	errors.As(err, &d)
	return d.Reason
}

func jsonResponse(status int, v any) response {
	if v == nil {
		return response{StatusCode: http.StatusNoContent}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "internal", "could not encode the response")
	}
	return response{StatusCode: status, Headers: map[string]string{"content-type": "application/json"}, Body: string(b)}
}

func errorResponse(status int, code, msg string) response {
	return errorDetails(status, code, msg, nil)
}

// errorDetails is an error response whose error object has details merged in; they cannot
// replace its code or message.
func errorDetails(status int, code, msg string, details map[string]any) response {
	e := make(map[string]any, len(details)+2)
	for k, v := range details {
		e[k] = v
	}
	e["code"], e["message"] = code, msg
	b, _ := json.Marshal(map[string]any{"error": e})
	return response{StatusCode: status, Headers: map[string]string{"content-type": "application/json"}, Body: string(b)}
}

// maxBody caps request bodies of the agent API.
const maxBody = 256 << 10

// decode reads a JSON body into v, refusing unknown fields and trailing data.
func decode(req request, v any) error {
	body := req.Body
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return badRequest("body is not valid base64")
		}
		body = string(b)
	}
	if len(body) > maxBody {
		return &apiError{http.StatusRequestEntityTooLarge, "too_large", "body larger than 256 KB"}
	}
	if !utf8.ValidString(body) {
		return badRequest("body is not valid UTF-8")
	}
	if strings.TrimSpace(body) == "" {
		body = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body is not valid JSON for this request: " + err.Error())
	}
	if dec.More() {
		return badRequest("body has data after the JSON object")
	}
	return nil
}

// blank reports whether s shows nothing: only spaces, control and format characters (a
// zero-width space is not a closing reason or a note).
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.In(r, unicode.Cc, unicode.Cf) {
			return false
		}
	}
	return true
}
