package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// lastAgentItem names the agent who last held a conversation of a contact.
type lastAgentItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Type  string `dynamodbav:"type"`
	Agent string `dynamodbav:"agent"`
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
			TableName: tbl, Key: key(workloadPK(c.OrgID, h), skWorkload),
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
		counted = append(counted, countedWrite{now: indexKeys{PK: workloadPK(c.OrgID, h)}})
		last, err := attributevalue.MarshalMap(lastAgentItem{PK: contactPK(c.OrgID, c.Contact.WaID), SK: skLastAgent, Type: "lastagent", Agent: h})
		if err != nil {
			return fmt.Errorf("encode last agent: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: tbl, Item: last}})
		counted = append(counted, countedWrite{now: indexKeys{PK: contactPK(c.OrgID, c.Contact.WaID)}})
	}
	if held != "" && held != c.Holder() {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: tbl, Key: key(workloadPK(c.OrgID, held), skWorkload),
			UpdateExpression:          aws.String("ADD #o :minus"),
			ExpressionAttributeNames:  map[string]string{"#o": "open"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": n(-1)},
		}})
		counted = append(counted, countedWrite{now: indexKeys{PK: workloadPK(c.OrgID, held)}})
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
			var it workloadItem
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
