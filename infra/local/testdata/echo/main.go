// Command echo is a test function for the local runner: it answers HTTP API events with what
// it received, consumes SQS events with shared/queue's FIFO bookkeeping, and misbehaves on
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

	"github.com/buzon/buzon/shared/queue"
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
		return consume(ev), nil
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

// consume fails records whose body is "fail", and every later record of their group; a body
// "crash" ends the process.
func consume(ev lambdaevents.SQSEvent) lambdaevents.SQSEventResponse {
	b := queue.NewBatch()
	for i := range ev.Records {
		r := &ev.Records[i]
		switch {
		case b.Blocked(r):
			b.Fail(r)
		case r.Body == `"crash"`:
			os.Exit(4)
		case r.Body == `"fail"`:
			b.Fail(r)
		}
	}
	return b.Response()
}
