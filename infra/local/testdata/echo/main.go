// Command echo is a test function for the local runner: it answers HTTP API events with what
// it received, consumes SQS events through shared/consume's runner, and misbehaves on
// request (exit, error, panic, overrun) so the runner's handling of each can be tested.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/buzon/buzon/shared/consume"
)

func main() {
	if code := os.Getenv("ECHO_INIT_EXIT"); code != "" {
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	lambda.Start(handle)
}

// Echo is what the function answers an HTTP event with.
type Echo struct {
	Event       json.RawMessage   `json:"event"`
	RequestID   string            `json:"request_id"`
	FunctionARN string            `json:"function_arn"`
	Deadline    time.Time         `json:"deadline"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records  []json.RawMessage `json:"Records"`
		RouteKey string            `json:"routeKey"`
		RawPath  string            `json:"rawPath"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	switch {
	case probe.Records != nil:
		var ev lambdaevents.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return consumer.Run(ctx, ev)
	case probe.RouteKey != "":
		return serve(ctx, raw, probe.RawPath)
	default:
		return map[string]any{"ok": true}, nil
	}
}

func serve(ctx context.Context, raw json.RawMessage, path string) (any, error) {
	switch strings.TrimPrefix(path, "/v1/") {
	case "crash":
		os.Exit(3)
	case "error":
		return nil, errors.New("echo: asked to fail")
	case "panic":
		panic("echo: asked to panic")
	case "sleep":
		<-ctx.Done()
		time.Sleep(time.Hour)
	case "binary":
		return lambdaevents.APIGatewayV2HTTPResponse{
			StatusCode:      201,
			Headers:         map[string]string{"Content-Type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}),
			IsBase64Encoded: true,
			Cookies:         []string{"a=1", "b=2"},
		}, nil
	case "plain":
		return map[string]string{"hello": "world"}, nil
	case "pause":
		// Busy for a while, then the usual echo: concurrent calls need several processes.
		time.Sleep(500 * time.Millisecond)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TABLE_NAME", "HOME"} {
		env[k] = os.Getenv(k)
	}
	body, err := json.Marshal(Echo{Event: raw, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
		Deadline: deadline, PID: os.Getpid(), Env: env})
	if err != nil {
		return nil, err
	}
	return lambdaevents.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Echo": "yes"},
		Body:       string(body),
	}, nil
}

// consumer fails records whose body is "fail" (with every later record of their group, the
// runner's doing); a body "crash" ends the process. Without a queue to postpone on, a failed
// record comes back after the queue's visibility timeout.
var consumer = &consume.Runner{Name: "echo", Handle: func(_ context.Context, r *lambdaevents.SQSMessage) error {
	switch r.Body {
	case `"crash"`:
		os.Exit(4)
	case `"fail"`:
		return errors.New("echo: asked to fail")
	}
	return nil
}}
