// Command realtime serves the WebSocket API's routes: $connect records the connection (in its
// user's, its departments' and, for admins, the organization's admins' partitions, with a
// TTL), $disconnect forgets it, and $default answers the client's messages: ping, subscribe to
// one conversation (typing and who is viewing), typing, presence. The protocol is in
// docs/asyncapi.json; events themselves come from functions/fanout.
package main

import (
	"context"
	"time"

	"github.com/buzon/buzon/shared/boot"
)

func main() {
	boot.Main("realtime", func(_ context.Context, e *boot.Env) (any, error) {
		r := &routes{st: e.Store(nil), post: e.Connections(), now: time.Now}
		return r.handle, nil
	})
}
