package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/realtime"
	"github.com/buzon/buzon/shared/store"
)

type poster interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, opts ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
}

type routes struct {
	st   *store.Store
	post poster
	now  func() time.Time
}

// request is a client message.
type request struct {
	Action         string `json:"action"` // ping, subscribe, unsubscribe, typing, presence
	ConversationID string `json:"conversation_id"`
	ID             string `json:"id"` // echoed, so a client matches answers to requests
}

func (r *routes) handle(ctx context.Context, ev lambdaevents.APIGatewayWebsocketProxyRequest) (lambdaevents.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	auth, _ := rc.Authorizer.(map[string]any)
	org, _ := auth["org"].(string)
	user, _ := auth["user"].(string)
	log := slog.With("connection_id", rc.ConnectionID, "route", rc.RouteKey)
	if org == "" || user == "" {
		log.ErrorContext(ctx, "no authorizer context: is the $connect authorizer configured?")
		return status(http.StatusForbidden), nil
	}
	switch rc.RouteKey {
	case "$connect":
		u, err := r.st.User(ctx, org, user)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Role == inbox.RoleNoInbox || access.Enabled(u) != nil)) {
			log.InfoContext(ctx, "connection refused: no inbox user, or disabled or deleted")
			return status(http.StatusForbidden), nil
		}
		if err != nil {
			return status(http.StatusInternalServerError), err
		}
		if err := r.st.PutConnection(ctx, store.NewConnection(rc.ConnectionID, u, r.now())); err != nil {
			return status(http.StatusInternalServerError), err
		}
		return status(http.StatusOK), nil
	case "$disconnect":
		if err := r.st.DeleteConnection(ctx, org, user, rc.ConnectionID); err != nil {
			return status(http.StatusInternalServerError), err
		}
		return status(http.StatusOK), nil
	}
	var req request
	if err := json.Unmarshal([]byte(ev.Body), &req); err != nil {
		return answer(realtime.Event{Type: realtime.Error, Error: `send JSON: {"action": "ping" | "subscribe" | "unsubscribe" | "typing" | "presence", "conversation_id": "..."}`}), nil
	}
	evs, err := r.message(ctx, org, user, rc.ConnectionID, req)
	if err != nil {
		log.ErrorContext(ctx, "message", "action", req.Action, "error", err)
		return answer(realtime.Event{ID: req.ID, Type: realtime.Error, Error: "internal error; retry"}), nil
	}
	return answer(evs...), nil
}

// message answers one client message.
func (r *routes) message(ctx context.Context, org, userID, connID string, req request) ([]realtime.Event, error) {
	bad := func(msg string) ([]realtime.Event, error) {
		return []realtime.Event{{ID: req.ID, Type: realtime.Error, ConversationID: req.ConversationID, Error: msg}}, nil
	}
	switch req.Action {
	case "ping":
		return []realtime.Event{{ID: req.ID, Type: realtime.Pong}}, nil
	case "unsubscribe":
		if err := r.st.Watch(ctx, org, userID, connID, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return []realtime.Event{{ID: req.ID, Type: realtime.Subscribed}}, nil
	case "presence":
		return r.presence(ctx, org, userID, req)
	case "subscribe", "typing":
	default:
		return bad("unknown action " + req.Action)
	}
	if req.ConversationID == "" {
		return bad("conversation_id is required")
	}
	u, conv, line, err := r.visible(ctx, org, userID, req.ConversationID)
	if err != nil {
		return nil, err
	}
	if conv == nil {
		return bad("no such conversation")
	}
	if req.Action == "subscribe" {
		if err := r.st.Watch(ctx, org, userID, connID, conv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return []realtime.Event{{ID: req.ID, Type: realtime.Subscribed, ConversationID: conv.ID}}, nil
	}
	return nil, r.typing(ctx, u, conv, line, connID)
}

// visible reads the user, the conversation and its line; conv is nil when the user may not
// see it (or it does not exist): the same answer, as the API's 404.
func (r *routes) visible(ctx context.Context, org, userID, convID string) (*inbox.User, *inbox.Conversation, *inbox.Line, error) {
	u, err := r.st.User(ctx, org, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	conv, err := r.st.Conversation(ctx, org, convID)
	if errors.Is(err, store.ErrNotFound) {
		return u, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	line, err := r.st.Line(ctx, org, conv.LineID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, err
	}
	if !access.Visible(u, conv, line) {
		return u, nil, nil, nil
	}
	return u, conv, line, nil
}

// typing tells the other agents who watch conv, and may see it, that u is writing.
func (r *routes) typing(ctx context.Context, u *inbox.User, conv *inbox.Conversation, line *inbox.Line, self string) error {
	refs, err := r.st.Connections(ctx, store.Audience{OrgID: conv.OrgID, Department: conv.DepartmentID, Users: []string{conv.AssigneeID}}, r.now())
	if err != nil {
		return err
	}
	var ids []string
	for _, ref := range refs {
		if ref.UserID != u.ID && !slices.Contains(ids, ref.UserID) {
			ids = append(ids, ref.UserID)
		}
	}
	conns, err := r.st.UserConnections(ctx, conv.OrgID, ids, r.now())
	if err != nil {
		return err
	}
	users, err := r.st.Users(ctx, conv.OrgID, ids)
	if err != nil {
		return err
	}
	frame, _ := json.Marshal([]realtime.Event{{ID: inbox.NewID("t_"), Type: realtime.Typing, ConversationID: conv.ID,
		Typing: &realtime.TypingBody{UserID: u.ID, UserName: u.Name}}})
	var wg sync.WaitGroup
	for _, c := range conns {
		if c.ID == self || c.Watching != conv.ID || !access.Visible(users[c.UserID], conv, line) {
			continue
		}
		wg.Go(func() {
			if _, err := r.post.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(c.ID), Data: frame}); err != nil {
				slog.InfoContext(ctx, "typing not delivered", "connection_id", c.ID, "error", err)
			}
		})
	}
	wg.Wait()
	return nil
}

// presence lists who is connected in the user's departments, and the connected admins.
func (r *routes) presence(ctx context.Context, org, userID string, req request) ([]realtime.Event, error) {
	u, err := r.st.User(ctx, org, userID)
	if err != nil {
		return nil, err
	}
	var ids []string
	depts := u.Departments
	if len(depts) == 0 {
		depts = []string{""}
	}
	for _, d := range depts {
		a := store.Audience{OrgID: org, Department: d}
		refs, err := r.st.Connections(ctx, a, r.now())
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			if !slices.Contains(ids, ref.UserID) {
				ids = append(ids, ref.UserID)
			}
		}
	}
	users, err := r.st.Users(ctx, org, ids)
	if err != nil {
		return nil, err
	}
	body := &realtime.PresenceBody{Users: []realtime.PresentUser{}}
	slices.Sort(ids)
	for _, id := range ids {
		if p := users[id]; p != nil {
			body.Users = append(body.Users, realtime.PresentUser{UserID: p.ID, UserName: p.Name})
		}
	}
	return []realtime.Event{{ID: req.ID, Type: realtime.Presence, Presence: body}}, nil
}

func status(code int) lambdaevents.APIGatewayProxyResponse {
	return lambdaevents.APIGatewayProxyResponse{StatusCode: code}
}

// answer is the route's response: API Gateway sends its body to the client (the route has a
// route response), a JSON array of events like every server frame.
func answer(evs ...realtime.Event) lambdaevents.APIGatewayProxyResponse {
	if len(evs) == 0 {
		return status(http.StatusOK)
	}
	b, _ := json.Marshal(evs)
	return lambdaevents.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: string(b)}
}
