package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// readItem is one user's read marker of a conversation (V4): how many of the conversation's
// customer messages (inbox.Conversation.InboundCount) the user has seen. Unread for that user
// is the conversation's count minus this one, so an inbound message writes nothing per agent.
type readItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Conv string `dynamodbav:"conv"`
	Seen int    `dynamodbav:"seen"`
	At   int64  `dynamodbav:"at"`
}

// MarkRead records that user has seen the first seen customer messages of conversation
// convID. The marker only moves forward: a slower request with an older count changes nothing.
func (s *Store) MarkRead(ctx context.Context, convID, user string, seen int, at time.Time) error {
	item, err := attributevalue.MarshalMap(readItem{PK: convPK(convID), SK: readSK(user), Type: "read", Conv: convID, Seen: seen, At: ms(at)})
	if err != nil {
		return fmt.Errorf("encode read marker: %w", err)
	}
	err = s.put(ctx, item, "attribute_not_exists(PK) OR seen < :n", indexKeys{PK: convPK(convID)},
		map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(seen)}})
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

// ReadMarkers returns, per conversation id, how many customer messages user has seen (absent:
// none), in one BatchGetItem call per 100 conversations: a page of a list costs one call.
func (s *Store) ReadMarkers(ctx context.Context, user string, convIDs []string) (map[string]int, error) {
	seen := map[string]int{}
	if len(convIDs) == 0 {
		return seen, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(convIDs))
	dup := map[string]bool{}
	for _, id := range convIDs {
		if !dup[id] {
			dup[id] = true
			keys = append(keys, key(convPK(id), readSK(user)))
		}
	}
	// Strongly consistent: a list right after "read" shows it read.
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, fmt.Errorf("read markers: %w", err)
	}
	for _, raw := range items {
		var it readItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode read marker: %w", err)
		}
		seen[it.Conv] = it.Seen
	}
	return seen, nil
}
