package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
	results := make([][]string, len(pks))
	errs := make([]error, len(pks))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, pk := range pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.waitingShard(ctx, pk, cursor, limit)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	var sks []string
	more := false
	for _, r := range results {
		sks = append(sks, r...)
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

func (s *Store) waitingShard(ctx context.Context, pk, cursor string, limit int) ([]string, error) {
	cond := "GSI5PK = :pk"
	vals := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}
	if cursor != "" {
		cond += " AND GSI5SK > :c"
		vals[":c"] = &types.AttributeValueMemberS{Value: cursor}
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexWaiting),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", pk, err)
	}
	sks := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		if v, ok := it["GSI5SK"].(*types.AttributeValueMemberS); ok {
			sks = append(sks, v.Value)
		}
	}
	return sks, nil
}
