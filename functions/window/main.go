// Command window is the window-expiry job (M2, R4), invoked by an EventBridge schedule every
// minute. It warns before customer service windows close and marks them closed, in each
// conversation's timeline, and closes the conversations of lines with auto-close that have
// been idle for longer than the line allows. It reads the window-expiry index (GSI4) bucket by
// bucket, never the whole table, and keeps a checkpoint, so a tick that fires twice changes
// nothing and ticks that did not run are caught up.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, err := boot.Setup(ctx, "window")
	if err != nil {
		slog.Error("window init failed", "error", err)
		os.Exit(1)
	}
	// The warning must come before the window closes, and after it opens.
	if cfg.WindowWarnLead <= 0 || cfg.WindowWarnLead >= inbox.ServiceWindow {
		slog.Error("window init failed: WINDOW_WARN_LEAD must be between 0 and 24h", "lead", cfg.WindowWarnLead.String())
		os.Exit(1)
	}
	j := newJob(store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil), cfg.WindowWarnLead, time.Now)
	lambda.Start(j.handle)
}
