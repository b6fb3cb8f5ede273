package store

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

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
	results, err := parallel(len(parts), 16, func(i int) ([]conversationItem, error) {
		return s.queryPartition(ctx, parts[i].index, parts[i].pk, q)
	})
	if err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var all []conversationItem
	for _, it := range concat(results) {
		if !seen[it.ID] {
			seen[it.ID] = true
			all = append(all, it)
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
	in := s.partition(index, pk, "")
	if q.Cursor != "" {
		sortKeyRange(in, index, "<", q.Cursor)
	}
	in.ScanIndexForward, in.Limit = aws.Bool(false), aws.Int32(int32(q.Limit+1))
	// Line and label are filters on the view's partitions, not partitions of their own: a page
	// of a rare label may read more items than it returns, but labels need no index entries
	// (a conversation's writes stay at 4 units) and the view's partitions bound the read.
	var filters []string
	if q.LineID != "" {
		filters = append(filters, "line = :line")
		in.ExpressionAttributeValues[":line"] = str(q.LineID)
	}
	if q.LabelID != "" {
		filters = append(filters, "contains(lbl, :lbl)")
		in.ExpressionAttributeValues[":lbl"] = str(q.LabelID)
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	items, _, err := query[conversationItem](ctx, s, in, func(n int) bool { return n > q.Limit })
	return items, err
}
