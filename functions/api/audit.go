package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// configure runs write, an admin's or configuration change, through the workflow that
// records it in the audit (P2).
func (a *api) configure(ctx context.Context, c *call, ch workflow.Change, write func() error) error {
	return a.flow().Configure(ctx, c.caller(), ch, write)
}

// auditJSON is one audit record as the API shows it.
type auditJSON struct {
	ID        string          `json:"id"`
	At        string          `json:"at"`
	ActorID   *string         `json:"actor_id"` // null: Buzón itself
	Entity    string          `json:"entity"`
	EntityID  string          `json:"entity_id"`
	Action    string          `json:"action"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	RequestID string          `json:"request_id,omitempty"`
}

func toAuditJSON(r *inbox.AuditRecord) auditJSON {
	raw := func(b []byte) json.RawMessage {
		if len(b) == 0 {
			return json.RawMessage("null")
		}
		return b
	}
	return auditJSON{ID: r.ID, At: ts(r.At), ActorID: optString(r.ActorID), Entity: r.Entity, EntityID: r.EntityID,
		Action: r.Action, Before: raw(r.Before), After: raw(r.After), RequestID: r.RequestID}
}

// listAudit serves GET /v1/audit: the organization's audit records, newest first, in
// [since, until) (default: the last 30 days; at most 366 days), by actor (actor_id; "-" is
// Buzón) and entity (entity, with entity_id for one), paged.
func (a *api) listAudit(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	if err := queryOnly(c, "since", "until", "actor_id", "entity", "entity_id", "limit", "cursor"); err != nil {
		return nil, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	cursor, err := decodeCursor(q["cursor"])
	if err != nil {
		return nil, err
	}
	parse := func(name string, def time.Time) (time.Time, error) {
		if q[name] == "" {
			return def, nil
		}
		t, err := time.Parse(time.RFC3339, q[name])
		if err != nil {
			return time.Time{}, badRequest(name + " must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z")
		}
		return t, nil
	}
	until, err := parse("until", a.now().Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	since, err := parse("since", until.Add(-30*24*time.Hour))
	if err != nil {
		return nil, err
	}
	if !since.Before(until) || until.Sub(since) > store.MaxAuditRange {
		return nil, badRequest("since must be before until, at most " + strconv.Itoa(int(store.MaxAuditRange/(24*time.Hour))) + " days apart")
	}
	if q["entity_id"] != "" && q["entity"] == "" {
		return nil, badRequest("entity_id needs entity")
	}
	recs, next, err := a.flow().Audit(ctx, c.caller(), store.AuditQuery{Since: since, Until: until, Actor: q["actor_id"],
		Entity: q["entity"], EntityID: q["entity_id"], Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, err
	}
	items := make([]auditJSON, len(recs))
	for i, r := range recs {
		items[i] = toAuditJSON(r)
	}
	return page[auditJSON]{Items: items, NextCursor: encodeCursor(next)}, nil
}
