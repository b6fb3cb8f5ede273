// Package workflow is what agents and Buzón itself do to conversations, written once for
// every entry point: send a message (Send from the agent API, SendAutomatic for an
// auto-reply or any notice Buzón sends on its own), start a conversation with a template
// (Start), act on one (Claim, Assign, Return, Transfer, Close, Reopen, Label, Route, and the
// window job's CloseIdle), each followed by automatic assignment's turn, note on one (Note),
// and give automatic assignment its turn after a change of who can take conversations
// (SetAvailability, DrainDepartment).
//
// It decides and writes; it knows nothing of HTTP. Its refusals are sentinel errors and
// error types (errors.go, access's denials, inbox's transition errors) that the API's error
// table turns into statuses. Every outbound message is stored by keep and queued by enqueue,
// and every action goes through act: the one place where what each send or action must also
// do (a sending state, audit records, realtime events) is added.
package workflow

import (
	"log/slog"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
)

// Service runs the workflows over the table, the outbound queue and automatic assignment. It
// is safe for concurrent use.
type Service struct {
	st       *store.Store
	outbound *queue.Queue    // nil: messages are stored as queued but not sent (logged)
	routing  *routing.Router // nil: no automatic assignment after actions
	now      func() time.Time
}

// New returns a service; outbound and routing may be nil (tests, functions that do not send
// or assign).
func New(st *store.Store, outbound *queue.Queue, routing *routing.Router, now func() time.Time) *Service {
	return &Service{st: st, outbound: outbound, routing: routing, now: now}
}

// Caller is who does something and the request they do it in.
type Caller struct {
	// User is the agent; nil is Buzón itself (the window job, an auto-reply), which passes
	// no access check and is recorded without an actor.
	User *inbox.User
	// RequestID correlates the queue events a request causes with its logs; "" for none.
	RequestID string
	// Log carries the caller's correlation ids; nil is slog.Default().
	Log *slog.Logger
}

func (c Caller) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

func (c Caller) id() string {
	if c.User == nil {
		return ""
	}
	return c.User.ID
}

// System is Buzón acting by itself.
var System = Caller{}
