// Command fanout turns the table's stream into realtime events (functions/fanout reads the
// DynamoDB stream through an event source mapping): a new message, a status move, a change of a
// conversation, a note, a notification for one user. Each event goes to exactly the connected
// users allowed to see its conversation, checked against the users as stored now, and is
// posted to their WebSocket connections through the @connections API; a gone connection (410)
// is deleted.
package main

import (
	"context"
	"time"

	"github.com/buzon/buzon/shared/boot"
)

func main() {
	boot.Main("fanout", func(_ context.Context, e *boot.Env) (any, error) {
		f := &fanout{st: e.Store(nil), post: e.Connections(), now: time.Now}
		return f.handle, nil
	})
}
