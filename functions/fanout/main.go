// Command fanout turns the table's stream into realtime events (functions/fanout reads the
// DynamoDB stream through an event source mapping): a new message, a status move, a change of a
// conversation, a note, a notification for one user. Each event goes to exactly the connected
// users allowed to see its conversation, checked against the users as stored now, and is
// posted to their WebSocket connections through the @connections API; a gone connection (410)
// is deleted.
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
	cfg, awsCfg, err := boot.Setup(ctx, "fanout")
	if err != nil {
		slog.Error("fanout init failed", "error", err)
		os.Exit(1)
	}
	mgmt := apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(cfg.WebSocketManagementURL)
	})
	f := &fanout{st: store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil), post: mgmt, now: time.Now}
	lambda.Start(f.handle)
}
