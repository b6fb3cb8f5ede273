package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/buzon/buzon/shared/deploy"
)

// Limits of an API Gateway WebSocket API (docs.aws.amazon.com/apigateway/latest/developerguide/
// apigateway-execution-service-websocket-limits-table.html; /work/shared/AWS.md).
const (
	wsMaxDuration = 2 * time.Hour
	wsIdleTimeout = 10 * time.Minute
	wsMaxMessage  = 128 << 10 // message payload; frames of 32 KB are the client library's business
	wsStage       = "local"
	wsAPIID       = "localws"
)

// wsRoutes names the function behind each route of the WebSocket API and its authorizer, as
// the stack declares them.
type wsRoutes struct {
	Authorizer string            // the $connect Lambda authorizer ("" for none)
	Routes     map[string]string // "$connect", "$disconnect", "$default" → function
}

// wsGateway plays an API Gateway WebSocket API: a client connects with the token in the
// `token` query parameter; the gateway runs the $connect authorizer (REQUEST type, identity
// source route.request.querystring.token), then the $connect route, and only then completes
// the handshake. Every client message goes to $default, whose response body (the route has a
// route response) is sent back; a close runs $disconnect. It also serves the @connections
// management API (POST, GET, DELETE /@connections/{id}) that functions reach through the
// SDK's apigatewaymanagementapi client with its endpoint set to this server.
type wsGateway struct {
	functions map[string]invokeFunc
	routes    wsRoutes
	log       *slog.Logger
	now       func() time.Time

	idle, maxAge time.Duration // wsIdleTimeout and wsMaxDuration; tests shorten them

	mu    sync.Mutex
	conns map[string]*wsConn
	wg    sync.WaitGroup // $disconnect invocations in flight
}

// webSocketRoutes are the WebSocket routes the deployment declares: a function's route keys,
// and "$connect/authorizer" for the Lambda authorizer of $connect.
func webSocketRoutes(d deploy.Deployment) wsRoutes {
	r := wsRoutes{Routes: map[string]string{}}
	for _, f := range d.Functions {
		for _, key := range f.WebSocket {
			if key == "$connect/authorizer" {
				r.Authorizer = f.Name
				continue
			}
			r.Routes[key] = f.Name
		}
	}
	return r
}

func newWSGateway(functions map[string]invokeFunc, routes wsRoutes, log *slog.Logger) *wsGateway {
	return &wsGateway{functions: functions, routes: routes, log: log, now: time.Now,
		idle: wsIdleTimeout, maxAge: wsMaxDuration, conns: map[string]*wsConn{}}
}

// wsConn is one client connection.
type wsConn struct {
	id          string
	conn        *websocket.Conn
	connectedAt time.Time
	sourceIP    string
	userAgent   string
	domain      string
	authorizer  map[string]any // requestContext.authorizer of every route event

	mu         sync.Mutex
	lastActive time.Time
	closeOnce  sync.Once
	closed     chan struct{}
}

func (c *wsConn) touch(t time.Time) {
	c.mu.Lock()
	c.lastActive = t
	c.mu.Unlock()
}

func (c *wsConn) active() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastActive
}

func (g *wsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, "/@connections/"); ok {
		g.manage(w, r, id)
		return
	}
	if r.URL.Path != "/" {
		writeMessage(w, http.StatusForbidden, "Forbidden")
		return
	}
	g.connect(w, r)
}

// Wait waits for the $disconnect invocations of closed connections.
func (g *wsGateway) Wait() { g.wg.Wait() }

// CloseAll closes every connection, as a redeploy does (1001 going away).
func (g *wsGateway) CloseAll() {
	g.mu.Lock()
	conns := make([]*wsConn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		g.close(c, websocket.StatusGoingAway, "Going away")
	}
}

func (g *wsGateway) connect(w http.ResponseWriter, r *http.Request) {
	requestID := newAPIRequestID()
	connID := newAPIRequestID()
	now := g.now()
	c := &wsConn{id: connID, connectedAt: now, lastActive: now, closed: make(chan struct{}),
		sourceIP: hostOnly(r.RemoteAddr), userAgent: r.UserAgent(), domain: hostOnly(r.Host)}

	if name := g.routes.Authorizer; name != "" {
		// The identity source is required: without it API Gateway answers 401 and does not call
		// the authorizer.
		if r.URL.Query().Get("token") == "" {
			writeMessage(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		ctx, err := g.authorize(r.Context(), name, wsAuthorizerEvent(r, c, requestID, now))
		if err != nil {
			var denied *wsDenied
			if errors.As(err, &denied) {
				writeMessage(w, denied.status, http.StatusText(denied.status))
				return
			}
			g.log.Warn("websocket authorizer failed", "function", name, "error", err)
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		c.authorizer = ctx
	}

	status, _, err := g.route(r.Context(), c, "$connect", wsEvent(c, "$connect", "CONNECT", requestID, g.now(), r))
	if err != nil {
		g.log.Warn("$connect failed", "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if status < 200 || status > 299 {
		writeMessage(w, status, http.StatusText(status))
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // API Gateway checks no Origin
	if err != nil {
		g.log.Info("websocket handshake", "error", err)
		g.disconnect(c, 1006, "Handshake failed")
		return
	}
	conn.SetReadLimit(wsMaxMessage)
	c.conn = conn
	g.mu.Lock()
	g.conns[c.id] = c
	g.mu.Unlock()
	g.log.Info("websocket connected", "connection_id", c.id)
	go g.watch(c)
	g.read(c)
}

// read delivers the client's messages to $default, one at a time, until the connection ends.
func (g *wsGateway) read(c *wsConn) {
	for {
		typ, body, err := c.conn.Read(context.Background())
		if err != nil {
			status := websocket.CloseStatus(err)
			switch {
			case status == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig):
				g.close(c, websocket.StatusMessageTooBig, "Message too big")
			case status == -1:
				g.close(c, websocket.StatusAbnormalClosure, "Connection lost")
			default:
				g.close(c, status, "Client closed the connection")
			}
			return
		}
		now := g.now()
		c.touch(now)
		ev := wsEvent(c, "$default", "MESSAGE", newAPIRequestID(), now, nil)
		if typ == websocket.MessageBinary {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev.Body = string(body)
		}
		_, resp, err := g.route(context.Background(), c, "$default", ev)
		if err != nil {
			g.log.Warn("$default failed", "connection_id", c.id, "error", err)
			// API Gateway tells the client the integration failed and keeps the connection.
			resp = []byte(`{"message": "Internal server error", "connectionId":"` + c.id + `"}`)
		}
		if len(resp) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.conn.Write(ctx, websocket.MessageText, resp)
			cancel()
		}
	}
}

// watch closes the connection when it has been idle too long or reaches its maximum age.
func (g *wsGateway) watch(c *wsConn) {
	for {
		idleAt := c.active().Add(g.idle)
		deadline := min(idleAt.UnixNano(), c.connectedAt.Add(g.maxAge).UnixNano())
		t := time.NewTimer(time.Until(time.Unix(0, deadline)))
		select {
		case <-c.closed:
			t.Stop()
			return
		case <-t.C:
		}
		now := g.now()
		switch {
		case !now.Before(c.connectedAt.Add(g.maxAge)):
			g.close(c, websocket.StatusGoingAway, "Connection duration exceeded")
			return
		case !now.Before(c.active().Add(g.idle)):
			g.close(c, websocket.StatusGoingAway, "Going away")
			return
		}
	}
}

// close ends c once: the client gets a close frame, and $disconnect runs.
func (g *wsGateway) close(c *wsConn, status websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		g.mu.Lock()
		delete(g.conns, c.id)
		g.mu.Unlock()
		close(c.closed)
		go c.conn.Close(status, reason)
		g.log.Info("websocket closed", "connection_id", c.id, "status", int(status), "reason", reason)
		g.disconnect(c, int(status), reason)
	})
}

// disconnect runs the $disconnect route, best effort, as API Gateway does.
func (g *wsGateway) disconnect(c *wsConn, status int, reason string) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ev := wsEvent(c, "$disconnect", "DISCONNECT", newAPIRequestID(), g.now(), nil)
		ev.RequestContext.DisconnectStatusCode = int64(status)
		ev.RequestContext.DisconnectReason = &reason
		ctx, cancel := context.WithTimeout(context.Background(), integrationTimeout)
		defer cancel()
		if _, _, err := g.route(ctx, c, "$disconnect", ev); err != nil {
			g.log.Warn("$disconnect failed", "connection_id", c.id, "error", err)
		}
	}()
}

// route invokes the function of routeKey with ev and returns the integration's status and
// body. A route without a function answers 200 with no body.
func (g *wsGateway) route(ctx context.Context, c *wsConn, routeKey string, ev lambdaevents.APIGatewayWebsocketProxyRequest) (int, []byte, error) {
	name := g.routes.Routes[routeKey]
	if name == "" {
		return http.StatusOK, nil, nil
	}
	invoke := g.functions[name]
	if invoke == nil {
		return 0, nil, fmt.Errorf("route %s: function %s is not running", routeKey, name)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, integrationTimeout)
	defer cancel()
	out, err := invoke(ctx, payload)
	if err != nil {
		return 0, nil, fmt.Errorf("route %s: %w", routeKey, err)
	}
	resp, err := toHTTPResponse(out)
	if err != nil {
		return 0, nil, fmt.Errorf("route %s: %w", routeKey, err)
	}
	return resp.Status, resp.Body, nil
}

// wsDenied is an authorizer's refusal: 401 for an "Unauthorized" error, 403 for a Deny.
type wsDenied struct{ status int }

func (d *wsDenied) Error() string { return http.StatusText(d.status) }

// authorize runs the Lambda authorizer and returns requestContext.authorizer for the routes:
// the principalId and the context of an Allow policy.
func (g *wsGateway) authorize(ctx context.Context, name string, ev wsAuthorizerRequest) (map[string]any, error) {
	invoke := g.functions[name]
	if invoke == nil {
		return nil, fmt.Errorf("authorizer %s is not running", name)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, integrationTimeout)
	defer cancel()
	out, err := invoke(ctx, payload)
	var fe *FunctionError
	if errors.As(err, &fe) && fe.Message == "Unauthorized" {
		return nil, &wsDenied{status: http.StatusUnauthorized}
	}
	if err != nil {
		return nil, err
	}
	if len(out) > 8<<10 {
		return nil, fmt.Errorf("authorizer result of %d bytes is over 8 KB", len(out))
	}
	var resp lambdaevents.APIGatewayCustomAuthorizerResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("authorizer response: %w", err)
	}
	if !policyAllows(resp.PolicyDocument, ev.MethodArn) {
		return nil, &wsDenied{status: http.StatusForbidden}
	}
	auth := map[string]any{"principalId": resp.PrincipalID}
	for k, v := range resp.Context {
		switch v.(type) {
		case string, float64, bool:
			auth[k] = v
		default:
			// API Gateway refuses a context value that is an object or array.
			return nil, fmt.Errorf("authorizer context %q is not a string, number or boolean", k)
		}
	}
	if resp.PrincipalID == "" {
		return nil, errors.New("authorizer response without principalId")
	}
	return auth, nil
}

// policyAllows reports whether p allows execute-api:Invoke on arn and denies nothing of it.
func policyAllows(p lambdaevents.APIGatewayCustomAuthorizerPolicy, arn string) bool {
	allowed := false
	for _, st := range p.Statement {
		if !anyMatch(st.Action, "execute-api:Invoke") || !anyMatch(st.Resource, arn) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

// wsAuthorizerRequest is the REQUEST authorizer event of a WebSocket API's $connect: the
// handshake's headers and query, and a WebSocket request context (routeKey, eventType,
// connectionId). lambdaevents.APIGatewayCustomAuthorizerRequestTypeRequest decodes it.
type wsAuthorizerRequest struct {
	Type                            string                                              `json:"type"`
	MethodArn                       string                                              `json:"methodArn"`
	Headers                         map[string]string                                   `json:"headers"`
	MultiValueHeaders               map[string][]string                                 `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                                   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string                                 `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string                                   `json:"stageVariables"`
	RequestContext                  lambdaevents.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

func wsAuthorizerEvent(r *http.Request, c *wsConn, requestID string, now time.Time) wsAuthorizerRequest {
	ev := wsEvent(c, "$connect", "CONNECT", requestID, now, r)
	return wsAuthorizerRequest{
		Type:                            "REQUEST",
		MethodArn:                       fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/$connect", region, accountID, wsAPIID, wsStage),
		Headers:                         ev.Headers,
		MultiValueHeaders:               ev.MultiValueHeaders,
		QueryStringParameters:           ev.QueryStringParameters,
		MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
		StageVariables:                  map[string]string{},
		RequestContext:                  ev.RequestContext,
	}
}

// wsEvent builds the event of a WebSocket route; r, the handshake, is given for $connect only
// (API Gateway sends headers and query on $connect alone).
func wsEvent(c *wsConn, routeKey, eventType, requestID string, now time.Time, r *http.Request) lambdaevents.APIGatewayWebsocketProxyRequest {
	direction := "IN"
	ev := lambdaevents.APIGatewayWebsocketProxyRequest{
		RequestContext: lambdaevents.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			EventType:         eventType,
			ExtendedRequestID: requestID,
			RequestTime:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			MessageDirection:  direction,
			Stage:             wsStage,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			RequestTimeEpoch:  now.UnixMilli(),
			Identity:          lambdaevents.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			RequestID:         requestID,
			DomainName:        c.domain,
			ConnectionID:      c.id,
			APIID:             wsAPIID,
		},
	}
	if c.authorizer != nil {
		ev.RequestContext.Authorizer = c.authorizer
	}
	if eventType == "MESSAGE" {
		ev.RequestContext.MessageID = newAPIRequestID()
	}
	if r == nil {
		return ev
	}
	ev.Headers, ev.MultiValueHeaders = map[string]string{}, map[string][]string{}
	for name, values := range r.Header {
		// API Gateway presents handshake headers in their canonical case.
		ev.Headers[name] = strings.Join(values, ",")
		ev.MultiValueHeaders[name] = values
	}
	ev.Headers["Host"], ev.MultiValueHeaders["Host"] = r.Host, []string{r.Host}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(q)
		for k, v := range q {
			ev.QueryStringParameters[k] = v[len(v)-1]
		}
	}
	return ev
}

// manage serves the @connections API. Callers sign with SigV4 (service execute-api); the
// local gateway checks that a signature is there, not its value.
func (g *wsGateway) manage(w http.ResponseWriter, r *http.Request, id string) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeMgmtError(w, http.StatusForbidden, "ForbiddenException", "Missing Authentication Token")
		return
	}
	id, _ = url.PathUnescape(id)
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, wsMaxMessage+1))
		if err != nil {
			writeMgmtError(w, http.StatusBadRequest, "BadRequestException", "cannot read the body")
			return
		}
		if len(body) > wsMaxMessage {
			writeMgmtError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Payload too large")
			return
		}
		if c == nil {
			writeMgmtError(w, http.StatusGone, "GoneException", "")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := c.conn.Write(ctx, websocket.MessageText, body); err != nil {
			g.close(c, websocket.StatusAbnormalClosure, "Connection lost")
			writeMgmtError(w, http.StatusGone, "GoneException", "")
			return
		}
		// Messages the server sends do not reset the idle timer: only the client's do.
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		if c == nil {
			writeMgmtError(w, http.StatusGone, "GoneException", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"ConnectedAt":  c.connectedAt.UTC().Format(time.RFC3339Nano),
			"LastActiveAt": c.active().UTC().Format(time.RFC3339Nano),
			"Identity":     map[string]string{"SourceIp": c.sourceIP, "UserAgent": c.userAgent},
		})
	case http.MethodDelete:
		if c == nil {
			writeMgmtError(w, http.StatusGone, "GoneException", "")
			return
		}
		g.close(c, websocket.StatusNormalClosure, "Connection deleted")
		w.WriteHeader(http.StatusNoContent)
	default:
		writeMgmtError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
	}
}

// writeMgmtError answers as the management API does: the error type in X-Amzn-Errortype and
// in the body's __type, which the SDK maps to types.GoneException and the like.
func writeMgmtError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	body := map[string]any{"__type": typ}
	if msg != "" {
		body["message"] = msg
	}
	writeJSON(w, status, body)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
