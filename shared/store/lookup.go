package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

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
	in := s.partition("", convPK(convID), skThread)
	in.FilterExpression = aws.String("#kind = :msg AND (#id = :id OR #pid = :id)")
	in.ExpressionAttributeNames = map[string]string{"#kind": "kind", "#id": "id", "#pid": "pid"}
	in.ExpressionAttributeValues[":msg"], in.ExpressionAttributeValues[":id"] = str("msg"), str(id)
	in.ScanIndexForward = aws.Bool(false)
	pages := 0
	items, _, err := query[threadItem](ctx, s, in, func(n int) bool {
		pages++
		return n > 0 || pages == findPages
	})
	if err != nil {
		return nil, fmt.Errorf("find message %s: %w", id, err)
	}
	if len(items) == 0 {
		return nil, notFound("message")
	}
	return items[0].message(), nil
}
