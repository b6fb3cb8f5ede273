package store

import (
	"context"
	"errors"
	"fmt"

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

func toLabelItem(l *inbox.Label) labelItem {
	return labelItem{PK: orgPK(l.OrgID), SK: labelSK(l.ID), Type: "label", ID: l.ID, Org: l.OrgID, Name: l.Name,
		Desc: l.Description, Color: l.Color, By: l.CreatedBy, Created: ms(l.CreatedAt)}
}

func (it *labelItem) label() *inbox.Label {
	return &inbox.Label{ID: it.ID, OrgID: it.Org, Name: it.Name, Description: it.Desc, Color: it.Color,
		CreatedBy: it.By, CreatedAt: fromMS(it.Created)}
}

// CreateLabel stores a new label; ErrExists if the organization has a label of that id (the id
// derives from the name).
func (s *Store) CreateLabel(ctx context.Context, l *inbox.Label) error {
	err := s.put(ctx, toLabelItem(l), "attribute_not_exists(PK)", nil)
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("label %s: %w", l.ID, ErrExists)
	}
	return err
}

// Labels lists an organization's labels by id.
func (s *Store) Labels(ctx context.Context, org string) ([]*inbox.Label, error) {
	items, err := queryAll[labelItem](ctx, s, s.partition("", orgPK(org), skLabelPrefix))
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.Label, len(items))
	for i := range items {
		out[i] = items[i].label()
	}
	return out, nil
}

// Label reads one label of org.
func (s *Store) Label(ctx context.Context, org, id string) (*inbox.Label, error) {
	it, err := getItem[labelItem](ctx, s, orgPK(org), labelSK(id))
	if err != nil {
		return nil, err
	}
	return it.label(), nil
}

// PutLabel replaces a label that exists (an admin's edit); ErrNotFound if it does not.
func (s *Store) PutLabel(ctx context.Context, l *inbox.Label) error {
	err := s.put(ctx, toLabelItem(l), "attribute_exists(PK)", nil)
	if errors.Is(err, ErrExists) {
		return notFound("label")
	}
	return err
}

// DeleteLabel removes a label of org; ErrNotFound if it does not exist. Conversations keep
// its id until they are relabelled (labels have no index entries to find them by).
func (s *Store) DeleteLabel(ctx context.Context, org, id string) error {
	return s.delete(ctx, orgPK(org), labelSK(id), "attribute_exists(PK)")
}
