// Command window is the window-expiry job (M2, R4), invoked by an EventBridge schedule every
// minute. It warns before customer service windows close and marks them closed, in each
// conversation's timeline, and closes the conversations of lines with auto-close that have
// been idle for longer than the line allows. It reads the window-expiry index (GSI4) bucket by
// bucket, never the whole table, and keeps a checkpoint, so a tick that fires twice changes
// nothing and ticks that did not run are caught up.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/buzon/buzon/shared/boot"
	"github.com/buzon/buzon/shared/inbox"
)

func main() {
	boot.Main("window", func(_ context.Context, e *boot.Env) (any, error) {
		// The warning must come before the window closes, and after it opens.
		if lead := e.Config.WindowWarnLead; lead <= 0 || lead >= inbox.ServiceWindow {
			return nil, fmt.Errorf("WINDOW_WARN_LEAD must be between 0 and 24h, got %s", lead)
		}
		return newJob(e.Store(nil), e.Config.WindowWarnLead, time.Now).handle, nil
	})
}
