package store

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	err := s.put(ctx, readItem{PK: convPK(convID), SK: readSK(user), Type: "read", Conv: convID, Seen: seen, At: ms(at)},
		"attribute_not_exists(PK) OR seen < :n", map[string]types.AttributeValue{":n": num(seen)})
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
	// Strongly consistent: a list right after "read" shows it read.
	items, err := getItems[readItem](ctx, s, convIDs, func(id string) (string, string) { return convPK(id), readSK(user) }, true)
	if err != nil {
		return nil, fmt.Errorf("read markers: %w", err)
	}
	for _, it := range items {
		seen[it.Conv] = it.Seen
	}
	return seen, nil
}
