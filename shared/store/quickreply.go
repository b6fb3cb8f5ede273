package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// quickReplyItem is one quick reply, in its organization's quick reply partition.
type quickReplyItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Type    string `dynamodbav:"type"`
	ID      string `dynamodbav:"id"`
	Org     string `dynamodbav:"org"`
	Title   string `dynamodbav:"title"`
	Text    string `dynamodbav:"text"`
	By      string `dynamodbav:"by,omitempty"`
	Created int64  `dynamodbav:"cat"`
	Updated int64  `dynamodbav:"uat"`
	Version int    `dynamodbav:"v"`
}

func toQuickReplyItem(q *inbox.QuickReply) quickReplyItem {
	return quickReplyItem{PK: quickReplyPK(q.OrgID), SK: quickReplySK(q.ID), Type: "quick_reply", ID: q.ID, Org: q.OrgID, Title: q.Title,
		Text: q.Text, By: q.CreatedBy, Created: ms(q.CreatedAt), Updated: ms(q.UpdatedAt), Version: q.Version}
}

func (it *quickReplyItem) quickReply() *inbox.QuickReply {
	return &inbox.QuickReply{ID: it.ID, OrgID: it.Org, Title: it.Title, Text: it.Text, CreatedBy: it.By,
		CreatedAt: fromMS(it.Created), UpdatedAt: fromMS(it.Updated), Version: it.Version}
}

func (s *Store) putQuickReply(ctx context.Context, q *inbox.QuickReply, cond string, vals map[string]types.AttributeValue) error {
	return s.put(ctx, toQuickReplyItem(q), cond, vals)
}

// CreateQuickReply stores a new quick reply; ErrExists if its id is taken.
func (s *Store) CreateQuickReply(ctx context.Context, q *inbox.QuickReply) error {
	q.Version = 1
	return s.putQuickReply(ctx, q, "attribute_not_exists(PK)", nil)
}

// QuickReply reads one quick reply of org.
func (s *Store) QuickReply(ctx context.Context, org, id string) (*inbox.QuickReply, error) {
	it, err := getItem[quickReplyItem](ctx, s, quickReplyPK(org), quickReplySK(id))
	if err != nil {
		return nil, err
	}
	return it.quickReply(), nil
}

// UpdateQuickReply reads a quick reply, applies fn and writes it if nobody wrote in between;
// on a concurrent write it reads again and retries fn, a few times.
func (s *Store) UpdateQuickReply(ctx context.Context, org, id string, fn func(q *inbox.QuickReply) error) (*inbox.QuickReply, error) {
	for attempt := 0; attempt < 3; attempt++ {
		q, err := s.QuickReply(ctx, org, id)
		if err != nil {
			return nil, err
		}
		if err := fn(q); err != nil {
			return nil, err
		}
		prev := q.Version
		q.Version++
		err = s.putQuickReply(ctx, q, "v = :v", map[string]types.AttributeValue{":v": num(prev)})
		if errors.Is(err, ErrExists) {
			continue
		}
		return q, err
	}
	return nil, fmt.Errorf("quick reply %s: %w", id, ErrConflict)
}

// DeleteQuickReply deletes a quick reply; ErrNotFound if there is none.
func (s *Store) DeleteQuickReply(ctx context.Context, org, id string) error {
	return s.delete(ctx, quickReplyPK(org), quickReplySK(id), "attribute_exists(PK)")
}

// QuickReplies lists an organization's quick replies by title.
func (s *Store) QuickReplies(ctx context.Context, org string) ([]*inbox.QuickReply, error) {
	items, err := queryAll[quickReplyItem](ctx, s, s.partition("", quickReplyPK(org), ""))
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.QuickReply, len(items))
	for i := range items {
		out[i] = items[i].quickReply()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out, nil
}
