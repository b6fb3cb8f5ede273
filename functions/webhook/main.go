// Command webhook is the Lambda behind the provider webhooks: it verifies each delivery's
// signature, splits it into Buzón events and puts them on the inbound FIFO queue, answering
// 200 only once SQS accepted every item.
package main

import (
	"context"
	"time"

	"github.com/buzon/buzon/shared/boot"
)

func main() {
	// Provider secrets are not required: a provider without its secret answers 503 on its own
	// route, so a Meta-only business runs without Twilio settings.
	boot.Main("webhook", func(_ context.Context, e *boot.Env) (any, error) {
		return newHandler(e.Config, e.Queue(e.Config.InboundQueueURL), time.Now).handle, nil
	})
}
