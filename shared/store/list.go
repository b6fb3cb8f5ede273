package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// ListConversations reads a page of a view: the union of the source partitions (shards of a
// department queue, or an agent's partition), newest activity first. Each partition is read
// in parallel, a share of the page at first, and read further, again in parallel, only while
// it may still hold one of the page's items: the merge stops as soon as the page is certain
// (every partition is read to its end or past the page's last item). A page costs a round of
// small Queries, rarely two, whatever the size of the inbox. It returns the next cursor,
// empty at the end.
func (s *Store) ListConversations(ctx context.Context, q ListQuery) ([]*inbox.Conversation, string, error) {
	var parts []*partitionRead
	for _, src := range q.Sources {
		if src.Assignee != "" {
			parts = append(parts, &partitionRead{index: IndexAssignee, pk: assigneePK(q.Org, src.Assignee, string(q.Status))})
			continue
		}
		for sh := range queueShards {
			parts = append(parts, &partitionRead{index: IndexQueue, pk: queuePK(q.Org, src.Department, string(q.Status), src.Assigned, sh)})
		}
	}
	// want is a page and one item more: the extra item tells whether a next page exists.
	want := q.Limit + 1
	first := want
	if len(parts) > 1 {
		// A page draws on a few items of each partition; twice its even share, and a little
		// more, settles most partitions in the first round.
		first = min(want, 2*want/len(parts)+2)
	}
	pending := parts
	var page []conversationItem
	for len(pending) > 0 {
		if _, err := parallel(len(pending), 16, func(i int) (struct{}, error) {
			limit := want
			if pending[i].rounds == 0 {
				limit = first
			}
			return struct{}{}, s.readMore(ctx, pending[i], q, limit)
		}); err != nil {
			return nil, "", err
		}
		page = mergePartitions(parts)
		bound := ""
		if len(page) >= want {
			bound = activityOf(page[want-1])
		}
		pending = pending[:0:0]
		for _, p := range parts {
			// A partition whose next unread item could still sort before the page's last
			// one (its read stopped above it) is read further.
			if !p.done && (bound == "" || p.frontier > bound) {
				pending = append(pending, p)
			}
		}
	}
	next := ""
	if len(page) > q.Limit {
		page = page[:q.Limit]
		next = activityOf(page[len(page)-1])
	}
	out := make([]*inbox.Conversation, len(page))
	for i := range page {
		out[i] = page[i].conversation()
	}
	return out, next, nil
}

// partitionRead is how far a view has read one partition.
type partitionRead struct {
	index, pk string
	items     []conversationItem
	rounds    int
	// next is where the next Query starts (its LastEvaluatedKey); frontier is that key's
	// sort key: every unread item sorts below it. done: the partition is read to its end.
	next     map[string]types.AttributeValue
	frontier string
	done     bool
}

// readMore reads up to limit more items of p (fewer match when the view filters).
func (s *Store) readMore(ctx context.Context, p *partitionRead, q ListQuery, limit int) error {
	in := s.partition(p.index, p.pk, "")
	if q.Cursor != "" {
		sortKeyRange(in, p.index, "<", q.Cursor)
	}
	in.ScanIndexForward, in.Limit, in.ExclusiveStartKey = aws.Bool(false), aws.Int32(int32(limit)), p.next
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
	items, last, err := query[conversationItem](ctx, s, in, onePage)
	if err != nil {
		return err
	}
	p.items = append(p.items, items...)
	p.rounds++
	p.next = last
	if last == nil {
		p.done = true
		return nil
	}
	sk, ok := last[p.index+"SK"].(*types.AttributeValueMemberS)
	if !ok {
		return fmt.Errorf("query %s %s: last evaluated key without %sSK", p.index, p.pk, p.index)
	}
	p.frontier = sk.Value
	return nil
}

// mergePartitions is every item read so far, each conversation once (its newest copy: an
// index may briefly hold an older one elsewhere), newest activity first.
func mergePartitions(parts []*partitionRead) []conversationItem {
	var all []conversationItem
	for _, p := range parts {
		all = append(all, p.items...)
	}
	sort.Slice(all, func(i, j int) bool { return activityOf(all[i]) > activityOf(all[j]) })
	seen := make(map[string]bool, len(all))
	out := all[:0]
	for _, it := range all {
		if !seen[it.ID] {
			seen[it.ID] = true
			out = append(out, it)
		}
	}
	return out
}

// activityOf is the sort key of a conversation in the queue and assignee indexes.
func activityOf(it conversationItem) string { return activitySK(fromMS(it.LastActivity), it.ID) }
