package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// findPages bounds FindMessage's walk of a thread (each page reads up to 1 MB).
const findPages = 10

// FindMessage finds a message of a conversation by Buzón's id or by the provider's id. A
// provider id with a pointer item (outbound messages, Twilio inbound) is one read; otherwise
// the thread is read newest first, since a reply almost always answers a recent message.
func (s *Store) FindMessage(ctx context.Context, convID, id string) (*inbox.Message, error) {
	if id == "" {
		return nil, notFound("message")
	}
	k, err := s.Pointer(ctx, convID, id)
	switch {
	case err == nil:
		return s.Message(ctx, k)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("PK = :pk AND begins_with(SK, :m)"),
		FilterExpression:         aws.String("#kind = :msg AND (#id = :id OR #pid = :id)"),
		ExpressionAttributeNames: map[string]string{"#kind": "kind", "#id": "id", "#pid": "pid"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: convPK(convID)},
			":m":   &types.AttributeValueMemberS{Value: skThread},
			":msg": &types.AttributeValueMemberS{Value: "msg"},
			":id":  &types.AttributeValueMemberS{Value: id},
		},
		ScanIndexForward: aws.Bool(false),
	})
	for pages := 0; p.HasMorePages() && pages < findPages; pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find message %s: %w", id, err)
		}
		for _, raw := range out.Items {
			var it threadItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode thread item: %w", err)
			}
			return it.message(), nil
		}
	}
	return nil, notFound("message")
}
