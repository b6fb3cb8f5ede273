package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mgmttypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// wsFunctions records the route events the gateway sends and answers them as the test says.
type wsFunctions struct {
	mu     sync.Mutex
	events map[string][]lambdaevents.APIGatewayWebsocketProxyRequest
	auths  []lambdaevents.APIGatewayCustomAuthorizerRequestTypeRequest
}

func (f *wsFunctions) routes(route string) []lambdaevents.APIGatewayWebsocketProxyRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lambdaevents.APIGatewayWebsocketProxyRequest(nil), f.events[route]...)
}

// startWSGateway serves a WebSocket gateway whose authorizer allows the token "good" (as
// principal "u1", context org "o1"), answers "Unauthorized" to "bad" and denies any other;
// $connect refuses a connection whose query has reject=1; $default echoes "pong:" + body.
func startWSGateway(t *testing.T) (*wsGateway, *httptest.Server, *wsFunctions) {
	t.Helper()
	rec := &wsFunctions{events: map[string][]lambdaevents.APIGatewayWebsocketProxyRequest{}}
	authorizer := func(_ context.Context, payload []byte) ([]byte, error) {
		var ev lambdaevents.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		rec.mu.Lock()
		rec.auths = append(rec.auths, ev)
		rec.mu.Unlock()
		effect := "Deny"
		switch ev.QueryStringParameters["token"] {
		case "bad":
			return nil, &FunctionError{Type: "errorString", Message: "Unauthorized"}
		case "good":
			effect = "Allow"
		}
		return json.Marshal(lambdaevents.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "u1",
			PolicyDocument: lambdaevents.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []lambdaevents.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{ev.MethodArn}},
			}},
			Context: map[string]any{"org": "o1"},
		})
	}
	route := func(_ context.Context, payload []byte) ([]byte, error) {
		var ev lambdaevents.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		rec.mu.Lock()
		rec.events[ev.RequestContext.RouteKey] = append(rec.events[ev.RequestContext.RouteKey], ev)
		rec.mu.Unlock()
		switch {
		case ev.RequestContext.RouteKey == "$connect" && ev.QueryStringParameters["reject"] == "1":
			return []byte(`{"statusCode": 403}`), nil
		case ev.RequestContext.RouteKey == "$default":
			return json.Marshal(map[string]any{"statusCode": 200, "body": "pong:" + ev.Body})
		}
		return []byte(`{"statusCode": 200}`), nil
	}
	g := newWSGateway(map[string]invokeFunc{"auth": authorizer, "rt": route},
		wsRoutes{Authorizer: "auth", Routes: map[string]string{"$connect": "rt", "$disconnect": "rt", "$default": "rt"}},
		slog.New(slog.NewTextHandler(&testLog{t: t}, nil)))
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		g.CloseAll()
		srv.Close()
		g.Wait()
	})
	return g, srv, rec
}

func managementClient(endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

func dial(ctx context.Context, srv *httptest.Server, query string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?"+query, nil)
}

func TestWebSocketConnectIsAuthorized(t *testing.T) {
	t.Parallel()
	_, srv, rec := startWSGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"no token: 401 without calling the authorizer", "", http.StatusUnauthorized},
		{"authorizer says Unauthorized: 401", "token=bad", http.StatusUnauthorized},
		{"authorizer denies: 403", "token=other", http.StatusForbidden},
		{"$connect answers 403", "token=good&reject=1", http.StatusForbidden},
	} {
		_, resp, err := dial(ctx, srv, tc.query)
		if err == nil || resp == nil || resp.StatusCode != tc.want {
			got := 0
			if resp != nil {
				got = resp.StatusCode
			}
			t.Errorf("%s: status %d (err %v), want %d", tc.name, got, err, tc.want)
		}
	}
	rec.mu.Lock()
	auths := len(rec.auths)
	rec.mu.Unlock()
	if auths != 3 {
		t.Errorf("authorizer called %d times, want 3 (not without a token)", auths)
	}
	if n := len(rec.routes("$connect")); n != 1 {
		t.Errorf("$connect ran %d times, want 1 (only after an Allow)", n)
	}
}

func TestWebSocketRoutesAndConnections(t *testing.T) {
	t.Parallel()
	_, srv, rec := startWSGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := dial(ctx, srv, "token=good")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()

	connects := rec.routes("$connect")
	if len(connects) != 1 {
		t.Fatalf("$connect events: %d", len(connects))
	}
	c := connects[0]
	id := c.RequestContext.ConnectionID
	if diff := cmp.Diff(map[string]any{"principalId": "u1", "org": "o1"}, c.RequestContext.Authorizer); diff != "" {
		t.Errorf("$connect authorizer context (-want +got):\n%s", diff)
	}
	if c.QueryStringParameters["token"] != "good" || c.RequestContext.EventType != "CONNECT" || id == "" {
		t.Errorf("$connect event: %+v", c)
	}

	// A client message goes to $default; its response comes back on the socket.
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := conn.Read(ctx); err != nil || string(got) != `pong:{"action":"ping"}` {
		t.Errorf("$default answer = %q, %v", got, err)
	}
	d := rec.routes("$default")[0]
	if d.RequestContext.ConnectionID != id || d.RequestContext.EventType != "MESSAGE" || d.RequestContext.Authorizer.(map[string]any)["org"] != "o1" {
		t.Errorf("$default event: %+v", d.RequestContext)
	}

	// The management API reaches the connection through the SDK.
	mgmt := managementClient(srv.URL)
	if _, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(`{"type":"x"}`)}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if _, got, err := conn.Read(ctx); err != nil || string(got) != `{"type":"x"}` {
		t.Errorf("posted message = %q, %v", got, err)
	}
	if got, err := mgmt.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil || got.ConnectedAt == nil {
		t.Errorf("GetConnection = %+v, %v", got, err)
	}
	big := make([]byte, wsMaxMessage+1)
	var tooLarge *mgmttypes.PayloadTooLargeException
	if _, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: big}); !errors.As(err, &tooLarge) {
		t.Errorf("PostToConnection over 128 KB: %v, want PayloadTooLargeException", err)
	}

	// DeleteConnection closes it: the client sees the close, $disconnect runs, and the id is gone.
	if _, err := mgmt.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("read after delete: %v, want a normal closure", err)
	}
	waitFor(t, "$disconnect", func() bool { return len(rec.routes("$disconnect")) == 1 })
	if got := rec.routes("$disconnect")[0].RequestContext; got.ConnectionID != id || got.EventType != "DISCONNECT" || got.DisconnectStatusCode != 1000 {
		t.Errorf("$disconnect event: %+v", got)
	}
	var gone *mgmttypes.GoneException
	if _, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")}); !errors.As(err, &gone) {
		t.Errorf("PostToConnection after delete: %v, want GoneException (410)", err)
	}
}

func TestWebSocketIdleAndClientClose(t *testing.T) {
	t.Parallel()
	g, srv, rec := startWSGateway(t)
	g.idle = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	idle, _, err := dial(ctx, srv, "token=good")
	if err != nil {
		t.Fatal(err)
	}
	defer idle.CloseNow()
	if _, _, err := idle.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("idle connection: %v, want 1001 going away", err)
	}
	waitFor(t, "$disconnect of the idle connection", func() bool { return len(rec.routes("$disconnect")) == 1 })

	g.idle = time.Hour
	c, _, err := dial(ctx, srv, "token=good")
	if err != nil {
		t.Fatal(err)
	}
	c.Close(websocket.StatusNormalClosure, "bye")
	waitFor(t, "$disconnect of the closed connection", func() bool { return len(rec.routes("$disconnect")) == 2 })
	var gone *mgmttypes.GoneException
	id := rec.routes("$connect")[1].RequestContext.ConnectionID
	if _, err := managementClient(srv.URL).PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")}); !errors.As(err, &gone) {
		t.Errorf("PostToConnection after the client closed: %v, want GoneException", err)
	}
}

// waitFor polls cond until it holds or a deadline sized for a loaded machine passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
