package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// IdempotencyTTL is how long an Idempotency-Key keeps answering with the message it created.
const IdempotencyTTL = 24 * time.Hour

// Idempotency is what a request with an Idempotency-Key reserved: the message it creates, so
// that a retry with the same key finds that message instead of creating another.
type Idempotency struct {
	ConversationID string
	MessageID      string
	MessageAt      time.Time
	// Fingerprint identifies the request (a hash of its target and body): the same key with
	// another request is the client's mistake, not a retry.
	Fingerprint string
}

type idempotencyItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	Conv        string `dynamodbav:"conv"`
	Message     string `dynamodbav:"msg"`
	At          int64  `dynamodbav:"at"`
	Fingerprint string `dynamodbav:"fp"`
	TTL         int64  `dynamodbav:"ttl"`
}

// ReserveIdempotency records that user's key creates rec, unless the key is already live: then
// it returns what the key reserved first and fresh is false. A record past its TTL counts as
// absent even while DynamoDB has not deleted it yet.
func (s *Store) ReserveIdempotency(ctx context.Context, org, user, key string, rec Idempotency, now time.Time) (got Idempotency, fresh bool, err error) {
	pk := idempotencyPK(org, user, key)
	// "ttl" is a reserved word, hence the name placeholder.
	err = s.putOver(ctx, idempotencyItem{
		PK: pk, SK: skIdempotency, Type: "idempotency", Conv: rec.ConversationID, Message: rec.MessageID,
		At: ms(rec.MessageAt), Fingerprint: rec.Fingerprint, TTL: now.Add(IdempotencyTTL).Unix(),
	}, indexKeys{}, "attribute_not_exists(PK) OR #ttl < :now", map[string]string{"#ttl": "ttl"}, map[string]types.AttributeValue{":now": num(now.Unix())})
	if err == nil {
		return rec, true, nil
	}
	if !errors.Is(err, ErrExists) {
		return Idempotency{}, false, fmt.Errorf("put idempotency key: %w", err)
	}
	it, err := getItem[idempotencyItem](ctx, s, pk, skIdempotency)
	if err != nil {
		return Idempotency{}, false, err
	}
	return Idempotency{ConversationID: it.Conv, MessageID: it.Message, MessageAt: fromMS(it.At), Fingerprint: it.Fingerprint}, false, nil
}
