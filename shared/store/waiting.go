package store

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/buzon/buzon/shared/inbox"
)

// Waiting reads up to limit conversations that wait in the shared inboxes of depts, the
// longest waiting first, after cursor (what the previous call returned): one Query per shard
// of each department (GSI5), merged. It returns the next cursor, "" when none may be left.
// Conversations that stopped waiting since the index was written are left out.
func (s *Store) Waiting(ctx context.Context, org string, depts []string, cursor string, limit int) ([]*inbox.Conversation, string, error) {
	var pks []string
	for _, d := range depts {
		if d == "" {
			continue
		}
		for sh := range queueShards {
			pks = append(pks, waitPK(org, d, sh))
		}
	}
	results, err := parallel(len(pks), 16, func(i int) ([]waitEntry, error) {
		in := s.partition(IndexWaiting, pks[i], "")
		if cursor != "" {
			sortKeyRange(in, IndexWaiting, ">", cursor)
		}
		in.Limit = aws.Int32(int32(limit))
		items, _, err := query[waitEntry](ctx, s, in, onePage)
		return items, err
	})
	if err != nil {
		return nil, "", err
	}
	var sks []string
	more := false
	for _, r := range results {
		for _, e := range r {
			sks = append(sks, e.SK)
		}
		more = more || len(r) == limit
	}
	sort.Strings(sks)
	if len(sks) > limit {
		sks, more = sks[:limit], true
	}
	next := ""
	if more && len(sks) > 0 {
		next = sks[len(sks)-1]
	}
	ids := make([]string, len(sks))
	for i, sk := range sks {
		ids[i] = waitingConversation(sk)
	}
	convs, err := s.Conversations(ctx, org, ids)
	if err != nil {
		return nil, "", err
	}
	byID := make(map[string]*inbox.Conversation, len(convs))
	for _, c := range convs {
		byID[c.ID] = c
	}
	out := make([]*inbox.Conversation, 0, len(ids))
	for _, id := range ids {
		if c := byID[id]; c != nil && c.Waiting() {
			out = append(out, c)
		}
	}
	return out, next, nil
}

// waitEntry is a conversation's entry in the keys-only waiting index.
type waitEntry struct {
	SK string `dynamodbav:"GSI5SK"`
}
