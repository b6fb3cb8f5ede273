package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	}, auto, nil)
}

// writeAssignment writes a conversation whose holder changed from held (or an automatic
// assignment) in one transaction with what follows from it: the new holder's open count goes
// up (checked against availability and capacity when automatic), the old holder's down, the
// contact's last agent is the new holder, and the automatic assignment's event is stored.
// conv is the conversation's write (its item, with the index keys it had), first in the
// transaction.
func (s *Store) writeAssignment(ctx context.Context, c *inbox.Conversation, held string, conv *txn, auto *autoAssignment) error {
	t := conv
	gainIdx := -1
	if h := c.Holder(); h != held && h != "" {
		up := t.update(workloadPK(c.OrgID, h), skWorkload, "ADD #o :one", "", map[string]string{"#o": "open"},
			map[string]types.AttributeValue{":one": num(1)})
		if auto != nil && auto.Agent == h {
			up.UpdateExpression = aws.String("ADD #o :one SET lat = :at")
			up.ExpressionAttributeValues[":at"] = num(ms(auto.At))
			up.ExpressionAttributeValues[":t"] = boolean(true)
			up.ExpressionAttributeValues[":z"] = num(0)
			cond := "avail = :t AND (mx = :z OR attribute_not_exists(#o) OR #o < mx)"
			if auto.OpenAtMost != nil {
				cond += " AND (attribute_not_exists(#o) OR #o <= :most)"
				up.ExpressionAttributeValues[":most"] = num(*auto.OpenAtMost)
			}
			if auto.LastAt != nil {
				if auto.LastAt.IsZero() {
					cond += " AND attribute_not_exists(lat)"
				} else {
					cond += " AND lat = :last"
					up.ExpressionAttributeValues[":last"] = num(ms(*auto.LastAt))
				}
			}
			up.ConditionExpression = aws.String(cond)
			up.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
			gainIdx = len(t.items) - 1
		}
		if err := t.put(lastAgentItem{PK: contactPK(c.OrgID, c.Contact.WaID), SK: skLastAgent, Type: "lastagent", Agent: h}, indexKeys{}, "", nil); err != nil {
			return err
		}
	}
	if held != "" && held != c.Holder() {
		t.update(workloadPK(c.OrgID, held), skWorkload, "ADD #o :minus", "", map[string]string{"#o": "open"},
			map[string]types.AttributeValue{":minus": num(-1)})
	}
	if auto != nil {
		for _, e := range auto.events {
			if err := t.put(eventItem(e), indexKeys{}, "", nil); err != nil {
				return err
			}
		}
	}
	// One attempt: a conflict goes back to updateConversation, which reads the conversation
	// again before it tries.
	err := s.commitConversation(ctx, t)
	if code, item := cancelReason(err, gainIdx); code == "ConditionalCheckFailed" {
		it, err := decode[workloadItem](item)
		if err != nil {
			return err
		}
		return &AgentBusyError{Workload: it.workload(c.Holder())}
	}
	return err // TransactionConflict and the like: retried
}

// LastAgent is the agent who last held a conversation of the contact wa of org ("" if none).
func (s *Store) LastAgent(ctx context.Context, org, wa string) (string, error) {
	it, err := getItem[lastAgentItem](ctx, s, contactPK(org, wa), skLastAgent)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return it.Agent, nil
}
