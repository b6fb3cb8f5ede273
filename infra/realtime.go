package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/realtime"
)

// wsStageName is the WebSocket API's stage: clients connect to wss://…/live.
const wsStageName = "live"

// wsAuthorizerKey marks, in a function's WebSocket list, the Lambda authorizer of $connect.
const wsAuthorizerKey = "$connect/authorizer"

// webSocket is the agents' realtime API (X1), built only when a function declares WebSocket
// routes.
type webSocket struct {
	api   awsapigatewayv2.WebSocketApi
	stage awsapigatewayv2.WebSocketStage
}

// newWebSocket defines the WebSocket API and its stage, and the settings they give: the URL
// clients connect to, the @connections endpoint (built from the API's id and the stage's
// name, so the functions behind the routes may know it without a dependency cycle) and the
// user pool the authorizer checks tokens against.
func newWebSocket(stack awscdk.Stack, values map[string]*string, issuer string, clientID *string) *webSocket {
	api := awsapigatewayv2.NewWebSocketApi(stack, jsii.String("WebSocketApi"), &awsapigatewayv2.WebSocketApiProps{
		Description: jsii.String("Buzón: realtime events for agents (docs/asyncapi.json)"),
	})
	stage := awsapigatewayv2.NewWebSocketStage(stack, jsii.String("WebSocketStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: api,
		StageName:    jsii.String(wsStageName),
		AutoDeploy:   jsii.Bool(true),
	})
	values["WEBSOCKET_URL"] = stage.Url()
	values["WEBSOCKET_MANAGEMENT_URL"] = stage.CallbackUrl()
	values["JWT_ISSUER"] = jsii.String(issuer)
	values["JWT_CLIENT_ID"] = clientID
	values["JWKS_URL"] = jsii.String(issuer + "/.well-known/jwks.json")
	return &webSocket{api: api, stage: stage}
}

// routes adds the declared routes: $connect behind the Lambda authorizer, which reads the
// token from the query (browsers cannot set headers on a WebSocket; without the parameter API
// Gateway answers 401 without invoking it), and $default answering on the socket.
func (w *webSocket) routes(d deploy.Deployment, fns []namedFunction) error {
	byName := map[string]awslambda.Function{}
	for _, f := range fns {
		byName[f.name] = f.fn
	}
	var authorizer awsapigatewayv2.IWebSocketRouteAuthorizer
	for _, f := range d.Functions {
		for _, key := range f.WebSocket {
			if key == wsAuthorizerKey {
				authorizer = awsapigatewayv2authorizers.NewWebSocketLambdaAuthorizer(jsii.String("WebSocketAuthorizer"), byName[f.Name],
					&awsapigatewayv2authorizers.WebSocketLambdaAuthorizerProps{IdentitySource: jsii.Strings("route.request.querystring.token")})
			}
		}
	}
	for _, f := range d.Functions {
		for _, key := range f.WebSocket {
			if key == wsAuthorizerKey {
				continue
			}
			opts := &awsapigatewayv2.WebSocketRouteOptions{
				Integration: awsapigatewayv2integrations.NewWebSocketLambdaIntegration(
					jsii.String(deploy.Title(f.Name)+deploy.Title(routeID(key))+"Integration"), byName[f.Name], nil),
			}
			switch key {
			case "$connect":
				if authorizer == nil {
					return fmt.Errorf("infra: $connect has no authorizer (a function with %q)", wsAuthorizerKey)
				}
				opts.Authorizer = authorizer
			case "$default":
				opts.ReturnResponse = jsii.Bool(true) // answers (pong, subscribed, presence) go back on the socket
			}
			w.api.AddRoute(jsii.String(key), opts)
		}
	}
	return nil
}

func routeID(key string) string {
	out := []byte{}
	for _, c := range []byte(key) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			out = append(out, c)
		}
	}
	return string(out)
}

// streamFilters are realtime.StreamMapping's filter patterns as the event source takes them.
func streamFilters() []*map[string]any {
	var filters []*map[string]any
	for _, f := range realtime.StreamMapping.Filters {
		var pattern map[string]any
		if err := json.Unmarshal([]byte(f), &pattern); err != nil {
			panic(fmt.Sprintf("realtime.StreamMapping filter %s: %v", f, err)) // a programming error, caught by the stack test
		}
		filters = append(filters, awslambda.FilterCriteria_Filter(&pattern))
	}
	return filters
}
