package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/deploy"
)

// ErrBadResponse reports a function response API Gateway could not turn into an HTTP
// response (it answers 500).
var ErrBadResponse = errors.New("local: malformed Lambda response")

// route is one route of the HTTP API as shared/deploy declares it, matched to a request.
type route struct {
	Key        string // the routeKey: "POST /webhooks/meta", "ANY /v1/{proxy+}"
	Function   string
	Auth       bool // behind the JWT authorizer
	PathParams map[string]string
}

// matchRoute finds the declared route of a request; ok is false when none matches (API
// Gateway answers 404). Like API Gateway it takes the most specific route: an exact path over
// a greedy one, and of greedy ones the longest prefix, so the console's /{proxy+} never takes
// /v1/... or the webhooks whatever the declaration's order. A route's last segment {name+} is
// greedy and needs at least one character.
func matchRoute(method, path string) (r route, ok bool) {
	best := -1
	for _, f := range deploy.Buzon.Functions {
		for _, dr := range f.Routes {
			if dr.Method != "ANY" && dr.Method != method {
				continue
			}
			rt := route{Key: dr.Key(), Function: f.Name, Auth: dr.Auth}
			prefix, last, _ := strings.Cut(dr.Path, "{")
			switch {
			case last == "" && path == dr.Path:
				return rt, true
			case strings.HasSuffix(last, "+}") && strings.HasPrefix(path, prefix) && len(path) > len(prefix) && len(prefix) > best:
				rt.PathParams = map[string]string{strings.TrimSuffix(last, "+}"): strings.TrimPrefix(path, prefix)}
				r, ok, best = rt, true, len(prefix)
			}
		}
	}
	return r, ok
}

// newAPIRequestID returns an id of the form API Gateway gives requests ("JZx1WhQ2oAMEJ6Q=").
func newAPIRequestID() string {
	var b [10]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// httpEvent builds the event API Gateway's HTTP API (payload format 2.0) sends a function for
// request r with body, matched to rt; auth is the JWT authorizer's result, nil on routes
// without one.
func httpEvent(r *http.Request, body []byte, rt route, auth *authorization, requestID string, now time.Time) lambdaevents.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	domain := r.Host
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = host
	}

	// Header names are lower-cased and repeated headers joined with commas; cookies move to
	// their own field.
	headers := map[string]string{}
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	xff := sourceIP
	if prior := headers["x-forwarded-for"]; prior != "" {
		xff = prior + ", " + sourceIP
	}
	headers["x-forwarded-for"] = xff
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	} else {
		headers["x-forwarded-port"] = "80"
	}
	traceID := newTraceID(now)
	headers["x-amzn-trace-id"] = traceID[:strings.IndexByte(traceID, ';')]

	var cookies []string
	for _, line := range r.Header.Values("Cookie") {
		for _, c := range strings.Split(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				cookies = append(cookies, c)
			}
		}
	}

	var query map[string]string
	if values, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, v := range values {
			query[k] = strings.Join(v, ",")
		}
	}

	ev := lambdaevents.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        rt.PathParams,
		RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key,
			AccountID:    accountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   domain,
			DomainPrefix: strings.SplitN(domain, ".", 2)[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if auth != nil {
		ev.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: auth.Claims, Scopes: auth.Scopes},
		}
	}
	switch {
	case len(body) == 0:
	case utf8.Valid(body):
		ev.Body = string(body)
	default:
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}

// httpResponse is what API Gateway sends the client for a function's response payload.
type httpResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// toHTTPResponse interprets a function's response as API Gateway does for payload format 2.0:
// a JSON object with a statusCode is a structured response (headers, cookies, body, maybe
// base64); any other JSON is the body of a 200 application/json response.
func toHTTPResponse(payload []byte) (httpResponse, error) {
	payload = bytes.TrimSpace(payload)
	if !json.Valid(payload) {
		return httpResponse{}, fmt.Errorf("%w: not JSON", ErrBadResponse)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		return httpResponse{Status: http.StatusOK, Header: h, Body: payload}, nil
	}
	var resp lambdaevents.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return httpResponse{}, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return httpResponse{}, fmt.Errorf("%w: statusCode %d", ErrBadResponse, resp.StatusCode)
	}
	out := httpResponse{Status: resp.StatusCode, Header: http.Header{}, Body: []byte(resp.Body)}
	// Format 2.0 has no multiValueHeaders: API Gateway ignores them, and so does the runner.
	names := make([]string, 0, len(resp.Headers))
	for k := range resp.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out.Header.Set(k, resp.Headers[k])
	}
	for _, c := range resp.Cookies {
		out.Header.Add("Set-Cookie", c)
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return httpResponse{}, fmt.Errorf("%w: body is not base64: %v", ErrBadResponse, err)
		}
		out.Body = b
	}
	return out, nil
}
