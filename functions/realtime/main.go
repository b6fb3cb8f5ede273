// Command realtime serves the WebSocket API's routes: $connect records the connection (in its
// user's, its departments' and, for admins, the organization's admins' partitions, with a
// TTL), $disconnect forgets it, and $default answers the client's messages: ping, subscribe to
// one conversation (typing and who is viewing), typing, presence. The protocol is in
// docs/asyncapi.json; events themselves come from functions/fanout.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/store"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, err := boot.Setup(ctx, "realtime")
	if err != nil {
		slog.Error("realtime init failed", "error", err)
		os.Exit(1)
	}
	mgmt := apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(cfg.WebSocketManagementURL)
	})
	r := &routes{st: store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil), post: mgmt, now: time.Now}
	lambda.Start(r.handle)
}
