package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// conversationItem is a conversation as stored. It stays under 1 KB so that each write,
// and each index copy, costs one write unit.
type conversationItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK string `dynamodbav:"GSI4SK,omitempty"`
	GSI5PK string `dynamodbav:"GSI5PK,omitempty"`
	GSI5SK string `dynamodbav:"GSI5SK,omitempty"`
	Type   string `dynamodbav:"type"`

	ID           string   `dynamodbav:"id"`
	Org          string   `dynamodbav:"org"`
	Line         string   `dynamodbav:"line"`
	WaID         string   `dynamodbav:"wa"`
	Name         string   `dynamodbav:"name,omitempty"`
	PName        string   `dynamodbav:"pname,omitempty"` // only when an agent named the contact: else it is name
	Named        bool     `dynamodbav:"named,omitempty"`
	Status       string   `dynamodbav:"st"`
	Dept         string   `dynamodbav:"dept,omitempty"`
	Assignee     string   `dynamodbav:"asg,omitempty"`
	Cycle        int      `dynamodbav:"cyc"`
	Labels       []string `dynamodbav:"lbl,omitempty,stringset"`
	Collab       []string `dynamodbav:"col,omitempty,stringset"`
	Created      int64    `dynamodbav:"cat"`
	LastActivity int64    `dynamodbav:"lat"`
	LastInbound  int64    `dynamodbav:"lin,omitempty"`
	Window       int64    `dynamodbav:"win,omitempty"`
	WindowOpened int64    `dynamodbav:"wo,omitempty"`
	Unread       int      `dynamodbav:"unr"`
	Inbound      int      `dynamodbav:"ic,omitempty"`
	PText        string   `dynamodbav:"pt,omitempty"`
	PDir         string   `dynamodbav:"pd,omitempty"`
	PType        string   `dynamodbav:"py,omitempty"`
	PAt          int64    `dynamodbav:"pa,omitempty"`
	Closed       int64    `dynamodbav:"cl,omitempty"`
	Reason       string   `dynamodbav:"rsn,omitempty"`
	Rule         string   `dynamodbav:"rule,omitempty"`
	Applied      string   `dynamodbav:"app,omitempty"`
	Version      int      `dynamodbav:"v"`
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func toConversationItem(c *inbox.Conversation) conversationItem {
	it := conversationItem{
		PK: convPK(c.ID), SK: skConversation, Type: "conversation",
		ID: c.ID, Org: c.OrgID, Line: c.LineID, WaID: c.Contact.WaID, Name: inbox.ClipName(c.Contact.Name),
		Status: string(c.Status), Dept: c.DepartmentID, Assignee: c.AssigneeID, Cycle: c.Cycle,
		Labels: c.Labels, Collab: c.Collaborators, Created: ms(c.CreatedAt), LastActivity: ms(c.LastActivityAt),
		LastInbound: ms(c.LastInboundAt), Window: ms(c.WindowExpiresAt), WindowOpened: ms(c.WindowOpenedAt), Unread: c.UnreadCount,
		Inbound: c.InboundCount, PText: c.Preview.Text, PDir: string(c.Preview.Direction), PType: c.Preview.Type, PAt: ms(c.Preview.At),
		Closed: ms(c.ClosedAt), Reason: c.CloseReason, Rule: c.RouteRule, Applied: c.LastAppliedID,
		Version: c.Version,
	}
	if c.Contact.Named {
		it.PName, it.Named = inbox.ClipName(c.Contact.ProfileName), true
	}
	if len(it.Labels) == 0 {
		it.Labels = nil // an empty set is not a DynamoDB value
	}
	if len(it.Collab) == 0 {
		it.Collab = nil
	}
	sk := activitySK(c.LastActivityAt, c.ID)
	it.GSI1PK, it.GSI1SK = queuePK(c.OrgID, c.DepartmentID, string(c.Status), c.AssigneeID != "", shardOf(c.ID)), sk
	if c.AssigneeID != "" {
		it.GSI2PK, it.GSI2SK = assigneePK(c.OrgID, c.AssigneeID, string(c.Status)), sk
	}
	if c.Status == inbox.StatusOpen && !c.WindowExpiresAt.IsZero() {
		it.GSI4PK, it.GSI4SK = windowPK(c.WindowExpiresAt, shardOf(c.ID)), c.ID
	}
	if c.Waiting() {
		it.GSI5PK, it.GSI5SK = waitPK(c.OrgID, c.DepartmentID, shardOf(c.ID)), waitSK(c.LastActivityAt, c.ID)
	}
	return it
}

func (it *conversationItem) conversation() *inbox.Conversation {
	c := &inbox.Conversation{
		ID: it.ID, OrgID: it.Org, LineID: it.Line,
		Contact: inbox.ContactRef{WaID: it.WaID, Name: it.Name, ProfileName: it.PName, Named: it.Named},
		Status:  inbox.ConversationStatus(it.Status), DepartmentID: it.Dept, AssigneeID: it.Assignee,
		Cycle: it.Cycle, Labels: it.Labels, Collaborators: sorted(it.Collab), CreatedAt: fromMS(it.Created), LastActivityAt: fromMS(it.LastActivity),
		LastInboundAt: fromMS(it.LastInbound), WindowExpiresAt: fromMS(it.Window), WindowOpenedAt: fromMS(it.WindowOpened), UnreadCount: it.Unread,
		InboundCount: it.Inbound, Preview: inbox.Preview{Text: it.PText, Direction: inbox.Direction(it.PDir), Type: it.PType, At: fromMS(it.PAt)},
		ClosedAt: fromMS(it.Closed), CloseReason: it.Reason, RouteRule: it.Rule, LastAppliedID: it.Applied,
		Version: it.Version,
	}
	if !it.Named {
		c.Contact.ProfileName = it.Name
	}
	return c
}

// Conversation reads one conversation of org. A conversation of another organization is
// ErrNotFound, as if it did not exist.
func (s *Store) Conversation(ctx context.Context, org, id string) (*inbox.Conversation, error) {
	c, _, err := s.conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.OrgID != org {
		return nil, notFound("conversation")
	}
	return c, nil
}

func conversationKey(id string) (pk, sk string) { return convPK(id), skConversation }

func (s *Store) conversation(ctx context.Context, id string) (*inbox.Conversation, indexKeys, error) {
	raw, err := s.get(ctx, convPK(id), skConversation)
	if err != nil {
		return nil, indexKeys{}, err
	}
	it, err := decode[conversationItem](raw)
	if err != nil {
		return nil, indexKeys{}, err
	}
	return it.conversation(), keysOf(raw), nil
}

// UpdateFunc changes a conversation in memory. Returning ErrNoChange skips the write.
type UpdateFunc func(c *inbox.Conversation) error

// ErrNoChange tells UpdateConversation that the update function changed nothing.
var ErrNoChange = errors.New("store: no change")

// UpdateConversation reads conversation id of org, applies fn and writes the result only if
// nobody wrote in between (a version check); on a concurrent write it reads again and retries
// fn, a few times. create, when not nil, makes the conversation if it does not exist yet. The
// conversation as written (or as read, on ErrNoChange) is returned.
//
// A write that changes who holds the conversation (its assignee while it is open) also moves
// the open count of both agents' workloads and records the contact's last agent, in one
// transaction with the conversation: the counts stay exact whichever path assigns, returns,
// transfers or closes.
func (s *Store) UpdateConversation(ctx context.Context, org, id string, create func() *inbox.Conversation, fn UpdateFunc) (*inbox.Conversation, error) {
	return s.updateConversation(ctx, org, id, create, fn, nil, nil)
}

// UpdateConversationUnless is UpdateConversation for a message about to be stored: its first
// read fetches the conversation and the thread item k in one request (a BatchGetItem, strongly
// consistent), and when k is already stored it returns ErrExists and changes nothing. The
// inbound path writes the message last, so its presence means the whole message was applied:
// one round trip tells a provider's retry from a new message and reads what the update needs.
func (s *Store) UpdateConversationUnless(ctx context.Context, org, id string, k MessageKey, create func() *inbox.Conversation, fn UpdateFunc) (*inbox.Conversation, error) {
	return s.updateConversation(ctx, org, id, create, fn, nil, &k)
}

// conversationUnless reads conversation id and, in the same request, whether the thread item
// k exists (ErrExists when it does).
func (s *Store) conversationUnless(ctx context.Context, id string, k MessageKey) (*inbox.Conversation, indexKeys, error) {
	if k.ConversationID != id {
		return nil, indexKeys{}, fmt.Errorf("message %s is not of conversation %s", k.SK, id)
	}
	raws, err := s.batchGet(ctx, []map[string]types.AttributeValue{key(conversationKey(id)), key(convPK(id), k.SK)}, true)
	if err != nil {
		return nil, indexKeys{}, fmt.Errorf("read conversation %s: %w", id, err)
	}
	var conv map[string]types.AttributeValue
	for _, raw := range raws {
		sk, _ := raw["SK"].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		switch sk.Value {
		case k.SK:
			return nil, indexKeys{}, ErrExists
		case skConversation:
			conv = raw
		}
	}
	if conv == nil {
		return nil, indexKeys{}, notFound("conversation")
	}
	it, err := decode[conversationItem](conv)
	if err != nil {
		return nil, indexKeys{}, err
	}
	return it.conversation(), keysOf(conv), nil
}

func (s *Store) updateConversation(ctx context.Context, org, id string, create func() *inbox.Conversation, fn UpdateFunc, auto *autoAssignment, unless *MessageKey) (*inbox.Conversation, error) {
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			if err := jitter(ctx, attempt); err != nil {
				return nil, err
			}
		}
		var (
			c   *inbox.Conversation
			old indexKeys
			err error
		)
		if unless != nil && attempt == 0 {
			// Later attempts follow a concurrent write of the conversation, not of the
			// message: the conversation alone is read again.
			c, old, err = s.conversationUnless(ctx, id, *unless)
		} else {
			c, old, err = s.conversation(ctx, id)
		}
		switch {
		case errors.Is(err, ErrExists):
			return nil, err
		case errors.Is(err, ErrNotFound) && create != nil:
			c = create()
		case err != nil:
			return nil, err
		case c.OrgID != org:
			return nil, notFound("conversation")
		}
		held, collab := c.Holder(), slices.Clone(c.Collaborators)
		if err := fn(c); err != nil {
			if errors.Is(err, ErrNoChange) {
				return c, nil
			}
			return c, err
		}
		prev := c.Version
		c.Version++
		it := toConversationItem(c)
		if it.GSI5PK != "" && it.GSI5PK == old.GSI5 {
			it.GSI5SK = old.waitSK // still waiting in the same shared inbox: it keeps its place
		}
		cond, vals := "attribute_not_exists(PK)", map[string]types.AttributeValue(nil)
		if prev != 0 {
			cond, vals = "v = :v", map[string]types.AttributeValue{":v": num(prev)}
		}
		collabChanged := !sameSet(collab, c.Collaborators)
		if c.Holder() != held || auto != nil || collabChanged {
			t := s.txn()
			if err := t.put(it, old, cond, vals); err != nil {
				return nil, err
			}
			if err := collaborationWrites(t, c, collab); err != nil {
				return nil, err
			}
			if c.Holder() != held || auto != nil {
				err = s.writeAssignment(ctx, c, held, t, auto)
			} else {
				err = s.commitConversation(ctx, t)
			}
		} else {
			err = s.putOver(ctx, it, old, cond, nil, vals)
		}
		if errors.Is(err, ErrExists) || isConditionFailed(err) || isTransactionConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("write conversation %s: %w", id, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("conversation %s: %w", id, ErrConflict)
}

// commitConversation runs a transaction whose first write is a conversation's, once: a
// failed version check is reported as one, for updateConversation to read again.
func (s *Store) commitConversation(ctx context.Context, t *txn) error {
	err := s.commit(ctx, t, 1)
	if code, _ := cancelReason(err, 0); code == "ConditionalCheckFailed" {
		return &types.ConditionalCheckFailedException{Message: aws.String("conversation version")}
	}
	return err
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// sorted is a string set as read, in a stable order.
func sorted(set []string) []string {
	slices.Sort(set)
	return set
}

// ImportConversations writes conversations as they are, 25 per BatchWriteItem call, 8 calls at
// a time, overwriting what is there: for bulk imports and benchmarks, not for live changes
// (no version check).
func (s *Store) ImportConversations(ctx context.Context, convs []*inbox.Conversation) error {
	reqs := make([]types.WriteRequest, len(convs))
	counted := make([]countedWrite, len(convs))
	for i, c := range convs {
		if c.Version == 0 {
			c.Version = 1
		}
		item, err := marshal(toConversationItem(c))
		if err != nil {
			return err
		}
		reqs[i], counted[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}, countedWrite{now: keysOf(item)}
	}
	_, err := parallel((len(reqs)+24)/25, 8, func(i int) (struct{}, error) {
		lo, hi := i*25, min((i+1)*25, len(reqs))
		return struct{}{}, s.batchWrite(ctx, reqs[lo:hi], counted[lo:hi])
	})
	if err != nil {
		return fmt.Errorf("import conversations: %w", err)
	}
	return nil
}

// Conversations reads conversations of org by id, one BatchGetItem call per 100 (eventually
// consistent, as list views are). Ids that do not exist, or belong to another organization,
// are left out; the order is not the ids'.
func (s *Store) Conversations(ctx context.Context, org string, ids []string) ([]*inbox.Conversation, error) {
	items, err := getItems[conversationItem](ctx, s, ids, conversationKey, false)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	out := make([]*inbox.Conversation, 0, len(items))
	for _, it := range items {
		if it.Org == org {
			out = append(out, it.conversation())
		}
	}
	return out, nil
}
