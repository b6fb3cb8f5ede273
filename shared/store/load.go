package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// Workloads: each agent has a load item (loadPK) that holds how many open conversations they
// hold, whether they take conversations and how many at most. The count moves in the same
// transaction as the conversation whose holder changes (UpdateConversation), so it is exact;
// availability and capacity are copied there from the user item (PutUser, SetAvailability) so
// that one conditional update checks all three at the instant of an automatic assignment.

type loadItem struct {
	PK, SK   string
	Type     string `dynamodbav:"type"`
	Open     int    `dynamodbav:"open"`
	Avail    bool   `dynamodbav:"avail"`
	Max      int    `dynamodbav:"mx"`
	LastAuto int64  `dynamodbav:"lat,omitempty"` // the agent's last automatic assignment
}

func (it *loadItem) workload(user string) inbox.Workload {
	return inbox.Workload{UserID: user, Available: it.Avail, MaxOpen: it.Max, Open: it.Open, LastAssignedAt: fromMS(it.LastAuto)}
}

// lastAgentItem names the agent who last held a conversation of a contact.
type lastAgentItem struct {
	PK, SK string
	Type   string `dynamodbav:"type"`
	Agent  string `dynamodbav:"agent"`
}

// ErrAgentBusy refuses an automatic assignment: the agent is away, at capacity, or (for a
// rule's guard) took other conversations since their workload was read.
var ErrAgentBusy = errors.New("store: agent away, at capacity or assigned meanwhile")

// AgentBusyError is ErrAgentBusy with the agent's workload as the refused write found it.
type AgentBusyError struct{ Workload inbox.Workload }

func (e *AgentBusyError) Error() string {
	return fmt.Sprintf("%v: %s (available %v, %d open of %d)", ErrAgentBusy, e.Workload.UserID, e.Workload.Available, e.Workload.Open, e.Workload.MaxOpen)
}

func (e *AgentBusyError) Unwrap() error { return ErrAgentBusy }

// Assignment is what an automatic assignment writes and requires of its agent (AutoAssign).
type Assignment struct {
	// Agent takes the conversation; "" returns it to the shared inbox (nothing is required).
	Agent string
	// At is recorded as the agent's last automatic assignment (round-robin turns).
	At time.Time
	// Guards against choices made at the same time on the same reading, both optional: the
	// agent holds at most OpenAtMost open conversations; the agent's last automatic
	// assignment is still LastAt (zero: none yet).
	OpenAtMost *int
	LastAt     *time.Time
}

type autoAssignment struct {
	Assignment
	events []*inbox.Event
}

// AutoAssign changes a conversation's assignee as the assignment rules decide. fn checks that
// the conversation still waits for this decision, changes it (leaving to.Agent its holder) and
// returns the event that records it (V7). The conversation, the event, both agents' open
// counts and the contact's last agent are written in one transaction, which requires to.Agent
// to be available and under capacity at that instant (and the guards to hold): otherwise
// nothing is written and the error is an *AgentBusyError. Errors of fn are returned as they
// are; ErrNoChange from fn returns the conversation unchanged.
func (s *Store) AutoAssign(ctx context.Context, org, id string, to Assignment, fn func(c *inbox.Conversation) (*inbox.Event, error)) (*inbox.Conversation, error) {
	auto := &autoAssignment{Assignment: to}
	return s.updateConversation(ctx, org, id, nil, func(c *inbox.Conversation) error {
		ev, err := fn(c)
		if err != nil {
			return err
		}
		if c.Holder() != to.Agent {
			return fmt.Errorf("store: automatic assignment to %q left the conversation with %q", to.Agent, c.Holder())
		}
		auto.events = nil
		if ev != nil {
			ev.ConversationID = c.ID
			auto.events = []*inbox.Event{ev}
		}
		return nil
	}, auto)
}

// writeAssignment writes a conversation whose holder changed from held (or an automatic
// assignment) in one transaction with what follows from it: the new holder's open count goes
// up (checked against availability and capacity when automatic), the old holder's down, the
// contact's last agent is the new holder, and the automatic assignment's event is stored.
func (s *Store) writeAssignment(ctx context.Context, c *inbox.Conversation, held string, item map[string]types.AttributeValue,
	cond string, vals map[string]types.AttributeValue, old, now indexKeys, auto *autoAssignment) error {
	tbl := aws.String(s.table)
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: tbl, Item: item, ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}}}
	counted := []countedWrite{{old: old, now: now}}
	n := func(v int) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }
	gainIdx := -1
	if h := c.Holder(); h != held && h != "" {
		up := &types.Update{
			TableName: tbl, Key: key(loadPK(c.OrgID, h), skLoad),
			UpdateExpression:          aws.String("ADD #o :one"),
			ExpressionAttributeNames:  map[string]string{"#o": "open"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
		}
		if auto != nil && auto.Agent == h {
			up.UpdateExpression = aws.String("ADD #o :one SET lat = :at")
			up.ExpressionAttributeValues[":at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(ms(auto.At))}
			up.ExpressionAttributeValues[":t"] = &types.AttributeValueMemberBOOL{Value: true}
			up.ExpressionAttributeValues[":z"] = n(0)
			c := "avail = :t AND (mx = :z OR attribute_not_exists(#o) OR #o < mx)"
			if auto.OpenAtMost != nil {
				c += " AND (attribute_not_exists(#o) OR #o <= :most)"
				up.ExpressionAttributeValues[":most"] = n(*auto.OpenAtMost)
			}
			if auto.LastAt != nil {
				if auto.LastAt.IsZero() {
					c += " AND attribute_not_exists(lat)"
				} else {
					c += " AND lat = :last"
					up.ExpressionAttributeValues[":last"] = &types.AttributeValueMemberN{Value: fmt.Sprint(ms(*auto.LastAt))}
				}
			}
			up.ConditionExpression = aws.String(c)
			up.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
			gainIdx = len(items)
		}
		items = append(items, types.TransactWriteItem{Update: up})
		counted = append(counted, countedWrite{now: indexKeys{PK: loadPK(c.OrgID, h)}})
		last, err := attributevalue.MarshalMap(lastAgentItem{PK: contactPK(c.OrgID, c.Contact.WaID), SK: skLastAgent, Type: "lastagent", Agent: h})
		if err != nil {
			return fmt.Errorf("encode last agent: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: tbl, Item: last}})
		counted = append(counted, countedWrite{now: indexKeys{PK: contactPK(c.OrgID, c.Contact.WaID)}})
	}
	if held != "" && held != c.Holder() {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: tbl, Key: key(loadPK(c.OrgID, held), skLoad),
			UpdateExpression:          aws.String("ADD #o :minus"),
			ExpressionAttributeNames:  map[string]string{"#o": "open"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": n(-1)},
		}})
		counted = append(counted, countedWrite{now: indexKeys{PK: loadPK(c.OrgID, held)}})
	}
	if auto != nil {
		for _, e := range auto.events {
			ev, err := attributevalue.MarshalMap(eventItem(e))
			if err != nil {
				return fmt.Errorf("encode event: %w", err)
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: tbl, Item: ev}})
			counted = append(counted, countedWrite{now: indexKeys{PK: convPK(e.ConversationID)}})
		}
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return &types.ConditionalCheckFailedException{Message: aws.String("conversation version")}
		}
		if gainIdx >= 0 && gainIdx < len(reasons) && aws.ToString(reasons[gainIdx].Code) == "ConditionalCheckFailed" {
			var it loadItem
			if err := attributevalue.UnmarshalMap(reasons[gainIdx].Item, &it); err != nil {
				return fmt.Errorf("decode workload: %w", err)
			}
			return &AgentBusyError{Workload: it.workload(c.Holder())}
		}
		return err // TransactionConflict and the like: retried
	}
	if err != nil {
		return err
	}
	var units float64
	for _, cc := range out.ConsumedCapacity {
		units += aws.ToFloat64(cc.CapacityUnits)
	}
	for i, k := range counted {
		var cc *types.ConsumedCapacity
		if i == 0 {
			cc = &types.ConsumedCapacity{CapacityUnits: aws.Float64(units)}
		}
		s.count(k.old, k.now, cc)
	}
	return nil
}

// isTransactionConflict reports a write that met a transaction in progress on one of its
// items (or a transaction cancelled by another's): trying again is all it takes.
func isTransactionConflict(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// transact runs a transaction that writes a workload item, trying again while it conflicts
// with another transaction in flight on the same items (an assignment of the same agent).
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.db.TransactWriteItems(ctx, in)
		if !isTransactionConflict(err) || attempt == 5 {
			return out, err
		}
		if err := jitter(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// jitter waits before another attempt of a contended write: growing, randomized, so writers
// that collided do not collide again in step.
func jitter(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 5))*int64(8*time.Millisecond)) + int64(time.Millisecond))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Workloads reads the workloads of users of org (strongly consistent), one BatchGetItem call
// per 100. A user without a load item is away, with nothing open.
func (s *Store) Workloads(ctx context.Context, org string, users []string) (map[string]inbox.Workload, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(users))
	out := make(map[string]inbox.Workload, len(users))
	for _, u := range users {
		if _, dup := out[u]; !dup {
			out[u] = inbox.Workload{UserID: u}
			keys = append(keys, key(loadPK(org, u), skLoad))
		}
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	prefix := loadPK(org, "")
	for _, raw := range items {
		var it loadItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode workload: %w", err)
		}
		u := it.PK[len(prefix):]
		out[u] = it.workload(u)
	}
	return out, nil
}

// Workload reads one agent's workload; consistent asks for a strongly consistent read.
func (s *Store) Workload(ctx context.Context, org, user string, consistent bool) (inbox.Workload, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(loadPK(org, user), skLoad), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("workload of %s: %w", user, err)
	}
	var it loadItem
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return inbox.Workload{}, fmt.Errorf("decode workload: %w", err)
		}
	}
	return it.workload(user), nil
}

// availabilityUpdate sets availability and capacity on a load item, leaving its count alone.
func (s *Store) availabilityUpdate(org, user string, available bool, maxOpen int) *types.Update {
	return &types.Update{
		TableName: aws.String(s.table), Key: key(loadPK(org, user), skLoad),
		UpdateExpression:         aws.String("SET avail = :a, mx = :m, #t = :type"),
		ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":a": &types.AttributeValueMemberBOOL{Value: available}, ":m": &types.AttributeValueMemberN{Value: fmt.Sprint(maxOpen)},
			":type": &types.AttributeValueMemberS{Value: "load"},
		},
	}
}

// SetAvailability sets whether a user of org takes conversations and how many at most (0: no
// limit), on the user and on their workload, in one transaction. A user that does not exist
// is ErrNotFound. It returns the workload as it is afterwards.
func (s *Store) SetAvailability(ctx context.Context, org, user string, available bool, maxOpen int) (inbox.Workload, error) {
	_, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName: aws.String(s.table), Key: key(orgPK(org), userSK(user)),
				UpdateExpression:         aws.String("SET avail = :a, #m = :m"),
				ConditionExpression:      aws.String("attribute_exists(PK)"),
				ExpressionAttributeNames: map[string]string{"#m": "max"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":a": &types.AttributeValueMemberBOOL{Value: available}, ":m": &types.AttributeValueMemberN{Value: fmt.Sprint(maxOpen)},
				},
			}},
			{Update: s.availabilityUpdate(org, user, available, maxOpen)},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return inbox.Workload{}, ErrNotFound
	}
	if err != nil {
		return inbox.Workload{}, fmt.Errorf("set availability of %s: %w", user, err)
	}
	s.count(indexKeys{}, indexKeys{PK: orgPK(org)}, nil)
	s.count(indexKeys{}, indexKeys{PK: loadPK(org, user)}, nil)
	return s.Workload(ctx, org, user, true)
}

// LastAgent is the agent who last held a conversation of the contact wa of org ("" if none).
func (s *Store) LastAgent(ctx context.Context, org, wa string) (string, error) {
	raw, err := s.get(ctx, contactPK(org, wa), skLastAgent)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var it lastAgentItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return "", fmt.Errorf("decode last agent: %w", err)
	}
	return it.Agent, nil
}

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
