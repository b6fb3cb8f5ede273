package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
)

// threadItem is one timeline entry: a message (kind "msg") or an event (kind "evt").
type threadItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Kind string `dynamodbav:"kind"`
	ID   string `dynamodbav:"id"`
	Conv string `dynamodbav:"conv"`
	At   int64  `dynamodbav:"at"`

	// messages
	ProviderID string             `dynamodbav:"pid,omitempty"`
	Direction  string             `dynamodbav:"dir,omitempty"`
	MsgType    string             `dynamodbav:"mt,omitempty"`
	Text       string             `dynamodbav:"txt,omitempty"`
	Status     string             `dynamodbav:"st,omitempty"`
	Rank       int                `dynamodbav:"rank,omitempty"`
	Attempt    int                `dynamodbav:"att,omitempty"`
	StatusAt   map[string]int64   `dynamodbav:"sat,omitempty"`
	Error      *providerErrorAttr `dynamodbav:"err,omitempty"`
	Created    int64              `dynamodbav:"cat,omitempty"`
	Agent      string             `dynamodbav:"agent,omitempty"`
	Automatic  bool               `dynamodbav:"auto,omitempty"`
	ReplyTo    string             `dynamodbav:"re,omitempty"`
	Reactions  map[string]string  `dynamodbav:"rx,omitempty"`
	Media      *mediaAttr         `dynamodbav:"media,omitempty"`
	MoreMedia  []mediaAttr        `dynamodbav:"mmedia,omitempty"`
	Location   *locationAttr      `dynamodbav:"loc,omitempty"`
	Reply      *replyAttr         `dynamodbav:"reply,omitempty"`
	Template   *templateRefAttr   `dynamodbav:"tpl,omitempty"`
	Detail     []byte             `dynamodbav:"raw,omitempty"`

	// outbound messages not sent yet: the pending-send index (pendingSendPK)
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK string `dynamodbav:"GSI4SK,omitempty"`

	// events
	EventType string            `dynamodbav:"et,omitempty"`
	Actor     string            `dynamodbav:"actor,omitempty"`
	Details   map[string]string `dynamodbav:"det,omitempty"`
}

// The nested values of a message keep the names they were first stored under (the Go field
// names of the types they were then), empty fields included.

// mediaAttr is a message's attachment as stored.
type mediaAttr struct {
	ID       string `dynamodbav:"ID"`
	URL      string `dynamodbav:"URL"`
	MimeType string `dynamodbav:"MimeType"`
	SHA256   string `dynamodbav:"SHA256"`
	Filename string `dynamodbav:"Filename"`
	Voice    bool   `dynamodbav:"Voice"`
	Animated bool   `dynamodbav:"Animated"`
	// Where Buzón keeps its copy (shared/media); absent until the media function wrote them.
	Status string `dynamodbav:"st,omitempty"`
	Reason string `dynamodbav:"why,omitempty"`
	Key    string `dynamodbav:"key,omitempty"`
	Size   int64  `dynamodbav:"size,omitempty"`
}

// locationAttr is a shared location as stored.
type locationAttr struct {
	Latitude  float64 `dynamodbav:"Latitude"`
	Longitude float64 `dynamodbav:"Longitude"`
	Name      string  `dynamodbav:"Name"`
	Address   string  `dynamodbav:"Address"`
	URL       string  `dynamodbav:"URL"`
}

// replyAttr is an interactive reply as stored.
type replyAttr struct {
	Kind        string `dynamodbav:"Kind"`
	ID          string `dynamodbav:"ID"`
	Title       string `dynamodbav:"Title"`
	Description string `dynamodbav:"Description"`
	Payload     string `dynamodbav:"Payload"`
}

// providerErrorAttr is a delivery error as stored.
type providerErrorAttr struct {
	Code    int    `dynamodbav:"Code"`
	Title   string `dynamodbav:"Title"`
	Message string `dynamodbav:"Message"`
	Details string `dynamodbav:"Details"`
}

// templateRefAttr is the template a message was rendered from, as stored.
type templateRefAttr struct {
	Name      string            `dynamodbav:"Name"`
	Language  string            `dynamodbav:"Language"`
	Variables map[string]string `dynamodbav:"Variables"`
}

// optional converts a domain value to its stored form and back, keeping nil.
func optional[A, B any](v *A, conv func(*A) B) *B {
	if v == nil {
		return nil
	}
	b := conv(v)
	return &b
}

func toMediaAttr(m *inbox.Media) mediaAttr {
	return mediaAttr{ID: m.ID, URL: m.URL, MimeType: m.MimeType, SHA256: m.SHA256, Filename: m.Filename, Voice: m.Voice, Animated: m.Animated,
		Status: string(m.Status), Reason: m.Reason, Key: m.Key, Size: m.Size}
}

func (a *mediaAttr) media() inbox.Media {
	return inbox.Media{ID: a.ID, URL: a.URL, MimeType: a.MimeType, SHA256: a.SHA256, Filename: a.Filename, Voice: a.Voice, Animated: a.Animated,
		Status: inbox.MediaStatus(a.Status), Reason: a.Reason, Key: a.Key, Size: a.Size}
}

func toLocationAttr(l *inbox.Location) locationAttr {
	return locationAttr{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
}

func (a *locationAttr) location() inbox.Location {
	return inbox.Location{Latitude: a.Latitude, Longitude: a.Longitude, Name: a.Name, Address: a.Address, URL: a.URL}
}

func toReplyAttr(r *inbox.Reply) replyAttr {
	return replyAttr{Kind: r.Kind, ID: r.ID, Title: r.Title, Description: r.Description, Payload: r.Payload}
}

func (a *replyAttr) reply() inbox.Reply {
	return inbox.Reply{Kind: a.Kind, ID: a.ID, Title: a.Title, Description: a.Description, Payload: a.Payload}
}

func toProviderErrorAttr(e *inbox.ProviderError) providerErrorAttr {
	return providerErrorAttr{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.Details}
}

func (a *providerErrorAttr) providerError() inbox.ProviderError {
	return inbox.ProviderError{Code: a.Code, Title: a.Title, Message: a.Message, Details: a.Details}
}

func toTemplateRefAttr(t *inbox.TemplateRef) templateRefAttr {
	return templateRefAttr{Name: t.Name, Language: t.Language, Variables: t.Variables}
}

func (a *templateRefAttr) templateRef() inbox.TemplateRef {
	return inbox.TemplateRef{Name: a.Name, Language: a.Language, Variables: a.Variables}
}

// pointerItem maps a provider message id to its thread item.
type pointerItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Thread string `dynamodbav:"thread"` // SK of the thread item
}

func toMessageItem(m *inbox.Message) threadItem {
	it := threadItem{
		PK: convPK(m.ConversationID), SK: threadSK(m.At, m.ID), Type: "thread", Kind: "msg",
		ID: m.ID, Conv: m.ConversationID, At: ms(m.At),
		ProviderID: m.ProviderID, Direction: string(m.Direction), MsgType: m.Type, Text: m.Text,
		Status: string(m.Status), Rank: m.Status.Rank(), Attempt: m.Attempt, Error: optional(m.Error, toProviderErrorAttr), Created: ms(m.CreatedAt),
		Agent: m.AgentID, Automatic: m.Automatic, ReplyTo: m.ReplyTo, Reactions: m.Reactions,
		Media: optional(m.Media, toMediaAttr), Location: optional(m.Location, toLocationAttr), Reply: optional(m.Reply, toReplyAttr),
		Template: optional(m.Template, toTemplateRefAttr), Detail: m.Detail,
	}
	for i := range m.MoreMedia {
		it.MoreMedia = append(it.MoreMedia, toMediaAttr(&m.MoreMedia[i]))
	}
	if len(m.StatusAt) > 0 {
		it.StatusAt = map[string]int64{}
		for k, v := range m.StatusAt {
			it.StatusAt[string(k)] = ms(v)
		}
	}
	if m.Direction == inbox.Outbound && (m.Status == inbox.DeliveryQueued || m.Status == inbox.DeliverySending) {
		it.GSI4PK, it.GSI4SK = pendingSendPK(m.CreatedAt, shardOf(m.ConversationID)), pendingSendSK(KeyOf(m))
	}
	return it
}

func (it *threadItem) message() *inbox.Message {
	m := &inbox.Message{
		ID: it.ID, ConversationID: it.Conv, ProviderID: it.ProviderID, Direction: inbox.Direction(it.Direction),
		Type: it.MsgType, Text: it.Text, Status: inbox.DeliveryStatus(it.Status), Attempt: it.Attempt, Error: optional(it.Error, (*providerErrorAttr).providerError),
		At: fromMS(it.At), CreatedAt: fromMS(it.Created), AgentID: it.Agent, Automatic: it.Automatic,
		ReplyTo: it.ReplyTo, Reactions: it.Reactions, Media: optional(it.Media, (*mediaAttr).media),
		Location: optional(it.Location, (*locationAttr).location), Reply: optional(it.Reply, (*replyAttr).reply),
		Template: optional(it.Template, (*templateRefAttr).templateRef), Detail: it.Detail,
	}
	for i := range it.MoreMedia {
		m.MoreMedia = append(m.MoreMedia, it.MoreMedia[i].media())
	}
	if len(it.StatusAt) > 0 {
		m.StatusAt = map[inbox.DeliveryStatus]time.Time{}
		for k, v := range it.StatusAt {
			m.StatusAt[inbox.DeliveryStatus(k)] = fromMS(v)
		}
	}
	return m
}

// MessageKey is where a message lives: its conversation and thread position. The send path and
// status updates carry it instead of looking the message up.
type MessageKey struct {
	ConversationID string
	SK             string
}

// KeyOf returns the key of m.
func KeyOf(m *inbox.Message) MessageKey {
	return MessageKey{ConversationID: m.ConversationID, SK: threadSK(m.At, m.ID)}
}

// MessageExists reports whether the message is stored.
func (s *Store) MessageExists(ctx context.Context, k MessageKey) (bool, error) {
	_, err := s.get(ctx, convPK(k.ConversationID), k.SK)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PutMessage stores a message once: ErrExists if it is already there.
func (s *Store) PutMessage(ctx context.Context, m *inbox.Message) error {
	return s.put(ctx, toMessageItem(m), "attribute_not_exists(PK)", nil)
}

// Message reads one message by key.
func (s *Store) Message(ctx context.Context, k MessageKey) (*inbox.Message, error) {
	it, err := getItem[threadItem](ctx, s, convPK(k.ConversationID), k.SK)
	if err != nil {
		return nil, err
	}
	if it.Kind != "msg" {
		return nil, notFound("message")
	}
	return it.message(), nil
}

// PutPointer records that providerID is the thread item k. ErrExists if the id is already
// mapped (then Pointer tells where).
func (s *Store) PutPointer(ctx context.Context, providerID string, k MessageKey) error {
	it := pointerItem{PK: convPK(k.ConversationID), SK: pointerSK(providerID), Type: "pointer", Thread: k.SK}
	return s.put(ctx, it, "attribute_not_exists(PK)", nil)
}

// Pointer finds the thread item of a provider message id in a conversation.
func (s *Store) Pointer(ctx context.Context, convID, providerID string) (MessageKey, error) {
	it, err := getItem[pointerItem](ctx, s, convPK(convID), pointerSK(providerID))
	if err != nil {
		return MessageKey{}, err
	}
	return MessageKey{ConversationID: convID, SK: it.Thread}, nil
}

// StatusUpdate is a delivery status for an outbound message.
type StatusUpdate struct {
	Status     inbox.DeliveryStatus
	At         time.Time
	ProviderID string // set when the send path learns the provider's id
	Error      *inbox.ProviderError
}

// ApplyStatus moves a message's delivery status forward: it writes only if the new status
// ranks above the current one, so statuses applied in any order, any number of times, leave the
// same message. applied is false when the update was older news.
func (s *Store) ApplyStatus(ctx context.Context, k MessageKey, u StatusUpdate) (applied bool, err error) {
	set := "SET st = :st, #rank = :rank, sat.#s = :at"
	vals := map[string]types.AttributeValue{":st": str(string(u.Status)), ":rank": num(u.Status.Rank()), ":at": num(ms(u.At))}
	names := map[string]string{"#rank": "rank", "#s": string(u.Status)}
	if u.ProviderID != "" {
		set += ", pid = :pid"
		vals[":pid"] = str(u.ProviderID)
	}
	if u.Error != nil {
		ev, err := attributevalue.Marshal(toProviderErrorAttr(u.Error))
		if err != nil {
			return false, fmt.Errorf("encode error: %w", err)
		}
		set += ", err = :err"
		vals[":err"] = ev
	}
	// Every status above sending takes the message out of the pending-send index.
	set += " REMOVE GSI4PK, GSI4SK"
	// sat (status times) exists on every outbound message from the moment it is queued; an item
	// without it is not an outbound message and the condition refuses it.
	err = s.update(ctx, convPK(k.ConversationID), k.SK, set, "attribute_exists(PK) AND attribute_exists(sat) AND #rank < :rank", names, vals)
	if errors.Is(err, ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("apply status %s: %w", u.Status, err)
	}
	return true, nil
}

// MarkSending marks a queued outbound message "sending" by send attempt n, before the provider
// is called, so that a crash or an unanswered call leaves a trace: the next attempt finds the
// message sending and does not call the provider again blindly. It fails with ErrConflict when
// the message is neither queued nor sending, or already has a provider id.
func (s *Store) MarkSending(ctx context.Context, k MessageKey, n int, at time.Time) error {
	return s.sendState(ctx, k, "SET st = :to, att = :n, sat.#to = :at", "st IN (:queued, :to)", inbox.DeliverySending,
		map[string]types.AttributeValue{":n": num(n), ":at": num(ms(at)), ":queued": str(string(inbox.DeliveryQueued))})
}

// Requeue puts a sending message back to queued after the provider refused it for now (a
// definite answer, so sending again later cannot deliver it twice). ErrConflict when it is not
// sending any more.
func (s *Store) Requeue(ctx context.Context, k MessageKey) error {
	return s.sendState(ctx, k, "SET st = :to", "st = :sending", inbox.DeliveryQueued,
		map[string]types.AttributeValue{":sending": str(string(inbox.DeliverySending))})
}

// sendState moves an outbound message between queued and sending (one rank) under cond, never
// once it has a provider id.
func (s *Store) sendState(ctx context.Context, k MessageKey, set, cond string, to inbox.DeliveryStatus, vals map[string]types.AttributeValue) error {
	vals[":to"] = str(string(to))
	var names map[string]string
	if strings.Contains(set, "#to") {
		names = map[string]string{"#to": string(to)}
	}
	err := s.update(ctx, convPK(k.ConversationID), k.SK, set, "attribute_exists(sat) AND attribute_not_exists(pid) AND "+cond, names, vals)
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("mark %s %s: %w", k.SK, to, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("mark %s %s: %w", k.SK, to, err)
	}
	return nil
}

// LinkProvider records the provider's id of an outbound message without touching its status:
// for a status webhook that names the message by our reference while the send path never
// learnt the id (its answer was lost). Idempotent for the same id; ErrNotFound when there is
// no such message, ErrConflict when it is not outbound or has another provider id.
func (s *Store) LinkProvider(ctx context.Context, k MessageKey, providerID string) error {
	err := s.update(ctx, convPK(k.ConversationID), k.SK, "SET pid = :pid REMOVE GSI4PK, GSI4SK", // sent: no longer pending
		"attribute_exists(sat) AND (attribute_not_exists(pid) OR pid = :pid)", nil, map[string]types.AttributeValue{":pid": str(providerID)})
	if errors.Is(err, ErrExists) {
		if _, gerr := s.Message(ctx, k); errors.Is(gerr, ErrNotFound) {
			return fmt.Errorf("link %s to %s: %w", providerID, k.SK, ErrNotFound)
		}
		return fmt.Errorf("link %s to %s: %w", providerID, k.SK, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("link %s to %s: %w", providerID, k.SK, err)
	}
	return nil
}

// PendingSends lists the outbound messages written in the 10-minute bucket that starts at start
// and still in the pending-send index (not sent, not failed): one Query per shard of the
// keys-only index. The entries may lag their messages; read the message before acting.
func (s *Store) PendingSends(ctx context.Context, start time.Time) ([]MessageKey, error) {
	start = WindowBucketOf(start)
	type entry struct {
		SK string `dynamodbav:"GSI4SK"`
	}
	shards, err := parallel(queueShards, queueShards, func(sh int) ([]entry, error) {
		in := s.partition(IndexWindow, pendingSendPK(start, sh), "")
		in.ProjectionExpression = aws.String("GSI4SK")
		return queryAll[entry](ctx, s, in)
	})
	if err != nil {
		return nil, fmt.Errorf("pending sends of %s: %w", start.Format(time.RFC3339), err)
	}
	var out []MessageKey
	for _, e := range concat(shards) {
		if conv, sk, ok := strings.Cut(e.SK, "|"); ok {
			out = append(out, MessageKey{ConversationID: conv, SK: sk})
		}
	}
	return out, nil
}

// RecordStatusTime adds name to an outbound message's status times (its history) without
// touching its status: for provider statuses that are not steps on the delivery scale. Only
// the first time of a name is kept; recorded is false when it was there already.
func (s *Store) RecordStatusTime(ctx context.Context, k MessageKey, name string, at time.Time) (recorded bool, err error) {
	err = s.update(ctx, convPK(k.ConversationID), k.SK, "SET sat.#s = :at",
		"attribute_exists(sat) AND attribute_not_exists(sat.#s)", map[string]string{"#s": name}, map[string]types.AttributeValue{":at": num(ms(at))})
	if errors.Is(err, ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record status %s: %w", name, err)
	}
	return true, nil
}

// parkedItem is a status that arrived before the send path recorded its message's provider id.
type parkedItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Status []byte `dynamodbav:"status"`
	TTL    int64  `dynamodbav:"ttl"`
}

// parkTTL is how long a parked status waits for its message: as long as providers retry.
const parkTTL = 30 * 24 * time.Hour

// ParkStatus keeps a status for a message not known yet; ApplyParked applies it later.
// Parking the same status twice is harmless.
func (s *Store) ParkStatus(ctx context.Context, convID string, st *events.Status, now time.Time) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode parked status: %w", err)
	}
	return s.put(ctx, parkedItem{PK: convPK(convID), SK: parkedSK(st.MessageID, st.Status), Type: "parked",
		Status: raw, TTL: now.Add(parkTTL).Unix()}, "", nil)
}

// Parked returns the statuses parked for providerID in a conversation.
func (s *Store) Parked(ctx context.Context, convID, providerID string) ([]*events.Status, error) {
	in := s.partition("", convPK(convID), parkedPrefix(providerID))
	in.ConsistentRead = aws.Bool(true)
	items, err := queryAll[parkedItem](ctx, s, in)
	if err != nil {
		return nil, err
	}
	res := make([]*events.Status, 0, len(items))
	for _, it := range items {
		var st events.Status
		if err := json.Unmarshal(it.Status, &st); err != nil {
			return nil, fmt.Errorf("decode parked status: %w", err)
		}
		res = append(res, &st)
	}
	return res, nil
}

// PutEvent appends an event to a conversation's timeline.
func (s *Store) PutEvent(ctx context.Context, e *inbox.Event) error {
	return s.put(ctx, eventItem(e), "attribute_not_exists(PK)", nil)
}

func eventItem(e *inbox.Event) threadItem {
	return threadItem{
		PK: convPK(e.ConversationID), SK: threadSK(e.At, e.ID), Type: "thread", Kind: "evt",
		ID: e.ID, Conv: e.ConversationID, At: ms(e.At), EventType: string(e.Type), Actor: e.ActorID, Details: e.Details,
	}
}

// Entry is one item of a timeline: exactly one of Message and Event is set.
type Entry struct {
	Message *inbox.Message
	Event   *inbox.Event
}

func (it *threadItem) entry() Entry {
	if it.Kind == "evt" {
		return Entry{Event: &inbox.Event{ID: it.ID, ConversationID: it.Conv, Type: inbox.EventType(it.EventType),
			ActorID: it.Actor, At: fromMS(it.At), Details: it.Details}}
	}
	return Entry{Message: it.message()}
}

func entries(items []threadItem) []Entry {
	out := make([]Entry, len(items))
	for i := range items {
		out[i] = items[i].entry()
	}
	return out
}

// Thread reads a conversation's timeline oldest first, limit entries after the cursor.
func (s *Store) Thread(ctx context.Context, convID string, limit int, cursor string) ([]Entry, string, error) {
	in := s.partition("", convPK(convID), skThread)
	in.Limit = aws.Int32(int32(limit))
	if cursor != "" {
		in.ExclusiveStartKey = key(convPK(convID), cursor)
	}
	items, last, err := query[threadItem](ctx, s, in, onePage)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if last != nil && len(items) == limit {
		if v, ok := last["SK"].(*types.AttributeValueMemberS); ok {
			next = v.Value
		}
	}
	return entries(items), next, nil
}

// RecentThread reads the newest limit entries of a conversation's timeline, newest first.
func (s *Store) RecentThread(ctx context.Context, convID string, limit int) ([]Entry, error) {
	in := s.partition("", convPK(convID), skThread)
	in.ScanIndexForward, in.Limit, in.ConsistentRead = aws.Bool(false), aws.Int32(int32(limit)), aws.Bool(true)
	items, _, err := query[threadItem](ctx, s, in, onePage)
	if err != nil {
		return nil, err
	}
	return entries(items), nil
}

// SetReaction puts (or, with an empty emoji, removes) a customer's reaction on a message.
func (s *Store) SetReaction(ctx context.Context, k MessageKey, from, emoji string) error {
	pk := convPK(k.ConversationID)
	if _, err := s.get(ctx, pk, k.SK); err != nil {
		return err
	}
	for attempt := 0; attempt < 3; attempt++ {
		var err error
		switch {
		case emoji == "":
			err = s.update(ctx, pk, k.SK, "REMOVE rx.#f", "attribute_exists(rx)", map[string]string{"#f": from}, nil)
			if errors.Is(err, ErrExists) {
				return nil // nothing to remove
			}
		case attempt%2 == 1:
			// The message has no reactions yet: create the map.
			err = s.update(ctx, pk, k.SK, "SET rx = :m", "attribute_not_exists(rx)", nil,
				map[string]types.AttributeValue{":m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{from: str(emoji)}}})
		default:
			err = s.update(ctx, pk, k.SK, "SET rx.#f = :e", "attribute_exists(rx)", map[string]string{"#f": from},
				map[string]types.AttributeValue{":e": str(emoji)})
		}
		if errors.Is(err, ErrExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set reaction: %w", err)
		}
		return nil
	}
	return fmt.Errorf("set reaction on %s: %w", k.SK, ErrConflict)
}

// Events reads a conversation's events (its timeline without the messages), oldest first.
// The Query reads the messages too (they share the partition's key range) but returns only
// the events: a contact's history reads each of its conversations once.
func (s *Store) Events(ctx context.Context, convID string) ([]*inbox.Event, error) {
	in := s.partition("", convPK(convID), skThread)
	in.FilterExpression = aws.String("#k = :evt")
	in.ExpressionAttributeNames = map[string]string{"#k": "kind"}
	in.ExpressionAttributeValues[":evt"] = str("evt")
	items, err := queryAll[threadItem](ctx, s, in)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", convID, err)
	}
	out := make([]*inbox.Event, len(items))
	for i := range items {
		out[i] = items[i].entry().Event
	}
	return out, nil
}

// SetMedia writes what the media function learnt of a message's attachment: index 0 is the
// message's Media, index i its MoreMedia[i-1]. One UpdateItem of that attribute alone, so it
// never races the conversation's other writes to the message (statuses, reactions). A message
// or attachment that is not stored is ErrNotFound.
func (s *Store) SetMedia(ctx context.Context, k MessageKey, index int, md inbox.Media) error {
	ev, err := attributevalue.Marshal(toMediaAttr(&md))
	if err != nil {
		return fmt.Errorf("encode media: %w", err)
	}
	path, cond := "media", "attribute_exists(media)"
	vals := map[string]types.AttributeValue{":m": ev}
	if index > 0 {
		path, cond = fmt.Sprintf("mmedia[%d]", index-1), "size(mmedia) >= :n"
		vals[":n"] = num(index)
	}
	err = s.update(ctx, convPK(k.ConversationID), k.SK, "SET "+path+" = :m", "attribute_exists(PK) AND "+cond, nil, vals)
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("%w: attachment %d of %s", ErrNotFound, index, k.SK)
	}
	return err
}
