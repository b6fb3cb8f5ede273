package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/buzon/buzon/shared/inbox"
)

type contactItem struct {
	PK, SK  string
	Type    string            `dynamodbav:"type"`
	Org     string            `dynamodbav:"org"`
	WaID    string            `dynamodbav:"wa"`
	Name    string            `dynamodbav:"name,omitempty"`
	Email   string            `dynamodbav:"email,omitempty"`
	Owner   string            `dynamodbav:"owner,omitempty"`
	Fields  map[string]string `dynamodbav:"fields,omitempty"`
	Created int64             `dynamodbav:"cat"`
}

// CreateContact stores a contact seen for the first time; an existing contact is left as it
// is (agents may have edited it).
func (s *Store) CreateContact(ctx context.Context, c *inbox.Contact) error {
	it := contactItem{PK: contactPK(c.OrgID, c.WaID), SK: skContact, Type: "contact", Org: c.OrgID, WaID: c.WaID,
		Name: c.Name, Email: c.Email, Owner: c.OwnerID, Fields: c.Fields, Created: ms(c.CreatedAt)}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode contact: %w", err)
	}
	err = s.put(ctx, item, "attribute_not_exists(PK)", indexKeys{PK: it.PK})
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

// Contact reads a contact of org.
func (s *Store) Contact(ctx context.Context, org, waID string) (*inbox.Contact, error) {
	raw, err := s.get(ctx, contactPK(org, waID), skContact)
	if err != nil {
		return nil, err
	}
	var it contactItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode contact: %w", err)
	}
	return &inbox.Contact{OrgID: it.Org, WaID: it.WaID, Name: it.Name, Email: it.Email, OwnerID: it.Owner,
		Fields: it.Fields, CreatedAt: fromMS(it.Created)}, nil
}
