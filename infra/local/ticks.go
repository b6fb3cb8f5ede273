package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

// schedule plays an EventBridge rate rule that targets one function.
type schedule struct {
	rule     string // the rule's name, for the event's resources
	function string
	every    time.Duration
	atStart  bool // also invoke once when the stack starts
	timeout  time.Duration
	invoke   invokeFunc
	log      *slog.Logger
}

// run invokes the function on every tick until ctx is done. Ticks are invoked one after the
// other: a tick that comes while the last one still runs is dropped (EventBridge would invoke
// anyway; the stack's functions end before their next tick).
func (s *schedule) run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	if s.atStart {
		s.tick(ctx, time.Now())
	}
	for {
		select {
		case now := <-t.C:
			s.tick(ctx, now)
		case <-ctx.Done():
			return
		}
	}
}

func (s *schedule) tick(ctx context.Context, now time.Time) {
	payload, err := json.Marshal(scheduledEvent(s.rule, now))
	if err != nil {
		s.log.Error("encode scheduled event", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.invoke(ctx, payload); err != nil && ctx.Err() == nil {
		s.log.Warn("scheduled invocation failed", "function", s.function, "rule", s.rule, "error", err)
	}
}

// scheduledEvent is the event EventBridge sends the target of a scheduled rule.
func scheduledEvent(rule string, now time.Time) lambdaevents.EventBridgeEvent {
	return lambdaevents.EventBridgeEvent{
		Version:    "0",
		ID:         newRequestID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  accountID,
		Time:       now.UTC().Truncate(time.Second),
		Region:     region,
		Resources:  []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, accountID, rule)},
		Detail:     json.RawMessage("{}"),
	}
}
