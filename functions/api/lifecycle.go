package main

import (
	"context"
	"strconv"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/workflow"
)

// Lifecycle: nothing an admin creates is forever. Deleting a user, a line or a department
// keeps the history that names it (timelines, reports, audit) and moves what was live.

// queryOnly refuses query parameters other than names.
func queryOnly(c *call, names ...string) error {
	for k := range c.req.QueryStringParameters {
		known := false
		for _, n := range names {
			known = known || k == n
		}
		if !known {
			return badRequest("unknown query parameter " + strconv.Quote(k))
		}
	}
	return nil
}

// deleteUser serves DELETE /v1/users/{id}[?conversations_to=<user>]: the user's next request
// is refused whatever their token says; their open conversations go to conversations_to, or
// back to their departments' queues; their collaborations end.
func (a *api) deleteUser(ctx context.Context, c *call) (any, error) {
	if err := queryOnly(c, "conversations_to"); err != nil {
		return nil, err
	}
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	_, err := a.flow().DeleteUser(ctx, c.caller(), c.params["id"], c.req.QueryStringParameters["conversations_to"])
	return nil, err
}

// deleteLine serves DELETE /v1/lines/{id}: its history stays readable, its open
// conversations close, it sends nothing more and its number is free.
func (a *api) deleteLine(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	l, err := a.flow().DeleteLine(ctx, c.caller(), c.params["id"])
	if err != nil {
		return nil, err
	}
	return toLineJSON(l), nil
}

// deleteDepartment serves DELETE /v1/departments/{id}[?move_to=<department>]: an empty
// department goes; one with conversations only by moving them.
func (a *api) deleteDepartment(ctx context.Context, c *call) (any, error) {
	if err := queryOnly(c, "move_to"); err != nil {
		return nil, err
	}
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	return nil, a.flow().DeleteDepartment(ctx, c.caller(), c.params["id"], c.req.QueryStringParameters["move_to"])
}

// lineWritable refuses changes to a deleted line.
func lineWritable(l *inbox.Line) error {
	if l.State == inbox.LineDeleted {
		return workflow.ErrLineDeleted
	}
	return nil
}
