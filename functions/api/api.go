package main

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/apijson"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/templates"
	"github.com/buzon/buzon/shared/workflow"
)

type api struct {
	st       *store.Store
	now      func() time.Time
	outbound *queue.Queue // nil: messages are stored as queued but not sent (tests)
	// templates syncs the organization's templates on an admin's "sync now"; nil without
	// Meta credentials.
	templates *templates.Syncer
	// routing gives automatic assignment its turn after actions, availability and rule
	// changes; nil: none (tests).
	routing *routing.Router
	// bucket keeps attachments and uploads; nil: messages show no media URLs and uploads
	// answer 503.
	bucket *media.Bucket
	// realtimeURL is the WebSocket API's URL, for GET /v1/realtime; "" when not deployed.
	realtimeURL string
}

// flow is the workflows over the API's store, queue and automatic assignment.
func (a *api) flow() *workflow.Service { return workflow.New(a.st, a.outbound, a.routing, a.now) }

// caller is the workflow's view of who calls: the user, the request's id and its logger.
func (c *call) caller() workflow.Caller {
	return workflow.Caller{User: c.user, RequestID: c.req.RequestContext.RequestID, Log: c.log}
}

var (
	errUnauthenticated = errors.New("api: unauthenticated")
	errNoUser          = errors.New("api: no such user")
	errRealtimeOff     = errors.New("api: realtime is not configured")
)

// orgClaim is the custom Cognito attribute that names the user's organization.
const orgClaim = "custom:org_id"

func (a *api) routes() *router {
	r := &router{a: a}
	r.add("GET", "/v1/me", 200, access.Anyone, a.me)
	r.add("GET", "/v1/realtime", 200, access.Anyone, a.realtime)
	r.add("GET", "/v1/conversations", 200, access.Inbox, a.listConversations)
	r.add("POST", "/v1/conversations", 201, access.Inbox, a.startConversation)
	r.add("GET", "/v1/conversations/{id}", 200, access.Anyone, a.getConversation)
	r.add("GET", "/v1/conversations/{id}/messages", 200, access.Anyone, a.listMessages)
	r.add("POST", "/v1/conversations/{id}/messages", 202, access.Anyone, a.sendMessage)
	r.add("GET", "/v1/conversations/{id}/messages/{message_id}/media/{media_id}", 302, access.Anyone, a.mediaRedirect)
	r.add("POST", "/v1/uploads", 201, access.Inbox, a.createUpload)
	r.add("POST", "/v1/conversations/{id}/claim", 200, access.Anyone, a.claim)
	r.add("POST", "/v1/conversations/{id}/assign", 200, access.Anyone, a.assign)
	r.add("POST", "/v1/conversations/{id}/return", 200, access.Anyone, a.returnToInbox)
	r.add("POST", "/v1/conversations/{id}/transfer", 200, access.Anyone, a.transfer)
	r.add("POST", "/v1/conversations/{id}/close", 200, access.Anyone, a.close)
	r.add("POST", "/v1/conversations/{id}/reopen", 200, access.Anyone, a.reopen)
	r.add("POST", "/v1/conversations/{id}/read", 200, access.Anyone, a.markRead)
	r.add("POST", "/v1/conversations/{id}/notes", 201, access.Anyone, a.addNote)
	r.add("POST", "/v1/conversations/{id}/labels", 200, access.Anyone, a.labelConversation)
	r.add("POST", "/v1/conversations/{id}/collaborators", 200, access.Anyone, a.addCollaborator)
	r.add("DELETE", "/v1/conversations/{id}/collaborators/{user_id}", 200, access.Anyone, a.removeCollaborator)
	r.add("GET", "/v1/contacts", 200, access.Inbox, a.listContacts)
	r.add("GET", "/v1/contacts/{id}", 200, access.Inbox, a.getContact)
	r.add("PATCH", "/v1/contacts/{id}", 200, access.Inbox, a.patchContact)
	r.add("GET", "/v1/closing-reasons", 200, access.Inbox, a.getClosingReasons)
	r.add("PUT", "/v1/closing-reasons", 200, access.ManageOrganization, a.putClosingReasons)
	r.add("PUT", "/v1/departments/{id}/closing-reasons", 200, access.ManageOrganization, a.putClosingReasons)
	r.add("GET", "/v1/labels", 200, access.Anyone, a.listLabels)
	r.add("POST", "/v1/labels", 201, access.CreateLabels, a.createLabel)
	r.add("PATCH", "/v1/labels/{id}", 200, access.ManageOrganization, a.updateLabel)
	r.add("DELETE", "/v1/labels/{id}", 204, access.ManageOrganization, a.deleteLabel)
	r.add("GET", "/v1/departments", 200, access.Anyone, a.listDepartments)
	r.add("POST", "/v1/departments", 201, access.ManageOrganization, a.createDepartment)
	r.add("DELETE", "/v1/departments/{id}", 204, access.ManageOrganization, a.deleteDepartment)
	r.add("GET", "/v1/departments/{id}/rules", 200, access.ManageOrganization, a.getRules(store.ScopeDepartment))
	r.add("PUT", "/v1/departments/{id}/rules", 200, access.ManageOrganization, a.putRules(store.ScopeDepartment))
	r.add("DELETE", "/v1/departments/{id}/rules", 204, access.ManageOrganization, a.deleteRules(store.ScopeDepartment))
	r.add("GET", "/v1/audit", 200, access.ManageOrganization, a.listAudit)
	r.add("GET", "/v1/users", 200, access.ManageOrganization, a.listUsers)
	r.add("POST", "/v1/users", 201, access.ManageOrganization, a.createUser)
	r.add("GET", "/v1/colleagues", 200, access.Inbox, a.listColleagues)
	r.add("POST", "/v1/users/{id}/disable", 200, access.ManageOrganization, a.setDisabled(true))
	r.add("POST", "/v1/users/{id}/enable", 200, access.ManageOrganization, a.setDisabled(false))
	r.add("DELETE", "/v1/users/{id}", 204, access.ManageOrganization, a.deleteUser)
	r.add("GET", "/v1/users/{id}/availability", 200, access.Anyone, a.getAvailability)
	r.add("PUT", "/v1/users/{id}/availability", 200, access.Anyone, a.setAvailability)
	r.add("GET", "/v1/lines", 200, access.Inbox, a.listLines)
	r.add("POST", "/v1/lines", 201, access.ManageOrganization, a.createLine)
	r.add("GET", "/v1/lines/{id}/hours", 200, access.ManageOrganization, a.getLineHours)
	r.add("PUT", "/v1/lines/{id}/hours", 200, access.ManageOrganization, a.putLineHours)
	r.add("DELETE", "/v1/lines/{id}/hours", 200, access.ManageOrganization, a.deleteLineHours)
	r.add("GET", "/v1/lines/{id}/auto-replies", 200, access.ManageOrganization, a.getAutoReplies)
	r.add("PUT", "/v1/lines/{id}/auto-replies", 200, access.ManageOrganization, a.putAutoReplies)
	r.add("GET", "/v1/lines/{id}/auto-close", 200, access.ManageOrganization, a.getAutoClose)
	r.add("PUT", "/v1/lines/{id}/auto-close", 200, access.ManageOrganization, a.putAutoClose)
	r.add("GET", "/v1/lines/{id}/rules", 200, access.ManageOrganization, a.getRules(store.ScopeLine))
	r.add("PUT", "/v1/lines/{id}/rules", 200, access.ManageOrganization, a.putRules(store.ScopeLine))
	r.add("DELETE", "/v1/lines/{id}/rules", 204, access.ManageOrganization, a.deleteRules(store.ScopeLine))
	r.add("PATCH", "/v1/lines/{id}", 200, access.ManageOrganization, a.updateLine)
	r.add("DELETE", "/v1/lines/{id}", 200, access.ManageOrganization, a.deleteLine)
	r.add("GET", "/v1/templates", 200, access.Anyone, a.listTemplates)
	r.add("POST", "/v1/templates/sync", 200, access.ManageOrganization, a.syncTemplates)
	r.add("GET", "/v1/quick-replies", 200, access.Anyone, a.listQuickReplies)
	r.add("POST", "/v1/quick-replies", 201, access.ManageQuickReplies, a.createQuickReply)
	r.add("PUT", "/v1/quick-replies/{id}", 200, access.ManageQuickReplies, a.updateQuickReply)
	r.add("DELETE", "/v1/quick-replies/{id}", 204, access.ManageQuickReplies, a.deleteQuickReply)
	r.add("POST", "/v1/conversations/{id}/quick-replies/{qr}/render", 200, access.Anyone, a.renderQuickReply)
	return r
}

// caller is the user behind the request: API Gateway's JWT authorizer verified the token and
// passes its claims; role and departments come from the table, so an admin's change applies
// at once.
func (a *api) caller(ctx context.Context, req request) (*inbox.User, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		return nil, errUnauthenticated
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	sub, org := claims["sub"], claims[orgClaim]
	if sub == "" || org == "" {
		return nil, errUnauthenticated
	}
	u, err := a.st.User(ctx, org, sub)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoUser
	}
	return u, err
}

// realtime tells a client where the WebSocket API is (docs/asyncapi.json).
func (a *api) realtime(_ context.Context, _ *call) (any, error) {
	if a.realtimeURL == "" {
		return nil, errRealtimeOff
	}
	return map[string]string{"url": a.realtimeURL}, nil
}

type userJSON struct {
	ID          string   `json:"id"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Departments []string `json:"departments"`
	OrgID       string   `json:"organization_id"`
	Disabled    bool     `json:"disabled"`
}

func (a *api) me(_ context.Context, c *call) (any, error) {
	u := c.user
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Departments: nonNil(u.Departments), OrgID: u.OrgID}, nil
}

// The list view's and the thread's JSON live in shared/apijson: the realtime events carry the
// same.
type conversationJSON = apijson.Conversation

func ts(t time.Time) string { return apijson.TS(t) }

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string { return apijson.NonNil(s) }

// conversationJSON renders cv for me as if me had read none of its customer messages: right
// for a conversation without any; otherwise use conversationFor, which reads me's marker.
func (a *api) conversationJSON(cv *inbox.Conversation, me *inbox.User) conversationJSON {
	return a.renderConversation(cv, me, 0)
}

// renderConversation renders cv for me, who has seen the first seen customer messages of it
// (their read marker, see markers).
func (a *api) renderConversation(cv *inbox.Conversation, me *inbox.User, seen int) conversationJSON {
	return apijson.RenderConversation(cv, me.ID, seen, a.now())
}

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// pageOf is a page of the store's found items rendered for the API, with the store's cursor
// for the next one (a cursor the store refuses is the router's 400).
func pageOf[T, J any](found []T, next string, render func(T) J) page[J] {
	items := make([]J, 0, len(found))
	for _, f := range found {
		items = append(items, render(f))
	}
	return page[J]{Items: items, NextCursor: encodeCursor(next)}
}

func limitParam(q map[string]string) (int, error) {
	v := q["limit"]
	if v == "" {
		return 25, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, badRequest("limit must be a whole number from 1 to 100")
	}
	return n, nil
}

func encodeCursor(s string) string {
	if s == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) || len(b) > 200 {
		return "", badRequest("cursor is not one this API returned")
	}
	return string(b), nil
}

func (a *api) listConversations(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	for k := range q {
		switch k {
		case "view", "status", "line_id", "department_id", "assignee_id", "label_id", "unread", "limit", "cursor", "q":
		default:
			return nil, badRequest("unknown query parameter " + strconv.Quote(k))
		}
	}
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	cursor, err := decodeCursor(q["cursor"])
	if err != nil {
		return nil, err
	}
	status := inbox.ConversationStatus(strings.ToLower(q["status"]))
	switch status {
	case "", inbox.StatusOpen, inbox.StatusDone:
	default:
		return nil, badRequest("status must be open or done")
	}
	if id := q["label_id"]; id != "" && !idPattern.MatchString(id) {
		return nil, badRequest("label_id is not a label id")
	}
	unreadOnly := q["unread"] == "true"
	if strings.TrimSpace(q["q"]) != "" { // an empty search box is the view
		return a.searchConversations(ctx, c, q, limit, status, unreadOnly)
	}
	if q["view"] == "collaborating" {
		return a.listCollaborating(ctx, c, q, limit, cursor, status, unreadOnly)
	}
	if status == "" {
		status = inbox.StatusOpen
	}
	sources, otherOnly, err := a.viewSources(ctx, c.user, q["view"], q["department_id"], q["assignee_id"])
	if err != nil {
		return nil, err
	}
	items := []conversationJSON{}
	lines := map[string]*inbox.Line{}
	next := cursor
	// Rows the caller may not see (line authorization) or filters drop are skipped; a few
	// reads fill the page.
	for attempt := 0; attempt < 5 && len(items) < limit; attempt++ {
		convs, nc, err := a.st.ListConversations(ctx, store.ListQuery{
			Org: c.user.OrgID, Status: status, Sources: sources, LineID: q["line_id"], LabelID: q["label_id"],
			Limit: limit - len(items), Cursor: next,
		})
		if err != nil {
			return nil, err
		}
		var shown []*inbox.Conversation
		for _, cv := range convs {
			line, err := a.flow().Line(ctx, lines, cv)
			if err != nil {
				return nil, err
			}
			if access.Visible(c.user, cv, line) && !(otherOnly && cv.AssigneeID == c.user.ID) {
				shown = append(shown, cv)
			}
		}
		seen, err := a.markers(ctx, c.user, shown)
		if err != nil {
			return nil, err
		}
		for _, cv := range shown {
			if unreadOnly && cv.InboundCount <= seen[cv.ID] {
				continue
			}
			items = append(items, a.renderConversation(cv, c.user, seen[cv.ID]))
		}
		next = nc
		if next == "" {
			break
		}
	}
	return page[conversationJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}

// viewSources turns a view into the index partitions it reads (V1–V3, V5):
//   - default: unassigned in my departments + assigned to me
//   - mine, unassigned, others (assigned to someone else), all
//
// Which departments' queues a user reads is access.Queues's rule.
func (a *api) viewSources(ctx context.Context, u *inbox.User, view, dept, assignee string) (sources []store.Source, otherOnly bool, err error) {
	depts, err := access.Queues(u, dept, func() ([]string, error) {
		_, all, _, err := a.st.OrgItems(ctx, u.OrgID)
		ids := make([]string, 0, len(all))
		for _, d := range all {
			ids = append(ids, d.ID)
		}
		return ids, err
	})
	if err != nil {
		return nil, false, err
	}
	if assignee != "" {
		if err := access.ListAssignee(u, assignee); err != nil {
			return nil, false, err
		}
		return []store.Source{{Assignee: assignee}}, false, nil
	}
	queues := func(assigned bool) {
		for _, d := range depts {
			sources = append(sources, store.Source{Department: d, Assigned: assigned})
		}
	}
	switch view {
	case "", "default":
		queues(false)
		sources = append(sources, store.Source{Assignee: u.ID})
	case "mine":
		sources = []store.Source{{Assignee: u.ID}}
	case "unassigned":
		queues(false)
	case "others":
		queues(true)
		otherOnly = true
	case "all":
		queues(false)
		queues(true)
		sources = append(sources, store.Source{Assignee: u.ID})
	default:
		return nil, false, badRequest("view must be default, mine, unassigned, others, all or collaborating")
	}
	return sources, otherOnly, nil
}

// visible reads the conversation of the path, which the caller may see, or ErrInvisible.
func (a *api) visible(ctx context.Context, c *call) (*inbox.Conversation, *inbox.Line, error) {
	return a.flow().Visible(ctx, c.user, c.params["id"])
}

func (a *api) getConversation(ctx context.Context, c *call) (any, error) {
	cv, _, err := a.visible(ctx, c)
	if err != nil {
		return nil, err
	}
	return a.conversationFor(ctx, cv, c.user)
}

// markers reads me's read markers of convs (V4) in one BatchGetItem call per page, not one
// read per conversation; a conversation without customer messages needs none.
func (a *api) markers(ctx context.Context, me *inbox.User, convs []*inbox.Conversation) (map[string]int, error) {
	var ids []string
	for _, cv := range convs {
		if cv.InboundCount > 0 {
			ids = append(ids, cv.ID)
		}
	}
	return a.st.ReadMarkers(ctx, me.ID, ids)
}

// conversationFor renders one conversation for me, with me's unread count.
func (a *api) conversationFor(ctx context.Context, cv *inbox.Conversation, me *inbox.User) (conversationJSON, error) {
	seen, err := a.markers(ctx, me, []*inbox.Conversation{cv})
	if err != nil {
		return conversationJSON{}, err
	}
	return a.renderConversation(cv, me, seen[cv.ID]), nil
}
