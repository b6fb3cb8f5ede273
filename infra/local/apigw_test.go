package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func TestMatchRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		want               route
		ok                 bool
	}{
		{name: "meta verify", method: "GET", path: "/webhooks/meta", want: route{Key: "GET /webhooks/meta", Function: "webhook"}, ok: true},
		{name: "meta delivery", method: "POST", path: "/webhooks/meta", want: route{Key: "POST /webhooks/meta", Function: "webhook"}, ok: true},
		{name: "twilio", method: "POST", path: "/webhooks/twilio", want: route{Key: "POST /webhooks/twilio", Function: "webhook"}, ok: true},
		// The console's GET /{proxy+} takes what no more specific route does (it answers 404).
		{name: "twilio GET goes to the console", method: "GET", path: "/webhooks/twilio", ok: true,
			want: route{Key: "GET /{proxy+}", Function: "console", PathParams: map[string]string{"proxy": "webhooks/twilio"}}},
		{name: "meta PUT has no route", method: "PUT", path: "/webhooks/meta"},
		{name: "api", method: "PATCH", path: "/v1/conversations/c1", ok: true,
			want: route{Key: "ANY /v1/{proxy+}", Function: "api", Auth: true, PathParams: map[string]string{"proxy": "conversations/c1"}}},
		{name: "api GET is the API's, not the console's", method: "GET", path: "/v1/me", ok: true,
			want: route{Key: "ANY /v1/{proxy+}", Function: "api", Auth: true, PathParams: map[string]string{"proxy": "me"}}},
		{name: "proxy+ needs a segment", method: "POST", path: "/v1/"},
		{name: "unknown method", method: "POST", path: "/v2/x"},
		{name: "console root", method: "GET", path: "/", ok: true, want: route{Key: "GET /", Function: "console"}},
		{name: "console file", method: "GET", path: "/js/app.js", ok: true,
			want: route{Key: "GET /{proxy+}", Function: "console", PathParams: map[string]string{"proxy": "js/app.js"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := matchRoute(tt.method, tt.path)
			if ok != tt.ok {
				t.Fatalf("matchRoute(%s %s) ok = %v, want %v", tt.method, tt.path, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("matchRoute(%s %s) (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

func TestHTTPEvent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 12, 19, 3, 58, 390e6, time.UTC)
	auth := &authorization{Claims: map[string]string{"sub": "u1", "email": "ana@acme.test", "custom:org_id": "acme"}}
	tests := []struct {
		name string
		req  func() *http.Request
		body []byte
		auth *authorization
		want func(ev *lambdaevents.APIGatewayV2HTTPRequest)
	}{
		{
			name: "api GET with query, cookies and claims",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "http://127.0.0.1:8080/v1/conversations?state=open&tag=a&tag=b", nil)
				r.Header.Set("Authorization", "Bearer x")
				r.Header.Add("X-Multi", "1")
				r.Header.Add("X-Multi", "2")
				r.Header.Set("Cookie", "a=1; b=2")
				r.Header.Set("User-Agent", "test/1")
				return r
			},
			auth: auth,
			want: func(ev *lambdaevents.APIGatewayV2HTTPRequest) {
				ev.RouteKey = "ANY /v1/{proxy+}"
				ev.RawPath = "/v1/conversations"
				ev.RawQueryString = "state=open&tag=a&tag=b"
				ev.Cookies = []string{"a=1", "b=2"}
				ev.Headers["authorization"] = "Bearer x"
				ev.Headers["x-multi"] = "1,2"
				ev.Headers["user-agent"] = "test/1"
				ev.QueryStringParameters = map[string]string{"state": "open", "tag": "a,b"}
				ev.PathParameters = map[string]string{"proxy": "conversations"}
				ev.RequestContext.RouteKey = ev.RouteKey
				ev.RequestContext.HTTP.Method = "GET"
				ev.RequestContext.HTTP.Path = "/v1/conversations"
				ev.RequestContext.HTTP.UserAgent = "test/1"
				ev.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: auth.Claims},
				}
			},
		},
		{
			name: "webhook POST with a UTF-8 body",
			req: func() *http.Request {
				return httptest.NewRequest("POST", "http://127.0.0.1:8080/webhooks/meta", strings.NewReader(`{"a":"ñ"}`))
			},
			body: []byte(`{"a":"ñ"}`),
			want: func(ev *lambdaevents.APIGatewayV2HTTPRequest) {
				ev.RouteKey = "POST /webhooks/meta"
				ev.RawPath = "/webhooks/meta"
				ev.Headers["content-length"] = "10"
				ev.Body = `{"a":"ñ"}`
				ev.RequestContext.RouteKey = ev.RouteKey
				ev.RequestContext.HTTP.Method = "POST"
				ev.RequestContext.HTTP.Path = "/webhooks/meta"
			},
		},
		{
			name: "non-UTF-8 body goes base64",
			req: func() *http.Request {
				return httptest.NewRequest("POST", "http://127.0.0.1:8080/webhooks/twilio", strings.NewReader("\xff\xfe"))
			},
			body: []byte("\xff\xfe"),
			want: func(ev *lambdaevents.APIGatewayV2HTTPRequest) {
				ev.RouteKey = "POST /webhooks/twilio"
				ev.RawPath = "/webhooks/twilio"
				ev.Headers["content-length"] = "2"
				ev.Body = "//4="
				ev.IsBase64Encoded = true
				ev.RequestContext.RouteKey = ev.RouteKey
				ev.RequestContext.HTTP.Method = "POST"
				ev.RequestContext.HTTP.Path = "/webhooks/twilio"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.req()
			r.RemoteAddr = "10.0.0.7:5555"
			rt, ok := matchRoute(r.Method, r.URL.Path)
			if !ok {
				t.Fatalf("no route for %s %s", r.Method, r.URL.Path)
			}
			got := httpEvent(r, tt.body, rt, tt.auth, "req-1", now)
			if !strings.HasPrefix(got.Headers["x-amzn-trace-id"], "Root=1-") {
				t.Errorf("x-amzn-trace-id = %q, want a trace id", got.Headers["x-amzn-trace-id"])
			}
			delete(got.Headers, "x-amzn-trace-id")

			want := lambdaevents.APIGatewayV2HTTPRequest{
				Version: "2.0",
				Headers: map[string]string{
					"host": "127.0.0.1:8080", "x-forwarded-for": "10.0.0.7",
					"x-forwarded-proto": "http", "x-forwarded-port": "8080",
				},
				RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{
					AccountID: accountID, Stage: "$default", RequestID: "req-1", APIID: "local",
					DomainName: "127.0.0.1", DomainPrefix: "127",
					Time: "12/Mar/2026:19:03:58 +0000", TimeEpoch: 1773342238390,
					HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{Protocol: "HTTP/1.1", SourceIP: "10.0.0.7"},
				},
			}
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("httpEvent (-want +got):\n%s", diff)
			}
			// The event is what a function decodes: it must round-trip.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back lambdaevents.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToHTTPResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    httpResponse
		wantErr error
	}{
		{
			name:    "structured",
			payload: `{"statusCode":201,"headers":{"content-type":"text/plain","x-a":"1"},"body":"hi","cookies":["s=1; HttpOnly"]}`,
			want: httpResponse{Status: 201, Body: []byte("hi"), Header: http.Header{
				"Content-Type": {"text/plain"}, "X-A": {"1"}, "Set-Cookie": {"s=1; HttpOnly"},
			}},
		},
		{
			name:    "base64 body",
			payload: `{"statusCode":200,"body":"//4=","isBase64Encoded":true}`,
			want:    httpResponse{Status: 200, Body: []byte{0xff, 0xfe}, Header: http.Header{}},
		},
		{
			name:    "multiValueHeaders are ignored, as in format 2.0",
			payload: `{"statusCode":204,"multiValueHeaders":{"x-b":["1","2"]}}`,
			want:    httpResponse{Status: 204, Body: []byte{}, Header: http.Header{}},
		},
		{
			name:    "JSON without statusCode is the body",
			payload: `{"hello":"world"}`,
			want:    httpResponse{Status: 200, Body: []byte(`{"hello":"world"}`), Header: http.Header{"Content-Type": {"application/json"}}},
		},
		{
			name:    "a JSON string is the body too",
			payload: `"hi"`,
			want:    httpResponse{Status: 200, Body: []byte(`"hi"`), Header: http.Header{"Content-Type": {"application/json"}}},
		},
		{name: "not JSON", payload: `hi`, wantErr: ErrBadResponse},
		{name: "bad status", payload: `{"statusCode":42}`, wantErr: ErrBadResponse},
		{name: "bad base64", payload: `{"statusCode":200,"body":"!!","isBase64Encoded":true}`, wantErr: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := toHTTPResponse([]byte(tt.payload))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("toHTTPResponse(%s) error = %v, want %v", tt.payload, err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("toHTTPResponse(%s) (-want +got):\n%s", tt.payload, diff)
			}
		})
	}
}

func TestNewAPIRequestID(t *testing.T) {
	t.Parallel()
	id := newAPIRequestID()
	if b, err := base64.StdEncoding.DecodeString(id); err != nil || len(b) != 10 {
		t.Errorf("newAPIRequestID() = %q, want 10 random bytes in base64", id)
	}
}
