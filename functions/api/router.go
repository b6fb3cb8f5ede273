package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
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
	if err := access.Enabled(user); err != nil {
		return r.fail(ctx, log, err), nil
	}
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
	if to, ok := out.(redirectTo); ok {
		return response{StatusCode: http.StatusFound, Headers: map[string]string{"Location": string(to), "Cache-Control": "no-store"}}, nil
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
		// the workflows' refusals
		unknown    *workflow.UnknownError
		unknownTpl *workflow.UnknownTemplateError
		tpl        *workflow.TemplateError
		window     *workflow.WindowClosedError
		open       *workflow.OpenConversationError
		notQueued  *workflow.NotQueuedError
		unlisted   *workflow.UnlistedReasonError
		reasons    *inbox.ClosingReasonsError
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
	case errors.Is(err, access.ErrContactInvisible):
		return errorResponse(http.StatusNotFound, "not_found", "contact not found")
	case errors.Is(err, errNoBucket):
		return errorResponse(http.StatusServiceUnavailable, "no_media_storage", "this deployment keeps no media (MEDIA_BUCKET is not set)")
	case errors.Is(err, store.ErrBadCursor):
		return errorResponse(http.StatusBadRequest, "bad_request", "cursor is not one this API returned")
	case errors.Is(err, errRealtimeOff):
		return errorResponse(http.StatusServiceUnavailable, "realtime_off", "this deployment has no WebSocket API; poll the lists")
	case errors.Is(err, access.ErrInvisible):
		return errorResponse(http.StatusNotFound, "not_found", "conversation not found")
	case errors.As(err, &nf):
		return errorResponse(http.StatusNotFound, "not_found", nf.Entity+" not found")
	case errors.Is(err, store.ErrNotFound):
		return errorResponse(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, access.ErrRemoved):
		return errorResponse(http.StatusForbidden, "user_removed", denialReason(err))
	case errors.Is(err, access.ErrDisabled):
		return errorResponse(http.StatusForbidden, "user_disabled", denialReason(err))
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
	case errors.Is(err, inbox.ErrTooManyCollaborators):
		return errorResponse(http.StatusUnprocessableEntity, "too_many_collaborators", fmt.Sprintf("a conversation has at most %d collaborators", inbox.MaxCollaborators))
	case errors.Is(err, inbox.ErrCollaboratorHolds):
		return errorResponse(http.StatusUnprocessableEntity, "collaborator_is_assignee", "that user holds the conversation: they are not its collaborator")
	case errors.Is(err, inbox.ErrNotCollaborator):
		return errorResponse(http.StatusConflict, "not_collaborator", "that user is not a collaborator of this conversation")
	case errors.Is(err, workflow.ErrCollaboratorDisabled):
		return errorResponse(http.StatusUnprocessableEntity, "target_user_disabled", "that user is disabled")
	case errors.As(err, &unknown):
		return errorResponse(http.StatusUnprocessableEntity, "unknown_"+unknown.Field, "no "+unknown.Entity+" "+unknown.ID+" in this organization")
	case errors.As(err, &unlisted):
		return errorDetails(http.StatusUnprocessableEntity, "unknown_reason", "closing needs one of the configured reasons (see reasons)",
			map[string]any{"reasons": unlisted.Reasons})
	case errors.As(err, &reasons):
		return errorResponse(http.StatusUnprocessableEntity, "bad_reasons", reasons.Reason)
	case errors.Is(err, workflow.ErrDisableSelf):
		return errorResponse(http.StatusUnprocessableEntity, "disable_self", "you cannot disable yourself; another admin can")
	case errors.Is(err, workflow.ErrNoContactFilter):
		return errorResponse(http.StatusBadRequest, "bad_request", "give what to look for: q (name or number), email, field and value, or owner_id")
	case errors.Is(err, inbox.ErrInvalidContact):
		return errorResponse(http.StatusUnprocessableEntity, "invalid_contact", invalidContactReason(err))
	case errors.Is(err, workflow.ErrAssigneeHasNoInbox):
		return errorResponse(http.StatusUnprocessableEntity, "assignee_has_no_inbox", "that user's role has no inbox")
	case errors.Is(err, workflow.ErrLineDeleted):
		return errorResponse(http.StatusConflict, "line_deleted", "the line was deleted: its history is kept, read-only; it sends nothing and changes no more")
	case errors.Is(err, workflow.ErrDepartmentInUse):
		return errorResponse(http.StatusConflict, "department_in_use", "the department has conversations: give move_to, the department to move them to")
	case errors.Is(err, workflow.ErrMoveToSelf):
		return errorResponse(http.StatusUnprocessableEntity, "bad_move_to", "move_to is the department being deleted")
	case errors.Is(err, workflow.ErrDeleteSelf):
		return errorResponse(http.StatusUnprocessableEntity, "delete_self", "you cannot delete yourself; another admin can")
	case errors.Is(err, workflow.ErrHandOverToSelf):
		return errorResponse(http.StatusUnprocessableEntity, "bad_conversations_to", "conversations_to is the user who leaves")
	case errors.Is(err, workflow.ErrLineNotActive):
		return errorResponse(http.StatusConflict, "line_not_active", "the line is not active (paused or in error): it cannot send")
	case errors.As(err, &window):
		return windowClosed(window.Expired)
	case errors.As(err, &open):
		return errorDetails(http.StatusConflict, "conversation_open", "this customer already has an open conversation on this line: write there",
			map[string]any{"conversation_id": open.ConversationID})
	case errors.Is(err, workflow.ErrTextTooLong):
		return errorResponse(http.StatusUnprocessableEntity, "text_too_long", fmt.Sprintf("this line sends through Twilio, which allows at most %d characters", workflow.MaxTwilioText))
	case errors.Is(err, workflow.ErrTemplateBySID):
		return errorResponse(http.StatusUnprocessableEntity, "bad_template", "this line sends through Twilio, which sends templates by Content SID: template.name must be the HX… SID")
	case errors.Is(err, workflow.ErrNoTemplates):
		return errorResponse(http.StatusUnprocessableEntity, "unknown_template", "this line has no WhatsApp Business Account id (waba_id), so it has no synced templates")
	case errors.As(err, &unknownTpl):
		return errorResponse(http.StatusUnprocessableEntity, "unknown_template", "no template "+strconv.Quote(unknownTpl.Name)+" in language "+strconv.Quote(unknownTpl.Language)+
			" on this line's WhatsApp Business Account; templates sync every few hours, and an admin can sync now")
	case errors.As(err, &tpl):
		return templateError(tpl.Template, tpl.Err)
	case errors.Is(err, workflow.ErrUnknownReplyTo):
		return errorResponse(http.StatusUnprocessableEntity, "unknown_reply_to", "reply_to names no message of this conversation")
	case errors.Is(err, workflow.ErrReplyToNotSent):
		return errorResponse(http.StatusUnprocessableEntity, "reply_to_not_sent", "the message replied to has not been sent yet")
	case errors.Is(err, workflow.ErrIdempotencyKeyReused):
		return errorResponse(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for another request; use a new key for a new message")
	case errors.As(err, &notQueued):
		log.ErrorContext(ctx, "message not queued", "error", err)
		if notQueued.Retry {
			return errorResponse(http.StatusServiceUnavailable, "not_queued", "the message is stored but could not be queued; retry with the same Idempotency-Key")
		}
		return errorResponse(http.StatusServiceUnavailable, "not_queued", "the message could not be queued; send it again")
	case errors.Is(err, store.ErrConflict):
		return errorResponse(http.StatusConflict, "conflict", "the conversation changed meanwhile; try again")
	}
	log.ErrorContext(ctx, "request failed", "error", err)
	return errorResponse(http.StatusInternalServerError, "internal", "something went wrong on our side; try again")
}

// invalidContactReason is the reason of the inbox.InvalidContactError in err.
func invalidContactReason(err error) string {
	var e *inbox.InvalidContactError
	errors.As(err, &e)
	return e.Reason
}

// denialReason is the reason of the access.Denial in err.
func denialReason(err error) string {
	var d *access.Denial
	errors.As(err, &d)
	return d.Reason
}

// windowClosed is the 422 of a free-form message outside the customer service window.
func windowClosed(expired time.Time) response {
	msg, at := "the customer has not written on this line yet: only an approved template can be sent", any(nil)
	if !expired.IsZero() {
		msg = "the 24-hour customer service window closed at " + ts(expired) +
			": only an approved template can be sent until the customer writes again"
		at = ts(expired)
	}
	return errorDetails(http.StatusUnprocessableEntity, "window_closed", msg, map[string]any{"window_expires_at": at})
}

// templateError is the 422 of a template that cannot be sent; the error object carries the
// template's status.
func templateError(t *inbox.Template, err error) response {
	fail := func(code, msg string) response {
		return errorDetails(http.StatusUnprocessableEntity, code, msg, map[string]any{"template_status": t.Status})
	}
	name := strconv.Quote(t.Name) + " (" + t.Language + ")"
	switch {
	case errors.Is(err, inbox.ErrTemplateNotApproved):
		msg := "template " + name + " is " + t.Status + ": only APPROVED templates can be sent"
		if t.Reason != "" {
			msg += " (reason: " + t.Reason + ")"
		}
		return fail("template_not_approved", msg)
	case errors.Is(err, inbox.ErrTemplateNotSynced):
		return fail("template_not_synced", "template "+name+" is "+t.Status+" but its content has not been synced yet; an admin can sync now")
	case errors.Is(err, inbox.ErrTemplateUnsupported):
		return fail("template_unsupported", "template "+name+" cannot be sent from Buzón yet: "+
			strings.TrimPrefix(err.Error(), inbox.ErrTemplateUnsupported.Error()+": "))
	}
	return fail("template_variables", strings.TrimPrefix(err.Error(), inbox.ErrTemplateVariables.Error()+": "))
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
