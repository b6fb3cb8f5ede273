package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// auditItem is one audit record (P2), kept for good (no TTL), in its organization's partition
// of the day; GSI2 finds an actor's records, GSI3 an entity's, both by time.
type auditItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	GSI2PK    string `dynamodbav:"GSI2PK"`
	GSI2SK    string `dynamodbav:"GSI2SK"`
	GSI3PK    string `dynamodbav:"GSI3PK"`
	GSI3SK    string `dynamodbav:"GSI3SK"`
	Type      string `dynamodbav:"type"`
	ID        string `dynamodbav:"id"`
	Org       string `dynamodbav:"org"`
	At        int64  `dynamodbav:"at"`
	Actor     string `dynamodbav:"actor,omitempty"`
	Entity    string `dynamodbav:"ent"`
	EntityID  string `dynamodbav:"eid"`
	Action    string `dynamodbav:"act"`
	Before    string `dynamodbav:"bef,omitempty"` // JSON
	After     string `dynamodbav:"aft,omitempty"`
	RequestID string `dynamodbav:"rid,omitempty"`
}

func toAuditItem(r *inbox.AuditRecord) auditItem {
	sk := auditSK(r.At, r.ID)
	return auditItem{PK: auditPK(r.OrgID, r.At), SK: sk, GSI2PK: auditActorPK(r.OrgID, r.ActorID), GSI2SK: sk,
		GSI3PK: auditEntityPK(r.OrgID, r.Entity, r.EntityID), GSI3SK: sk, Type: "audit",
		ID: r.ID, Org: r.OrgID, At: ms(r.At), Actor: r.ActorID, Entity: r.Entity, EntityID: r.EntityID, Action: r.Action,
		Before: string(r.Before), After: string(r.After), RequestID: r.RequestID}
}

func (it *auditItem) record() *inbox.AuditRecord {
	return &inbox.AuditRecord{ID: it.ID, OrgID: it.Org, At: fromMS(it.At), ActorID: it.Actor, Entity: it.Entity, EntityID: it.EntityID,
		Action: it.Action, Before: bytesOrNil(it.Before), After: bytesOrNil(it.After), RequestID: it.RequestID}
}

// PutAudit keeps an audit record; putting the same record again changes nothing.
func (s *Store) PutAudit(ctx context.Context, r *inbox.AuditRecord) error {
	if err := s.put(ctx, toAuditItem(r), "", nil); err != nil {
		return fmt.Errorf("audit %s: %w", r.ID, err)
	}
	return nil
}

// AuditQuery is one page of an organization's audit records, newest first, in [Since, Until).
type AuditQuery struct {
	Org          string
	Since, Until time.Time
	Actor        string // a user id; "-" is Buzón itself
	Entity       string // with EntityID, one entity's records (GSI3); alone, a filter
	EntityID     string
	Limit        int
	Cursor       string // the sort key of the last record of the previous page
}

// MaxAuditRange bounds an audit query's time range: a query without an actor or entity reads
// one partition per day of it.
const MaxAuditRange = 366 * 24 * time.Hour

// Audit reads a page of audit records. With an entity id it reads that entity's records
// (GSI3), with an actor that actor's (GSI2), otherwise the organization's day partitions
// from Until back to Since, one Query each until the page is full; the other criteria are
// filters. It returns the next cursor, "" at the end.
func (s *Store) Audit(ctx context.Context, q AuditQuery) ([]*inbox.AuditRecord, string, error) {
	lo, hi := auditSK(q.Since, ""), auditSK(q.Until, "")
	if q.Cursor != "" && q.Cursor < hi {
		hi = q.Cursor
	}
	var filters []string
	vals := map[string]types.AttributeValue{}
	if q.Entity != "" && q.EntityID == "" {
		filters, vals[":ent"] = append(filters, "ent = :ent"), str(q.Entity)
	}
	if q.Actor != "" && q.EntityID != "" {
		if q.Actor == "-" {
			filters = append(filters, "attribute_not_exists(actor)")
		} else {
			filters, vals[":actor"] = append(filters, "actor = :actor"), str(q.Actor)
		}
	}
	query := func(index, pk string, need int) ([]auditItem, error) {
		in := s.partition(index, pk, "")
		in.KeyConditionExpression = aws.String(index + "PK = :pk AND " + index + "SK BETWEEN :lo AND :hi")
		in.ExpressionAttributeValues[":lo"], in.ExpressionAttributeValues[":hi"] = str(lo), str(hi)
		for k, v := range vals {
			in.ExpressionAttributeValues[k] = v
		}
		if len(filters) > 0 {
			in.FilterExpression = aws.String(strings.Join(filters, " AND "))
		}
		in.ScanIndexForward = aws.Bool(false)
		in.Limit = aws.Int32(int32(need + 2)) // the cursor's own record may come back
		items, _, err := query[auditItem](ctx, s, in, func(n int) bool { return n > need+1 })
		out := items[:0]
		for _, it := range items {
			if it.SK < hi { // BETWEEN includes hi: the cursor's record, or none at Until
				out = append(out, it)
			}
		}
		return out, err
	}
	var all []auditItem
	switch {
	case q.EntityID != "":
		items, err := query(IndexLookup, auditEntityPK(q.Org, q.Entity, q.EntityID), q.Limit)
		if err != nil {
			return nil, "", err
		}
		all = items
	case q.Actor != "":
		actor := q.Actor
		if actor == "-" {
			actor = ""
		}
		items, err := query(IndexAssignee, auditActorPK(q.Org, actor), q.Limit)
		if err != nil {
			return nil, "", err
		}
		all = items
	default:
		last := q.Until.Add(-time.Millisecond)
		if q.Cursor != "" {
			if t, ok := auditCursorTime(q.Cursor); ok && t.Before(last) {
				last = t
			}
		}
		for day := last.UTC().Truncate(24 * time.Hour); !day.Before(q.Since.UTC().Truncate(24*time.Hour)) && len(all) <= q.Limit; day = day.Add(-24 * time.Hour) {
			items, err := query("", auditPK(q.Org, day), q.Limit-len(all))
			if err != nil {
				return nil, "", err
			}
			all = append(all, items...)
		}
	}
	next := ""
	if len(all) > q.Limit {
		all = all[:q.Limit]
		next = all[len(all)-1].SK
	}
	out := make([]*inbox.AuditRecord, len(all))
	for i := range all {
		out[i] = all[i].record()
	}
	return out, next, nil
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
