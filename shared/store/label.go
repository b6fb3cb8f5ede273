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

// labelItem is one label of an organization (A9), in the organization's partition.
type labelItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Type    string `dynamodbav:"type"`
	ID      string `dynamodbav:"id"`
	Org     string `dynamodbav:"org"`
	Name    string `dynamodbav:"name"`
	Desc    string `dynamodbav:"desc,omitempty"`
	Color   string `dynamodbav:"color"`
	By      string `dynamodbav:"by,omitempty"`
	Created int64  `dynamodbav:"cat"`
}

// CreateLabel stores a new label; ErrExists if the organization has a label of that id (the id
// derives from the name).
func (s *Store) CreateLabel(ctx context.Context, l *inbox.Label) error {
	it := labelItem{PK: orgPK(l.OrgID), SK: labelSK(l.ID), Type: "label", ID: l.ID, Org: l.OrgID, Name: l.Name,
		Desc: l.Description, Color: l.Color, By: l.CreatedBy, Created: ms(l.CreatedAt)}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode label: %w", err)
	}
	err = s.put(ctx, item, "attribute_not_exists(PK)", indexKeys{PK: it.PK})
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("label %s: %w", l.ID, ErrExists)
	}
	return err
}

// Labels lists an organization's labels by id.
func (s *Store) Labels(ctx context.Context, org string) ([]*inbox.Label, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :l)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: orgPK(org)},
			":l":  &types.AttributeValueMemberS{Value: skLabelPrefix},
		},
	})
	var out []*inbox.Label
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query labels of %s: %w", org, err)
		}
		for _, raw := range page.Items {
			var it labelItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode label: %w", err)
			}
			out = append(out, &inbox.Label{ID: it.ID, OrgID: it.Org, Name: it.Name, Description: it.Desc, Color: it.Color,
				CreatedBy: it.By, CreatedAt: fromMS(it.Created)})
		}
	}
	return out, nil
}
