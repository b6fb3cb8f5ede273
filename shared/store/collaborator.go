package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/buzon/buzon/shared/inbox"
)

// collabItem says that a user collaborates on an open conversation (A7), in the user's own
// partition: their "collaborating" view is one Query of it and a BatchGetItem of the
// conversations. It is written in the same transaction as the conversation whose
// collaborators changed, so the two never disagree.
type collabItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Conv string `dynamodbav:"conv"`
}

// collaborationWrites adds to t what keeps the collaborators' partitions equal to c's
// collaborators, which were before before the write: a put per added one, a delete per gone one.
func collaborationWrites(t *txn, c *inbox.Conversation, before []string) error {
	for _, u := range c.Collaborators {
		if !slices.Contains(before, u) {
			it := collabItem{PK: collabPK(c.OrgID, u), SK: collabSK(c.ID), Type: "collab", Conv: c.ID}
			if err := t.put(it, indexKeys{}, "", nil); err != nil {
				return err
			}
		}
	}
	for _, u := range before {
		if !slices.Contains(c.Collaborators, u) {
			t.del(collabPK(c.OrgID, u), collabSK(c.ID))
		}
	}
	return nil
}

// Collaborations lists the ids of the conversations user of org collaborates on.
func (s *Store) Collaborations(ctx context.Context, org, user string) ([]string, error) {
	items, err := queryAll[collabItem](ctx, s, s.partition("", collabPK(org, user), ""))
	if err != nil {
		return nil, fmt.Errorf("collaborations of %s: %w", user, err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Conv
	}
	return ids, nil
}
