package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// ConnectionTTL is how long a connection item lives: API Gateway closes a WebSocket after 2
// hours, so an item whose $disconnect never ran goes away by itself.
const ConnectionTTL = 2 * time.Hour

// Connection is one WebSocket connection of a user.
type Connection struct {
	ID          string
	OrgID       string
	UserID      string
	UserName    string
	Admin       bool
	Departments []string // at connect time: where its department items are
	Watching    string   // the conversation the client subscribed to (typing, presence), if any
	ConnectedAt time.Time
}

// connectionItem is a connection in its user's partition; dept and admin items point to it.
type connectionItem struct {
	PK       string   `dynamodbav:"PK"`
	SK       string   `dynamodbav:"SK"`
	Type     string   `dynamodbav:"type"`
	Conn     string   `dynamodbav:"conn"`
	Org      string   `dynamodbav:"org"`
	User     string   `dynamodbav:"user"`
	Name     string   `dynamodbav:"name,omitempty"`
	Admin    bool     `dynamodbav:"adm,omitempty"`
	Depts    []string `dynamodbav:"depts,omitempty"`
	Watching string   `dynamodbav:"watch,omitempty"`
	At       int64    `dynamodbav:"at"`
	TTL      int64    `dynamodbav:"ttl"`
}

func (it *connectionItem) connection() *Connection {
	return &Connection{ID: it.Conn, OrgID: it.Org, UserID: it.User, UserName: it.Name, Admin: it.Admin,
		Departments: it.Depts, Watching: it.Watching, ConnectedAt: fromMS(it.At)}
}

// connectionKeys are every item of c: its own, then one per department, then the admins'.
func connectionKeys(c *Connection) [][2]string {
	keys := [][2]string{{wsUserPK(c.OrgID, c.UserID), c.ID}}
	for _, d := range c.Departments {
		keys = append(keys, [2]string{wsDeptPK(c.OrgID, d), c.ID})
	}
	if c.Admin {
		keys = append(keys, [2]string{wsAdminPK(c.OrgID), c.ID})
	}
	return keys
}

// NewConnection is the connection id of user u, connected at now.
func NewConnection(id string, u *inbox.User, now time.Time) *Connection {
	c := &Connection{ID: id, OrgID: u.OrgID, UserID: u.ID, UserName: u.Name, Admin: u.Role == inbox.RoleAdmin, ConnectedAt: now}
	if u.Role == inbox.RoleAgent {
		c.Departments = u.Departments
	}
	return c
}

// PutConnection writes c's items: in its user's partition, and in each department's and the
// admins' where it belongs.
func (s *Store) PutConnection(ctx context.Context, c *Connection) error {
	ttl := c.ConnectedAt.Add(ConnectionTTL).Unix()
	var reqs []types.WriteRequest
	for i, k := range connectionKeys(c) {
		it := connectionItem{PK: k[0], SK: k[1], Type: "ws", Conn: c.ID, Org: c.OrgID, User: c.UserID, At: ms(c.ConnectedAt), TTL: ttl}
		if i == 0 {
			it.Name, it.Admin, it.Depts, it.Watching = c.UserName, c.Admin, c.Departments, c.Watching
		}
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return fmt.Errorf("encode connection: %w", err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.batchWrite(ctx, reqs, nil)
}

// DeleteConnection deletes every item of connection id of user; a connection already gone is
// no error.
func (s *Store) DeleteConnection(ctx context.Context, org, user, id string) error {
	raw, err := s.get(ctx, wsUserPK(org, user), id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var it connectionItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return fmt.Errorf("decode connection: %w", err)
	}
	var reqs []types.WriteRequest
	for _, k := range connectionKeys(it.connection()) {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(k[0], k[1])}})
	}
	return s.batchWrite(ctx, reqs, nil)
}

// Watch records the conversation connection id of user is viewing ("" for none).
func (s *Store) Watch(ctx context.Context, org, user, id, conv string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(wsUserPK(org, user), id),
		UpdateExpression:          aws.String("SET #w = :w"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames:  map[string]string{"#w": "watch"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":w": &types.AttributeValueMemberS{Value: conv}},
	})
	if isConditionFailed(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", conv, err)
	}
	return nil
}

// Connection reads connection id of user.
func (s *Store) Connection(ctx context.Context, org, user, id string) (*Connection, error) {
	raw, err := s.get(ctx, wsUserPK(org, user), id)
	if err != nil {
		return nil, err
	}
	var it connectionItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode connection: %w", err)
	}
	return it.connection(), nil
}

// Audience names whose connections to read: the organization's admins, the members of a
// department, and some users (the assignee, collaborators).
type Audience struct {
	OrgID      string
	Department string
	Users      []string
}

// ConnectionRef is a connection found for an audience: whose it is.
type ConnectionRef struct {
	ID     string
	UserID string
}

// Connections reads the connections of an audience: one Query per partition (admins,
// department, each user), expired items left out. A connection appears once.
func (s *Store) Connections(ctx context.Context, a Audience, now time.Time) ([]ConnectionRef, error) {
	pks := []string{wsAdminPK(a.OrgID)}
	if a.Department != "" {
		pks = append(pks, wsDeptPK(a.OrgID, a.Department))
	}
	for _, u := range a.Users {
		if u != "" {
			pks = append(pks, wsUserPK(a.OrgID, u))
		}
	}
	seen := map[string]bool{}
	var out []ConnectionRef
	for _, pk := range pks {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("PK = :pk"),
			FilterExpression:          aws.String("#t > :now"), // TTL deletes within days, not at once
			ProjectionExpression:      aws.String("conn, #u"),
			ExpressionAttributeNames:  map[string]string{"#t": "ttl", "#u": "user"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}, ":now": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Unix())}},
		}
		p := dynamodb.NewQueryPaginator(s.db, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query connections %s: %w", pk, err)
			}
			for _, raw := range page.Items {
				var it connectionItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, fmt.Errorf("decode connection: %w", err)
				}
				if !seen[it.Conn] {
					seen[it.Conn] = true
					out = append(out, ConnectionRef{ID: it.Conn, UserID: it.User})
				}
			}
		}
	}
	return out, nil
}

// UserConnections reads every connection of some users of org, with what they watch.
func (s *Store) UserConnections(ctx context.Context, org string, users []string, now time.Time) ([]*Connection, error) {
	var out []*Connection
	for _, u := range users {
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("PK = :pk"),
			FilterExpression:          aws.String("#t > :now"),
			ExpressionAttributeNames:  map[string]string{"#t": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: wsUserPK(org, u)}, ":now": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Unix())}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query connections of %s: %w", u, err)
			}
			for _, raw := range page.Items {
				var it connectionItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, fmt.Errorf("decode connection: %w", err)
				}
				out = append(out, it.connection())
			}
		}
	}
	return out, nil
}

// Users reads some users of org in BatchGetItem calls; a user who does not exist is left out.
func (s *Store) Users(ctx context.Context, org string, ids []string) (map[string]*inbox.User, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(orgPK(org), userSK(id))
	}
	// Eventually consistent: half the price, and a change reaches the next fan-out in a second.
	items, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	out := make(map[string]*inbox.User, len(items))
	for _, raw := range items {
		var it userItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode user: %w", err)
		}
		out[it.ID] = it.user()
	}
	return out, nil
}

// Image is a table item from the stream, decoded: at most one field is set (none for an item
// the realtime fan-out ignores).
type Image struct {
	Conversation *inbox.Conversation
	Message      *inbox.Message
	Event        *inbox.Event
}

// DecodeImage decodes a stream image of the table.
func DecodeImage(item map[string]types.AttributeValue) (Image, error) {
	var probe struct {
		Type string `dynamodbav:"type"`
		Kind string `dynamodbav:"kind"`
	}
	if err := attributevalue.UnmarshalMap(item, &probe); err != nil {
		return Image{}, fmt.Errorf("decode image: %w", err)
	}
	switch probe.Type {
	case "conversation":
		var it conversationItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return Image{}, fmt.Errorf("decode conversation image: %w", err)
		}
		return Image{Conversation: it.conversation()}, nil
	case "thread":
		var it threadItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return Image{}, fmt.Errorf("decode thread image: %w", err)
		}
		if it.Kind == "evt" {
			return Image{Event: &inbox.Event{ID: it.ID, ConversationID: it.Conv, Type: inbox.EventType(it.EventType),
				ActorID: it.Actor, At: fromMS(it.At), Details: it.Details}}, nil
		}
		return Image{Message: it.message()}, nil
	}
	return Image{}, nil
}

// ConversationsByID reads conversations by id alone (a stream record of a message knows no
// organization), eventually consistent; a missing one is left out.
func (s *Store) ConversationsByID(ctx context.Context, ids []string) (map[string]*inbox.Conversation, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(convPK(id), skConversation)
	}
	items, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return nil, fmt.Errorf("read conversations: %w", err)
	}
	out := make(map[string]*inbox.Conversation, len(items))
	for _, raw := range items {
		var it conversationItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("decode conversation: %w", err)
		}
		out[it.ID] = it.conversation()
	}
	return out, nil
}

// Readers returns how many customer messages of conversation convID each user who marked it
// read has seen (absent: none): one Query of the markers' key range in the conversation's
// partition, cheaper than a BatchGetItem per user (each read of a missing key costs a unit).
func (s *Store) Readers(ctx context.Context, convID string) (map[string]int, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: convPK(convID)},
			":r":  &types.AttributeValueMemberS{Value: readSK("")},
		},
	})
	seen := map[string]int{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read markers of %s: %w", convID, err)
		}
		for _, raw := range page.Items {
			var it readItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode read marker: %w", err)
			}
			seen[strings.TrimPrefix(it.SK, readSK(""))] = it.Seen
		}
	}
	return seen, nil
}
