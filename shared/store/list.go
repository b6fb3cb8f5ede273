package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// Source is one index partition family an inbox view reads: a department queue (unassigned or
// assigned, all shards) or one agent's conversations.
type Source struct {
	Department string // with Assigned: GSI1
	Assigned   bool
	Assignee   string // when set: GSI2, Department and Assigned are ignored
}

// ListQuery is one page of an inbox view: the union of its sources, newest activity first.
type ListQuery struct {
	Org     string
	Status  inbox.ConversationStatus
	Sources []Source
	LineID  string // optional filter
	LabelID string // optional filter
	Limit   int
	Cursor  string // the activity key of the last item of the previous page
}

// ListConversations reads a page of a view: one Query per source partition (shards of a
// department queue, or an agent's partition), run in parallel and merged. Each Query reads at
// most Limit items past the cursor, so a page costs O(partitions × Limit) items, whatever the
// size of the inbox. It returns the next cursor, empty at the end.
func (s *Store) ListConversations(ctx context.Context, q ListQuery) ([]*inbox.Conversation, string, error) {
	type part struct{ index, pk string }
	var parts []part
	for _, src := range q.Sources {
		if src.Assignee != "" {
			parts = append(parts, part{IndexAssignee, assigneePK(q.Org, src.Assignee, string(q.Status))})
			continue
		}
		for sh := range queueShards {
			parts = append(parts, part{IndexQueue, queuePK(q.Org, src.Department, string(q.Status), src.Assigned, sh)})
		}
	}
	results := make([][]conversationItem, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.queryPartition(ctx, p.index, p.pk, q)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var all []conversationItem
	for _, r := range results {
		for _, it := range r {
			if !seen[it.ID] {
				seen[it.ID] = true
				all = append(all, it)
			}
		}
	}
	sk := func(it conversationItem) string { return activitySK(fromMS(it.LastActivity), it.ID) }
	sort.Slice(all, func(i, j int) bool { return sk(all[i]) > sk(all[j]) })
	next := ""
	if len(all) > q.Limit {
		all = all[:q.Limit]
		next = sk(all[len(all)-1])
	}
	out := make([]*inbox.Conversation, len(all))
	for i := range all {
		out[i] = all[i].conversation()
	}
	return out, next, nil
}

// queryPartition reads up to q.Limit+1 matching items of one partition, newest first, below
// the cursor.
func (s *Store) queryPartition(ctx context.Context, index, pk string, q ListQuery) ([]conversationItem, error) {
	prefix := index // GSI1 or GSI2: key attributes are named after their index
	cond := prefix + "PK = :pk"
	vals := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}
	if q.Cursor != "" {
		cond += " AND " + prefix + "SK < :c"
		vals[":c"] = &types.AttributeValueMemberS{Value: q.Cursor}
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: vals,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(q.Limit + 1)),
	}
	// Line and label are filters on the view's partitions, not partitions of their own: a page
	// of a rare label may read more items than it returns, but labels need no index entries
	// (a conversation's writes stay at 4 units) and the view's partitions bound the read.
	var filters []string
	if q.LineID != "" {
		filters = append(filters, "line = :line")
		vals[":line"] = &types.AttributeValueMemberS{Value: q.LineID}
	}
	if q.LabelID != "" {
		filters = append(filters, "contains(lbl, :lbl)")
		vals[":lbl"] = &types.AttributeValueMemberS{Value: q.LabelID}
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	var out []conversationItem
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query %s %s: %w", index, pk, err)
		}
		for _, raw := range page.Items {
			var it conversationItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode conversation: %w", err)
			}
			out = append(out, it)
		}
		if len(out) > q.Limit || page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
